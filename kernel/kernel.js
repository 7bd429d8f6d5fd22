// @ts-check
/**
 * The mriseq kernel's Jupyter message layer: shell, control, IOPub, stdin and heartbeat sockets,
 * one handler per request type, an execution queue, interrupts that stop mriseq's work through an
 * AbortSignal, comms both ways and the display transport mriseq's display helpers use.
 *
 * Every message is checked before use (kernel/wire.js): a malformed one gets an error reply (or,
 * when it cannot be addressed, a line in the kernel log) and the loops go on.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const util = require('util');
const crypto = require('crypto');
const { PROTOCOL_VERSION, parseMessage, encodeMessage } = require('./wire.js');
const { Executor } = require('./executor.js');
const { CommManager } = require('./comm.js');
const { isComplete } = require('./typescript.js');

const ROOT = path.resolve(__dirname, '..');
const MRISEQ = 'mriseq';
/** The transport mriseq's display helpers look for (see src/display/core.ts). */
const TRANSPORT_KEY = Symbol.for('mriseq.display.transport');
/** The AbortSignal of the running cell, taken by mriseq's long-running calls (src/interrupt). */
const INTERRUPT_SIGNAL_KEY = Symbol.for('mriseq.interrupt.signal');
/** The comm manager cells reach (src/display/comm.ts). */
const COMMS_KEY = Symbol.for('mriseq.kernel.comms');

/** @typedef {import('./wire.js').Connection} Connection */
/** @typedef {{ identity: Buffer[], header: any, parent: Record<string, unknown>, metadata: Record<string, unknown>, content: any, buffers: Buffer[] }} Message */

class Kernel {
  /**
   * @param {Connection} conn
   * @param {{ cwd?: string, beforeTypeScript?: () => void, mark?: (what: string) => void }} [opts]
   *   beforeTypeScript: run once before TypeScript loads; mark: start-up timing log
   */
  constructor(conn, opts = {}) {
    this.mark = opts.mark ?? (() => undefined);
    this.conn = conn;
    this.session = crypto.randomUUID();
    this.execCount = 0;
    /** @type {[number, string, [string, string | null]][]} */
    this.history = [];
    /** @type {Promise<void>} */
    this.queue = Promise.resolve();
    /** Bumped when an execution fails, so queued cells are aborted (stop_on_error). */
    this.abortEpoch = 0;
    /** The request whose outputs stream now (output after a cell ends goes to it too). @type {Message | null} */
    this.current = null;
    /** The request being handled (parent of comm messages the kernel sends). @type {Message | null} */
    this.handling = null;
    this.tslabDir = path.dirname(require.resolve('tslab/package.json'));
    this.executor = new Executor({
      tslabDir: this.tslabDir,
      cwd: opts.cwd ?? process.cwd(),
      beforeLoad: opts.beforeTypeScript,
      mark: this.mark,
    });
    this.tsVersion = readJson(require.resolve('@tslab/typescript-for-tslab/package.json', { paths: [this.tslabDir] })).version;
    this.warming = false;
    /** Display work a cell started (e.g. a figure's PNG fallback): waited for before its reply. @type {Set<Promise<unknown>>} */
    this.pendingOutputs = new Set();
    // Interrupts.
    /** @type {Set<AbortController>} */
    this.liveAborts = new Set();
    this.cellAbort = new AbortController();
    this.signalTaken = false;
    /** @type {import('./executor.js').Interruption & { resolveFirst: () => void, resolveAgain: () => void } | null} */
    this.interruption = null;
    this.comms = new CommManager(
      (type, content, extra) => this.publishComm(type, content, extra),
      (what, e) => this.reportCallbackError(what, e),
    );
    this.version = readVersion();
  }

  async start() {
    const zmq = require(require.resolve('zeromq', { paths: [this.tslabDir] }));
    const c = this.conn;
    this.iopub = new zmq.Publisher();
    this.shell = new zmq.Router();
    this.control = new zmq.Router();
    this.stdin = new zmq.Router();
    this.hb = new zmq.Reply();
    const addr = (/** @type {number} */ port) =>
      c.transport === 'ipc' ? `ipc://${c.ip}-${port}` : `tcp://${c.ip.includes(':') ? `[${c.ip}]` : c.ip}:${port}`;
    await Promise.all([
      this.iopub.bind(addr(c.iopub_port)),
      this.shell.bind(addr(c.shell_port)),
      this.control.bind(addr(c.control_port)),
      this.stdin.bind(addr(c.stdin_port)),
      this.hb.bind(addr(c.hb_port)),
    ]);
    this.installGlobals();
    void this.loop(this.shell, false);
    void this.loop(this.control, true);
    void (async () => {
      for await (const msg of this.hb) await this.hb.send(msg);
    })().catch((e) => log('heartbeat stopped:', e));
  }

