import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import {
  ContrastiveAutoencoder,
  ntXentLoss,
  augmentImage,
  trainContrastiveAutoencoder,
  clusterImages,
  fitLogisticRegression,
  predictLogisticRegression,
  decodeLatents,
  type ImageDataset,
} from '../../src/cluster/index.js';
import { createRng, normal } from '../../src/classify/index.js';
import { MriseqError } from '../../src/errors/index.js';
import { missingPython, runPython } from '../helpers/python.js';

before(async () => {
  setEngineAdapter(nodeEngineAdapter);
  const r = await initEngine();
  assert.equal(r.backend, 'tensorflow', r.summary);
});

function rows(n: number, d: number, seed: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => normal(rng)));
}

test(
  'NT-Xent loss and its gradient equal a PyTorch SimCLR implementation',
  { skip: missingPython('torch') },
  () => {
    const a = rows(5, 4, 1);
    const b = rows(5, 4, 2);
    const t = 0.3;
    const [loss, ga, gb] = tf.tidy(() => {
      const za = tf.tensor2d(a);
      const zb = tf.tensor2d(b);
      const f = (x: tf.Tensor, y: tf.Tensor) => ntXentLoss(x as tf.Tensor2D, y as tf.Tensor2D, t);
      const g = tf.grads(f)([za, zb]);
      return [f(za, zb).dataSync()[0], g[0].arraySync() as number[][], g[1].arraySync() as number[][]];
    });
    const ref = runPython<{ loss: number; ga: number[][]; gb: number[][] }>(
      `
import json, sys, torch
d = json.load(sys.stdin)
a = torch.tensor(d['a'], dtype=torch.float64, requires_grad=True)
b = torch.tensor(d['b'], dtype=torch.float64, requires_grad=True)
z = torch.nn.functional.normalize(torch.cat([a, b]), dim=1)
sim = z @ z.T / d['t']
n = a.shape[0]
sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float('-inf'))
target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
loss = torch.nn.functional.cross_entropy(sim, target)
loss.backward()
print(json.dumps(dict(loss=loss.item(), ga=a.grad.tolist(), gb=b.grad.tolist())))
`,
      { a, b, t },
    );
    assert.ok(Math.abs(loss - ref.loss) < 1e-4, `${loss} vs ${ref.loss}`);
    ga.forEach((r, i) => r.forEach((v, j) => assert.ok(Math.abs(v - ref.ga[i][j]) < 1e-4)));
    gb.forEach((r, i) => r.forEach((v, j) => assert.ok(Math.abs(v - ref.gb[i][j]) < 1e-4)));
  },
);

test(
  'logistic-regression baseline equals scikit-learn LogisticRegression on the same rows',
  { skip: missingPython('sklearn') },
  () => {
    const rng = createRng(3);
    const x: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 45; i++) {
      const c = i % 3;
      x.push([c + 1.2 * normal(rng), (c === 2 ? 1 : 0) + normal(rng), 0.5 * normal(rng)]);
      y.push(c);
    }
    const m = fitLogisticRegression(x, y, { C: 1, iterations: 4000 });
    const ours = predictLogisticRegression(m, x);
    const ref = runPython<number[][]>(
      `
import json, sys
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
d = json.load(sys.stdin)
m = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, tol=1e-10, max_iter=10000)).fit(d['x'], d['y'])
print(json.dumps(m.predict_proba(d['x']).tolist()))
`,
      { x, y },
    );
    ours.forEach((r, i) =>
      r.forEach((v, j) => assert.ok(Math.abs(v - ref[i][j]) < 2e-3, `row ${i}: ${v} vs ${ref[i][j]}`)),
    );
  },
);

