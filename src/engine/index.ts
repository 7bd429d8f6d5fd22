/**
 * The tensor engine every other module uses. This file is browser-safe: it imports only
 * @tensorflow/tfjs. Environment-specific backends (native libtensorflow in Node, webgl in a
 * browser) are offered by an adapter registered at the edge (src/engine/node.ts for Node).
 */
import * as tf from '@tensorflow/tfjs';
import { MriseqError } from '../errors/index.js';
import { registerCpuKernels, registerGradients, registerWasmKernels } from './wasm-kernels.js';

/**
 * The TensorFlow.js namespace (@tensorflow/tfjs 4.22) that mriseq computes with, on the backend
 * {@link initEngine} chose. Use it for tensors you pass in or get back (tf.tidy, dispose, data())
 * so that they live in the same engine as mriseq's own.
 *
 * @example
 * ```ts
 * import { tf, initEngine } from 'mriseq';
 * await initEngine();
 * const x = tf.ones([1, 4, 4, 1]);
 * console.log(tf.getBackend(), x.shape);
 * x.dispose();
 * ```
 */
export { tf };

export { wasmCandidate };

/** What a candidate reports once it is loaded. */
export interface LoadedBackend {
  /** tfjs's name of the backend now active ('tensorflow', 'wasm', 'cpu', 'webgl'...). */
  tfBackend: string;
  /** What runs underneath, e.g. 'libtensorflow 2.21.0, CPU, 2 threads'. */
  detail?: string;
  /** For native GPU builds: whether TensorFlow found a GPU device. */
  gpu?: boolean;
}

/** One backend the engine may choose, fastest first. */
export interface BackendCandidate {
  /** The name the user asks for (MRISEQ_BACKEND, initEngine({backend})). */
  readonly name: string;
  /** Loads and registers the backend; throws (with an actionable message) when it cannot. */
  load(options: { threads?: number }): Promise<LoadedBackend>;
  /**
   * The same, synchronously, for backends that can start that way (native TensorFlow, cpu): the
   * engine uses it when computation starts before anyone called initEngine().
   */
  loadSync?(options: { threads?: number }): LoadedBackend;
  /** Never chosen unless asked for by name (Node's pure-JavaScript cpu backend: ~100x slower). */
  readonly explicitOnly?: boolean;
}

export interface EngineAdapter {
  readonly platform: string;
  candidates(): BackendCandidate[];
  /** The backend requested by the environment (e.g. MRISEQ_BACKEND), if any. */
  requested(): string | undefined;
  /** Where requested() reads it, for messages (default 'MRISEQ_BACKEND'). */
  readonly requestedFrom?: string;
}

/**
 * What {@link initEngine} chose and why: the backend, what runs underneath, and which faster
 * candidates were skipped with their reasons.
 *
 * @example
 * ```ts
 * import { initEngine, type EngineReport } from 'mriseq';
 * const r: EngineReport = await initEngine();
 * for (const s of r.skipped) console.log(`skipped ${s.name}: ${s.reason}`);
 * ```
 */
export interface EngineReport {
  /** The candidate chosen, e.g. 'tensorflow', 'wasm', 'cpu'. */
  backend: string;
  /** tfjs's name of the active backend. */
  tfBackend: string;
  /** What runs underneath (library version, device, threads), when known. */
  detail?: string;
  /** For the tensorflow-gpu backend: whether a GPU device was found. */
  gpu?: boolean;
  /** Whether the backend was asked for (option or MRISEQ_BACKEND) rather than chosen. */
  requested: boolean;
  /** Why each faster candidate was skipped. */
  skipped: { name: string; reason: string }[];
  /** One line a user can act on. */
  summary: string;
}

function wasmCandidate(): BackendCandidate {
  return {
    name: 'wasm',
    async load() {
      // In a browser the page registers wasm by importing @tensorflow/tfjs-backend-wasm.
      if (!tf.findBackendFactory('wasm')) throw new Error('@tensorflow/tfjs-backend-wasm is not imported');
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
      const k = registerWasmKernels();
      return { tfBackend: 'wasm', detail: `composed kernels: ${[...k.added, ...k.replaced].join(', ')}` };
    },
  };
}

const browserAdapter: EngineAdapter = {
  platform: 'browser',
  requested: () => undefined,
  candidates: () => [
    ...['webgpu', 'webgl'].map((name) => ({
      name,
      async load(): Promise<LoadedBackend> {
        if (!(await tf.setBackend(name))) throw new Error(`tfjs backend '${name}' is not available here`);
        return { tfBackend: name };
      },
    })),
    wasmCandidate(),
    {
      name: 'cpu',
      async load(): Promise<LoadedBackend> {
        if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
        registerCpuKernels();
        return { tfBackend: 'cpu', detail: 'pure JavaScript, slow' };
      },
    },
  ],
};

let adapter: EngineAdapter = browserAdapter;
let report: EngineReport | undefined;
let pending: Promise<EngineReport> | undefined;

/** Installs the environment's adapter; called once by the Node or browser entry point. */
export function setEngineAdapter(a: EngineAdapter): void {
  adapter = a;
  report = undefined;
  pending = undefined;
  installLazyChoice();
}