  /**
   * Loads what the first cell needs while the user is still reading the notebook: TypeScript and
   * tslab's type checker, mriseq's declarations in it, and mriseq itself. Each step is synchronous,
   * so requests are answered between the steps; a cell that arrives meanwhile does the rest itself.
   */
  warmUp() {
    if (this.warming) return;
    this.warming = true;
    const steps = [
      ['typescript', () => this.executor.load()],
      ['type checker', () => this.executor.warm()],
      ['mriseq types', () => this.executor.preloadTypes('mriseq')],
      // (the name through a variable: mriseq is resolved at run time by the launcher's hook)
      ['mriseq', () => require(/** @type {string} */ (MRISEQ))],
    ];
    const next = () => {
      const step = steps.shift();
      if (!step) return;
      try {
        /** @type {() => unknown} */ (step[1])();
        this.mark(`warm: ${step[0]}`);
      } catch (e) {
        log(`warm-up step "${step[0]}" failed (the first cell will say why):`, e instanceof Error ? e.message : e);
      }
      setImmediate(next);
    };
    setImmediate(next);
  }

  // -------------------------------------------------------------------------------------------
  // Sending.

  /**
   * @param {any} sock @param {Message | { header: any, identity: Buffer[] }} parent @param {string} type @param {unknown} content
   * @param {{ identity?: Buffer[], metadata?: Record<string, unknown>, buffers?: Buffer[] }} [extra]
   */
  sendTo(sock, parent, type, content, extra = {}) {
    const frames = encodeMessage(this.conn, this.session, parent, type, content, extra.identity ?? parent.identity, extra);
    sock.send(frames).catch((/** @type {unknown} */ e) => log(`could not send ${type}:`, e));
  }

  /** @param {Message | null} parent @param {string} type @param {unknown} content @param {{ metadata?: Record<string, unknown>, buffers?: Buffer[] }} [extra] */
  publish(parent, type, content, extra = {}) {
    const frames = encodeMessage(this.conn, this.session, parent, type, content, [Buffer.from(type)], extra);
    this.iopub.send(frames).catch((/** @type {unknown} */ e) => log(`could not publish ${type}:`, e));
  }

  /** @param {string} state @param {Message | { header: any, identity: Buffer[] }} parent */
  status(state, parent) {
    this.publish(/** @type {Message} */ (parent), 'status', { execution_state: state });
  }

  /** @type {import('./comm.js').Publish} */
  publishComm(type, content, extra) {
    this.publish(this.handling ?? this.current, type, content, extra);
  }

  /** @param {string} what @param {unknown} e */
  reportCallbackError(what, e) {
    const err = this.executor.errorContent(e);
    const target = this.handling ?? this.current;
    if (target) this.publish(target, 'stream', { name: 'stderr', text: `${what} failed:\n${err.traceback.join('\n')}\n` });
    else log(`${what} failed:`, e);
  }

  // -------------------------------------------------------------------------------------------
  // Receiving.

  /** @param {any} sock @param {boolean} isControl */
  async loop(sock, isControl) {
    for (;;) {
      let raw;
      try {
        raw = await sock.receive();
      } catch (e) {
        if (/** @type {any} */ (sock).closed) return;
        log('receive failed:', e);
        continue;
      }
      try {
        await this.onMessage(sock, raw, isControl);
      } catch (e) {
        // Nothing a message does may stop the loop: the kernel would look alive and never answer.
        log('handler failed:', e);
      }
    }
  }

