/**
 * Whole generator training steps (issue 6): the lite preset at 64 and 128 px, batch 1, one
 * source -> one target, three forward passes (translation, self-reconstruction, cycle), one
 * backward pass and Adam, against the same architecture and step in PyTorch
 * (bench/torch_generator.py) in the same run; and the presets' step cost against lite's.
 */
import { join } from 'node:path';
import { tf } from '../src/engine/index.js';
import { createGenerator, type PresetName } from '../src/model/index.js';
import { FlatAdam, trainingStep } from '../src/train/index.js';
import { median } from './alternate.js';
import type { BenchWorkload, CustomWorkload, TensorWorkload } from './index.js';

/** One default-recipe training step of a preset at size x size (batch 1, c_in channels). */
function stepper(preset: PresetName, size: number) {
  const model = createGenerator(preset, { seed: 0 });
  const c = model.config.cIn;
  const adam = new FlatAdam([...model.variables.values()], [...model.variables.keys()]);
  const xs = tf.randomUniform([1, 1, size, size, c], -1, 1, 'float32', 1);
  const xt = tf.randomUniform([1, 1, size, size, c], -1, 1, 'float32', 2);
  let t = 0;
  // the default recipe's loss: the structural term on y_t and y_s (as the PyTorch twin)
  const o = { beta1: 0.9, beta2: 0.999, structuralWeight: 0.01, structuralCycle: false };
  return {
    params: model.countParams(),
    step: () => {
      t++;
      trainingStep(model, adam, t, 2e-4, o, { xs, xt, source: 't1', target: 't2', nts: 1, ntt: 1 });
    },
    dispose: () => {
      adam.dispose();
      xs.dispose();
      xt.dispose();
      model.dispose();
    },
  };
}

function stepWorkload(size: number): TensorWorkload {
  return {
    name: `generator step lite ${size}px`,
    description: `lite Seq2Seq (3,316,416 params), 1x${size}x${size}: 3 forward + 1 backward + Adam`,
    // The pure-JS cpu backend takes minutes per step; wasm is timed with few repetitions at 64 px.
    reps: { cpu: 0, wasm: size <= 64 ? 2 : 0 },
    setup: () => stepper('lite', size),
    torch: { module: join(__dirname, 'torch_generator.py'), case: String(size) },
  };
}

/**
 * The presets' step cost (issue 23): the authors' 'reference' configuration (6 + 6 residual
 * blocks, c_in 3, 155,159,760 parameters) and 'reference-small' (3 + 3, mriseq 0.1's 'reference')
 * against 'lite' in the same process, interleaved turn by turn so that this machine's drift hits
 * all three alike; ms and the ratio to lite's step.
 */
const presetsWorkload: CustomWorkload = {
  name: 'generator step presets 64px',
  description:
    "lite vs reference-small vs reference (the authors' 6 + 6 configuration), one 64 px 2.5D step each, interleaved",
  async run() {
    if (tf.getBackend() !== 'tensorflow')
      return { summary: 'skipped: the reference presets are timed on the native engine only' };
    const presets: PresetName[] = ['lite', 'reference-small', 'reference'];
    const s = presets.map((p) => stepper(p, 64));
    try {
      for (const x of s) x.step(); // warm: kernels, oneDNN primitives
      const ms: number[][] = presets.map(() => []);
      for (let turn = 0; turn < 3; turn++)
        s.forEach((x, i) => {
          for (let r = 0; r < 2; r++) {
            const t0 = performance.now();
            x.step();
            ms[i].push(performance.now() - t0);
          }
        });
      const med = ms.map((m) => median(m));
      const out: Record<string, number> = {};
      presets.forEach((p, i) => {
        out[`${p}Ms`] = med[i];
        out[`${p}Params`] = s[i].params;
        out[`${p}VsLite`] = med[i] / med[0];
      });
      return {
        summary: presets
          .map(
            (p, i) =>
              `${p} ${med[i].toFixed(0)} ms (${(med[i] / med[0]).toFixed(1)}x lite, ${s[i].params.toLocaleString('en')} params)`,
          )
          .join('; '),
        ...out,
      };
    } finally {
      for (const x of s) x.dispose();
    }
  },
};

export const workloads: BenchWorkload[] = [stepWorkload(64), stepWorkload(128), presetsWorkload];
