/**
 * Shared by the tests of compiled TensorFlow functions: the native backend with graph functions
 * (a test skips, saying why, where it is missing) and the tiny generator config the training
 * tests use.
 */
import { before } from 'node:test';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { graphsAvailable, initEngine, setEngineAdapter } from '../../src/engine/index.js';
import type { Seq2SeqConfig } from '../../src/model/index.js';

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

/** A generator small enough for many training steps in a test (lite's layout, fewer channels). */
export const tiny: Partial<Seq2SeqConfig> = {
  cEnc: [8, 16, 32],
  cLstm: 32,
  cDec: [16, 8, 1],
  nresEnc: 1,
  nresDec: 1,
};