interface TfEngineInternals {
  backendInstance: unknown;
  pendingBackendInit: unknown;
}

let lazyInstalled = false;

/**
 * Computation that starts before initEngine() (a tensor made, a model built, trainRun called
 * without `await initEngine()`) would run on whatever tfjs initialises by itself: in Node that is
 * its pure-JavaScript backend, ~100x slower, with only a console hint. Instead, the first time
 * tfjs needs a backend nobody chose, the engine chooses one here, once, synchronously, with the
 * same rules as initEngine() (MRISEQ_BACKEND, else the fastest that starts synchronously; never
 * an explicit-only backend such as Node's cpu unless asked for).
 */
function installLazyChoice(): void {
  if (lazyInstalled) return;
  const engine = tf.engine() as unknown as TfEngineInternals;
  const proto = Object.getPrototypeOf(engine) as object;
  const desc = Object.getOwnPropertyDescriptor(proto, 'backend');
  if (!desc?.get) return; // another tfjs layout: leave it alone
  const get = desc.get;
  Object.defineProperty(engine, 'backend', {
    configurable: true,
    get(this: TfEngineInternals) {
      if (this.backendInstance == null && this.pendingBackendInit == null && !report) chooseSync();
      return get.call(this);
    },
  });
  lazyInstalled = true;
}

/**
 * The candidates to try: the one asked for (an unknown name is a MriseqError naming the choices),
 * else every one that may be chosen without being named.
 */
function candidatesFor(all: BackendCandidate[], want: string | undefined, field: string): BackendCandidate[] {
  if (want === undefined) return all.filter((c) => !c.explicitOnly);
  const list = all.filter((c) => c.name === want);
  if (list.length === 0)
    throw new MriseqError('unknown tensor backend', {
      field,
      found: `'${want}'`,
      expected: `one of ${all.map((c) => c.name).join(', ')} (or unset to choose the fastest that works)`,
      code: 'engine.unknown-backend',
    });
  return list;
}

let choosing = false;

function chooseSync(): void {
  // A candidate that fails half-way may touch the backend getter again: choose once at a time.
  if (choosing) return;
  choosing = true;
  try {
    chooseSyncOnce();
  } finally {
    choosing = false;
  }
}

