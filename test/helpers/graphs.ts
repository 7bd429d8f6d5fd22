/**
 * Shared by the tests of compiled TensorFlow functions: the native backend with graph functions
 * (a test skips, saying why, where it is missing). Their generator config is SMALL_GENERATOR
 * (./generator.ts).
 */
import { before } from 'node:test';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { graphsAvailable, initEngine, setEngineAdapter } from '../../src/engine/index.js';

/** Registers a `before` hook that starts the native backend; call skip() in a test's options. */
export function nativeGraphs(): () => string | undefined {
  setEngineAdapter(nodeEngineAdapter);
  let why: string | undefined;
  before(async () => {
    await initEngine({ backend: 'tensorflow' }).catch((e: unknown) => (why = String(e)));
    if (!why && !graphsAvailable()) why = 'the native binding has no graph functions (npm run setup)';
  });
  return () => why;
}
