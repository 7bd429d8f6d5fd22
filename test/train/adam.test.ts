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

test(
  'FlatAdam equals torch.optim.Adam over 4 steps (lr schedule, betas 0.9/0.999)',
  { skip: missingPython('torch') },
  () => {
    const r = new Rng(1);
    const p0 = [Array.from({ length: 6 }, () => r.normal()), Array.from({ length: 3 }, () => r.normal())];
    const grads = [0, 1, 2, 3].map(() => [
      Array.from({ length: 6 }, () => r.normal()),
      Array.from({ length: 3 }, () => r.normal()),
    ]);
    const lrs = [2e-2, 1.5e-2, 1e-2, 5e-3];
    const vars = [tf.variable(tf.tensor(p0[0], [2, 3])), tf.variable(tf.tensor(p0[1], [3]))];
    const adam = new FlatAdam(vars, ['a', 'b']);
    grads.forEach((g, k) =>
      tf.tidy(() =>
        adam.update(
          { [vars[0].name]: tf.tensor(g[0], [2, 3]), [vars[1].name]: tf.tensor(g[1], [3]) },
          k + 1,
          lrs[k],
          0.9,
          0.999,
        ),
      ),
    );
    const ref = runPython<number[][]>(
      `
import json, sys, torch
d = json.load(sys.stdin)
ps = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in d['p0']]
opt = torch.optim.Adam(ps, lr=1.0, betas=(0.9, 0.999), eps=1e-8)
for g, lr in zip(d['grads'], d['lrs']):
    for group in opt.param_groups: group['lr'] = lr
    for p, gi in zip(ps, g): p.grad = torch.tensor(gi, dtype=torch.float64)
    opt.step()
print(json.dumps([p.detach().numpy().tolist() for p in ps]))
`,
      { p0, grads, lrs },
    );
    const ours = [Array.from(vars[0].dataSync()), Array.from(vars[1].dataSync())];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < ours[i].length; j++)
        assert.ok(Math.abs(ours[i][j] - ref[i][j]) < 1e-6, `${i}.${j}: ${ours[i][j]} vs ${ref[i][j]}`);
    const st = adam.state();
    assert.deepEqual(st.m.b.shape, [3]);
    adam.dispose();
  },
);

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
