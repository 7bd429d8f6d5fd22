/**
 * The optimiser and the structural loss against independent references: FlatAdam against
 * torch.optim.Adam over several steps; the SSIM term against scikit-image's
 * structural_similarity (7x7 uniform window, data range 2), including its gradient being finite
 * and pointing uphill.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter, tf } from '../../src/engine/index.js';
import { FlatAdam } from '../../src/train/index.js';
import { ssimLoss, Rng } from '../../src/model/index.js';
import { missingPython, runPython } from '../helpers/python.js';

setEngineAdapter(nodeEngineAdapter);

before(async () => {
  await initEngine();
});

/**
 * Parameters and per-step gradients (null: no gradient that step) of three small tensors. The
 * third has gradients ~1e-8, where sqrt(v) is of the order of eps and eps's scaling matters.
 */
function problem(seed: number, steps: number) {
  const r = new Rng(seed);
  const shapes = [[2, 3], [3], [2]];
  const draw = (n: number, scale = 1) => Array.from({ length: n }, () => scale * r.normal());
  const p0 = [draw(6), draw(3), draw(2)];
  // the second parameter has no gradient in the second step (updated with gradient 0)
  const grads = Array.from({ length: steps }, (_, k) => [draw(6), k === 1 ? null : draw(3), draw(2, 1e-8)]);
  const lrs = Array.from({ length: steps }, (_, k) => 2e-2 / (1 + k));
  return { shapes, p0, grads, lrs };
}

type Problem = ReturnType<typeof problem>;
const NAMES = ['a', 'b', 'c'];

/** Runs FlatAdam on the active backend; returns the parameters and the moments per step. */
function runOurs(pb: Problem) {
  const vars = pb.p0.map((p, i) => tf.tidy(() => tf.variable(tf.tensor(p, pb.shapes[i]))));
  const adam = new FlatAdam(vars, NAMES);
  pb.grads.forEach((g, k) =>
    tf.tidy(() => {
      const named: Record<string, tf.Tensor> = {};
      g.forEach((gi, i) => {
        if (gi) named[vars[i].name] = tf.tensor(gi, pb.shapes[i]);
      });
      adam.update(named, k + 1, pb.lrs[k], 0.9, 0.999);
    }),
  );
  const st = adam.state();
  const out = {
    p: vars.map((x) => Array.from(x.dataSync())),
    m: NAMES.map((k) => Array.from(st.m[k].data)),
    v: NAMES.map((k) => Array.from(st.v[k].data)),
  };
  adam.dispose();
  vars.forEach((x) => x.dispose());
  return out;
}

function close(ours: number[][], ref: number[][], tol: (r: number) => number, what: string): void {
  for (let i = 0; i < ref.length; i++)
    for (let j = 0; j < ref[i].length; j++)
      assert.ok(
        Math.abs(ours[i][j] - ref[i][j]) <= tol(ref[i][j]),
        `${what} ${i}.${j}: ${ours[i][j]} vs ${ref[i][j]}`,
      );
}

/**
 * v is compared at 2e-5 relative: float32 cannot hold 1 - beta2 = 0.001 better than that on the
 * native path, where TensorFlow forms it from beta2 in float32 (1 - 0.999f = 0.00099998713).
 */
const vTol = (r: number) => 2e-5 * Math.abs(r) + 1e-20;

test(
  'FlatAdam equals torch.optim.Adam over 5 steps (lr schedule, betas 0.9/0.999, one step without a gradient)',
  { skip: missingPython('torch') },
  () => {
    const pb = problem(1, 5);
    const ours = runOurs(pb);
    const ref = runPython<{ p: number[][]; m: number[][]; v: number[][] }>(
      `
import json, sys, torch
d = json.load(sys.stdin)
ps = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in d['p0']]
opt = torch.optim.Adam(ps, lr=1.0, betas=(0.9, 0.999), eps=1e-8)
for g, lr in zip(d['grads'], d['lrs']):
    for group in opt.param_groups: group['lr'] = lr
    for p, gi in zip(ps, g): p.grad = torch.zeros_like(p) if gi is None else torch.tensor(gi, dtype=torch.float64)
    opt.step()
st = [opt.state[p] for p in ps]
print(json.dumps({'p': [p.detach().numpy().tolist() for p in ps],
  'm': [s['exp_avg'].numpy().tolist() for s in st], 'v': [s['exp_avg_sq'].numpy().tolist() for s in st]}))
`,
      pb,
    );
    close(ours.p, ref.p, () => 1e-6, 'p');
    close(ours.m, ref.m, (r) => 1e-6 * Math.abs(r) + 1e-7, 'm');
    close(ours.v, ref.v, vTol, 'v');
  },
);

test('native in-place Adam equals the composed flat Adam (cpu backend) over 6 steps', async (t) => {
  if (tf.getBackend() !== 'tensorflow') return t.skip('native backend not active');
  const pb = problem(3, 6);
  const native = runOurs(pb);
  await tf.setBackend('cpu');
  let composed: ReturnType<typeof runOurs>;
  try {
    composed = runOurs(pb);
  } finally {
    await tf.setBackend('tensorflow');
  }
  close(native.p, composed.p, (r) => 1e-6 * Math.abs(r) + 1e-7, 'p');
  close(native.m, composed.m, (r) => 1e-6 * Math.abs(r) + 1e-7, 'm');
  close(native.v, composed.v, vTol, 'v');
});