test('autoencoder 2D and 3D: shapes, serialisation round-trip, augmentations seeded, bad input, no leaks', () => {
  const before = tf.memory().numTensors;
  for (const shape of [
    [8, 8],
    [8, 8, 8],
  ]) {
    const ae = new ContrastiveAutoencoder({ inputShape: shape, channels: 2, latentDim: 5 });
    const x = tf.randomNormal([3, ...shape, 2]);
    const z = tf.tidy(() => ae.encode(x).arraySync());
    assert.equal(z.length, 3);
    assert.equal(z[0].length, 5);
    const back = tf.tidy(() => ae.decode(tf.tensor2d(z)).shape);
    assert.deepEqual(back, [3, ...shape, 2]);
    const copy = ContrastiveAutoencoder.deserialize(JSON.parse(JSON.stringify(ae.serialize())));
    const z2 = tf.tidy(() => copy.encode(x).arraySync());
    z.forEach((r, i) => r.forEach((v, j) => assert.ok(Math.abs(v - z2[i][j]) < 1e-5)));
    assert.equal(decodeLatents(ae, z).length, 3);
    assert.throws(
      () => tf.tidy(() => ae.encode(tf.zeros([1, 4, 4, 2]))),
      (e: unknown) => e instanceof MriseqError && /wrong shape/.test(e.message),
    );
    x.dispose();
    ae.dispose();
    copy.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  const img = Float32Array.from({ length: 8 * 8 }, (_, i) => i);
  const a = augmentImage(img, [8, 8, 1], createRng(1));
  const b = augmentImage(img, [8, 8, 1], createRng(1));
  assert.deepEqual(a, b);
  const plain = augmentImage(img, [8, 8, 1], createRng(1), { flip: false, shift: 0, scale: 0, noise: 0 });
  assert.deepEqual(plain, img);
  assert.throws(() => new ContrastiveAutoencoder({ inputShape: [6, 6] }), MriseqError);
});

/** Three kinds of 16x16 image: a bright square top-left, a horizontal bar, a vertical bar. */
function shapes(perClass: number, seed: number): { data: ImageDataset; labels: number[] } {
  const rng = createRng(seed);
  const inputs: Float32Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < perClass * 3; i++) {
    const c = i % 3;
    const v = new Float32Array(256);
    const o = Math.floor(rng() * 3);
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) {
        const on =
          c === 0
            ? y >= 2 + o && y < 8 + o && x >= 2 + o && x < 8 + o
            : c === 1
              ? y >= 6 + o && y < 9 + o
              : x >= 6 + o && x < 9 + o;
        v[y * 16 + x] = (on ? 1 : -1) + 0.1 * normal(rng);
      }
    inputs.push(v);
    labels.push(c);
  }
  return { data: { shape: [16, 16, 1], inputs }, labels };
}

test('contrastive autoencoder + k-means recovers well-separated image clusters (ARI > 0.9) and samples images', async () => {
  const { data, labels } = shapes(12, 5);
  const before = tf.memory().numTensors;
  const r = await clusterImages(data, {
    k: 3,
    labels,
    epochs: 15,
    batchSize: 12,
    learningRate: 3e-3,
    seed: 2,
    samplesPerCluster: 2,
    autoencoder: { widths: [8, 16], latentDim: 8 },
  });
  assert.ok(r.evaluation!.ari > 0.9, `ARI ${r.evaluation!.ari}`);
  assert.ok(r.evaluation!.accuracy > 0.9);
  assert.ok(r.evaluation!.baseline.accuracy > 0.9, `baseline ${r.evaluation!.baseline.accuracy}`);
  assert.ok(r.history[r.history.length - 1].loss < r.history[0].loss);
  assert.equal(r.samples.length, 3);
  assert.equal(r.samples[0].images[0].length, 256);
  r.autoencoder.dispose();
  assert.equal(tf.memory().numTensors, before);
  // Labels are evaluation-only: choosing k without them still runs.
  await assert.rejects(
    () => clusterImages({ shape: [16, 16, 1], inputs: data.inputs.slice(0, 2) }),
    MriseqError,
  );
});

test('NT-Xent has a finite gradient when a projection row is zero (dead ReLU head), like PyTorch normalize with its eps', () => {
  const [loss, g] = tf.tidy(() => {
    const a = tf.tensor2d([
      [0, 0, 0],
      [1, 2, 0.5],
    ]);
    const b = tf.tensor2d([
      [0.3, -1, 2],
      [1, 1, 1],
    ]);
    const grad = tf.grads((x: tf.Tensor, y: tf.Tensor) => ntXentLoss(x as tf.Tensor2D, y as tf.Tensor2D))([
      a,
      b,
    ]);
    return [ntXentLoss(a, b).dataSync()[0], [...grad[0].dataSync(), ...grad[1].dataSync()]];
  });
  assert.ok(Number.isFinite(loss), `loss ${loss}`);
  // tf.norm's gradient at the zero row was 0/0 = NaN, which spread to every weight
  assert.ok(g.every(Number.isFinite), `gradient ${g}`);
});

test('autoencoder training that diverges stops with a clear error instead of NaN latents', async () => {
  const inputs = Array.from({ length: 8 }, (_, i) => new Float32Array(16 * 16).fill(i % 2 ? 1e3 : -1e3));
  const ae = new ContrastiveAutoencoder({ inputShape: [16, 16] });
  try {
    await assert.rejects(
      () =>
        trainContrastiveAutoencoder(
          ae,
          { shape: [16, 16, 1], inputs },
          { epochs: 5, batchSize: 4, learningRate: 1e8 },
        ),
      (e: unknown) => e instanceof MriseqError && /diverged/.test(e.message),
    );
  } finally {
    ae.dispose();
  }
});
