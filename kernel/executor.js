// @ts-check
/**
 * Runs notebook cells: tslab's converter type-checks and transpiles a cell (kernel/typescript.js),
 * and this file runs the result the way an IPython user expects:
 *
 * - top-level `await` anywhere in the cell (also `await (async () => 1)()`);
 * - `{ seed }` naming an earlier cell's variable;
 * - a cell that throws keeps what it declared and assigned before the throw (and nothing after);
 * - errors name cell lines (source maps through both of tslab's emit steps) and show the user's
 *   frames, not the kernel's;
 * - an interrupt ends the cell with a KeyboardInterrupt once the interrupted work has stopped
 *   (mriseq's long-running calls stop at their next step through the kernel's AbortSignal).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const Module = require('module');
const { SourceMap } = Module;
const util = require('util');
const {
  loadTslab,
  PositionMap,
  hasTopLevelAwait,
  expandShorthand,
  declaredValueNames,
  declarationsAfterFailure,
} = require('./typescript.js');

const KERNEL_DIR = __dirname;
const DIST_DIR = path.join(__dirname, '..', 'dist');
/** Globals a cell's code reads its arguments from (inside the script, so breakOnSigint covers the run). */
const CELL_ARGS = Symbol.for('mriseq.kernel.cellArgs');

/**
 * @typedef {{ ename: string, evalue: string, traceback: string[] }} ErrorContent
 * @typedef {{ ok: true, hasValue: boolean, value?: unknown } | { ok: false, error: ErrorContent }} CellResult
 * @typedef {{ fired: boolean, first: Promise<void>, again: Promise<void>, cooperative: () => boolean }} Interruption
 */

class KeyboardInterrupt extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'KeyboardInterrupt';
  }
}

/** @param {number} ms */
const delay = (ms) =>
  new Promise((r) => {
    const t = setTimeout(r, ms);
    t.unref?.();
  });

class Executor {
  /**
   * @param {{ tslabDir: string, cwd: string, beforeLoad?: () => void, mark?: (what: string) => void }} opts
   *   beforeLoad runs once before TypeScript is loaded (the launcher's module resolution for the
   *   type checker); mark logs start-up timing
   */
  constructor(opts) {
    this.mark = opts.mark ?? (() => undefined);
    this.tslabDir = opts.tslabDir;
    this.cwd = opts.cwd;
    this.beforeLoad = opts.beforeLoad;
    /** TypeScript and tslab load on first use (a few hundred ms): the kernel answers before that. */
    /** @type {ReturnType<typeof loadTslab> | null} */
    this.tslab = null;
    /** @type {any} */
    this.conv = null;
    this.prevDecl = '';
    /** Values of every top-level declaration so far (tslab's `exports`). @type {Record<string, unknown>} */
    this.store = {};
    /** Names assigned while the current cell runs. @type {Set<string> | null} */
    this.assigned = null;
    const store = this.store;
    const note = (/** @type {string | symbol} */ prop) => {
      if (typeof prop === 'string') this.assigned?.add(prop);
    };
    this.exports = new Proxy(store, {
      // TypeScript's CommonJS emit defines imported names with getters; we keep their values so
      // a later cell may reassign them.
      defineProperty: (target, prop, attrs) => {
        if (prop === '__esModule') return true;
        /** @type {any} */ (target)[prop] = attrs.get ? attrs.get() : attrs.value;
        note(prop);
        return true;
      },
      set: (target, prop, value) => {
        /** @type {any} */ (target)[prop] = value;
        note(prop);
        return true;
      },
    });
    /** Emitted JS of local modules (cells with `@module`, imported .ts files). @type {Map<string, string>} */
    this.sideOutputs = new Map();
    /** @type {Map<string, any>} */
    this.sideModules = new Map();
    /** Position maps of every script we ran, by the file name V8 puts in stack traces. */
    /** @type {Map<string, { label: string, map: PositionMap | null, source: string, firstLine: number, callLine?: number }>} */
    this.scripts = new Map();
    this.seq = 0;
    /** @type {Map<string, import('module').SourceMap | null>} */
    this.libraryMaps = new Map();
    this.require = this.makeRequire(Module.createRequire(path.join(this.cwd, '__cell__.js')), this.cwd);
  }

