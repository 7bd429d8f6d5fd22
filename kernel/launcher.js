#!/usr/bin/env node
// @ts-check
/**
 * The "mriseq (TypeScript)" Jupyter kernel: tslab's TypeScript compiler and executor behind our
 * own Jupyter message layer.
 *
 * Why not stock `tslab kernel`: tslab 1.0.22's replies omit the `status` field the message spec
 * requires (kernel_info, execute), errors arrive as stderr text instead of an `error` message,
 * there is no history_request handler, comm_info is answered with the wrong msg_type, unknown
 * requests get no reply at all (clients hang), and `display.raw` sends one MIME type per message
 * with JSON values as strings. We keep tslab's valuable parts (converter, executor, completion,
 * inspection) by requiring them from node_modules unchanged and replace only the message handling.
 *
 * It also makes `import ... from 'mriseq'` (and mriseq's dependencies) resolve from any notebook
 * folder, both for Node's runtime `require` and for tslab's TypeScript type checker.
 *
 * Usage (written into kernel.json by `mriseq kernel install`):
 *   node kernel/launcher.js --config-path <connection_file>
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const util = require('util');
const Module = require('module');

const ROOT = path.resolve(__dirname, '..');
const ROOT_MODULES = path.join(ROOT, 'node_modules');
const PROTOCOL_VERSION = '5.3';
const DELIM = Buffer.from('<IDS|MSG>');
/** The transport mriseq's display helpers look for (see src/display/index.ts). */
const TRANSPORT_KEY = Symbol.for('mriseq.display.transport');

// ---------------------------------------------------------------------------------------------
// Module resolution: Node runtime.

/** Maps `mriseq` and `mriseq/sub/path` to this checkout, whatever the notebook's folder. */
function installRuntimeResolution() {
  const original = /** @type {any} */ (Module)._resolveFilename;
  /** @type {any} */ (Module)._resolveFilename = function (
    /** @type {string} */ request,
    /** @type {unknown[]} */ ...rest
  ) {
    if (request === 'mriseq' || request.startsWith('mriseq/')) {
      try {
        return original.call(this, request, ...rest);
      } catch {
        const target = request === 'mriseq' ? ROOT : path.join(ROOT, request.slice('mriseq/'.length));
        return original.call(this, target, ...rest);
      }
    }
    return original.call(this, request, ...rest);
  };
  // NODE_PATH is the documented fallback after the node_modules chain: a notebook's own
  // node_modules still wins, mriseq's dependencies are found otherwise.
  const extra = [ROOT_MODULES];
  const current = (process.env.NODE_PATH || '').split(path.delimiter).filter(Boolean);
  process.env.NODE_PATH = [...current, ...extra.filter((p) => !current.includes(p))].join(path.delimiter);
  /** @type {any} */ (Module)._initPaths();
}

// ---------------------------------------------------------------------------------------------
// Module resolution: tslab's TypeScript type checker (a watch program over a virtual cell file in
// the notebook's folder). We forward `<cwd>/node_modules/<pkg>` to this checkout when the notebook
// folder has no such package, the way tslab itself forwards `node_modules/tslab`.

/** @param {string} cwd */
function installTypeResolution(cwd) {
  const ts = require(
    require.resolve('@tslab/typescript-for-tslab', { paths: [path.dirname(require.resolve('tslab'))] }),
  );
  const sys = ts.sys;
  const local = path.join(cwd, 'node_modules');
  /** @param {string} p @returns {string} */
  const forward = (p) => {
    const rel = path.relative(local, p);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return p;
    const parts = rel.split(path.sep);
    const pkgLen = parts[0].startsWith('@') ? 2 : 1;
    // A package the notebook folder has itself is left alone (as Node's require does at run time).
    if (fs.existsSync(path.join(local, ...parts.slice(0, pkgLen)))) return p;
    if (parts[0] === 'mriseq') return path.join(ROOT, ...parts.slice(1));
    return path.join(ROOT_MODULES, ...parts);
  };
  const { fileExists, directoryExists, readFile, readDirectory, realpath, getDirectories } = sys;
  sys.fileExists = (/** @type {string} */ p) => fileExists.call(sys, forward(p));
  sys.directoryExists = (/** @type {string} */ p) => p === local || directoryExists.call(sys, forward(p));
  sys.readFile = (/** @type {string} */ p, /** @type {string|undefined} */ enc) =>
    readFile.call(sys, forward(p), enc);
  sys.readDirectory = (/** @type {string} */ p, /** @type {unknown[]} */ ...rest) =>
    readDirectory.call(sys, forward(p), ...rest);
  if (getDirectories) sys.getDirectories = (/** @type {string} */ p) => getDirectories.call(sys, forward(p));
  // Resolved files get their real path, so the checker sees one copy of each declaration file
  // and follows the package's own imports from where it really lives.
  if (realpath) sys.realpath = (/** @type {string} */ p) => realpath.call(sys, forward(p));
}