  /** @param {any} sock @param {Buffer[]} raw @param {boolean} isControl */
  async onMessage(sock, raw, isControl) {
    const parsed = parseMessage(this.conn, raw);
    if (!parsed.ok) return this.onInvalid(sock, /** @type {any} */ (parsed));
    const msg = /** @type {Message} */ (parsed.msg);
    if (msg.header.msg_type === 'execute_request') {
      const epoch = this.abortEpoch;
      this.queue = this.queue
        .then(() => this.onExecute(sock, msg, epoch))
        .catch((e) => log('execute failed:', e));
      return;
    }
    const comm = ['comm_open', 'comm_msg', 'comm_close'].includes(msg.header.msg_type);
    this.status('busy', msg);
    const before = this.handling;
    this.handling = msg;
    try {
      await this.dispatch(sock, msg, isControl);
    } catch (e) {
      if (!comm) this.replyError(sock, msg, e);
      else this.reportCallbackError(msg.header.msg_type, e);
    } finally {
      this.handling = before;
      this.status('idle', msg);
    }
  }

  /**
   * A message that could not be used. With a readable header it gets a reply of its type with
   * status "error" (and busy/idle around it, which clients wait for); without one there is no
   * one to answer, so it goes to the kernel's log.
   * @param {any} sock @param {{ reason: string, identity: Buffer[], header: Record<string, unknown> | null }} bad
   */
  onInvalid(sock, bad) {
    const h = bad.header;
    const type = h && typeof h.msg_type === 'string' ? h.msg_type : '';
    if (!h || typeof h.msg_id !== 'string' || !type.endsWith('_request')) {
      log(`ignored a message: ${bad.reason}`);
      return;
    }
    const parent = {
      identity: bad.identity,
      header: { username: '', ...h, session: typeof h.session === 'string' ? h.session : '' },
    };
    const content = {
      status: 'error',
      ename: 'InvalidMessage',
      evalue: `the mriseq kernel could not use this ${type}: ${bad.reason}`,
      traceback: [`InvalidMessage: ${bad.reason}`],
      ...(type === 'execute_request' ? { execution_count: this.execCount } : {}),
    };
    this.status('busy', parent);
    this.sendTo(sock, parent, type.replace(/_request$/, '_reply'), content);
    this.status('idle', parent);
    log(`answered an invalid ${type} with an error: ${bad.reason}`);
  }

  /** @param {any} sock @param {Message} msg @param {unknown} e */
  replyError(sock, msg, e) {
    const type = msg.header.msg_type;
    // A request we refused is one line in the log; a handler that broke keeps its stack.
    if (e instanceof InvalidContent) log(`refused a ${type}: ${e.message}`);
    else log(`${type} failed:`, e);
    if (!type.endsWith('_request')) return;
    const err = e instanceof Error ? e : new Error(String(e));
    this.sendTo(sock, msg, type.replace(/_request$/, '_reply'), {
      status: 'error',
      ename: err.name,
      evalue: err.message,
      traceback: [`${err.name}: ${err.message}`],
    });
  }

  /** @param {any} sock @param {Message} msg @param {boolean} isControl */
  async dispatch(sock, msg, isControl) {
    const reply = (/** @type {string} */ type, /** @type {unknown} */ content) => this.sendTo(sock, msg, type, content);
    const c = msg.content;
    const code = () => {
      if (typeof c.code !== 'string') throw new InvalidContent(`content.code must be a string, found ${describe(c.code)}`);
      return c.code;
    };
    const cursor = (/** @type {string} */ src) => {
      const p = c.cursor_pos === undefined || c.cursor_pos === null ? src.length : c.cursor_pos;
      if (!Number.isInteger(p) || p < 0 || p > src.length)
        throw new InvalidContent(
          `content.cursor_pos must be an integer 0..${src.length}, found ${describe(c.cursor_pos)}${typeof p === 'number' ? ` ${p}` : ''}`,
        );
      return p;
    };
    switch (msg.header.msg_type) {
      case 'kernel_info_request':
        reply('kernel_info_reply', this.kernelInfo());
        // The client knows the kernel is up: now the slow part, before the first cell needs it.
        this.warmUp();
        return;
      case 'is_complete_request': {
        const src = code();
        if (pagerTarget(src)) return reply('is_complete_reply', { status: 'complete' });
        return reply('is_complete_reply', isComplete(this.executor.ts, src));
      }
      case 'inspect_request': {
        const src = code();
        const found = this.inspectAt(src, cursor(src));
        return reply(
          'inspect_reply',
          found ? { status: 'ok', found: true, data: found, metadata: {} } : { status: 'ok', found: false, data: {}, metadata: {} },
        );
      }
      case 'complete_request': {
        const src = code();
        const info = this.executor.complete(src, cursor(src));
        return reply('complete_reply', {
          status: 'ok',
          matches: info.candidates,
          cursor_start: info.start,
          cursor_end: info.end,
          metadata: {},
        });
      }
      case 'history_request':
        return reply('history_reply', { status: 'ok', history: this.historyFor(c) });
      case 'comm_info_request':
        return reply('comm_info_reply', this.comms.info(c.target_name));
      case 'comm_open':
      case 'comm_msg':
      case 'comm_close':
        return this.comms.handle(msg.header.msg_type, c, msg.metadata, msg.buffers);
      case 'interrupt_request':
        this.interrupt();
        return reply('interrupt_reply', { status: 'ok' });
      case 'shutdown_request':
        reply('shutdown_reply', { status: 'ok', restart: Boolean(c.restart) });
        setTimeout(() => this.close(), 50);
        return;
      default: {
        const type = msg.header.msg_type;
        if (type.endsWith('_request'))
          reply(type.replace(/_request$/, '_reply'), {
            status: 'error',
            ename: 'NotImplemented',
            evalue: `${type} is not supported by the mriseq kernel`,
            traceback: [],
          });
        if (!isControl) log(`unsupported ${type}`);
      }
    }
  }

