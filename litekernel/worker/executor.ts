/**
 * Runs notebook cells in the kernel's web worker: compiles each cell (./compile.ts), keeps the
 * names it declares in one scope object for later cells, sends its outputs (stdout/stderr
 * streams, any number of display_data and update_display_data messages, the result, errors) to
 * the cell that is running, and stops it on an interrupt.
 *
 * Interrupts are cooperative. A static web server cannot send the cross-origin-isolation headers
 * that SharedArrayBuffer needs, so the only way into a busy worker is a message, and the worker
 * reads messages only when the running code yields. An interrupt therefore (1) aborts the host
 * signal that mriseq's loops check between steps (src/interrupt: training, evaluation, maps stop
 * after the step under way) and (2) makes the cell throw KeyboardInterrupt at its next `await`.
 * Synchronous code that never yields runs to its end (the page's "Restart kernel" ends it).
 *
 * Browser-safe and independent of JupyterLab: the worker entry (./main.ts) wires it to messages,
 * and the tests run it in Node.
 */
import inspect from 'object-inspect';
import type { DisplayMessage, DisplayTransport } from '../../src/display/core.js';
import { CellSyntaxError, compileCell, SCOPE, type CellHelpers, type CompiledCell } from './compile.js';
import type { ExecuteReply, OutputKind } from './protocol.js';

/** Where one execution's outputs go. */
export type Sink = (kind: OutputKind, content: Record<string, unknown>) => void;

/** Module specifier -> the module object (loaded on first import). */
export type ModuleTable = Record<string, () => unknown>;

export interface ExecutorOptions {
  modules: ModuleTable;
  /** Specifiers that are URLs go to this loader (the worker: dynamic import()). */
  importUrl?: (url: string) => Promise<unknown>;
}

/** What a user's interrupt throws in the cell. */
export class KeyboardInterrupt extends Error {
  constructor() {
    super('interrupted by the user');
    this.name = 'KeyboardInterrupt';
  }
}

interface Execution {
  sink: Sink;
  interrupted: boolean;
  controller: AbortController;
}

interface CellRecord {
  compiled: CompiledCell;
  lines: string[];
  /** "[3]" for the third execution. */
  label: string;
}

const TRANSPORT_KEY = Symbol.for('mriseq.display.transport');
/**
 * Where mriseq's loops find the host's interrupt (src/interrupt): a function returning the running
 * cell's AbortSignal, so the executor knows which cells' signals work took. Set here, not through
 * an import, so the kernel needs no mriseq module (like the display transport).
 */
const SIGNAL_KEY = Symbol.for('mriseq.interrupt.signal');
const RICH_KEY = Symbol.for('mriseq.display.richMimeBundle');
const SILENT_KEY = Symbol.for('mriseq.display.silent');

export class Executor {
  /** Every top-level name the cells declared (null prototype: no inherited names leak in). */
  readonly scope: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  private readonly cells = new Map<string, CellRecord>();
  private current?: Execution;
  /** The last execution: outputs that arrive after their cell ended still go to it. */
  private latest?: Execution;
  private counter = 0;
  /**
   * Signals that work took (mriseq's loops take the signal once, at their start): an interrupt
   * aborts them too, so it also stops a training an earlier cell left running.
   */
  private readonly taken = new Set<AbortController>();
  private readonly helpers: CellHelpers;

  constructor(private readonly opts: ExecutorOptions) {
    const interrupted = () => (this.current ?? this.latest)?.interrupted === true;
    this.helpers = {
      ck<T>(v?: T): T | undefined {
        if (interrupted()) throw new KeyboardInterrupt();
        return v;
      },
      import: (specifier) => this.importModule(specifier),
      named(mod, name, specifier) {
        if (!(name in mod))
          throw Object.assign(
            new Error(
              `'${specifier}' has no export '${name}' here` +
                (specifier === 'mriseq'
                  ? ' (the browser build holds the computing core; files, processes and the native engine are Node-only)'
                  : ''),
            ),
            { name: 'ImportError' },
          );
        return mod[name];
      },
      dflt: (mod) => ('default' in mod ? mod.default : mod),
    };
  }

