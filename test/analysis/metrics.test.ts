import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingPython, runPython } from '../helpers/python.js';
import {
  psnr,
  ssim,
  ssimMap,
  meanAbsoluteError,
  SynthesisMetrics,
  compareVolumes,
  LPIPS_SKIPPED,
} from '../../src/analysis/index.js';
import { seededRandom, batchSynthesisScores } from '../../src/analysis/index.js';
import { initEngine, tf } from '../../src/engine/index.js';
import { MriseqError } from '../../src/errors/index.js';

const skip = missingPython('numpy', 'skimage');

/** A "real" image in [-1, 1] and a degraded copy, both x fastest. */
function pair(shape: number[], seed: number): { a: Float32Array; b: Float32Array } {
  const rand = seededRandom(seed);
  const n = shape.reduce((p, q) => p * q, 1);
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const smooth = Math.sin(i * 0.05) * 0.5;
    a[i] = Math.max(-1, Math.min(1, smooth + (rand() - 0.5) * 0.6));
    b[i] = Math.max(-1, Math.min(1, a[i] * 0.8 + (rand() - 0.5) * 0.4));
  }
  return { a, b };
}

// Arrays go to numpy in Fortran order with the same shape, so axis 0 is the fastest as in our layout.
const SKIMAGE = `
import json, sys, numpy as np
from skimage.metrics import structural_similarity, peak_signal_noise_ratio
d = json.load(sys.stdin)
shape = tuple(d['shape'])
a = np.asarray(d['a'], dtype=np.float64).reshape(shape, order='F')
b = np.asarray(d['b'], dtype=np.float64).reshape(shape, order='F')
m, S = structural_similarity(a, b, data_range=2, full=True)
pad = 3
crop = tuple(slice(pad, s - pad) for s in shape)
mask = np.asarray(d['mask'], dtype=bool).reshape(shape, order='F')
masked = float(S[crop][mask[crop]].mean())
print(json.dumps({
  'ssim': float(m),
  'map': S.flatten(order='F').tolist(),
  'psnr': float(peak_signal_noise_ratio(a, b, data_range=2)),
  'mae': float(np.abs(a - b).mean()),
  'maskedSsim': masked,
  'maskedPsnr': float(10 * np.log10(4 / ((a[mask] - b[mask]) ** 2).mean())),
}))
`;

interface SkimageOut {
  ssim: number;
  map: number[];
  psnr: number;
  mae: number;
  maskedSsim: number;
  maskedPsnr: number;
}

for (const shape of [
  [23, 17],
  [12, 10, 9],
]) {
  test(
    `PSNR, SSIM (value and full map) and MAE equal scikit-image on a ${shape.length}D ${shape.join('x')} image`,
    { skip },
    () => {
      const { a, b } = pair(shape, shape.length);
      const mask = Array.from(a, (_, i) => (i % 3 === 0 ? 1 : 0));
      const ref = runPython<SkimageOut>(SKIMAGE, { shape, a: Array.from(a), b: Array.from(b), mask });
      assert.ok(
        Math.abs(ssim(a, b, { shape }) - ref.ssim) < 1e-4,
        `ssim ${ssim(a, b, { shape })} vs ${ref.ssim}`,
      );
      assert.ok(Math.abs(psnr(a, b, { shape }) - ref.psnr) < 1e-4);
      assert.ok(Math.abs(meanAbsoluteError(a, b) - ref.mae) < 1e-6);
      const { map } = ssimMap(a, b, { shape });
      let worst = 0;
      for (let i = 0; i < map.length; i++) worst = Math.max(worst, Math.abs(map[i] - ref.map[i]));
      assert.ok(worst < 1e-4, `full SSIM map (borders: scipy reflect) differs by ${worst}`);
      assert.ok(Math.abs(ssim(a, b, { shape, mask }) - ref.maskedSsim) < 1e-4);
      assert.ok(Math.abs(psnr(a, b, { shape, mask }) - ref.maskedPsnr) < 1e-4);
      // A metric that ignored the degradation would not separate these.
      assert.ok(ssim(a, a, { shape }) > 0.9999 && ref.ssim < 0.99);
    },
  );
}

test('identical images: PSNR is Infinity, SSIM 1, MAE 0', () => {
  const { a } = pair([8, 8], 3);
  assert.equal(psnr(a, a), Infinity);
  assert.ok(Math.abs(ssim(a, a, { shape: [8, 8] }) - 1) < 1e-12);
  assert.equal(meanAbsoluteError(a, a), 0);
});

test('PSNR closed form: a constant error of 0.2 on range 2 gives 10 log10(4 / 0.04) = 20 dB', () => {
  const a = new Float32Array(50).fill(0.1);
  const b = a.map((v) => v + 0.2);
  assert.ok(Math.abs(psnr(a, b) - 20) < 1e-4);
});