  /**
   * Hover docs / pager text for the name at a position: TypeScript's quick info.
   * @param {string} src @param {number} pos
   * @returns {Record<string, string> | null}
   */
  inspectAt(src, pos) {
    const info = this.executor.inspect(src, pos);
    // An unresolved name comes back as kind "" with type `any`: that is "not found".
    if (!info || !info.kind) return null;
    return formatQuickInfo(info);
  }

  kernelInfo() {
    return {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: 'mriseq',
      implementation_version: this.version,
      language_info: {
        name: 'typescript',
        version: this.tsVersion,
        mimetype: 'text/typescript',
        file_extension: '.ts',
        codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
      },
      banner: `mriseq ${this.version} (TypeScript ${this.tsVersion} via tslab, Node ${process.version})`,
      help_links: [{ text: 'mriseq notebooks and kernel', url: 'https://github.com/mriseq/mriseq/blob/main/docs/notebooks-kernel.md' }],
    };
  }

  /** @param {any} c */
  historyFor(c) {
    const rows = this.history.map(([n, code, out]) => [this.session, n, c.output ? [code, out?.[1] ?? null] : code]);
    if (c.hist_access_type === 'tail') return rows.slice(-Math.max(0, Number(c.n) || 0) || rows.length);
    if (c.hist_access_type === 'range') {
      const start = Number(c.start) || 0;
      const stop = c.stop == null ? Infinity : Number(c.stop);
      return rows.filter((r) => /** @type {number} */ (r[1]) >= start && /** @type {number} */ (r[1]) < stop);
    }
    if (c.hist_access_type === 'search') {
      const re = globToRegExp(String(c.pattern ?? '*'));
      let found = rows.filter((r) => re.test(String(Array.isArray(r[2]) ? r[2][0] : r[2])));
      if (c.unique) {
        const seen = new Set();
        found = found.filter((r) => {
          const k = Array.isArray(r[2]) ? r[2][0] : r[2];
          return seen.has(k) ? false : (seen.add(k), true);
        });
      }
      return c.n ? found.slice(-Number(c.n)) : found;
    }
    return [];
  }

  // -------------------------------------------------------------------------------------------
  // Outputs.

  /** Points stdout/stderr and tslab's display API at the request now running. @param {Message} msg */
  bindOutputs(msg) {
    this.current = msg;
    const stream = (/** @type {'stdout'|'stderr'} */ name) =>
      /** @type {any} */ (
        (/** @type {string | Uint8Array} */ chunk, /** @type {unknown[]} */ ...rest) => {
          const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
          if (text.length > 0 && this.current) this.publish(this.current, 'stream', { name, text });
          const cb = rest.find((r) => typeof r === 'function');
          if (typeof cb === 'function') cb();
          return true;
        }
      );
    process.stdout.write = stream('stdout');
    process.stderr.write = stream('stderr');
    // tslab's own `display` (import * as tslab from 'tslab') keeps working.
    require(path.join(this.tslabDir, 'dist', 'jupyter.js')).lastWriteDisplayData = (/** @type {unknown} */ content, /** @type {boolean} */ update) => {
      if (this.current) this.publish(this.current, update ? 'update_display_data' : 'display_data', content);
    };
  }

