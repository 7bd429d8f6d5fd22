/**
 * The 3D generator's training step (issue 30): the lite preset with ndims 3 (conv3d, trilinear)
 * on a cube patch as `mriseq train --ndims 3 --patch N` draws it, batch 1, one source -> one
 * target, three forward passes, one backward pass and Adam, alternating turn by turn with the same
 * architecture and step in PyTorch (bench/torch_generator.py with nd = 3). Native engine only: wasm takes
 * minutes per 3D step.
 */
import { join } from 'node:path';
import { tf } from '../src/engine/index.js';
import { createGenerator } from '../src/model/index.js';
import { FlatAdam, trainingStep } from '../src/train/index.js';
import type { TensorWorkload } from './index.js';

function step3d(size: number): TensorWorkload {
  return {
    name: `generator step lite 3D ${size}^3`,
    description: `lite Seq2Seq with ndims 3, 1x${size}x${size}x${size} patch: 3 forward + 1 backward + Adam`,
    backends: ['tensorflow'],
    setup() {
      const model = createGenerator('lite', { seed: 0, ndims: 3 });
      const adam = new FlatAdam([...model.variables.values()], [...model.variables.keys()]);
      const box = [size, size, size];
      const xs = tf.randomUniform([1, 1, ...box, 1], -1, 1, 'float32', 1);
      const xt = tf.randomUniform([1, 1, ...box, 1], -1, 1, 'float32', 2);
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
    torch: { module: join(__dirname, 'torch_generator.py'), case: `3d:${size}` },
  };
}

// 32^3 is `mriseq train --ndims 3`'s default patch; 16^3 shows how the cost scales with it.
export const workloads: TensorWorkload[] = [step3d(16), step3d(32)];
