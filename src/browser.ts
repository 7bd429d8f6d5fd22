/**
 * The browser entry of mriseq: the same computing core as the Node package (phantom, volume,
 * lite generator, training loop, metrics, C_t/C_d ranking, M_d maps, plotly figure specs), with
 * the browser engine adapter (webgpu, then webgl, then cpu) instead of native TensorFlow.
 * scripts/build-lite.mjs bundles this file (tfjs included) into one script that sets the
 * global `mriseq`. Only the core modules' index.ts files are re-exported: their node.ts adapters
 * (files, processes) have no place in a browser. The API reference lists here only what this
 * entry adds to the Node one; its examples import it as 'mriseq/browser'.
 *
 * @module mriseq/browser
 */
import '@tensorflow/tfjs-backend-webgpu';
import {
  tf,
  setEngineAdapter,
  initEngine,
  engineReport,
  type BackendCandidate,
  type LoadedBackend,
} from './engine/index.js';

/** The browser adapter: GPU backends first, then the pure-JavaScript cpu backend. */
const browserCandidates = (): BackendCandidate[] => [
  ...['webgpu', 'webgl'].map((name): BackendCandidate => ({
    name,
    async load(): Promise<LoadedBackend> {
      if (name === 'webgpu') {
        // Asking first keeps tfjs from printing its own failure (a console line a notebook shows).
        const nav = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } })
          .navigator;
        if (!nav?.gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
        if (!(await nav.gpu.requestAdapter().catch(() => null)))
          throw new Error('WebGPU is present but offers no GPU adapter');
      }
      if (!(await tf.setBackend(name))) throw new Error(`tfjs backend '${name}' did not start here`);
      return { tfBackend: name, detail: gpuDetail(name) };
    },
  })),
  {
    name: 'cpu',
    async load(): Promise<LoadedBackend> {
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
      return { tfBackend: 'cpu', detail: 'pure JavaScript, no GPU: expect training to take ~10x longer' };
    },
  },
];

/** Names the GPU behind WebGL when the browser says (e.g. 'SwiftShader' means no real GPU). */
function gpuDetail(name: string): string | undefined {
  if (name !== 'webgl') return undefined;
  try {
    const gl = (tf.backend() as unknown as { gpgpu?: { gl?: WebGLRenderingContext } }).gpgpu?.gl;
    if (!gl) return undefined;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const r = ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    return typeof r === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** The backend names a student may ask for: ?backend=cpu in the page URL or initEngine({backend}). */
function requestedFromUrl(): string | undefined {
  try {
    const loc = (globalThis as { location?: { search?: string } }).location;
    const v = new URLSearchParams(loc?.search ?? '').get('backend');
    return v ?? undefined;
  } catch {
    return undefined;
  }
}

setEngineAdapter({ platform: 'browser', candidates: browserCandidates, requested: requestedFromUrl });

export { tf, initEngine, engineReport };
export { engineBackends, type EngineReport, type EngineOptions } from './engine/index.js';
export { MriseqError } from './errors/index.js';
export * from './volume/index.js';
export * from './phantom/index.js';
export * from './model/index.js';
export * from './train/index.js';
export * from './analysis/index.js';
export * from './plot/index.js';
// Two modules export these names; the browser build keeps the Node package's meaning
// (volume's percentile over voxels, the phantom's Rng) and offers the others under clearer names.
export { percentile } from './volume/index.js';
export { percentile as bootstrapPercentile } from './analysis/index.js';
export { Rng } from './phantom/index.js';
export { Rng as ModelRng } from './model/index.js';