  /** tslab's modules and its TypeScript (with source maps on). */
  load() {
    if (!this.tslab) {
      this.beforeLoad?.();
      this.tslab = loadTslab(this.tslabDir);
      this.metadata = require(path.join(this.tslabDir, 'dist', 'metadata.js'));
    }
    return this.tslab;
  }

  get ts() {
    return this.load().ts;
  }

  /** @param {string} text */
  mapsOf(text) {
    return this.load().mapsOf(text);
  }

  /** Creates tslab's converter (the TypeScript program: about a second); idempotent. */
  warm() {
    if (!this.conv) this.conv = this.load().converter.createConverter({ isJS: false, isBrowser: false });
    return this.conv;
  }

  /**
   * Warms the type checker on a module so the first cell importing it is quick: its declaration
   * files are parsed once and kept by the watch program.
   * @param {string} specifier
   */
  preloadTypes(specifier) {
    try {
      this.warm().convert(this.prevDecl, `import * as __warm from ${JSON.stringify(specifier)};\n__warm;`);
    } catch {
      // only a speed-up
    }
  }

  /** @param {string} src @param {number} pos */
  inspect(src, pos) {
    return this.warm().inspect(this.prevDecl, src, pos);
  }

  /** @param {string} src @param {number} pos */
  complete(src, pos) {
    return this.warm().complete(this.prevDecl, src, pos);
  }

  /**
   * require for cells and local modules: `tslab` (tslab's display API) and emitted local modules,
   * then Node's own resolution.
   * @param {NodeJS.Require} base @param {string} dir
   * @returns {NodeJS.Require}
   */
  makeRequire(base, dir) {
    const req = /** @type {any} */ (
      (/** @type {string} */ id) => {
        if (id === 'tslab') return base(this.tslabDir);
        const local = this.requireSideOutput(id, dir);
        if (local) return local;
        return base(id);
      }
    );
    req.resolve = base.resolve;
    req.cache = base.cache;
    req.main = base.main;
    return req;
  }

  /** @param {string} id @param {string} dir */
  requireSideOutput(id, dir) {
    if (!id.startsWith('.') && !path.isAbsolute(id)) return null;
    let file = path.resolve(dir, id);
    if (path.extname(file) === '') file += '.js';
    const done = this.sideModules.get(file);
    if (done) return done.exports;
    const code = this.sideOutputs.get(file);
    if (code === undefined) return null;
    const mod = /** @type {any} */ (new Module(file, /** @type {any} */ (module)));
    mod.filename = file;
    mod.paths = /** @type {any} */ (Module)._nodeModulePaths(path.dirname(file));
    mod.require = this.makeRequire(Module.createRequire(file), path.dirname(file));
    this.sideModules.set(file, mod);
    const raw = this.mapsOf(code);
    this.scripts.set(file, {
      label: path.relative(this.cwd, file).replace(/\.js$/, '.ts'),
      map: raw ? new PositionMap(raw) : null,
      source: '',
      firstLine: 0,
    });
    try {
      mod._compile(code, file);
    } catch (e) {
      this.sideModules.delete(file);
      throw e;
    }
    return mod.exports;
  }