test('bad inputs name the field: size mismatch, image smaller than the window, empty mask', () => {
  const { a, b } = pair([8, 8], 4);
  assert.throws(
    () => ssim(a, b.subarray(1), { shape: [8, 8] }),
    (e: unknown) => e instanceof MriseqError && e.field === 'test',
  );
  assert.throws(
    () => ssim(a, b, { shape: [16, 4] }),
    (e: unknown) => e instanceof MriseqError && e.field === 'shape[1]',
  );
  assert.throws(
    () => psnr(a, b, { mask: new Uint8Array(64) }),
    (e: unknown) => e instanceof MriseqError && e.field === 'mask',
  );
});

test('accumulator: update per pair, aggregate is the mean of the per-pair scores, reset clears', () => {
  const acc = new SynthesisMetrics({ shape: [9, 9] });
  const scores = [1, 2, 3].map((s) => {
    const { a, b } = pair([9, 9], s);
    return acc.update(a, b);
  });
  const agg = acc.aggregate();
  assert.equal(agg.count, 3);
  for (const k of ['psnr', 'ssim', 'mae'] as const)
    assert.ok(Math.abs(agg[k] - scores.reduce((s, x) => s + x[k], 0) / 3) < 1e-12);
  acc.reset();
  assert.throws(() => acc.aggregate(), MriseqError);
});

test('LPIPS is reported as skipped, with the reason, never computed', () => {
  assert.match(LPIPS_SKIPPED, /skipped.*pretrained.*weights/i);
});

test(
  'compareVolumes with slices: SSIM is the mean of scikit-image 2D SSIMs over axial slices',
  { skip },
  () => {
    const shape = [10, 9, 4];
    const { a, b } = pair(shape, 12);
    const ref = runPython<{ ssim: number }>(
      `
import json, sys, numpy as np
from skimage.metrics import structural_similarity
d = json.load(sys.stdin)
a = np.asarray(d['a']).reshape(d['shape'], order='F'); b = np.asarray(d['b']).reshape(d['shape'], order='F')
print(json.dumps({'ssim': float(np.mean([structural_similarity(a[:, :, z], b[:, :, z], data_range=2) for z in range(a.shape[2])]))}))
`,
      { shape, a: Array.from(a), b: Array.from(b) },
    );
    const ours = compareVolumes({ data: a, shape }, { data: b, shape }, { slices: true });
    assert.ok(Math.abs(ours.ssim - ref.ssim) < 1e-4);
    assert.ok(Math.abs(ours.psnr - psnr(a, b)) < 1e-12);
  },
);

test(
  'batchSynthesisScores on channels-last [B,H,W,C] tensors: per item, channels averaged, as skimage on each plane',
  { skip },
  async () => {
    await initEngine();
    const [B, H, W, C] = [2, 9, 11, 2];
    const { a, b } = pair([B * H * W * C], 21);
    const before = tf.memory().numTensors;
    const ta = tf.tensor4d(a, [B, H, W, C]);
    const tb = tf.tensor4d(b, [B, H, W, C]);
    const ours = batchSynthesisScores(ta, tb);
    tf.dispose([ta, tb]);
    assert.equal(tf.memory().numTensors, before);
    const ref = runPython<{ ssim: number[]; psnr: number[] }>(
      `
import json, sys, numpy as np
from skimage.metrics import structural_similarity, peak_signal_noise_ratio
d = json.load(sys.stdin)
a = np.asarray(d['a']).reshape(d['shape']); b = np.asarray(d['b']).reshape(d['shape'])
ss = [np.mean([structural_similarity(a[i, :, :, c], b[i, :, :, c], data_range=2) for c in range(a.shape[3])]) for i in range(a.shape[0])]
ps = [np.mean([peak_signal_noise_ratio(a[i, :, :, c], b[i, :, :, c], data_range=2) for c in range(a.shape[3])]) for i in range(a.shape[0])]
print(json.dumps({'ssim': ss, 'psnr': ps}))
`,
      { shape: [B, H, W, C], a: Array.from(a), b: Array.from(b) },
    );
    for (let i = 0; i < B; i++) {
      assert.ok(Math.abs(ours[i].ssim - ref.ssim[i]) < 1e-4);
      assert.ok(Math.abs(ours[i].psnr - ref.psnr[i]) < 1e-4);
    }
    assert.throws(
      () => batchSynthesisScores(tf.zeros([2, 3, 4]), tf.zeros([2, 3, 4])),
      /expected 4D \[B,H,W,C\] or 5D \[B,D,H,W,C\], got 3D/,
    );
  },
);
