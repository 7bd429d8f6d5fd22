/**
 * The generator's custom ops against PyTorch (forward and gradient): reflect padding,
 * bilinear/trilinear x2 upsampling (align_corners=False), instance norm, SmoothL1; and the
 * reflect-pad gradient against finite differences.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter, tf } from '../../src/engine/index.js';
import { instanceNorm, reflectPad, smoothL1, upsample2x } from '../../src/model/ops.js';
import { Mulberry32 as Rng } from '../../src/random/index.js';
import { missingPython, runPython } from '../helpers/python.js';

const skip = missingPython('torch', 'numpy');

setEngineAdapter(nodeEngineAdapter);

before(async () => {
  await initEngine();
});

function rand(shape: number[], seed: number): tf.Tensor {
  const r = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => r.normal()),
    shape,
  );
}

/** Runs op on x (channels-last) and returns forward and the gradient of sum(op(x) * w). */
function ours(op: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, w: tf.Tensor) {
  const y = op(x);
  const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(op(xi), w)))(x);
  return { y: Array.from(y.dataSync()), g: Array.from(g.dataSync()), yShape: y.shape };
}

const TORCH = `
import json, sys, torch, numpy as np
torch.set_num_threads(2)
d = json.load(sys.stdin)
nd = len(d['shape']) - 2
perm_in = [0, nd + 1] + list(range(1, nd + 1))   # channels-last -> channels-first
perm_out = [0] + list(range(2, nd + 2)) + [1]
x = torch.tensor(np.array(d['x'], dtype=np.float64).reshape(d['shape'])).permute(*perm_in).contiguous().requires_grad_(True)
op = d['op']
if op == 'reflect':
    p = d['pad']
    y = torch.nn.functional.pad(x, [p] * (2 * nd), mode='reflect')
elif op == 'up':
    y = torch.nn.Upsample(scale_factor=2, mode='bilinear' if nd == 2 else 'trilinear', align_corners=False)(x)
elif op == 'inorm':
    y = torch.nn.InstanceNorm2d(x.shape[1])(x) if nd == 2 else torch.nn.InstanceNorm3d(x.shape[1])(x)
elif op == 'smoothl1':
    t = torch.tensor(np.array(d['t'], dtype=np.float64).reshape(d['shape'])).permute(*perm_in)
    y = torch.nn.functional.smooth_l1_loss(x, t).reshape(1)
if op == 'smoothl1':
    y.sum().backward()
    yl = y.reshape(-1)
else:
    yl = y.permute(*perm_out).contiguous()
    w = torch.tensor(np.array(d['w'], dtype=np.float64).reshape(yl.shape))
    (yl * w).sum().backward()
    yl = yl.reshape(-1)
print(json.dumps({'y': yl.detach().numpy().tolist(), 'g': x.grad.permute(*perm_out).contiguous().reshape(-1).numpy().tolist()}))
`;

function maxAbs(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const shape of [
  [2, 6, 5, 3],
  [1, 4, 5, 6, 2],
]) {
  for (const pad of [1, 3]) {
    test(`reflect pad ${pad} on [${shape.join(',')}]: forward and gradient equal PyTorch`, { skip }, () => {
      const x = rand(shape, 1);
      const outShape = shape.map((s, i) => (i === 0 || i === shape.length - 1 ? s : s + 2 * pad));
      const w = rand(outShape, 2);
      const spatial = new Array<number>(shape.length - 2).fill(pad);
      const r = ours((t) => reflectPad(t, spatial), x, w);
      assert.deepEqual(r.yShape, outShape);
      const ref = runPython<{ y: number[]; g: number[] }>(TORCH, {
        op: 'reflect',
        pad,
        shape,
        x: Array.from(x.dataSync()),
        w: Array.from(w.dataSync()),
      });
      assert.ok(maxAbs(r.y, ref.y) < 1e-5, `forward ${maxAbs(r.y, ref.y)}`);
      assert.ok(maxAbs(r.g, ref.g) < 1e-4, `gradient ${maxAbs(r.g, ref.g)}`);
    });
  }
}

for (const shape of [
  [2, 5, 4, 3],
  [1, 3, 4, 5, 2],
  [1, 1, 3, 2],
]) {
  test(
    `upsample x2 on [${shape.join(',')}]: forward and gradient equal PyTorch Upsample(align_corners=False)`,
    { skip },
    () => {
      const x = rand(shape, 3);
      const outShape = shape.map((s, i) => (i === 0 || i === shape.length - 1 ? s : 2 * s));
      const w = rand(outShape, 4);
      const r = ours(upsample2x, x, w);
      assert.deepEqual(r.yShape, outShape);
      const ref = runPython<{ y: number[]; g: number[] }>(TORCH, {
        op: 'up',
        shape,
        x: Array.from(x.dataSync()),
        w: Array.from(w.dataSync()),
      });
      assert.ok(maxAbs(r.y, ref.y) < 1e-5, `forward ${maxAbs(r.y, ref.y)}`);
      assert.ok(maxAbs(r.g, ref.g) < 1e-4, `gradient ${maxAbs(r.g, ref.g)}`);
    },
  );
}

test('instance norm: forward and gradient equal PyTorch InstanceNorm (2D and 3D)', { skip }, () => {
  for (const shape of [
    [2, 6, 5, 3],
    [1, 4, 3, 5, 2],
  ]) {
    const x = rand(shape, 5);
    const w = rand(shape, 6);
    const r = ours(instanceNorm, x, w);
    const ref = runPython<{ y: number[]; g: number[] }>(TORCH, {
      op: 'inorm',
      shape,
      x: Array.from(x.dataSync()),
      w: Array.from(w.dataSync()),
    });
    assert.ok(maxAbs(r.y, ref.y) < 1e-4, `forward ${maxAbs(r.y, ref.y)}`);
    assert.ok(maxAbs(r.g, ref.g) < 1e-3, `gradient ${maxAbs(r.g, ref.g)}`);
  }
});

test('SmoothL1 and its gradient equal PyTorch smooth_l1_loss', { skip }, () => {
  const shape = [1, 4, 4, 2];
  const x = tf.mul(rand(shape, 7), 2);
  const t = rand(shape, 8);
  const y = smoothL1(x, t);
  const g = tf.grad((xi: tf.Tensor) => smoothL1(xi, t))(x);
  const ref = runPython<{ y: number[]; g: number[] }>(TORCH, {
    op: 'smoothl1',
    shape,
    x: Array.from(x.dataSync()),
    t: Array.from(t.dataSync()),
  });
  assert.ok(Math.abs(y.dataSync()[0] - ref.y[0]) < 1e-5);
  assert.ok(maxAbs(Array.from(g.dataSync()), ref.g) < 1e-5);
});

test('reflect pad gradient matches central finite differences (no PyTorch needed)', () => {
  const shape = [1, 4, 3, 1];
  const x = rand(shape, 9);
  const w = rand([1, 8, 7, 1], 10);
  const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.square(reflectPad(t, [2, 2])), w));
  const g = tf.grad(f)(x).dataSync();
  const xd = x.dataSync();
  const h = 1e-2;
  for (let i = 0; i < xd.length; i++) {
    const p = Float32Array.from(xd);
    const m = Float32Array.from(xd);
    p[i] += h;
    m[i] -= h;
    const fd = (f(tf.tensor(p, shape)).dataSync()[0] - f(tf.tensor(m, shape)).dataSync()[0]) / (2 * h);
    assert.ok(Math.abs(fd - g[i]) < 2e-2 * Math.max(1, Math.abs(fd)), `element ${i}: fd ${fd} vs ${g[i]}`);
  }
});