  /**
   * Runs one cell.
   * @param {string} src
   * @param {{ label: string, interruption: Interruption }} opts
   * @returns {Promise<CellResult>}
   */
  async execute(src, opts) {
    const conv = this.warm();
    const meta = this.metadata.getCodeMetadata(src);
    if (meta.module) {
      const diags = conv.addModule(meta.module, src, meta);
      if (diags.length > 0) return { ok: false, error: this.diagnosticsError(diags, src, opts.label) };
      return { ok: true, hasValue: false };
    }
    const rewritten = expandShorthand(this.ts, src);
    /** @type {any} */
    const converted = conv.convert(this.prevDecl, rewritten.text);
    for (const out of converted.sideOutputs ?? []) {
      this.sideModules.delete(out.path);
      this.sideOutputs.set(out.path, out.data);
    }
    this.mark(`${opts.label}: converted`);
    if (converted.diagnostics.length > 0)
      return { ok: false, error: this.diagnosticsError(converted.diagnostics, src, opts.label) };
    if (!converted.output) {
      this.prevDecl = converted.declOutput || '';
      return { ok: true, hasValue: false };
    }
    const isAsync = converted.hasToplevelAwait || hasTopLevelAwait(this.ts, rewritten.text);
    const raw = this.mapsOf(converted.output);
    // The `exports.a = exports.b = void 0;` preamble would reset an earlier cell's value of a name
    // this cell redeclares before the cell reaches that declaration; blank it (keeping lines).
    const body = blankPreamble(converted.output);
    this.seq += 1;
    const file = `<cell-${this.seq}>`;
    this.scripts.set(file, {
      label: opts.label,
      map: raw ? new PositionMap(raw, rewritten.unshift) : null,
      source: src,
      firstLine: 1,
      // The last line only calls the wrapper: a frame there is ours, not the user's.
      callLine: body.split('\n').length + 2,
    });
    const code =
      `(${isAsync ? 'async ' : ''}function (exports, require) {\n` +
      body +
      `\n})(globalThis[Symbol.for('mriseq.kernel.cellArgs')].exports, globalThis[Symbol.for('mriseq.kernel.cellArgs')].require)`;
    /** @type {any} */ (globalThis)[CELL_ARGS] = { exports: this.exports, require: this.require };
    this.assigned = new Set();
    const lastVar = converted.lastExpressionVar;
    /** @type {{ ok: boolean, e?: unknown }} */
    let outcome;
    try {
      // displayErrors: false, or Node prepends the emitted JavaScript line to the stack.
      const ret = new vm.Script(code, { filename: file }).runInThisContext({ breakOnSigint: true, displayErrors: false });
      outcome = isAsync ? await this.awaitCell(ret, opts.interruption) : { ok: true };
    } catch (e) {
      outcome = { ok: false, e: isSigintError(e) ? new KeyboardInterrupt('interrupted') : e };
    }
    const assigned = this.assigned;
    this.assigned = null;
    this.mark(`${opts.label}: ran`);
    if (outcome.ok && opts.interruption.fired)
      outcome = { ok: false, e: new KeyboardInterrupt('interrupted; the work it was awaiting stopped') };
    if (!outcome.ok) {
      if (lastVar) delete this.store[lastVar];
      const unassigned = new Set([...declaredValueNames(this.ts, src)].filter((n) => !assigned.has(n)));
      try {
        this.prevDecl = declarationsAfterFailure(this.ts, this.prevDecl, converted.declOutput || '', unassigned);
      } catch {
        // keep the declarations of the earlier cells
      }
      return { ok: false, error: this.errorContent(outcome.e) };
    }
    this.prevDecl = converted.declOutput || '';
    if (lastVar && lastVar in this.store) {
      const value = this.store[lastVar];
      delete this.store[lastVar];
      return { ok: true, hasValue: value !== undefined, value };
    }
    return { ok: true, hasValue: false };
  }

  /**
   * Waits for an async cell. On an interrupt, work that took the kernel's AbortSignal gets time to
   * stop at its next step (and save what it saves on Ctrl-C); other work gets a second; a second
   * interrupt stops waiting at once.
   * @param {Promise<unknown>} promise @param {Interruption} intr
   * @returns {Promise<{ ok: boolean, e?: unknown }>}
   */
  async awaitCell(promise, intr) {
    const settled = promise.then(
      () => ({ ok: true }),
      (e) => ({ ok: false, e }),
    );
    const first = await Promise.race([settled, intr.first.then(() => null)]);
    if (first) return first;
    const grace = intr.cooperative() ? 600_000 : 1500;
    const r = await Promise.race([settled, intr.again.then(() => null), delay(grace).then(() => null)]);
    if (r === null) {
      return {
        ok: false,
        e: new KeyboardInterrupt(
          intr.cooperative()
            ? 'interrupted; the work did not stop yet and may still be running'
            : 'interrupted; the awaited work does not take an AbortSignal and may still be running',
        ),
      };
    }
    if (!r.ok && isAbortError(r.e)) return { ok: false, e: keyboardInterruptFrom(r.e) };
    return { ok: false, e: new KeyboardInterrupt('interrupted; the work it was awaiting stopped') };
  }