  /** The sink of the running execution, else of the last one (late output of a finished cell). */
  get sink(): Sink | undefined {
    return (this.current ?? this.latest)?.sink;
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  /**
   * Installs the mriseq display transport (display(), update_display, clear_output) on
   * globalThis, where mriseq's display module looks for it.
   */
  installDisplayTransport(): void {
    const transport: DisplayTransport = {
      kind: 'jupyterlite',
      send: (msg: DisplayMessage) => {
        const sink = this.sink;
        if (!sink) return false;
        sink(msg.update ? 'update_display_data' : 'display_data', {
          data: msg.data,
          metadata: msg.metadata ?? {},
          transient: msg.displayId ? { display_id: msg.displayId } : {},
        });
        return true;
      },
      clear: (wait: boolean) => this.sink?.('clear_output', { wait }),
    };
    (globalThis as Record<symbol, unknown>)[TRANSPORT_KEY] = transport;
  }

  /** Sends console output to the running cell as stdout (log, info, debug) and stderr (warn, error). */
  installConsole(target: Console = console): void {
    const stream =
      (name: 'stdout' | 'stderr') =>
      (...args: unknown[]) =>
        this.sink?.('stream', { name, text: formatArgs(args) + '\n' });
    target.log = stream('stdout');
    target.info = stream('stdout');
    target.debug = stream('stdout');
    target.warn = stream('stderr');
    target.error = stream('stderr');
  }

  /** Interrupts the running cell; false when none runs. */
  interrupt(): boolean {
    const ex = this.current;
    if (!ex) return false;
    ex.interrupted = true;
    ex.controller.abort(new KeyboardInterrupt());
    for (const c of this.taken) c.abort(new KeyboardInterrupt());
    this.taken.clear();
    return true;
  }

  /** Runs one cell; its outputs go to `sink` and the reply says how it ended. */
  async execute(code: string, sink: Sink, executionCount: number): Promise<ExecuteReply> {
    const url = `cell-${++this.counter}.js`;
    const label = `[${executionCount}]`;
    const ex: Execution = { sink, interrupted: false, controller: new AbortController() };
    this.current = ex;
    this.latest = ex;
    const g = globalThis as Record<symbol, unknown>;
    g[SIGNAL_KEY] = () => {
      const c = (this.current ?? this.latest)?.controller;
      if (c) this.taken.add(c);
      return c?.signal;
    };
    try {
      let compiled: CompiledCell;
      try {
        compiled = compileCell(code, url);
      } catch (e) {
        if (e instanceof CellSyntaxError) return this.fail(sink, syntaxError(e, code, label));
        throw e;
      }
      this.cells.set(url, { compiled, lines: code.split('\n'), label });
      for (const n of compiled.names) if (!(n in this.scope)) this.scope[n] = undefined;
      const factory = (0, eval)(compiled.code) as (
        scope: Record<string, unknown>,
        helpers: CellHelpers,
      ) => () => Promise<{ value: unknown } | undefined>;
      const result = await factory(this.scope, this.helpers)();
      // Training loops stop quietly between steps; the cell still says it was interrupted.
      if (ex.interrupted) throw new KeyboardInterrupt();
      if (compiled.hasResult && result) this.showResult(sink, result.value, executionCount);
      return { status: 'ok' };
    } catch (e) {
      return this.fail(sink, this.errorContent(ex.interrupted ? asInterrupt(e) : e));
    } finally {
      this.current = undefined;
    }
  }

  private fail(sink: Sink, err: { ename: string; evalue: string; traceback: string[] }): ExecuteReply {
    sink('error', err);
    return { status: 'error', ...err };
  }

  private showResult(sink: Sink, value: unknown, executionCount: number): void {
    if (value === undefined) return;
    if (typeof value === 'object' && value !== null && SILENT_KEY in value) return;
    sink('execute_result', { ...mimeBundleOf(value), execution_count: executionCount });
  }

  private async importModule(specifier: string): Promise<Record<string, unknown>> {
    const load = this.opts.modules[specifier];
    let mod: unknown;
    if (load) mod = await load();
    else if (/^(https?:|\.{0,2}\/)/.test(specifier) && this.opts.importUrl)
      mod = await this.opts.importUrl(specifier);
    else
      throw Object.assign(
        new Error(
          `module '${specifier}' is not available in the browser kernel; it offers ` +
            `${Object.keys(this.opts.modules)
              .map((m) => `'${m}'`)
              .join(', ')} and ES modules by URL`,
        ),
        { name: 'ModuleNotFoundError' },
      );
    if ((typeof mod !== 'object' && typeof mod !== 'function') || mod === null)
      throw new Error(`module '${specifier}' did not load (got ${String(mod)})`);
    return mod as Record<string, unknown>;
  }

  /** An error as the notebook shows it: the user's frames with their cell lines, no kernel frames. */
  errorContent(e: unknown): { ename: string; evalue: string; traceback: string[] } {
    if (!(e instanceof Error)) {
      const text = typeof e === 'string' ? e : inspect(e, { depth: 2 });
      return { ename: 'Error', evalue: text, traceback: [`Error: ${text}`] };
    }
    const ename = e.name || 'Error';
    const traceback = [`${ename}: ${e.message}`];
    let inner: string | undefined;
    for (const frame of (e.stack ?? '').split('\n').slice(1)) {
      const m = /(?:at\s+(?:async\s+)?([^\s(]+)\s+\()?[^\s(]*?(cell-\d+\.js):(\d+):(\d+)/.exec(frame);
      if (!m) {
        // The top frames inside a library: name the script once, then the user's frames.
        const lib = /([\w.-]+\.js):\d+:\d+/.exec(frame);
        if (!inner && lib && traceback.length === 1) inner = lib[1];
        continue;
      }
      const cell = this.cells.get(m[2]);
      if (!cell) continue;
      const line = cell.compiled.cellLine(Number(m[3]), Number(m[4]) - 1);
      if (line === undefined) continue;
      const fn = m[1] && m[1] !== 'eval' && m[1] !== SCOPE ? ` in ${m[1]}` : '';
      const text = (cell.lines[line - 1] ?? '').trim();
      if (inner) {
        traceback.push(`  (raised inside ${inner})`);
        inner = undefined;
      }
      traceback.push(`  cell ${cell.label}, line ${line}${fn}: ${text}`);
    }
    return { ename, evalue: e.message, traceback };
  }
}

function asInterrupt(e: unknown): unknown {
  if (e instanceof KeyboardInterrupt) return e;
  // mriseq's loops throw their own "interrupted" MriseqError; say it was the user.
  const k = new KeyboardInterrupt();
  if (e instanceof Error)
    k.stack = `${k.name}: ${k.message}\n${(e.stack ?? '').split('\n').slice(1).join('\n')}`;
  return k;
}

function syntaxError(e: CellSyntaxError, code: string, label: string) {
  const line = code.split('\n')[e.line - 1] ?? '';
  return {
    ename: 'SyntaxError',
    evalue: `${e.message} (cell ${label}, line ${e.line}, column ${e.column})`,
    traceback: [
      `SyntaxError: ${e.message}`,
      `  cell ${label}, line ${e.line}: ${line}`,
      `  ${' '.repeat(`cell ${label}, line ${e.line}: `.length + e.column - 1)}^`,
    ],
  };
}

/** console.log's formatting: strings as they are, other values inspected. */
export function formatArgs(args: unknown[]): string {
  return args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 3 }))).join(' ');
}

/** A value's MIME bundle: mriseq's rich views when mriseq is loaded, else text. */
export function mimeBundleOf(value: unknown): {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
} {
  const rich = (globalThis as Record<symbol, unknown>)[RICH_KEY];
  if (typeof rich === 'function') {
    const b = (
      rich as (v: unknown) => { data: Record<string, unknown>; metadata?: Record<string, unknown> } | null
    )(value);
    if (b?.data) {
      if (!('text/plain' in b.data)) b.data['text/plain'] = inspect(value, { depth: 2 });
      return { data: b.data, metadata: b.metadata ?? {} };
    }
  }
  return { data: { 'text/plain': inspect(value, { depth: 2 }) }, metadata: {} };
}
