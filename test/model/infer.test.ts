/**
 * Batched inference (src/model/infer.ts, generatePairs): the compiled forward gives the eager
 * forward bit for bit; batch sizes (the last batch padded) change nothing beyond float32
 * rounding; the memory budget sets the batch size; generatePairs equals generate() pair by pair
 * with one encoding per source; a compiled forward sees weights changed after it was recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeGraphs } from '../helpers/graphs.js';
import { SMALL_GENERATOR } from '../helpers/generator.js';
import { tf } from '../../src/engine/index.js';
import {
  createGenerator,
  generate,
  generatePairs,
  predictStacks,
  stackBytes,
  type StackSource,
} from '../../src/model/index.js';
import { phantom } from '../../src/phantom/index.js';

const skip = nativeGraphs();

const subject = phantom({ subjects: 1, size: [24, 20, 9], seed: 5 }).subject(0);

function stacks(count: number, shape: number[], seed: number): StackSource {
  const per = shape.reduce((a, b) => a * b, 1);
  const data = tf.tidy(
    () => tf.randomUniform([count * per], -1, 1, 'float32', seed).dataSync() as Float32Array,
  );
  return { count, shape, write: (i, out, off) => out.set(data.subarray(i * per, (i + 1) * per), off) };
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test(
  'the compiled forward equals the eager forward bit for bit, for several targets at once',
  { skip: skip() },
  async () => {
    const g = createGenerator('lite', { ...SMALL_GENERATOR, seed: 3 });
    const src = stacks(5, [1, 16, 16, 1], 1);
    const codes = [0, 2, 3];
    const eager = await predictStacks(g, src, codes, 1, { batchSize: 5, compile: false });
    const comp = await predictStacks(g, src, codes, 1, { batchSize: 5 });
    codes.forEach((c, k) => assert.equal(maxAbs(comp[k]!, eager[k]!), 0, `code ${c}`));
    // the targets differ (a test that a code is really fed)
    assert.ok(maxAbs(comp[0]!, comp[1]!) > 1e-3);
    g.dispose();
  },
);

test(
  'batch sizes, the padded last batch included, agree to float32 rounding; the budget sets the batch',
  { skip: skip() },
  async () => {
    const g = createGenerator('lite', { ...SMALL_GENERATOR, seed: 4 });
    const src = stacks(5, [2, 12, 16, 1], 2);
    const one = await predictStacks(g, src, [1], 2, { batchSize: 1 });
    for (const bs of [2, 3, 5]) {
      const got = await predictStacks(g, src, [1], 2, { batchSize: bs });
      assert.ok(maxAbs(got[0]!, one[0]!) <= 1e-5, `batch ${bs}: ${maxAbs(got[0]!, one[0]!)}`);
    }
    const per = stackBytes(g.config, src.shape, 1, 2);
    const batches: number[] = [];
    await predictStacks(g, src, [1], 2, {
      memoryBytes: 2.5 * per,
      onBatch: (done) => void batches.push(done),
    });
    assert.deepEqual(batches, [2, 4, 5], 'two stacks fit the budget');
    g.dispose();
  },
);

test('generatePairs equals generate() for every pair, 4D targets included', { skip: skip() }, async () => {
  const s = phantom({ subjects: 1, size: [20, 16, 9], dce: { phases: 2 }, seed: 6 }).subject(0);
  const g = createGenerator('lite', { ...SMALL_GENERATOR, sequences: ['t1', 't2', 'dce'], seed: 5 });
  const sub = { id: s.id, volumes: { t1: s.volumes.t1, t2: s.volumes.t2, dce: s.volumes.dce } };
  const all = await generatePairs(g, sub, { batchSize: 2 });
  assert.equal(all.size, 9);
  for (const src of ['t1', 't2', 'dce'])
    for (const tgt of ['t1', 't2', 'dce']) {
      const want = await generate(g, sub, { sources: [src], target: tgt, batchSize: 2 });
      const got = all.get(`${src}>${tgt}`)!;
      assert.deepEqual(got.shape, want.shape, `${src}>${tgt}`);
      assert.deepEqual(got.spacing, want.spacing);
      assert.equal(maxAbs(got.data, want.data), 0, `${src}>${tgt}`);
    }
  assert.deepEqual(all.get('t1>dce')!.shape, [20, 16, 9, 2]);
  g.dispose();
});

test('a compiled forward sees weights set after it was recorded', { skip: skip() }, async () => {
  const g = createGenerator('lite', { ...SMALL_GENERATOR, seed: 6 });
  const sub = { id: subject.id, volumes: { t1: subject.volumes.t1, t2: subject.volumes.t2 } };
  const a = await generate(g, sub, { sources: ['t1'], target: 't2' });
  const other = createGenerator('lite', { ...SMALL_GENERATOR, seed: 7 });
  g.setWeights(other.getWeights());
  const b = await generate(g, sub, { sources: ['t1'], target: 't2' });
  const c = await generate(other, sub, { sources: ['t1'], target: 't2', compile: false });
  assert.ok(maxAbs(a.data, b.data) > 1e-3, 'the output changed');
  assert.equal(maxAbs(b.data, c.data), 0, 'and equals the other model eagerly');
  g.dispose();
  other.dispose();
});