  /**
   * TypeScript diagnostics as one error, pointing at cell lines.
   * @param {any[]} diags @param {string} src @param {string} label
   * @returns {ErrorContent}
   */
  diagnosticsError(diags, src, label) {
    const lines = src.split('\n');
    /** @type {string[]} */
    const tb = [];
    /** @type {string[]} */
    const short = [];
    for (const d of diags) {
      const where = d.fileName ? d.fileName : label;
      const line = d.start.line + 1;
      const col = d.start.character + 1;
      short.push(`${where}:${line}:${col} - ${d.messageText}`);
      tb.push(`${where}, line ${line}, column ${col}: ${d.messageText}`);
      if (!d.fileName && lines[d.start.line] !== undefined) {
        tb.push(`  ${String(line).padStart(4)} | ${lines[d.start.line]}`);
        tb.push(`       | ${' '.repeat(d.start.character)}^`);
      }
    }
    return { ename: 'TypeScriptError', evalue: short.join('\n'), traceback: tb };
  }

  /**
   * An error as Jupyter error content: the message, the frames of the user's code mapped to cell
   * lines, library frames kept, the kernel's own frames and Node's internals dropped, and the
   * failing cell line with its neighbours.
   * @param {unknown} e
   * @returns {ErrorContent}
   */
  errorContent(e) {
    if (!(e instanceof Error) && !(e && typeof e === 'object' && typeof (/** @type {any} */ (e).stack) === 'string')) {
      const text = typeof e === 'string' ? e : util.inspect(e);
      return { ename: 'Error', evalue: text, traceback: [`Uncaught ${text}`] };
    }
    const err = /** @type {Error} */ (e);
    const ename = err.name || 'Error';
    const evalue = typeof err.message === 'string' ? err.message : String(err.message);
    const stack = String(err.stack || `${ename}: ${evalue}`).split('\n');
    const firstFrame = stack.findIndex((l) => /^\s+at /.test(l));
    const head = firstFrame < 0 ? stack : stack.slice(0, firstFrame);
    const frames = firstFrame < 0 ? [] : stack.slice(firstFrame);
    /** @type {string[]} */
    const out = [];
    /** @type {{ label: string, line: number, source: string } | null} */
    let context = null;
    for (const f of frames) {
      const mapped = this.mapFrame(f);
      if (mapped === null) continue;
      out.push(mapped.text);
      if (!context && mapped.cell) context = mapped.cell;
    }
    const tb = [...head, ...out];
    if (context) tb.push('', ...cellContext(context));
    return { ename, evalue, traceback: tb };
  }