// ---------------------------------------------------------------------------------------------
// Wire protocol (https://jupyter-client.readthedocs.io/en/latest/messaging.html#the-wire-protocol).

/**
 * @typedef {{ msg_id: string, msg_type: string, session: string, username: string, date: string, version: string }} Header
 * @typedef {{ identity: Buffer[], header: Header, parent: Header | {}, metadata: Record<string, unknown>, content: any, buffers: Buffer[] }} Message
 */

/** @param {string} key @param {Buffer[]} raw @returns {Message} */
function parseMessage(key, raw) {
  const at = raw.findIndex((b) => b.equals(DELIM));
  if (at < 0) throw new Error('message missing the <IDS|MSG> delimiter');
  const signature = raw[at + 1].toString();
  const parts = raw.slice(at + 2);
  if (key) {
    const h = crypto.createHmac('sha256', key);
    for (const p of parts.slice(0, 4)) h.update(p);
    const want = h.digest('hex');
    if (
      want.length !== signature.length ||
      !crypto.timingSafeEqual(Buffer.from(want), Buffer.from(signature))
    )
      throw new Error('invalid message signature');
  }
  return {
    identity: raw.slice(0, at),
    header: JSON.parse(parts[0].toString()),
    parent: JSON.parse(parts[1].toString()),
    metadata: JSON.parse(parts[2].toString()),
    content: JSON.parse(parts[3].toString()),
    buffers: parts.slice(4),
  };
}

/**
 * @param {string} key @param {any} sock @param {Message} parent @param {string} msgType
 * @param {unknown} content @param {Buffer[]} [identity]
 */
function send(key, sock, parent, msgType, content, identity) {
  const header = {
    msg_id: crypto.randomBytes(16).toString('hex'),
    msg_type: msgType,
    session: parent.header.session,
    username: parent.header.username || 'mriseq',
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
  // NaN and Infinity are not JSON: the front end would refuse the whole message.
  const bodies = [header, parent.header, {}, content].map((x) =>
    JSON.stringify(x, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)),
  );
  const h = crypto.createHmac('sha256', key);
  for (const b of bodies) h.update(b);
  sock.send([...(identity ?? parent.identity), DELIM, key ? h.digest('hex') : '', ...bodies]);
}

// ---------------------------------------------------------------------------------------------
// Rich results: a cell's last expression shows as a MIME bundle.

/**
 * @param {unknown} value
 * @returns {{ data: Record<string, unknown>, metadata: Record<string, unknown> }}
 */
function mimeBundleOf(value) {
  const rich = /** @type {any} */ (globalThis)[Symbol.for('mriseq.display.richMimeBundle')];
  if (typeof rich === 'function') {
    try {
      const b = rich(value);
      if (b && b.data) {
        if (!('text/plain' in b.data)) b.data['text/plain'] = util.inspect(value, { depth: 2 });
        return { data: b.data, metadata: b.metadata ?? {} };
      }
    } catch (e) {
      console.error('mriseq kernel: could not build a rich view:', e);
    }
  }
  const v = /** @type {any} */ (value);
  if (v && typeof v === 'object' && typeof v.toMimeBundle === 'function') {
    const b = v.toMimeBundle();
    if (b && typeof b === 'object') {
      const data = b.data && typeof b.data === 'object' ? b.data : b;
      const metadata = b.data && b.metadata ? b.metadata : {};
      if (!('text/plain' in data)) data['text/plain'] = util.inspect(value, { depth: 2 });
      return { data, metadata };
    }
  }
  return { data: { 'text/plain': util.inspect(value, { colors: false }) }, metadata: {} };
}

/** @param {unknown} e @returns {{ ename: string, evalue: string, traceback: string[] }} */
function errorFields(e) {
  if (e instanceof Error) {
    const stack = (e.stack || `${e.name}: ${e.message}`).split('\n');
    return { ename: e.name || 'Error', evalue: e.message, traceback: stack };
  }
  const text = typeof e === 'string' ? e : util.inspect(e);
  return { ename: 'Error', evalue: text, traceback: [text] };
}

// ---------------------------------------------------------------------------------------------
// The kernel.