  installGlobals() {
    const g = /** @type {any} */ (globalThis);
    g[TRANSPORT_KEY] = {
      kind: 'jupyter',
      /**
       * One display_data (or update_display_data) message with a full MIME bundle: JSON MIME
       * types travel as JSON objects, binary images as base64 strings.
       * @param {{ data: Record<string, unknown>, metadata?: Record<string, unknown>, displayId?: string, update?: boolean }} d
       */
      send: (d) => {
        const target = this.current;
        if (!target) return false;
        this.publish(target, d.update ? 'update_display_data' : 'display_data', {
          data: d.data,
          metadata: d.metadata ?? {},
          transient: d.displayId ? { display_id: d.displayId } : {},
        });
        return true;
      },
      clear: (/** @type {boolean} */ wait) => {
        if (this.current) this.publish(this.current, 'clear_output', { wait: Boolean(wait) });
      },
      /** Display work still under way (a static image being rendered): the cell's reply waits for it. @param {Promise<unknown>} p */
      track: (p) => {
        this.pendingOutputs.add(p);
        const done = () => this.pendingOutputs.delete(p);
        p.then(done, done);
      },
    };
    g[INTERRUPT_SIGNAL_KEY] = () => {
      this.signalTaken = true;
      return this.cellAbort.signal;
    };
    g[COMMS_KEY] = {
      registerTarget: (/** @type {string} */ name, /** @type {any} */ handler) => this.comms.registerTarget(name, handler),
      open: (/** @type {string} */ target, /** @type {any} */ data, /** @type {any} */ metadata, /** @type {any} */ buffers) =>
        this.comms.open(target, data, metadata, buffers),
      list: (/** @type {string | undefined} */ target) => this.comms.list(target),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Execution.

  /** @param {any} sock @param {Message} msg @param {number} epoch */
  async onExecute(sock, msg, epoch) {
    const c = msg.content;
    this.status('busy', msg);
    try {
      if (typeof c.code !== 'string') {
        this.sendTo(sock, msg, 'execute_reply', {
          status: 'error',
          execution_count: this.execCount,
          ename: 'InvalidMessage',
          evalue: `execute_request content.code must be a string, found ${describe(c.code)}`,
          traceback: [],
        });
        return;
      }
      const silent = Boolean(c.silent);
      const storeHistory = c.store_history !== false && !silent;
      if (epoch !== this.abortEpoch) {
        this.sendTo(sock, msg, 'execute_reply', { status: 'aborted', execution_count: this.execCount });
        return;
      }
      if (storeHistory) this.execCount += 1;
      const count = this.execCount;
      if (!silent) this.publish(msg, 'execute_input', { code: c.code, execution_count: count });
      this.bindOutputs(msg);
      const result = await this.run(c.code, count, silent);
      if (this.pendingOutputs.size > 0) await settleWithin([...this.pendingOutputs], 60_000);
      if (result.ok) {
        if (storeHistory) this.history.push([count, c.code, [c.code, result.text]]);
        this.sendTo(sock, msg, 'execute_reply', {
          status: 'ok',
          execution_count: count,
          payload: result.payload,
          user_expressions: this.userExpressions(c.user_expressions),
        });
      } else if ('error' in result) {
        if (!silent) this.publish(msg, 'error', result.error);
        if (storeHistory) this.history.push([count, c.code, [c.code, null]]);
        if (c.stop_on_error !== false) this.abortEpoch += 1;
        this.sendTo(sock, msg, 'execute_reply', { status: 'error', execution_count: count, ...result.error });
      }
    } finally {
      this.status('idle', msg);
    }
  }

  /**
   * Runs a cell (or a `?name` help request) and publishes its result.
   * @param {string} code @param {number} count @param {boolean} silent
   * @returns {Promise<{ ok: true, payload: unknown[], text: string | null } | { ok: false, error: import('./executor.js').ErrorContent }>}
   */
  async run(code, count, silent) {
    const help = pagerTarget(code);
    if (help) {
      const found = this.inspectAt(help.name, help.name.length);
      const data = found ?? { 'text/plain': `Object \`${help.name}\` not found.` };
      return { ok: true, payload: [{ source: 'page', data, start: 0 }], text: null };
    }
    const ac = new AbortController();
    this.cellAbort = ac;
    this.liveAborts.add(ac);
    this.signalTaken = false;
    /** @type {() => void} */
    let resolveFirst = () => undefined;
    /** @type {() => void} */
    let resolveAgain = () => undefined;
    const intr = {
      fired: false,
      first: new Promise((r) => (resolveFirst = () => r(undefined))),
      again: new Promise((r) => (resolveAgain = () => r(undefined))),
      cooperative: () => this.signalTaken,
      resolveFirst: () => resolveFirst(),
      resolveAgain: () => resolveAgain(),
    };
    this.interruption = /** @type {any} */ (intr);
    let result;
    try {
      result = await this.executor.execute(code, { label: `Cell In[${count}]`, interruption: /** @type {any} */ (intr) });
    } finally {
      this.interruption = null;
      // A signal nobody took cannot stop anything later: forget it. One that was taken stays live,
      // so an interrupt also stops work a cell left running (a training started without await).
      if (!this.signalTaken) this.liveAborts.delete(ac);
    }
    if ('error' in result) return { ok: false, error: result.error };
    if (!result.hasValue || silent) return { ok: true, payload: [], text: null };
    const v = /** @type {any} */ (result.value);
    if (v && typeof v === 'object' && v[Symbol.for('mriseq.display.silent')]) return { ok: true, payload: [], text: null };
    const bundle = await finishedBundle(result.value);
    this.publish(this.current, 'execute_result', { execution_count: count, data: bundle.data, metadata: bundle.metadata });
    return { ok: true, payload: [], text: String(bundle.data['text/plain'] ?? '') };
  }

  /** user_expressions: evaluated as JavaScript in the cell scope is not available; report them unsupported. @param {unknown} ue */
  userExpressions(ue) {
    /** @type {Record<string, unknown>} */
    const out = {};
    if (ue && typeof ue === 'object')
      for (const k of Object.keys(ue))
        out[k] = { status: 'error', ename: 'NotImplemented', evalue: 'user_expressions are not supported', traceback: [] };
    return out;
  }

  /**
   * Ctrl-C / interrupt_request: aborts the running cell's AbortSignal (and those of earlier cells
   * whose work took one), so mriseq's long-running calls stop at their next step.
   */
  interrupt() {
    for (const ac of this.liveAborts) if (!ac.signal.aborted) ac.abort(interruptReason());
    this.liveAborts.clear();
    const intr = /** @type {any} */ (this.interruption);
    if (!intr) return;
    if (!intr.fired) {
      intr.fired = true;
      intr.resolveFirst();
    } else intr.resolveAgain();
  }

  close() {
    try {
      this.executor.close();
    } finally {
      for (const s of [this.iopub, this.shell, this.control, this.stdin, this.hb]) s?.close();
      process.exit(0);
    }
  }
}

/** A request whose content does not have the shape its type requires. */
class InvalidContent extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'InvalidMessage';
  }
}

