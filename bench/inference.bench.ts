/**
 * Whole-subject generation (issue 29): every (source, target) volume of one 64 x 64 x 32 subject
 * with 4 sequences (16 pairs) from the lite generator, as evaluation and maps need them
 * (generatePairs: each source's slices encoded once, in batches sized to memory, decoded for every
 * target), compiled and eager, against the same work in PyTorch (bench/torch_generate.py, the
 * same batches).
 */
import { join } from 'node:path';
import { tf } from '../src/engine/index.js';
import { createGenerator, generatePairs, preset, stackBytes } from '../src/model/index.js';
import type { Volume } from '../src/volume/index.js';
import type { TensorWorkload } from './index.js';

const [W, H, D] = [64, 64, 32];

function subjectWorkload(compile: boolean): TensorWorkload {
  return {
    name: `generate subject ${W}x${H}x${D} 16 pairs${compile ? '' : ' eager'}`,
    description: `lite generator, 4 sequences of ${W}x${H}x${D}: all 16 source-target volumes (${compile ? 'compiled' : 'eager'})`,
    reps: { cpu: 0, wasm: 0 },
    setup() {
      const model = createGenerator('lite', { seed: 0 });
      const vol = (seed: number): Volume => ({
        data: tf.tidy(() => tf.randomUniform([W * H * D], -1, 1, 'float32', seed).dataSync() as Float32Array),
        shape: [W, H, D],
        spacing: [1, 1, 1],
        affine: [
          [1, 0, 0, 0],
          [0, 1, 0, 0],
          [0, 0, 1, 0],
          [0, 0, 0, 1],
        ],
        datatype: 'float32',
      });
      const subject = { id: 'bench', volumes: { t1: vol(1), t1gd: vol(2), t2: vol(3), flair: vol(4) } };
      return {
        step: async () => {
          await generatePairs(model, subject, { normalized: true, compile });
        },
        dispose: () => model.dispose(),
      };
    },
    torch: {
      module: join(__dirname, 'torch_generate.py'),
      case: `${W}x${H}x${D}`,
      // the batch mriseq picks for this size (its 512 MiB default budget)
      args: {
        batch: Math.min(D, Math.floor((512 * 2 ** 20) / stackBytes(preset('lite'), [1, H, W, 1], 4, 1))),
      },
    },
  };
}

export const workloads: TensorWorkload[] = [subjectWorkload(true), subjectWorkload(false)];
