/**
 * The 3D generator's training step (issue 30): the lite preset with ndims 3 (conv3d, trilinear)
 * on a cube patch as `mriseq train --ndims 3 --patch N` draws it, batch 1, one source -> one
 * target, three forward passes, one backward pass and Adam, alternating turn by turn with the same
 * architecture and step in PyTorch (bench/torch_generator.py with nd = 3). Native engine only: wasm
 * takes minutes per 3D step. Then what each view costs against the 2D one in the same turns: 2D
 * (c_in 1) and 2.5D (c_in 3) steps on a 64 px crop, 3D on a 32^3 patch (the `--ndims 3` default).
 */
import { join } from 'node:path';
import { tf } from '../src/engine/index.js';
import { createGenerator, type Seq2SeqConfig } from '../src/model/index.js';
import { FlatAdam, trainingStep } from '../src/train/index.js';
import { median } from './alternate.js';
import type { BenchWorkload, CustomWorkload, TensorWorkload } from './index.js';

/** One default-recipe step of the lite generator with these overrides on a crop of this box. */
function liteStep(overrides: Partial<Seq2SeqConfig>, box: number[]) {
  const model = createGenerator('lite', { seed: 0, ...overrides });
  const c = model.config.ndims === 2 ? model.config.cIn : 1;
  const adam = new FlatAdam([...model.variables.values()], [...model.variables.keys()]);
  const xs = tf.randomUniform([1, 1, ...box, c], -1, 1, 'float32', 1);
  const xt = tf.randomUniform([1, 1, ...box, c], -1, 1, 'float32', 2);
  // the default recipe's loss: the structural term on y_t and y_s (as the PyTorch twin)
  const o = { beta1: 0.9, beta2: 0.999, structuralWeight: 0.01, structuralCycle: false };
  let t = 0;
  return {
    step: () =>
      void trainingStep(model, adam, ++t, 2e-4, o, { xs, xt, source: 't1', target: 't2', nts: 1, ntt: 1 }),
    dispose: () => {
      for (const x of [adam, xs, xt, model]) x.dispose();
    },
  };
}

function step3d(size: number): TensorWorkload {
  return {
    name: `generator step lite 3D ${size}^3`,
    description: `lite Seq2Seq with ndims 3 (9,966,624 params), 1x${size}x${size}x${size} patch: 3 forward + 1 backward + Adam`,
    backends: ['tensorflow'],
    setup: () => liteStep({ ndims: 3 }, [size, size, size]),
    torch: { module: join(__dirname, 'torch_generator.py'), case: `3d:${size}` },
  };
}

const views: CustomWorkload = {
  name: 'generator step 2D vs 2.5D vs 3D',
  description:
    'lite steps interleaved: 2D (c_in 1) and 2.5D (c_in 3) on a 64 px crop, 3D on a 32^3 patch; ms and the ratio to 2D',
  async run() {
    if (tf.getBackend() !== 'tensorflow') return { summary: 'skipped: timed on the native engine only' };
    const cases = [
      { name: '2D', s: liteStep({}, [64, 64]) },
      { name: '2.5D', s: liteStep({ cIn: 3 }, [64, 64]) },
      { name: '3D', s: liteStep({ ndims: 3 }, [32, 32, 32]) },
    ];
    try {
      for (const c of cases) c.s.step(); // warm: kernels, oneDNN primitives
      const ms: number[][] = cases.map(() => []);
      for (let turn = 0; turn < 3; turn++)
        cases.forEach((c, i) => {
          for (let r = 0; r < 2; r++) {
            const t0 = performance.now();
            c.s.step();
            ms[i].push(performance.now() - t0);
          }
        });
      const med = ms.map((m) => median(m));
      return {
        summary: cases
          .map((c, i) => `${c.name} ${med[i].toFixed(0)} ms (${(med[i] / med[0]).toFixed(1)}x 2D)`)
          .join('; '),
        ...Object.fromEntries(
          cases.flatMap((c, i) => [
            [`${c.name}Ms`, med[i]],
            [`${c.name}Vs2D`, med[i] / med[0]],
          ]),
        ),
      };
    } finally {
      for (const c of cases) c.s.dispose();
    }
  },
};

// 32^3 is `mriseq train --ndims 3`'s default patch; 16^3 shows how the cost scales with it.
export const workloads: BenchWorkload[] = [step3d(16), step3d(32), views];