class Kernel {
  /** @param {string} configPath */
  constructor(configPath) {
    this.conn = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    this.key = String(this.conn.key || '');
    this.session = crypto.randomUUID();
    this.execCount = 0;
    /** @type {[number, string, [string, string | null] | null][]} */
    this.history = [];
    /** @type {Promise<void>} */
    this.queue = Promise.resolve();
    /** Bumped when an execution fails, so queued cells are aborted (stop_on_error). */
    this.abortEpoch = 0;
    /** The execute request whose outputs stream now (outputs after a cell ends go to it too). */
    /** @type {Message | null} */
    this.current = null;
    const tslabDir = path.dirname(require.resolve('tslab/package.json'));
    const { createExecutor } = require(path.join(tslabDir, 'dist', 'executor.js'));
    const converter = require(path.join(tslabDir, 'dist', 'converter.js'));
    this.isCompleteCode = converter.isCompleteCode;
    this.printQuickInfo = require(path.join(tslabDir, 'dist', 'inspect.js')).printQuickInfo;
    this.tslabJupyter = require(path.join(tslabDir, 'dist', 'jupyter.js'));
    this.tsVersion = require(path.join(tslabDir, 'dist', 'public.js')).versions.typescript;
    /** @type {Record<string, any>} */
    const convs = {};
    const convSet = {
      get node() {
        return (convs.node ??= converter.createConverter({ isJS: false, isBrowser: false }));
      },
      get browser() {
        return (convs.browser ??= converter.createConverter({ isJS: false, isBrowser: true }));
      },
      close() {
        for (const c of Object.values(convs)) c.close();
      },
    };
    void convSet.node; // warm the compiler before the first cell
    /** Errors and the last expression come to us through the executor's console. */
    /** @type {unknown[][]} */
    this.pendingErrors = [];
    /** @type {{ value: unknown } | null} */
    this.lastValue = null;
    this.executor = createExecutor(process.cwd(), convSet, {
      log: (/** @type {unknown} */ value) => {
        this.lastValue = { value };
      },
      error: (/** @type {unknown[]} */ ...args) => {
        this.pendingErrors.push(args);
      },
    });
  }

  async start() {
    const zmq = require(require.resolve('zeromq', { paths: [path.dirname(require.resolve('tslab'))] }));
    const c = this.conn;
    this.iopub = new zmq.Publisher();
    this.shell = new zmq.Router();
    this.control = new zmq.Router();
    this.stdin = new zmq.Router();
    this.hb = new zmq.Reply();
    const addr = (/** @type {number} */ port) => `${c.transport}://${c.ip}:${port}`;
    await Promise.all([
      this.iopub.bind(addr(c.iopub_port)),
      this.shell.bind(addr(c.shell_port)),
      this.control.bind(addr(c.control_port)),
      this.stdin.bind(addr(c.stdin_port)),
      this.hb.bind(addr(c.hb_port)),
    ]);
    this.installTransport();
    void this.loop(this.shell, false);
    void this.loop(this.control, true);
    void (async () => {
      for await (const msg of this.hb) await this.hb.send(msg);
    })();
  }

  /** @param {any} sock @param {boolean} isControl */
  async loop(sock, isControl) {
    for await (const raw of sock) {
      let msg;
      try {
        msg = parseMessage(this.key, raw);
      } catch (e) {
        console.error('mriseq kernel: dropped a message:', e instanceof Error ? e.message : e);
        continue;
      }
      // Execution is serialised on a queue so that completion and inspection stay responsive
      // while a long cell runs.
      if (msg.header.msg_type === 'execute_request') {
        const m = msg;
        const epoch = this.abortEpoch;
        this.queue = this.queue.then(() => this.onExecute(sock, m, epoch));
      } else {
        this.status('busy', msg);
        try {
          await this.dispatch(sock, msg, isControl);
        } catch (e) {
          console.error('mriseq kernel: handler failed:', e);
        } finally {
          this.status('idle', msg);
        }
      }
    }
  }

  /** @param {string} state @param {Message} parent */
  status(state, parent) {
    send(this.key, this.iopub, parent, 'status', { execution_state: state }, [Buffer.from('status')]);
  }

  /** @param {Message} parent @param {string} type @param {unknown} content */
  publish(parent, type, content) {
    send(this.key, this.iopub, parent, type, content, [Buffer.from(type)]);
  }

