/**
 * The tensor engine every other module uses. This file is browser-safe: it imports only
 * @tensorflow/tfjs. Environment-specific backends (native libtensorflow in Node, webgl in a
 * browser) are offered by an adapter registered at the edge (src/engine/node.ts for Node).
 */
import * as tf from '@tensorflow/tfjs';

export { tf };

/** One backend the engine may choose, fastest first. */
export interface BackendCandidate {
  /** The name the user asks for (MRISEQ_BACKEND, initEngine({backend})). */
  readonly name: string;
  /** Loads and registers the backend; throws (with an actionable message) when it cannot. */
  load(): Promise<string>;
}

export interface EngineAdapter {
  readonly platform: string;
  candidates(): BackendCandidate[];
  /** The backend requested by the environment (e.g. MRISEQ_BACKEND), if any. */
  requested(): string | undefined;
}

export interface EngineReport {
  /** The candidate chosen, e.g. 'tensorflow', 'wasm', 'cpu'. */
  backend: string;
  /** tfjs's name of the active backend. */
  tfBackend: string;
  /** Why each faster candidate was skipped. */
  skipped: { name: string; reason: string }[];
  /** One line a user can act on. */
  summary: string;
}

const browserAdapter: EngineAdapter = {
  platform: 'browser',
  requested: () => undefined,
  candidates: () =>
    ['webgpu', 'webgl', 'cpu'].map((name) => ({
      name,
      async load() {
        if (!(await tf.setBackend(name))) throw new Error(`tfjs backend '${name}' is not available here`);
        return name;
      },
    })),
};

let adapter: EngineAdapter = browserAdapter;
let report: EngineReport | undefined;
let pending: Promise<EngineReport> | undefined;

/** Installs the environment's adapter; called once by the Node or browser entry point. */
export function setEngineAdapter(a: EngineAdapter): void {
  adapter = a;
  report = undefined;
  pending = undefined;
}

export interface EngineOptions {
  /** Force one backend by name; otherwise MRISEQ_BACKEND, otherwise the fastest that works. */
  backend?: string;
}

/**
 * Chooses and initialises the fastest backend that works (or the one asked for), once.
 * Later calls return the same report unless a different backend is asked for.
 */
export function initEngine(options: EngineOptions = {}): Promise<EngineReport> {
  const want = options.backend ?? adapter.requested();
  if (report && (want === undefined || want === report.backend)) return Promise.resolve(report);
  if (pending && want === undefined) return pending;
  pending = choose(want).then((r) => (report = r));
  return pending;
}

async function choose(want: string | undefined): Promise<EngineReport> {
  const all = adapter.candidates();
  const list = want === undefined ? all : all.filter((c) => c.name === want);
  if (want !== undefined && list.length === 0) {
    throw new Error(
      `unknown backend '${want}' (MRISEQ_BACKEND or initEngine({backend})); expected one of ${all.map((c) => c.name).join(', ')}`,
    );
  }
  const skipped: { name: string; reason: string }[] = [];
  for (const c of list) {
    try {
      const tfName = await c.load();
      await tf.ready();
      const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
      const summary =
        `mriseq engine: ${c.name}` + (why ? ` (skipped ${why})` : '') + (want ? ' [requested]' : '');
      return { backend: c.name, tfBackend: tfName, skipped, summary };
    } catch (e) {
      skipped.push({ name: c.name, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  throw new Error(
    `no tensor backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}

/** The report of the backend in use, or undefined before initEngine. */
export function engineReport(): EngineReport | undefined {
  return report;
}