/** The reason an interrupt gives to AbortSignal listeners (an Error named like Python's). */
function interruptReason() {
  const e = new Error('interrupted by the user (Jupyter interrupt)');
  e.name = 'KeyboardInterrupt';
  return e;
}

/**
 * `?name`, `name?`, `??name`, `name??` (IPython's help syntax) -> the name to look up.
 * @param {string} code
 */
function pagerTarget(code) {
  const m = /^\s*\?{1,2}\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*$/.exec(code) ?? /^\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*\?{1,2}\s*$/.exec(code);
  return m ? { name: m[1] } : null;
}

/**
 * A value's MIME bundle: mriseq's rich view when mriseq is loaded (tables, figures, volumes,
 * tensors), then the value's own toMimeBundle(), then text. Async parts (a figure's PNG fallback)
 * are awaited.
 * @param {unknown} value
 * @returns {Promise<{ data: Record<string, unknown>, metadata: Record<string, unknown> }>}
 */
async function finishedBundle(value) {
  const g = /** @type {any} */ (globalThis);
  const rich = g[Symbol.for('mriseq.display.richMimeBundle')];
  /** @type {{ data: Record<string, unknown>, metadata?: Record<string, unknown> } | null} */
  let b = null;
  if (typeof rich === 'function') {
    try {
      b = rich(value);
    } catch (e) {
      console.error('mriseq kernel: could not build a rich view:', e);
    }
  }
  const v = /** @type {any} */ (value);
  if (!b && v && typeof v === 'object' && typeof v.toMimeBundle === 'function') {
    const raw = v.toMimeBundle();
    if (raw && typeof raw === 'object') b = raw.data && typeof raw.data === 'object' ? raw : { data: raw };
  }
  if (!b) return { data: { 'text/plain': util.inspect(value, { colors: false }) }, metadata: {} };
  const data = { ...b.data };
  if (!('text/plain' in data)) data['text/plain'] = util.inspect(value, { depth: 2 });
  const out = { data, metadata: { ...(b.metadata ?? {}) } };
  const finish = g[Symbol.for('mriseq.display.finishBundle')];
  if (typeof finish === 'function') {
    try {
      await settleWithin([finish(value, out)], 60_000);
    } catch (e) {
      console.error('mriseq kernel: could not finish a rich view:', e);
    }
  }
  return out;
}

