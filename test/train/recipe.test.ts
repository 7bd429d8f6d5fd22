/**
 * The authors' training recipe (train_brats_seq2seq_2d.py and their BraTS dataloader), each
 * piece against an independent reference:
 *  - the learning rate: torch.optim.lr_scheduler.LambdaLR stepped once per epoch with their
 *    poly_lr(epoch, epochs, lr, 1e-6, 0.9);
 *  - the flip along x: numpy's x[..., ::-1] on the same crop;
 *  - the skipped crops: their test |mean(x) + 1| < 1e-8, in PyTorch, on the same crops, and
 *    training on a subject with empty slices never steps on one;
 *  - the structural term: (1 - SSIM) of y_t and y_s only, each SSIM from scikit-image;
 *  - the initial linear maps of the code: PyTorch's default nn.Linear draw (two-sample KS test).
 * Checkpoints from before the recipe keep resuming with mriseq 0.1's.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter, tf } from '../../src/engine/index.js';
import { createGenerator, Rng } from '../../src/model/index.js';
import {
  flipLastSpatial,
  isBackground,
  learningRate,
  stepLoss,
  train,
  type TrainState,
} from '../../src/train/index.js';
import { createVolume } from '../../src/volume/index.js';
import { missingPython, runPython } from '../helpers/python.js';
import { stepImages, TINY_GENERATOR } from '../helpers/generator.js';

setEngineAdapter(nodeEngineAdapter);
before(async () => {
  await initEngine();
});

const tiny = TINY_GENERATOR;

const authorsOptions = (epochSteps: number): TrainState['options'] => ({
  seed: 0,
  crop: 64,
  lr: 2e-4,
  lrEnd: 1e-6,
  lrPower: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  structuralWeight: 0.01,
  lrSchedule: 'epoch',
  epochSteps,
  flip: true,
  skipBackground: true,
  structuralCycle: false,
});

test(
  "learning rate per epoch equals PyTorch's LambdaLR with the authors' poly_lr (power 0.9)",
  { skip: missingPython('torch') },
  () => {
    const steps = 6000;
    const epochSteps = 1600; // 200 subjects x rep_step 8
    const o = authorsOptions(epochSteps);
    const epochs = Math.ceil(steps / epochSteps);
    const ref = runPython<number[]>(
      `
import json, sys, torch
d = json.load(sys.stdin)
lr, epochs = d['lr'], d['epochs']
poly = lambda e: 1e-6 + (lr - 1e-6) * (1 - e / epochs) ** 0.9
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.Adam([p], lr=lr)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lambda e: poly(e) / lr)
out = []
for e in range(epochs):
    if e != 0: sched.step()
    out.append(opt.param_groups[0]['lr'])
print(json.dumps(out))
`,
      { lr: o.lr, epochs },
    );
    for (let step = 0; step < steps; step += 97) {
      const ours = learningRate(step, steps, o);
      const theirs = ref[Math.floor(step / epochSteps)];
      assert.ok(Math.abs(ours - theirs) <= 1e-12 + 1e-9 * theirs, `step ${step}: ${ours} vs ${theirs}`);
    }
    // constant within an epoch, lower in the next
    assert.equal(learningRate(0, steps, o), learningRate(epochSteps - 1, steps, o));
    assert.ok(learningRate(epochSteps, steps, o) < learningRate(epochSteps - 1, steps, o));
  },
);

test('checkpoints without recipe fields keep mriseq 0.1: per-step linear decay', () => {
  const legacy: TrainState['options'] = {
    seed: 0,
    crop: 64,
    lr: 2e-4,
    lrEnd: 1e-6,
    lrPower: 1,
    beta1: 0.9,
    beta2: 0.999,
    structuralWeight: 0.01,
  };
  for (const step of [0, 1, 2999, 5999])
    assert.ok(
      Math.abs(learningRate(step, 6000, legacy) - ((2e-4 - 1e-6) * (1 - step / 6000) + 1e-6)) < 1e-15,
    );
});

test(
  "flip along x equals numpy's x[..., ::-1] and the background test equals the authors' |mean + 1| < 1e-8",
  {
    skip: missingPython('torch', 'numpy'),
  },
  () => {
    const r = new Rng(5);
    const [T, H, W, C] = [2, 3, 5, 3];
    const x = Float32Array.from({ length: T * H * W * C }, () => r.normal());
    const flipped = x.slice();
    flipLastSpatial(flipped, W, C);
    const crops = [
      new Float32Array(64).fill(-1),
      Float32Array.from({ length: 64 }, (_, i) => (i === 7 ? -1 + 1e-3 : -1)),
      Float32Array.from({ length: 64 }, () => r.normal()),
    ];
    const ref = runPython<{ flipped: number[]; empty: boolean[] }>(
      `
import json, sys, numpy as np, torch
d = json.load(sys.stdin)
x = np.array(d['x'], dtype=np.float32).reshape(d['shape'])
print(json.dumps({'flipped': x[:, :, ::-1, :].ravel().tolist(),
  'empty': [bool(torch.abs(torch.mean(torch.tensor(c, dtype=torch.float32)) + 1) < 1e-8) for c in d['crops']]}))
`,
      { x: Array.from(x), shape: [T, H, W, C], crops: crops.map((c) => Array.from(c)) },
    );
    assert.deepEqual(Array.from(flipped), ref.flipped.map(Math.fround));
    assert.deepEqual(
      crops.map((c) => isBackground(c)),
      ref.empty,
    );
  },
);

test('training never steps on an all-background source crop, and still makes its number of steps', async () => {
  // a 16x16x8 subject whose slices 0-3 are empty (zero -> -1 after normalisation)
  const shape = [16, 16, 8];
  const make = (f: (x: number, y: number, z: number) => number) => {
    const data = new Float32Array(16 * 16 * 8);
    for (let z = 0; z < 8; z++)
      for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) data[x + 16 * (y + 16 * z)] = f(x, y, z);
    return createVolume(data, shape);
  };
  const vols = {
    t1: make((x, y, z) => (z < 4 ? 0 : 1 + ((x * y + z) % 5))),
    t2: make((x, y, z) => (z < 4 ? 0 : 1 + ((x + 2 * y) % 7))),
  };
  const subjects = [{ id: 's', volumes: vols }];
  const run = async (skipBackground: boolean) => {
    const g = createGenerator('lite', { ...tiny, sequences: ['t1', 't2'] });
    const slices: number[] = [];
    const flips: boolean[] = [];
    const r = await train(g, subjects, {
      steps: 24,
      crop: 16,
      seed: 1,
      skipBackground,
      onProgress: (e) => {
        slices.push(e.crop.z);
        flips.push(e.crop.flip);
      },
    });
    g.dispose();
    return { steps: r.steps, slices, flips };
  };
  const skipping = await run(true);
  const plain = await run(false);
  assert.equal(skipping.steps, 24);
  assert.equal(skipping.slices.length, 24);
  assert.ok(
    skipping.slices.every((z) => z >= 4),
    `slices drawn: ${skipping.slices.join(',')}`,
  );
  // the guard is what keeps them out: the same seed without it steps on empty slices
  assert.ok(plain.slices.some((z) => z < 4));
  // and the authors' flip draws both ways
  assert.ok(skipping.flips.includes(true) && skipping.flips.includes(false));
});

test(
  'the structural term is (1 - SSIM) of y_t and y_s (scikit-image), not of the cycle; structuralCycle adds it',
  { skip: missingPython('skimage', 'numpy') },
  () => {
    const g = createGenerator('lite', tiny);
    const { sample, xs, xt, yt, ys, yc, tensors } = stepImages(g, [1, 2]);
    const arr = (t: tf.Tensor) => Array.from(t.dataSync());
    const ssim = runPython<number[]>(
      `
import json, sys, numpy as np
from skimage.metrics import structural_similarity as S
d = json.load(sys.stdin)
a = lambda k: np.array(d[k], dtype=np.float64).reshape(16, 16)
print(json.dumps([S(a('yt'), a('xt'), win_size=7, data_range=2.0), S(a('ys'), a('xs'), win_size=7, data_range=2.0),
  S(a('yc'), a('xs'), win_size=7, data_range=2.0)]))
`,
      { yt: arr(yt), ys: arr(ys), yc: arr(yc), xt: arr(xt), xs: arr(xs) },
    );
    const structural = (cycle: boolean) =>
      tf.tidy(
        () => stepLoss(g, { structuralWeight: 0.01, structuralCycle: cycle }, sample).parts[4].dataSync()[0],
      );
    const two = 2 - ssim[0] - ssim[1];
    assert.ok(Math.abs(structural(false) - two) < 1e-4, `${structural(false)} vs ${two}`);
    assert.ok(Math.abs(structural(true) - (two + 1 - ssim[2])) < 1e-4);
    for (const t of tensors) t.dispose();
    g.dispose();
  },
);

test(
  "the code's linear maps start as PyTorch's nn.Linear (U(+-1/sqrt(fan_in)), zero bias): KS test against torch",
  { skip: missingPython('torch', 'scipy') },
  () => {
    const g = createGenerator('lite', { ...tiny, cS: 64, cW: 16 });
    const v = g.variables;
    const style = Array.from(v.get('style.w')!.dataSync());
    const f = Array.from(v.get('dec.res0.c1.f.w')!.dataSync());
    for (const b of ['style.b', 'dec.res0.c1.f.b', 'dec.res0.c1.g.b'])
      assert.ok(
        v
          .get(b)!
          .dataSync()
          .every((x) => x === 0),
        b,
      );
    const p = runPython<number[]>(
      `
import json, sys, torch
from scipy.stats import ks_2samp
d = json.load(sys.stdin)
torch.manual_seed(0)
ref_style = torch.nn.Linear(64, 64).weight.detach().numpy().ravel()
ref_f = torch.nn.Linear(64, 16).weight.detach().numpy().ravel()
print(json.dumps([ks_2samp(d['style'], ref_style).pvalue, ks_2samp(d['f'], ref_f).pvalue,
  float(abs(ref_style).max()), float(abs(ref_f).max())]))
`,
      { style, f },
    );
    assert.ok(p[0] > 0.01 && p[1] > 0.01, `KS p-values ${p[0]}, ${p[1]}`);
    const bound = 1 / Math.sqrt(64);
    assert.ok(style.every((x) => Math.abs(x) <= bound) && f.every((x) => Math.abs(x) <= bound));
    // the old 'scaled' init is what the KS test tells apart
    const old = createGenerator('lite', { ...tiny, cS: 64, cW: 16, linearInit: 'scaled' });
    const oldF = Array.from(old.variables.get('dec.res0.c1.f.w')!.dataSync());
    assert.ok(oldF.some((x) => Math.abs(x) > bound));
    old.dispose();
    g.dispose();
  },
);
