/**
 * The presets' training-step cost (issue 23): the authors' 'reference' configuration (6 + 6
 * residual blocks, c_in 3, 155,159,760 parameters) and 'reference-small' (3 + 3, mriseq 0.1's
 * 'reference') against 'lite' in the same process, interleaved turn by turn so that this machine's
 * drift hits all three alike. One 2.5D step at 64 px (batch 1, one source -> one target, three
 * forward passes, one backward, Adam), the default recipe's loss. Reported as ms and as the ratio
 * to lite's step in the same turns.
 */
import { tf } from '../src/engine/index.js';
import { createGenerator, type PresetName } from '../src/model/index.js';
import { FlatAdam, trainingStep } from '../src/train/index.js';
import { median } from './alternate.js';
import type { CustomWorkload } from './index.js';

function stepper(preset: PresetName, size: number) {
  const model = createGenerator(preset, { seed: 0 });
  const c = model.config.cIn;
  const adam = new FlatAdam([...model.variables.values()], [...model.variables.keys()]);
  const xs = tf.randomUniform([1, 1, size, size, c], -1, 1, 'float32', 1);
  const xt = tf.randomUniform([1, 1, size, size, c], -1, 1, 'float32', 2);
  let t = 0;
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

export const workloads: CustomWorkload[] = [
  {
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
        const turns = 3;
        const reps = 2;
        for (let turn = 0; turn < turns; turn++)
          s.forEach((x, i) => {
            for (let r = 0; r < reps; r++) {
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
  },
];
