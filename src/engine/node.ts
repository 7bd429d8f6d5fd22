/**
 * Node adapter for the engine: native libtensorflow (GPU, then CPU), then wasm, then pure JS.
 * Only this file (and other edge adapters) may touch Node-only modules.
 */
import { tf, type BackendCandidate, type EngineAdapter } from './index.js';

function resolvable(id: string): boolean {
  try {
    require.resolve(id);
    return true;
  } catch {
    return false;
  }
}

function nativeCandidate(name: string, pkg: string, hint: string): BackendCandidate {
  return {
    name,
    async load() {
      if (!resolvable(pkg)) throw new Error(`${pkg} is not installed (${hint})`);
      if (!process.env.TF_CPP_MIN_LOG_LEVEL) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
      try {
        require(pkg);
      } catch (e) {
        const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
        throw new Error(`${pkg} does not load (${msg}); run npm run setup to build its binding`);
      }
      if (!(await tf.setBackend('tensorflow')))
        throw new Error(`${pkg} loaded but its backend did not start`);
      return 'tensorflow';
    },
  };
}

export const nodeEngineAdapter: EngineAdapter = {
  platform: 'node',
  requested: () => process.env.MRISEQ_BACKEND || undefined,
  candidates: () => [
    nativeCandidate('tensorflow-gpu', '@tensorflow/tfjs-node-gpu', 'optional; see README "GPU engine"'),
    nativeCandidate('tensorflow', '@tensorflow/tfjs-node', 'npm ci && npm run setup'),
    {
      name: 'wasm',
      async load() {
        require('@tensorflow/tfjs-backend-wasm');
        if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
        return 'wasm';
      },
    },
    {
      name: 'cpu',
      async load() {
        if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
        return 'cpu';
      },
    },
  ],
};