  /**
   * One stack frame: mapped to its cell or local module, kept as it is, or dropped (null).
   * @param {string} frame
   * @returns {{ text: string, cell?: { label: string, line: number, source: string } } | null}
   */
  mapFrame(frame) {
    const m = /^(\s+at (?:async )?(?:[^(]*\()?)(.+?):(\d+):(\d+)(\)?)$/.exec(frame);
    if (!m) return /node:internal/.test(frame) ? null : { text: frame };
    const [, pre, file, ls, cs, post] = m;
    const script = this.scripts.get(file);
    if (script) {
      if (script.callLine !== undefined && Number(ls) === script.callLine) return null;
      // Our scripts start with one wrapper line before the emitted code.
      const line = Number(ls) - 1 - script.firstLine;
      const pos = script.map?.toSource(line, Number(cs) - 1);
      // Functions of earlier cells are called through the kernel's exports proxy: V8 says "Proxy.f".
      const at = pre.replace(/\bat (async )?Proxy\./, 'at $1');
      if (!pos) return { text: `${at}${script.label}${post}` };
      return {
        text: `${at}${script.label}:${pos.line}:${pos.col}${post}`,
        cell: script.source ? { label: script.label, line: pos.line, source: script.source } : undefined,
      };
    }
    if (file.startsWith('node:')) return null;
    if (file === 'evalmachine.<anonymous>') return null;
    if (file.startsWith(KERNEL_DIR + path.sep) || file.startsWith(this.tslabDir + path.sep)) return null;
    const lib = this.libraryPosition(file, Number(ls), Number(cs));
    return { text: lib ? `${pre}${lib}${post}` : frame };
  }

  /**
   * mriseq's own frames (dist/*.js) as src/*.ts positions, from the source map next to the file.
   * Read when an error is shown, not at start-up: Node's --enable-source-maps would parse every
   * loaded module's map (about a second for mriseq and tfjs).
   * @param {string} file @param {number} line 1-based @param {number} col 1-based
   */
  libraryPosition(file, line, col) {
    if (!file.startsWith(DIST_DIR + path.sep) || !file.endsWith('.js')) return null;
    let map = this.libraryMaps.get(file);
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(fs.readFileSync(file + '.map', 'utf8')));
      } catch {
        map = null;
      }
      this.libraryMaps.set(file, map);
    }
    const e = /** @type {any} */ (map?.findEntry(line - 1, col - 1));
    if (!e || !e.originalSource) return null;
    const source = e.originalSource.startsWith('file://') ? new URL(e.originalSource).pathname : path.resolve(path.dirname(file), e.originalSource);
    return `${source}:${e.originalLine + 1}:${e.originalColumn + 1}`;
  }

  close() {
    this.conv?.close();
  }
}

/** @param {{ label: string, line: number, source: string }} c */
function cellContext(c) {
  const lines = c.source.split('\n');
  const from = Math.max(1, c.line - 2);
  const to = Math.min(lines.length, c.line + 1);
  const out = [`${c.label}, line ${c.line}:`];
  for (let l = from; l <= to; l++) out.push(`${l === c.line ? '--->' : '    '} ${String(l).padStart(3)} ${lines[l - 1]}`);
  return out;
}

/** @param {string} js */
function blankPreamble(js) {
  const lines = js.split('\n');
  for (let i = 0; i < Math.min(lines.length, 60); i++) {
    if (/^exports\.[\w$]+ = (exports\.[\w$]+ = )*void 0;$/.test(lines[i])) lines[i] = '';
    else if (!/^Object\.defineProperty\(exports, "__esModule"/.test(lines[i]) && lines[i] !== '') break;
  }
  return lines.join('\n');
}

/** @param {unknown} e */
function isSigintError(e) {
  return e instanceof Error && /Script execution was interrupted by `SIGINT`/.test(e.message);
}

/** Errors that mean "stopped because of an abort": DOM AbortError, or mriseq's *.aborted codes. @param {unknown} e */
function isAbortError(e) {
  if (!e || typeof e !== 'object') return false;
  const x = /** @type {{ name?: unknown, code?: unknown }} */ (e);
  return x.name === 'AbortError' || x.name === 'KeyboardInterrupt' || (typeof x.code === 'string' && /\.(aborted|interrupted)$/.test(x.code));
}

/** @param {unknown} e */
function keyboardInterruptFrom(e) {
  const k = new KeyboardInterrupt(`interrupted (${e instanceof Error ? e.message : String(e)})`);
  if (e instanceof Error && e.stack) k.stack = `KeyboardInterrupt: ${k.message}\n` + e.stack.split('\n').filter((l) => /^\s+at /.test(l)).join('\n');
  return k;
}

module.exports = { Executor, KeyboardInterrupt, isAbortError, blankPreamble };
