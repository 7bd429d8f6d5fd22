/**
 * Convolution workloads of the engine issue: forward, and forward + both gradients, 2D and 3D, at
 * two sizes, on every backend, against PyTorch (bench/torch/conv.py) in the same run.
 */
import { join } from 'node:path';
import { tf } from '../src/engine/index.js';
import type { TensorWorkload } from './index.js';
import type { TorchCase } from './torch.js';

/** The same case in bench/torch/conv.py, timed alternately with mriseq's repetitions. */
const torchCase = (name: string): TorchCase => ({ module: join(__dirname, 'torch', 'conv.py'), case: name });

/**
 * Waits for results only where that is needed. Node's backends (native TensorFlow eager, wasm,
 * cpu) run every kernel to completion before the op returns, so reading the outputs back would
 * time a 2-8 MiB copy into JavaScript that neither training nor the PyTorch baseline does
 * (measured: +20-60% on the 64 px forward). Asynchronous backends (webgl, webgpu) still read.
 */
const SYNCHRONOUS = new Set(['tensorflow', 'wasm', 'cpu']);
function finish(...ts: (tf.Tensor | undefined)[]): void {
  if (SYNCHRONOUS.has(tf.getBackend())) return;
  for (const t of ts) t?.dataSync();
}

function conv2dWorkload(
  name: string,
  size: number,
  grads: boolean,
  cpuReps: number | undefined,
): TensorWorkload {
  return {
    name,
    description: `conv2d 3x3, 4x${size}x${size}x32 -> 32 filters, ${grads ? 'forward + input and filter gradients' : 'forward'}`,
    // The pure-JS cpu backend needs ~30 s for one 64 px filter gradient: only the forward runs there.
    reps: cpuReps === undefined ? { cpu: 0 } : { cpu: cpuReps },
    setup() {
      const x = tf.randomNormal([4, size, size, 32]) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 32, 32]) as tf.Tensor4D;
      const dy = tf.randomNormal([4, size, size, 32]);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'),
      );
      return {
        step: grads
          ? () =>
              tf.tidy(() => {
                const [dx, dw] = g([x, w], dy);
                finish(dx, dw);
              })
          : () => tf.tidy(() => finish(tf.conv2d(x, w, 1, 'same'))),
        dispose: () => tf.dispose([x, w, dy]),
      };
    },
    torch: torchCase(name),
  };
}

function conv3dWorkload(name: string, grads: boolean, cpuReps: number): TensorWorkload {
  return {
    name,
    description: `conv3d 3x3x3, 2x16^3x16 -> 16 filters, ${grads ? 'forward + input and filter gradients' : 'forward'}`,
    reps: { cpu: cpuReps },
    setup() {
      const x = tf.randomNormal([2, 16, 16, 16, 16]) as tf.Tensor5D;
      const w = tf.randomNormal([3, 3, 3, 16, 16]) as tf.Tensor5D;
      const dy = tf.randomNormal([2, 16, 16, 16, 16]);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, 1, 'same'),
      );
      return {
        step: grads
          ? () =>
              tf.tidy(() => {
                const [dx, dw] = g([x, w], dy);
                finish(dx, dw);
              })
          : () => tf.tidy(() => finish(tf.conv3d(x, w, 1, 'same'))),
        dispose: () => tf.dispose([x, w, dy]),
      };
    },
    torch: torchCase(name),
  };
}

export const workloads: TensorWorkload[] = [
  conv2dWorkload('conv2d-64-fwd', 64, false, 3),
  conv2dWorkload('conv2d-64-fwd-grads', 64, true, undefined),
  conv3dWorkload('conv3d-16-fwd', false, 3),
  conv3dWorkload('conv3d-16-fwd-grads', true, 1),
  conv2dWorkload('conv2d-128-fwd-grads', 128, true, undefined),
];