test('moments round trip: state() loaded into a new optimizer continues bit for bit', () => {
  const pb = problem(5, 6);
  const vars = pb.p0.map((p, i) => tf.tidy(() => tf.variable(tf.tensor(p, pb.shapes[i]))));
  const adam = new FlatAdam(vars, NAMES);
  const step = (a: FlatAdam, vs: tf.Variable[], k: number) =>
    tf.tidy(() => {
      const named: Record<string, tf.Tensor> = {};
      pb.grads[k].forEach((gi, i) => {
        if (gi) named[vs[i].name] = tf.tensor(gi, pb.shapes[i]);
      });
      a.update(named, k + 1, pb.lrs[k], 0.9, 0.999);
    });
  for (let k = 0; k < 3; k++) step(adam, vars, k);
  const st = adam.state();
  assert.ok(st.v.a.data.some((x) => x > 0));
  const copies = vars.map((x) => tf.tidy(() => tf.variable(x.clone())));
  const resumed = new FlatAdam(copies, NAMES);
  resumed.load(st.m, st.v);
  assert.deepEqual(resumed.state(), st);
  for (let k = 3; k < 6; k++) {
    step(adam, vars, k);
    step(resumed, copies, k);
  }
  vars.forEach((x, i) => assert.deepEqual(Array.from(copies[i].dataSync()), Array.from(x.dataSync())));
  assert.deepEqual(resumed.state(), adam.state());
  assert.throws(() => resumed.load({ a: st.m.a }, st.v), /optimizer state does not match/);
  for (const x of [adam, resumed, ...vars, ...copies]) x.dispose();
});

test('Adam keeps tensors taken before a step, follows assign(), and leaks no tensors', () => {
  const before = tf.memory().numTensors;
  const p = tf.tidy(() => tf.variable(tf.tensor([1, 2, 3, 4], [2, 2])));
  const q = tf.tidy(() => tf.variable(tf.tensor([5, 6], [2])));
  const adam = new FlatAdam([p, q], ['p', 'q']);
  const grads = () => ({ [p.name]: tf.ones([2, 2]), [q.name]: tf.ones([2]) });
  // a view of p's buffer (a reshape) kept across the step keeps the old values
  const kept = tf.reshape(p, [4]);
  tf.tidy(() => adam.update(grads(), 1, 0.1, 0.9, 0.999));
  assert.deepEqual(Array.from(kept.dataSync()), [1, 2, 3, 4]);
  // first step: every element moves by lr against the sign of its gradient
  const moved = Array.from(p.dataSync());
  moved.forEach((x, i) => assert.ok(Math.abs(x - (i + 1 - 0.1)) < 1e-6, `${x}`));
  kept.dispose();
  // a value assigned between steps is the one the next step updates
  tf.tidy(() => p.assign(tf.fill([2, 2], 10)));
  tf.tidy(() => adam.update(grads(), 2, 0.1, 0.9, 0.999));
  Array.from(p.dataSync()).forEach((x) => assert.ok(x < 10 && x > 9.8, `${x}`));
  assert.equal(tf.memory().numTensors, before + 2 + (tf.getBackend() === 'tensorflow' ? 6 : 2));
  adam.dispose();
  p.dispose();
  q.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test(
  'structural term: SSIM equals scikit-image structural_similarity (win 7, data range 2)',
  { skip: missingPython('skimage', 'numpy') },
  () => {
    const r = new Rng(2);
    const h = 20;
    const w = 17;
    const a = Float32Array.from({ length: h * w }, (_, i) =>
      Math.max(-1, Math.min(1, Math.sin(i * 0.1) * 0.6 + 0.2 * r.normal())),
    );
    const b = Float32Array.from(a, (x) => Math.max(-1, Math.min(1, 0.8 * x + 0.2 * r.normal())));
    const ours = ssimLoss(tf.tensor(b, [1, h, w, 1]), tf.tensor(a, [1, h, w, 1])).dataSync()[0];
    const ref = runPython<number>(
      `
import json, sys, numpy as np
from skimage.metrics import structural_similarity
d = json.load(sys.stdin)
a = np.array(d['a'], dtype=np.float64).reshape(d['h'], d['w']); b = np.array(d['b'], dtype=np.float64).reshape(d['h'], d['w'])
print(json.dumps(float(structural_similarity(a, b, win_size=7, data_range=2.0))))
`,
      { a: Array.from(a), b: Array.from(b), h, w },
    );
    assert.ok(Math.abs(ours - ref) < 1e-4, `${ours} vs ${ref}`);
    // a small step along the gradient raises SSIM (the loss 1 - SSIM falls)
    const x = tf.tensor(b, [1, h, w, 1]);
    const t = tf.tensor(a, [1, h, w, 1]);
    const g = tf.grad((y: tf.Tensor) => ssimLoss(y, t))(x);
    assert.ok(g.dataSync().every(Number.isFinite));
    const up = ssimLoss(tf.add(x, tf.mul(g, 1e-1)), t).dataSync()[0];
    assert.ok(up > ours, `${up} > ${ours}`);
  },
);
