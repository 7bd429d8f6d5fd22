/**
 * The one parameter store and the one Adam shared by the generator, the classifier and the
 * autoencoder: serialisation round trips, checks before any write, and FlatAdam with tfjs's
 * epsilon against tf.train.adam (what the classifier and autoencoder were trained with before).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter, tf } from '../../src/engine/index.js';
import { FlatAdam, ParamStore, TFJS_ADAM_EPSILON, type WeightFit } from '../../src/params/index.js';
import { Mulberry32 } from '../../src/random/index.js';
import { MriseqError } from '../../src/errors/index.js';

setEngineAdapter(nodeEngineAdapter);

before(async () => {
  await initEngine();
});

const FIT: WeightFit = { misfit: 'weight does not fit', code: 'test.weights' };

function store(): ParamStore {
  const s = new ParamStore(new Mulberry32(4));
  s.create('a.w', [2, 3], 0.5);
  s.createUniform('a.b', [3], 0.1);
  s.add('c', [2], Float32Array.of(1, 2));
  return s;
}

test('ParamStore: serialize and getWeights round-trip into a fresh store, in creation order', () => {
  const a = store();
  const b = new ParamStore();
  b.add('a.w', [2, 3], new Float32Array(6));
  b.add('a.b', [3], new Float32Array(3));
  b.add('c', [2], new Float32Array(2));
  const saved = JSON.parse(JSON.stringify(a.serialize())) as ReturnType<ParamStore['serialize']>;
  assert.deepEqual(
    saved.map((w) => w.name),
    ['a.w', 'a.b', 'c'],
  );
  b.loadSerialized(saved, FIT);
  assert.deepEqual(b.serialize(), a.serialize());
  b.setWeights({ c: { shape: [2], data: Float32Array.of(5, 6) } }, FIT);
  assert.deepEqual(Array.from(b.vars.get('c')!.dataSync()), [5, 6]);
  b.setWeights(a.getWeights(), { ...FIT, incomplete: 'not all weights' });
  assert.deepEqual(b.getWeights(), a.getWeights());
  assert.equal(a.parameterCount, 11);
  assert.deepEqual(
    a.variables.map((v) => v.shape),
    [[2, 3], [3], [2]],
  );
  a.dispose();
  b.dispose();
  assert.equal(a.vars.size, 0);
});

test('ParamStore: a weight that does not fit is a MriseqError naming it, and nothing is written', () => {
  const s = store();
  const before = s.serialize();
  const good = { name: 'c', shape: [2], values: [9, 9] };
  const check = (weights: { name: string; shape: number[]; values: number[] }[], field: string) =>
    assert.throws(
      () => s.loadSerialized(weights, FIT),
      (e: unknown) => e instanceof MriseqError && e.code === 'test.weights' && e.message.includes(field),
    );
  check([good, { name: 'a.b', shape: [4], values: [0, 0, 0, 0] }], 'a.b');
  check([good, { name: 'nope', shape: [2], values: [0, 0] }], 'nope');
  check([good, { name: 'a.b', shape: [3], values: [0, 0] }], 'a.b');
  assert.deepEqual(s.serialize(), before, 'a good weight before the bad one was written');
  // every weight required: a missing one is named
  assert.throws(
    () =>
      s.setWeights({ c: { shape: [2], data: Float32Array.of(1, 1) } }, { ...FIT, incomplete: 'incomplete' }),
    (e: unknown) => e instanceof MriseqError && e.message.includes('incomplete') && e.message.includes('a.w'),
  );
  assert.throws(() => new ParamStore().create('x', [1], 1), /needs the store made with a generator/);
  s.dispose();
});

test('FlatAdam with tfjs epsilon equals tf.train.adam over 6 steps (the classifier and autoencoder optimiser)', () => {
  // the third parameter's gradients (~1e-7) make sqrt(v) comparable to eps: 1e-8 would differ
  const shapes = [[3, 2], [4], [2]];
  const r = new Mulberry32(9);
  const draw = (n: number, scale = 1) => Array.from({ length: n }, () => scale * r.normal());
  const p0 = shapes.map((s) => draw(s.reduce((a, b) => a * b, 1)));
  const grads = Array.from({ length: 6 }, () =>
    shapes.map((s, i) => draw(s[0]! * (s[1] ?? 1), i === 2 ? 1e-7 : 1)),
  );
  const run = (ours: boolean): number[][] => {
    const vars = p0.map((p, i) => tf.variable(tf.tensor(p, shapes[i])));
    const tfAdam = tf.train.adam(0.01);
    const adam = new FlatAdam(vars, ['a', 'b', 'c']);
    grads.forEach((g, k) =>
      tf.tidy(() => {
        const named: Record<string, tf.Tensor> = {};
        g.forEach((gi, i) => (named[vars[i]!.name] = tf.tensor(gi, shapes[i])));
        if (ours) adam.update(named, k + 1, 0.01, 0.9, 0.999, TFJS_ADAM_EPSILON);
        else tfAdam.applyGradients(Object.entries(named).map(([name, tensor]) => ({ name, tensor })));
      }),
    );
    adam.dispose();
    tfAdam.dispose();
    const out = vars.map((v) => Array.from(v.dataSync()));
    vars.forEach((v) => v.dispose());
    return out;
  };
  const ours = run(true);
  const ref = run(false);
  for (let i = 0; i < ref.length; i++)
    for (let j = 0; j < ref[i]!.length; j++) {
      const moved = Math.abs(ref[i]![j]! - p0[i]![j]!);
      assert.ok(moved > 1e-3, `reference did not move ${i}.${j}`);
      assert.ok(
        Math.abs(ours[i]![j]! - ref[i]![j]!) <= 1e-4 * moved + 1e-7,
        `${i}.${j}: ${ours[i]![j]} vs tf.train.adam ${ref[i]![j]}`,
      );
    }
});