function chooseSyncOnce(): void {
  const all = adapter.candidates();
  // Environments without synchronous backends (a browser) keep tfjs's own choice.
  if (!all.some((c) => c.loadSync)) return;
  const want = adapter.requested();
  const field = adapter.requestedFrom ?? 'MRISEQ_BACKEND';
  const list = candidatesFor(all, want, field);
  const skipped: { name: string; reason: string }[] = [];
  registerGradients();
  for (const c of list) {
    if (!c.loadSync) {
      skipped.push({
        name: c.name,
        reason: 'starts asynchronously: call `await initEngine()` before computing',
      });
      continue;
    }
    try {
      const loaded = c.loadSync({});
      report = makeReport(c.name, loaded, want, field, skipped, 'chosen when computation started');
      return;
    } catch (e) {
      skipped.push({ name: c.name, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  throw new MriseqError(
    `no tensor backend starts synchronously here (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`,
    {
      field,
      expected:
        want !== undefined
          ? 'call `await initEngine()` before computing'
          : 'run `npm run setup` to build the native engine, or call `await initEngine()` first (it can start wasm), ' +
            "or ask for the slow pure-JavaScript backend with MRISEQ_BACKEND=cpu / initEngine({ backend: 'cpu' })",
      code: 'engine.no-backend',
    },
  );
}

/**
 * Makes sure a backend was chosen (by initEngine() or, synchronously, by the rules above) and
 * returns its report. Computing entry points call it first, so the choice is made before their
 * first operation and tf.getBackend() already names it.
 *
 * @example
 * ```ts
 * import { ensureEngine, tf } from 'mriseq';
 * const report = ensureEngine(); // without initEngine(): the native engine, chosen now
 * console.log(report?.backend, tf.getBackend());
 * ```
 */
export function ensureEngine(): EngineReport | undefined {
  if (!report && (tf.engine() as unknown as TfEngineInternals).backendInstance == null)
    void tf.engine().backend;
  return report;
}

function makeReport(
  name: string,
  loaded: LoadedBackend,
  want: string | undefined,
  field: string,
  skipped: { name: string; reason: string }[],
  how?: string,
): EngineReport {
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  const summary =
    `mriseq engine: ${name}` +
    (loaded.detail ? ` (${loaded.detail})` : '') +
    (want !== undefined ? `, requested by ${field}` : how ? `, ${how}` : '') +
    (why ? `; skipped ${why}` : '') +
    (name === 'cpu' && want === undefined && adapter.platform !== 'browser'
      ? '; cpu is ~100x slower than tensorflow: run npm run setup'
      : '');
  return {
    backend: name,
    tfBackend: loaded.tfBackend,
    detail: loaded.detail,
    gpu: loaded.gpu,
    requested: want !== undefined,
    skipped,
    summary,
  };
}

/**
 * Options of {@link initEngine}.
 *
 * @example
 * ```ts
 * import { initEngine, type EngineOptions } from 'mriseq';
 * const options: EngineOptions = { backend: 'tensorflow', threads: 2 };
 * await initEngine(options);
 * ```
 */
export interface EngineOptions {
  /**
   * Force one backend by name ('tensorflow-gpu', 'tensorflow', 'wasm', 'cpu' in Node);
   * otherwise MRISEQ_BACKEND, otherwise the fastest that works.
   */
  backend?: string;
  /**
   * Threads for the native backend (default: all cores; TF_NUM_INTRAOP_THREADS wins when set).
   * Takes effect only before libtensorflow is first loaded. wasm in Node runs one thread.
   */
  threads?: number;
}

/**
 * The backend names this environment knows, fastest first.
 * These are the names {@link initEngine}'s `backend` option and MRISEQ_BACKEND accept.
 *
 * @returns Names such as ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] in Node.
 * @example
 * ```ts
 * import { engineBackends } from 'mriseq';
 * console.log(engineBackends().join(', '));
 * ```
 */
export function engineBackends(): string[] {
  return adapter.candidates().map((c) => c.name);
}

/**
 * Chooses and initialises the fastest backend that works (or the one asked for), once.
 * Later calls return the same report unless a different backend is asked for. An unknown or
 * failing requested backend is a MriseqError naming the option; it never silently falls back.
 * Node's candidates, fastest first: 'tensorflow-gpu', 'tensorflow' (native libtensorflow),
 * 'wasm', 'cpu' (see {@link engineBackends}).
 *
 * @param options - `backend` to force one by name, `threads` for the native backend.
 * @returns The {@link EngineReport} of the backend now in use.
 * @throws {@link MriseqError} 'engine.unknown-backend' for a name not in {@link engineBackends},
 *   'engine.backend-failed' when the requested backend does not start, 'engine.no-backend' when none does.
 * @example
 * ```ts
 * import { initEngine } from 'mriseq';
 * const report = await initEngine();
 * console.log(report.summary); // e.g. "mriseq engine: tensorflow (libtensorflow 2.x, CPU, 2 threads)"
 * ```
 */
export function initEngine(options: EngineOptions = {}): Promise<EngineReport> {
  const fromOption = options.backend !== undefined;
  const want = options.backend ?? adapter.requested();
  if (report && (want === undefined || want === report.backend) && tf.getBackend() === report.tfBackend)
    return Promise.resolve(report);
  if (pending && want === undefined) return pending;
  const field = fromOption ? 'initEngine({backend})' : (adapter.requestedFrom ?? 'MRISEQ_BACKEND');
  const p = choose(want, field, options.threads).then((r) => (report = r));
  pending = p;
  // A failed attempt must not poison later calls.
  p.catch(() => {
    if (pending === p) pending = undefined;
  });
  return p;
}

async function choose(
  want: string | undefined,
  field: string,
  threads: number | undefined,
): Promise<EngineReport> {
  registerGradients();
  const all = adapter.candidates();
  const list = candidatesFor(all, want, field);
  const skipped: { name: string; reason: string }[] = [];
  for (const c of list) {
    try {
      const loaded = await c.load({ threads });
      await tf.ready();
      return makeReport(c.name, loaded, want, field, skipped);
    } catch (e) {
      skipped.push({ name: c.name, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  if (want !== undefined) {
    throw new MriseqError(
      `the requested tensor backend does not start (${skipped[0]?.reason ?? 'no reason given'})`,
      {
        field,
        found: `'${want}'`,
        expected: `a backend that starts here, or unset ${field} to choose the fastest that works`,
        code: 'engine.backend-failed',
      },
    );
  }
  const explicit = all.filter((c) => c.explicitOnly).map((c) => c.name);
  throw new MriseqError(
    `no tensor backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
    {
      code: 'engine.no-backend',
      expected: explicit.length
        ? `run \`npm run setup\`, or ask for ${explicit.join(' / ')} by name (initEngine({ backend: '${explicit[0]}' }) or MRISEQ_BACKEND=${explicit[0]})`
        : undefined,
    },
  );
}

/**
 * The report of the backend in use, or undefined before initEngine.
 * @returns The {@link EngineReport} of the last successful {@link initEngine}, or undefined.
 * @example
 * ```ts
 * import { engineReport, initEngine } from 'mriseq';
 * await initEngine();
 * console.log(engineReport()?.backend);
 * ```
 */
export function engineReport(): EngineReport | undefined {
  return report;
}

export {
  registerCpuKernels,
  registerGradients,
  registerNativeKernels,
  registerWasmKernels,
  type WasmKernelReport,
} from './wasm-kernels.js';
export {
  hasKernel,
  mirrorPadGradComposed,
  MRISEQ_CONV_LSTM_FIRST,
  MRISEQ_INSTANCE_NORM,
  MRISEQ_LSTM_CELL,
  NativeAdam,
} from './native-kernels.js';
export {
  graphsAvailable,
  outsideTrace,
  parseOpDefInputs,
  traceGraph,
  GraphFunction,
  type GraphStats,
  type TraceSpec,
} from './graph.js';
