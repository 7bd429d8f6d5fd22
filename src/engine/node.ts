/**
 * Node adapter for the engine: native libtensorflow (GPU build, then CPU build), then wasm, then
 * pure JS. Only this file (and other edge adapters) may touch Node-only modules.
 */
import { availableParallelism } from 'node:os';
import { allocatorSummary, mallocChoice } from './malloc-node.js';
import {
  registerCpuKernels,
  registerNativeKernels,
  tf,
  wasmCandidate,
  type BackendCandidate,
  type EngineAdapter,
  type LoadedBackend,
} from './index.js';

function resolvable(id: string): boolean {
  try {
    require.resolve(id);
    return true;
  } catch {
    return false;
  }
}

interface NativeBackend {
  isUsingGpuDevice?: boolean;
  binding?: { TF_Version?: string; mriseqMallopt?: (param: number, value: number) => boolean };
}

// glibc's mallopt parameters (malloc.h)
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;
/** Bytes: blocks from here up are mapped and unmapped per allocation; free tops above it are trimmed. */
const MALLOC_THRESHOLD = 64 * 1024;

/**
 * MRISEQ_MALLOC=lean: glibc's malloc gives back what a training step frees. As Node starts it,
 * malloc keeps it: its mmap threshold rises to the largest block freed (up to 32 MB), so a step's
 * tensors come from the heap and stay there. A fixed 64 KiB mmap and trim threshold took the
 * compiled lite step at 128 px from 223-237 to 130-132 MB above the loaded library (PyTorch:
 * 164-175 MB), but every step then maps its tensors afresh: 75,000 page faults and ~120 ms of
 * system time per step at 128 px, about twice the CPU time (docs/speed.md, 2026-12-06). So it is
 * a choice; the default is jemalloc (./malloc-node.ts). The MALLOC_*_ environment variables would
 * do the same but are read only when a process starts, so the patched binding calls mallopt. A
 * user's own MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or glibc.malloc tunables win.
 * Returns what was done, for the engine's summary.
 */
function tuneLean(be: NativeBackend): string {
  const env = process.env;
  if (
    env.MALLOC_MMAP_THRESHOLD_ ||
    env.MALLOC_TRIM_THRESHOLD_ ||
    env.GLIBC_TUNABLES?.includes('glibc.malloc')
  )
    return 'malloc glibc as the environment sets it (MRISEQ_MALLOC=lean not applied)';
  const mallopt = be.binding?.mriseqMallopt;
  if (typeof mallopt !== 'function')
    return 'malloc glibc, MRISEQ_MALLOC=lean not applied (binding without mallopt: npm run setup)';
  const ok = mallopt(M_MMAP_THRESHOLD, MALLOC_THRESHOLD) && mallopt(M_TRIM_THRESHOLD, MALLOC_THRESHOLD);
  return ok
    ? 'malloc glibc, lean malloc (64 KiB thresholds)'
    : 'malloc glibc, MRISEQ_MALLOC=lean not applied (mallopt refused)';
}

/** The summary's words on malloc: which one runs (jemalloc by default), and lean's settings. */
function tuneMalloc(be: NativeBackend): string {
  const which = allocatorSummary();
  return mallocChoice() === 'lean' ? tuneLean(be) : which;
}

