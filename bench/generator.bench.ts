/**
 * Whole generator training steps (issue 6): the lite preset at 64 and 128 px, batch 1, one
 * source -> one target, three forward passes (translation, self-reconstruction, cycle), one
 * backward pass and Adam, against the same architecture and step in PyTorch
 * (bench/torch_generator.py) in the same run.
 */
import { join } from 'node:path';
import { tf } from '../src/engine/index.js';
import { createGenerator } from '../src/model/index.js';
import { FlatAdam, trainingStep } from '../src/train/index.js';
import type { TensorWorkload } from './index.js';

function stepWorkload(size: number): TensorWorkload {
  return {
    name: `generator step lite ${size}px`,
    description: `lite Seq2Seq (3,316,416 params), 1x${size}x${size}: 3 forward + 1 backward + Adam`,
    // The pure-JS cpu backend takes minutes per step; wasm is timed with few repetitions at 64 px.
    reps: { cpu: 0, wasm: size <= 64 ? 2 : 0 },
    setup() {
      const model = createGenerator('lite', { seed: 0 });
      const adam = new FlatAdam([...model.variables.values()], [...model.variables.keys()]);
      const xs = tf.randomUniform([1, 1, size, size, 1], -1, 1, 'float32', 1);
      const xt = tf.randomUniform([1, 1, size, size, 1], -1, 1, 'float32', 2);
      let t = 0;
      // the default recipe's loss: the structural term on y_t and y_s (as the PyTorch twin)
      const o = { beta1: 0.9, beta2: 0.999, structuralWeight: 0.01, structuralCycle: false };
      return {
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
    },
    torch: { module: join(__dirname, 'torch_generator.py'), case: String(size) },
  };
}

export const workloads: TensorWorkload[] = [stepWorkload(64), stepWorkload(128)];