  /** @param {any} sock @param {Message} msg @param {boolean} isControl */
  async dispatch(sock, msg, isControl) {
    const reply = (/** @type {string} */ type, /** @type {unknown} */ content) =>
      send(this.key, sock, msg, type, content);
    const c = msg.content;
    switch (msg.header.msg_type) {
      case 'kernel_info_request':
        return reply('kernel_info_reply', this.kernelInfo());
      case 'is_complete_request': {
        const r = this.isCompleteCode(c.code);
        return reply(
          'is_complete_reply',
          r.completed ? { status: 'complete' } : { status: 'incomplete', indent: r.indent ?? '' },
        );
      }
      case 'inspect_request': {
        const info = this.executor.inspect(c.code, c.cursor_pos);
        return reply(
          'inspect_reply',
          info
            ? { status: 'ok', found: true, data: { 'text/plain': this.printQuickInfo(info) }, metadata: {} }
            : { status: 'ok', found: false, data: {}, metadata: {} },
        );
      }
      case 'complete_request': {
        const info = this.executor.complete(c.code, c.cursor_pos);
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
        // No comm support (tslab has none either): an empty but well-formed answer.
        return reply('comm_info_reply', { status: 'ok', comms: {} });
      case 'comm_open':
      case 'comm_msg':
      case 'comm_close':
        return; // no reply is defined for these; ignoring is what the spec asks of unknown targets
      case 'interrupt_request':
        this.executor.interrupt();
        return reply('interrupt_reply', { status: 'ok' });
      case 'shutdown_request':
        reply('shutdown_reply', { status: 'ok', restart: Boolean(c.restart) });
        setTimeout(() => this.close(), 50);
        return;
      default: {
        // A reply type the client can match, instead of silence it would wait on forever.
        const type = msg.header.msg_type.replace(/_request$/, '_reply');
        if (type !== msg.header.msg_type)
          reply(type, {
            status: 'error',
            ename: 'NotImplemented',
            evalue: `${msg.header.msg_type} is not supported by the mriseq kernel`,
            traceback: [],
          });
        if (!isControl) console.error(`mriseq kernel: unsupported ${msg.header.msg_type}`);
      }
    }
  }

  kernelInfo() {
    return {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: 'mriseq',
      implementation_version: readVersion(),
      language_info: {
        name: 'typescript',
        version: this.tsVersion,
        mimetype: 'text/typescript',
        file_extension: '.ts',
        codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
      },
      banner: `mriseq ${readVersion()} (TypeScript ${this.tsVersion} via tslab, Node ${process.version})`,
      help_links: [{ text: 'mriseq README', url: 'https://github.com/mriseq/mriseq#readme' }],
    };
  }

  /** @param {any} c */
  historyFor(c) {
    const rows = this.history.map(([n, code, out]) => [
      this.session,
      n,
      c.output ? [code, out?.[1] ?? null] : code,
    ]);
    if (c.hist_access_type === 'tail') return rows.slice(-Math.max(0, Number(c.n) || 0) || rows.length);
    if (c.hist_access_type === 'range') {
      const start = Number(c.start) || 0;
      const stop = c.stop == null ? Infinity : Number(c.stop);
      return rows.filter(
        (r) =>
          (c.session == null || c.session === 0 || r[0] === this.session || c.session < 0) &&
          r[1] >= start &&
          r[1] < stop,
      );
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

  /** Points stdout/stderr, tslab's display API and ours at the request now running. @param {Message} msg */
  bindOutputs(msg) {
    this.current = msg;
    const stream = (/** @type {'stdout'|'stderr'} */ name) =>
      /** @type {any} */ (
        (/** @type {string | Uint8Array} */ chunk, /** @type {unknown[]} */ ...rest) => {
          const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
          if (text.length > 0) this.publish(msg, 'stream', { name, text });
          const cb = rest.find((r) => typeof r === 'function');
          if (typeof cb === 'function') cb();
          return true;
        }
      );
    process.stdout.write = stream('stdout');
    process.stderr.write = stream('stderr');
    // tslab's own `display` (import * as tslab from 'tslab') keeps working.
    this.tslabJupyter.lastWriteDisplayData = (
      /** @type {unknown} */ content,
      /** @type {boolean} */ update,
    ) => this.publish(msg, update ? 'update_display_data' : 'display_data', content);
  }

  installTransport() {
    /** @type {any} */ (globalThis)[TRANSPORT_KEY] = {
      kind: 'jupyter',
      /**
       * Sends one display_data (or update_display_data) message with a full MIME bundle: JSON
       * MIME types travel as JSON objects, binary images as base64 strings.
       * @param {{ data: Record<string, unknown>, metadata?: Record<string, unknown>, displayId?: string, update?: boolean }} d
       */
      send: (d) => {
        if (!this.current) return false;
        const content = {
          data: d.data,
          metadata: d.metadata ?? {},
          transient: d.displayId ? { display_id: d.displayId } : {},
        };
        this.publish(this.current, d.update ? 'update_display_data' : 'display_data', content);
        return true;
      },
      clear: (/** @type {boolean} */ wait) => {
        if (this.current) this.publish(this.current, 'clear_output', { wait: Boolean(wait) });
      },
    };
  }

  /** @param {any} sock @param {Message} msg @param {number} epoch */
  async onExecute(sock, msg, epoch) {
    const c = msg.content;
    const silent = Boolean(c.silent);
    const storeHistory = c.store_history !== false && !silent;
    this.status('busy', msg);
    try {
      if (epoch !== this.abortEpoch) {
        send(this.key, sock, msg, 'execute_reply', { status: 'aborted', execution_count: this.execCount });
        return;
      }
      if (storeHistory) this.execCount += 1;
      const count = this.execCount;
      if (!silent) this.publish(msg, 'execute_input', { code: c.code, execution_count: count });
      this.bindOutputs(msg);
      this.pendingErrors = [];
      this.lastValue = null;
      let ok;
      try {
        ok = await this.executor.execute(c.code);
      } catch (e) {
        this.pendingErrors.push([e]);
        ok = false;
      }
      let textResult = null;
      if (ok) {
        for (const args of this.pendingErrors)
          this.publish(msg, 'stream', { name: 'stderr', text: util.format(...args) + '\n' });
        const v = /** @type {any} */ (this.lastValue?.value);
        const echo = !(v && typeof v === 'object' && v[Symbol.for('mriseq.display.silent')]);
        if (this.lastValue && !silent && echo) {
          const bundle = mimeBundleOf(this.lastValue.value);
          textResult = String(bundle.data['text/plain']);
          this.publish(msg, 'execute_result', {
            execution_count: count,
            data: bundle.data,
            metadata: bundle.metadata,
          });
        }
        if (storeHistory) this.history.push([count, c.code, [c.code, textResult]]);
        send(this.key, sock, msg, 'execute_reply', {
          status: 'ok',
          execution_count: count,
          payload: [],
          user_expressions: {},
        });
      } else {
        const err = this.describeFailure();
        this.publish(msg, 'error', err);
        if (storeHistory) this.history.push([count, c.code, [c.code, null]]);
        if (c.stop_on_error !== false) this.abortEpoch += 1;
        send(this.key, sock, msg, 'execute_reply', { status: 'error', execution_count: count, ...err });
      }
    } catch (e) {
      console.error('mriseq kernel: execute failed:', e);
    } finally {
      this.status('idle', msg);
    }
  }

  /** One error message for a failed cell: a thrown value, or tslab's compile diagnostics. */
  describeFailure() {
    const errs = this.pendingErrors;
    const thrown = errs.find((a) => a.length === 1 && a[0] instanceof Error);
    if (thrown) return errorFields(thrown[0]);
    if (errs.length === 0) return { ename: 'Error', evalue: 'execution failed', traceback: [] };
    // printDiagnostics calls console.error('%s%d:%d - %s', file, line, col, text) once per diagnostic.
    const lines = errs.map((a) => util.format(...a));
    if (errs.every((a) => typeof a[0] === 'string' && a[0].startsWith('%s%d:%d')))
      return { ename: 'TypeScriptError', evalue: lines.join('\n'), traceback: lines };
    if (errs.length === 1 && errs[0].length === 1) return errorFields(errs[0][0]);
    return { ename: 'Error', evalue: lines.join('\n'), traceback: lines };
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

/** @param {string} glob */
function globToRegExp(glob) {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

function readVersion() {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}

function main() {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === '--config-path' || a === '-f');
  const configPath = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--config-path='))?.split('=')[1];
  if (!configPath) {
    console.error('usage: node kernel/launcher.js --config-path <connection_file>');
    process.exit(2);
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js')))
    console.error(
      `mriseq kernel: mriseq is not built (no ${path.join(ROOT, 'dist')}); run \`npm run setup\` in ${ROOT}`,
    );
  installRuntimeResolution();
  installTypeResolution(process.cwd());
  const kernel = new Kernel(configPath);
  process.on('SIGINT', () => kernel.executor.interrupt());
  process.on('uncaughtException', (err) => console.error('Uncaught exception:', err));
  process.on('unhandledRejection', (reason) => console.error('Unhandled promise rejection:', reason));
  kernel.start().catch((e) => {
    console.error('mriseq kernel: could not start:', e);
    process.exit(1);
  });
}

if (require.main === module) main();

module.exports = { parseMessage, send, mimeBundleOf, globToRegExp };
