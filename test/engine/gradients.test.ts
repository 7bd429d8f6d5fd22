/**
 * Every op family the models train through, on every backend: analytic gradients against
 * float64-accumulated central differences, and forward values and gradients of each backend
 * against the pure-JS cpu backend. Also: no tensor leaks, and a small conv net trains to the same
 * losses everywhere (the wasm backend needs the kernels mriseq composes for it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/index.js';
import { availableBackends, describeWithBackends, useBackend } from './backends.js';
import { CASES, evaluate, finiteDifferences, rng, type Evaluated } from './cases.js';

function maxRelErr(a: number[], b: number[]): number {
  assert.equal(a.length, b.length, 'length');
  const scale = Math.max(1, ...b.map(Math.abs));
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / scale);
  return m;
}

describeWithBackends('gradients against central differences', (it, backend) => {
  for (const c of CASES) {
    const broken = c.knownBroken?.[backend];
    it(broken ? `${c.name} (known tfjs bug: ${broken})` : c.name, (t) => {
      if (broken) t.todo(broken);
      const before = tf.memory().numTensors;
      const ev = evaluate(c);
      const fd = finiteDifferences(c);
      assert.ok(fd.length >= Math.min(6, c.shapes.length), 'checked some elements');
      for (const [i, k, want] of fd) {
        const got = ev.grads[i]![k]!;
        assert.ok(
          Math.abs(got - want) <= 2e-3 * Math.max(1, Math.abs(want)),
          `${c.name}: d loss / d input${i}[${k}] analytic ${got}, finite differences ${want}`,
        );
      }
      assert.equal(tf.memory().numTensors, before, 'no tensors leak');
    });
  }
});

test('forward values and gradients agree across backends', async (t) => {
  const backends = await availableBackends();
  if (backends.length < 2) {
    t.skip(`needs two backends; available: ${backends.join(', ')}`);
    return;
  }
  const results = new Map<string, (Evaluated | undefined)[]>();
  for (const b of backends) {
    assert.equal(await useBackend(b), undefined);
    results.set(
      b,
      CASES.map((c) => (c.knownBroken?.[b] ? undefined : evaluate(c))),
    );
  }
  // Reference: cpu (plain JS loops), or the next backend where cpu has a known bug.
  const order = ['cpu', ...backends.filter((b) => b !== 'cpu')];
  let compared = 0;
  for (const b of backends) {
    results.get(b)!.forEach((ev, n) => {
      const refName = order.find((r) => r !== b && results.get(r)?.[n] !== undefined);
      if (ev === undefined || refName === undefined) return;
      const want = results.get(refName)![n]!;
      const name = `${CASES[n]!.name} on ${b} vs ${refName}`;
      compared++;
      assert.deepEqual(ev.yShape, want.yShape, name);
      assert.ok(maxRelErr(ev.y, want.y) < 1e-5, `${name}: forward differs`);
      ev.grads.forEach((g, i) =>
        assert.ok(maxRelErr(g, want.grads[i]!) < 1e-5, `${name}: gradient ${i} differs`),
      );
    });
  }
  assert.ok(compared >= CASES.length, `compared ${compared} case/backend pairs`);
});

/** Five SGD steps of a tiny 2D + 3D conv net; returns the losses. */
function trainTiny(): number[] {
  const r = rng(5);
  const init = (shape: number[], s: number) => {
    const t = tf.tensor(
      Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => (r() * 2 - 1) * s),
      shape,
    );
    const v = tf.variable(t);
    t.dispose();
    return v;
  };
  const w1 = init([3, 3, 2, 4], 0.4);
  const w2 = init([3, 3, 4, 1], 0.4);
  const w3 = init([3, 3, 3, 1, 2], 0.3);
  const x2 = tf.tensor(
    Array.from({ length: 2 * 8 * 8 * 2 }, () => r()),
    [2, 8, 8, 2],
  ) as tf.Tensor4D;
  const y2 = tf.tensor(
    Array.from({ length: 2 * 4 * 4 }, () => r()),
    [2, 4, 4, 1],
  );
  const x3 = tf.tensor(
    Array.from({ length: 4 * 4 * 4 }, () => r()),
    [1, 4, 4, 4, 1],
  ) as tf.Tensor5D;
  const y3 = tf.tensor(
    Array.from({ length: 4 * 4 * 4 * 2 }, () => r()),
    [1, 4, 4, 4, 2],
  );
  const opt = tf.train.sgd(0.05);
  const losses: number[] = [];
  for (let step = 0; step < 5; step++) {
    const l = opt.minimize(() => {
      const h = tf.leakyRelu(tf.conv2d(x2, w1 as tf.Variable<tf.Rank.R4>, 1, 'same'), 0.2);
      const o = tf.conv2d(tf.maxPool(h, 2, 2, 'valid'), w2 as tf.Variable<tf.Rank.R4>, 1, 'same');
      const o3 = tf.tanh(tf.conv3d(x3, w3 as tf.Variable<tf.Rank.R5>, 1, 'same'));
      return tf.add(tf.losses.meanSquaredError(y2, o), tf.losses.meanSquaredError(y3, o3)) as tf.Scalar;
    }, true)!;
    losses.push(l.dataSync()[0]!);
    l.dispose();
  }
  opt.dispose();
  tf.dispose([w1, w2, w3, x2, y2, x3, y3]);
  return losses;
}

describeWithBackends('a small conv net trains', (it) => {
  it('five SGD steps lower the loss and match the cpu backend', async () => {
    const before = tf.memory().numTensors;
    const losses = trainTiny();
    assert.equal(tf.memory().numTensors, before, 'no tensors leak');
    assert.ok(losses[4]! < losses[0]! * 0.95, `loss falls: ${losses.join(', ')}`);
    const backend = tf.getBackend();
    assert.equal(await useBackend('cpu'), undefined);
    const ref = trainTiny();
    assert.equal(await useBackend(backend), undefined);
    losses.forEach((l, i) =>
      assert.ok(Math.abs(l - ref[i]!) <= 1e-4 * ref[i]!, `step ${i}: ${l} vs cpu ${ref[i]}`),
    );
  });
});

describeWithBackends('forward-only ops', (it) => {
  it('oneHot with a float32 output (stock wasm writes int32 bits) and no leaks', () => {
    const before = tf.memory().numTensors;
    const got = tf.tidy(() =>
      Array.from(tf.oneHot(tf.tensor1d([2, 0, 1], 'int32'), 3, 1, 0, 'float32').dataSync()),
    );
    assert.deepEqual(got, [0, 0, 1, 1, 0, 0, 0, 1, 0]);
    assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  });
});