function nativeCandidate(name: string, pkg: string, missing: string, rebuild: string): BackendCandidate {
  // Everything here is synchronous: tfjs-node's backend factory is, so tf.setBackend() has set the
  // backend by the time it returns its promise. The lazy choice (engine/index.ts) relies on it.
  const loadSync = ({ threads }: { threads?: number }): LoadedBackend => {
    if (!resolvable(pkg)) throw new Error(`${pkg} is not installed (${missing})`);
    if (!process.env.TF_CPP_MIN_LOG_LEVEL) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
    // TensorFlow's oneDNN build puts its tensors in a pool that keeps the peak of every step
    // (a BFC allocator): the system allocator instead took a compiled lite step at 128 px from
    // 465 to 249 MB above the loaded library (PyTorch: 164 MB; docs/speed.md). Read at load.
    if (!process.env.TF_ONEDNN_USE_SYSTEM_ALLOCATOR) process.env.TF_ONEDNN_USE_SYSTEM_ALLOCATOR = '1';
    // libtensorflow reads its thread pool size once, when it is first loaded.
    if (!process.env.TF_NUM_INTRAOP_THREADS)
      process.env.TF_NUM_INTRAOP_THREADS = String(threads ?? availableParallelism());
    try {
      require(pkg);
    } catch (e) {
      const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
      throw new Error(`${pkg} does not load (${msg}); run ${rebuild}`);
    }
    if (!tf.findBackendFactory('tensorflow'))
      throw new Error(
        `${pkg} registered its backend on another copy of @tensorflow/tfjs-core; run npm dedupe so one copy is installed`,
      );
    if (!setBackendSync('tensorflow')) throw new Error(`${pkg} loaded but its backend did not start`);
    registerNativeKernels();
    const be = tf.backend() as unknown as NativeBackend;
    const malloc = tuneMalloc(be);
    const gpu = be.isUsingGpuDevice === true;
    const version = be.binding?.TF_Version ?? 'unknown version';
    const device = name === 'tensorflow-gpu' ? (gpu ? 'GPU' : 'no GPU device found, running on CPU') : 'CPU';
    return {
      tfBackend: 'tensorflow',
      gpu: name === 'tensorflow-gpu' ? gpu : undefined,
      detail: `libtensorflow ${version}, ${device}, ${process.env.TF_NUM_INTRAOP_THREADS} threads, ${malloc}`,
    };
  };
  return {
    name,
    loadSync,
    async load(options): Promise<LoadedBackend> {
      return loadSync(options);
    },
  };
}

/** tf.setBackend for a backend whose factory is synchronous: set by the time it returns. */
function setBackendSync(name: string): boolean {
  void tf.setBackend(name).catch(() => false);
  const e = tf.engine() as unknown as { backendInstance: unknown; backendName: string | null };
  return e.backendInstance != null && e.backendName === name;
}

function cpuSync(): LoadedBackend {
  if (!setBackendSync('cpu')) throw new Error('the cpu backend did not start');
  // The cpu backend greets Node users with a banner about tfjs-node; our summary says it.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  registerCpuKernels();
  return { tfBackend: 'cpu', detail: 'pure JavaScript, slow: for tests and when asked for by name' };
}

const wasm = wasmCandidate();

export const nodeEngineAdapter: EngineAdapter = {
  platform: 'node',
  requested: () => process.env.MRISEQ_BACKEND || undefined,
  candidates: () => {
    // MRISEQ_MALLOC checked, and held against the malloc this process runs, before any backend
    // loads: a request that cannot be met is an error, never a backend's failure to start.
    allocatorSummary();
    return nodeCandidates();
  },
};

function nodeCandidates(): BackendCandidate[] {
  return [
    nativeCandidate(
      'tensorflow-gpu',
      '@tensorflow/tfjs-node-gpu',
      'optional; see docs/gpu.md',
      'MRISEQ_TFJS_PKG=@tensorflow/tfjs-node-gpu MRISEQ_CUDA_WHEELS=1 bash scripts/build-tfjs-node.sh',
    ),
    nativeCandidate('tensorflow', '@tensorflow/tfjs-node', 'run npm ci && npm run setup', 'npm run setup'),
    {
      name: 'wasm',
      async load(options): Promise<LoadedBackend> {
        const w = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
        // Node's wasm has SIMD but no threads; a browser with cross-origin isolation has both.
        if (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'))
          w.setThreadsCount(options.threads ?? availableParallelism());
        const loaded = await wasm.load(options);
        return { ...loaded, detail: `XNNPACK, ${w.getThreadsCount()} thread(s), ${loaded.detail}` };
      },
    },
    {
      name: 'cpu',
      // ~100x slower than tensorflow: used only when asked for by name, never as a fallback.
      explicitOnly: true,
      loadSync: cpuSync,
      async load(): Promise<LoadedBackend> {
        return cpuSync();
      },
    },
  ];
}
