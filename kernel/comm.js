// @ts-check
/**
 * Jupyter comms, both ways (https://jupyter-client.readthedocs.io/en/latest/messaging.html#custom-messages):
 * the kernel opens comms to a front-end target and the front end opens comms to a kernel target
 * registered here; either side sends comm_msg and comm_close; comm_info lists the open ones.
 * Cell code reaches this manager through globalThis[Symbol.for('mriseq.kernel.comms')]
 * (src/display/comm.ts wraps it), so a notebook needs no import of the kernel.
 *
 * Messages from the front end are handled as they arrive, also while a cell runs: a click in a
 * viewer reaches its callback between two training steps.
 */
'use strict';
const crypto = require('crypto');

/**
 * @typedef {{ data: Record<string, unknown>, metadata: Record<string, unknown>, buffers: Buffer[] }} CommPayload
 * @typedef {(type: 'comm_open' | 'comm_msg' | 'comm_close', content: Record<string, unknown>, extra: { metadata?: Record<string, unknown>, buffers?: Buffer[] }) => void} Publish
 */

class Comm {
  /** @param {CommManager} manager @param {string} id @param {string} target */
  constructor(manager, id, target) {
    this.manager = manager;
    this.id = id;
    this.target = target;
    this.isOpen = true;
    /** @type {((msg: CommPayload) => void)[]} */
    this.msgHandlers = [];
    /** @type {((msg: CommPayload) => void)[]} */
    this.closeHandlers = [];
  }

  /**
   * Sends data (JSON) to the front end's side of this comm.
   * @param {Record<string, unknown>} data @param {Record<string, unknown>} [metadata] @param {Buffer[]} [buffers]
   */
  send(data, metadata, buffers) {
    if (!this.isOpen) throw new Error(`comm ${this.id} (${this.target}) is closed`);
    this.manager.publish('comm_msg', { comm_id: this.id, data: data ?? {} }, { metadata, buffers });
  }

  /** Closes the comm (both sides). @param {Record<string, unknown>} [data] */
  close(data) {
    if (!this.isOpen) return;
    this.manager.publish('comm_close', { comm_id: this.id, data: data ?? {} }, {});
    this.closed({ data: data ?? {}, metadata: {}, buffers: [] });
  }

  /** @param {(msg: CommPayload) => void} cb */
  onMsg(cb) {
    this.msgHandlers.push(cb);
    return this;
  }

  /** @param {(msg: CommPayload) => void} cb */
  onClose(cb) {
    this.closeHandlers.push(cb);
    return this;
  }

  /** @param {CommPayload} msg */
  closed(msg) {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.manager.comms.delete(this.id);
    for (const h of this.closeHandlers) this.manager.call(h, msg, `comm ${this.target} close handler`);
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Comm(${this.target}, ${this.id}${this.isOpen ? '' : ', closed'})`;
  }
}

class CommManager {
  /**
   * @param {Publish} publish sends a comm message on IOPub (with the right parent header)
   * @param {(what: string, e: unknown) => void} report shows an error raised by a handler
   */
  constructor(publish, report) {
    this.publish = publish;
    this.report = report;
    /** @type {Map<string, Comm>} */
    this.comms = new Map();
    /** @type {Map<string, (comm: Comm, msg: CommPayload) => void>} */
    this.targets = new Map();
  }

  /**
   * Registers a kernel-side target for comms the front end opens.
   * @param {string} name @param {(comm: Comm, msg: CommPayload) => void} handler
   * @returns {() => void} unregisters it
   */
  registerTarget(name, handler) {
    this.targets.set(name, handler);
    return () => {
      if (this.targets.get(name) === handler) this.targets.delete(name);
    };
  }

  /**
   * Opens a comm to a front-end target.
   * @param {string} target @param {Record<string, unknown>} [data] @param {Record<string, unknown>} [metadata] @param {Buffer[]} [buffers]
   */
  open(target, data, metadata, buffers) {
    const comm = new Comm(this, crypto.randomUUID().replace(/-/g, ''), target);
    this.comms.set(comm.id, comm);
    this.publish('comm_open', { comm_id: comm.id, target_name: target, data: data ?? {} }, { metadata, buffers });
    return comm;
  }

  /** Open comms, optionally of one target. @param {string} [target] */
  list(target) {
    return [...this.comms.values()].filter((c) => target === undefined || c.target === target);
  }

  /** @param {Function} fn @param {CommPayload} msg @param {string} what @param {Comm} [comm] */
  call(fn, msg, what, comm) {
    try {
      const r = comm ? fn(comm, msg) : fn(msg);
      if (r && typeof r.then === 'function') r.then(undefined, (/** @type {unknown} */ e) => this.report(what, e));
    } catch (e) {
      this.report(what, e);
    }
  }

  /**
   * A comm message from the front end (comm_open, comm_msg or comm_close on the shell channel).
   * @param {string} type @param {Record<string, unknown>} content @param {Record<string, unknown>} metadata @param {Buffer[]} buffers
   */
  handle(type, content, metadata, buffers) {
    const id = content.comm_id;
    if (typeof id !== 'string' || id === '') throw new TypeError(`${type}: content.comm_id must be a non-empty string`);
    const data = content.data && typeof content.data === 'object' ? /** @type {Record<string, unknown>} */ (content.data) : {};
    const msg = { data, metadata, buffers };
    if (type === 'comm_open') {
      const target = String(content.target_name ?? '');
      const handler = this.targets.get(target);
      if (!handler) {
        // What ipykernel does: the front end learns at once that nobody listens.
        this.publish('comm_close', { comm_id: id, data: { error: `no comm target "${target}" in the mriseq kernel` } }, {});
        return;
      }
      const comm = new Comm(this, id, target);
      this.comms.set(id, comm);
      this.call(handler, msg, `comm target ${target}`, comm);
      return;
    }
    const comm = this.comms.get(id);
    if (!comm) return; // closed already, or never known: nothing to answer (the spec defines no reply)
    if (type === 'comm_msg') for (const h of comm.msgHandlers) this.call(h, msg, `comm ${comm.target} message handler`);
    else if (type === 'comm_close') comm.closed(msg);
  }

  /** comm_info_reply content. @param {unknown} target */
  info(target) {
    /** @type {Record<string, { target_name: string }>} */
    const comms = {};
    for (const c of this.list(typeof target === 'string' && target !== '' ? target : undefined))
      comms[c.id] = { target_name: c.target };
    return { status: 'ok', comms };
  }
}

module.exports = { Comm, CommManager };
