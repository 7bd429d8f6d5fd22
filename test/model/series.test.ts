/**
 * A generator that knows its 4D sequences (issue 30): seriesLengths reads the length of each
 * series from the training subjects, config.timePoints is validated and serialised, and generate()
 * makes a missing series at that length (or at the subject's own, or at an explicit one), on the
 * subject's grid.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { createGenerator, generate, seriesLengths, validateConfig, preset } from '../../src/model/index.js';
import { isMriseqError } from '../../src/errors/index.js';
import type { Volume } from '../../src/volume/index.js';

setEngineAdapter(nodeEngineAdapter);
before(async () => {
  await initEngine();
});

const tiny = { cEnc: [4, 6, 8], cLstm: 8, cDec: [6, 4, 1], nresEnc: 1, nresDec: 1, cS: 4, cW: 3 };
const grid = [8, 8, 4];
function vol(nt: number, value = 0.5): Volume {
  const n = 8 * 8 * 4 * nt;
  return {
    data: Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 13) / 13 + value),
    shape: nt > 1 ? [...grid, nt] : grid,
    spacing: nt > 1 ? [2, 2, 3, 45] : [2, 2, 3],
    affine: [
      [2, 0, 0, 1],
      [0, 2, 0, 2],
      [0, 0, 3, 3],
      [0, 0, 0, 1],
    ],
    datatype: 'float32',
  };
}

test('seriesLengths: the most common length of each 4D sequence (ties: the longer), 3D ones left out', () => {
  const s = (id: string, dce?: number) => ({
    id,
    volumes: { t1: vol(1), ...(dce ? { dce: vol(dce) } : {}) },
  });
  assert.deepEqual(seriesLengths([s('a', 6), s('b', 6), s('c', 4), s('d')], ['t1', 'dce']), { dce: 6 });
  assert.deepEqual(seriesLengths([s('a', 3), s('b', 5)], ['t1', 'dce']), { dce: 5 });
  assert.deepEqual(seriesLengths([s('a', 3)], ['t1']), {});
});

test('config.timePoints: checked against the sequences, kept by getConfig', () => {
  const c = preset('lite', { ...tiny, sequences: ['t1', 'dce'], timePoints: { dce: 6 } });
  validateConfig(c);
  for (const bad of [{ flair: 6 }, { dce: 0 }, { dce: 2.5 }, [6]] as unknown[]) {
    assert.throws(
      () => validateConfig({ ...c, timePoints: bad as Record<string, number> }),
      (e: unknown) => isMriseqError(e) && /timePoints/.test(String(e)),
      JSON.stringify(bad),
    );
  }
  const m = createGenerator(c);
  assert.deepEqual(m.getConfig().timePoints, { dce: 6 });
  m.dispose();
});

test('generate: a missing series gets the trained length, a present one its own, an explicit one wins; 3D targets stay 3D', async () => {
  const m = createGenerator('lite', { ...tiny, sequences: ['t1', 't2', 'dce'], timePoints: { dce: 3 } });
  const without = { id: 'a', volumes: { t1: vol(1), t2: vol(1, 0.2) } };
  const y = await generate(m, without, { sources: ['t1'], target: 'dce' });
  assert.deepEqual(y.shape, [...grid, 3]);
  assert.deepEqual(y.affine, without.volumes.t1.affine);
  assert.ok(y.data.every((v) => v >= -1 && v <= 1));
  const withOwn = { id: 'b', volumes: { t1: vol(1), dce: vol(5) } };
  const z = await generate(m, withOwn, { sources: ['t1'], target: 'dce' });
  assert.deepEqual(z.shape, [...grid, 5]);
  assert.equal(z.spacing[3], 45, "the subject's time step");
  assert.deepEqual((await generate(m, without, { sources: ['t1'], target: 'dce', timePoints: 2 })).shape, [
    ...grid,
    2,
  ]);
  // a 4D source, a 3D target
  assert.deepEqual((await generate(m, withOwn, { sources: ['dce'], target: 't2' })).shape, grid);
  m.dispose();
});