/** @param {Promise<unknown>[]} ps @param {number} ms */
function settleWithin(ps, ms) {
  return Promise.race([Promise.allSettled(ps), new Promise((r) => setTimeout(r, ms).unref())]);
}

/** @param {string} glob */
function globToRegExp(glob) {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/** @param {unknown} x */
function describe(x) {
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
}

/** @param {string} file */
function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

function readVersion() {
  return readJson(path.join(ROOT, 'package.json')).version ?? '0.0.0';
}

/** The kernel's own log: the real stderr (Jupyter's server log), never a cell's output. */
const realStderrWrite = process.stderr.write.bind(process.stderr);
/** @param {unknown[]} args */
function log(...args) {
  realStderrWrite(`mriseq kernel: ${util.format(...args)}\n`);
}

module.exports = { Kernel, pagerTarget, globToRegExp, log };

/**
 * TypeScript's quick info as the pager and contextual help show it: the signature, the doc comment
 * and every tag with its name (param, returns, throws, example), a link to X read as X. (tslab's
 * printer drops the names of tags other than param and splits links, so an example lost its
 * heading and a throws tag linking MriseqError came out as a lone brace and a second line.)
 * @param {{ displayParts?: {text: string}[], documentation?: {text: string, kind: string}[], tags?: {name: string, text?: {text: string, kind: string}[]}[] }} info
 * @returns {Record<string, string>}
 */
function formatQuickInfo(info) {
  /** @param {{text: string, kind: string}[] | undefined} parts */
  const plain = (parts) =>
    (parts || [])
      .filter((p) => p.kind !== 'link')
      .map((p) => p.text)
      .join('')
      // A link TypeScript left as text (as in "@throws {@link X}", read as a type): X.
      .replace(/\{\s*@link(?:code|plain)?\s+([^\s}|]+)[^}]*\}/g, '$1');
  const signature = (info.displayParts || []).map((p) => p.text).join('');
  const doc = plain(info.documentation);
  /** @type {{name: string, body: string}[]} */
  const tags = [];
  for (const t of info.tags || []) {
    const body = plain(t.text);
    const prev = tags[tags.length - 1];
    // "@throws {@link X} ..." reaches us split in two tags, "@throws {" and "@link X} ...": one again.
    if (t.name === 'link' && prev && /\{\s*$/.test(prev.body)) {
      prev.body = prev.body.replace(/\{\s*$/, '') + body.replace(/^([^\s}|]+)[^}]*\}/, '$1');
      continue;
    }
    tags.push({ name: t.name, body });
  }
  const tagText = tags.map((t) => `@${t.name}${t.body.includes('\n') ? '\n' : ' '}${t.body}`.trimEnd());
  const text = [signature, doc, tagText.join('\n')].filter(Boolean).join('\n\n');
  const mdTags = tags.map((t) =>
    t.name === 'example' ? `**Example**\n\n${t.body}` : `*@${t.name}* ${t.body.replace(/\n/g, ' ')}`,
  );
  const markdown = ['```typescript\n' + signature + '\n```', doc, mdTags.join('\n\n')].filter(Boolean).join('\n\n');
  return { 'text/plain': text, 'text/markdown': markdown };
}
