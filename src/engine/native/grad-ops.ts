/**
 * Gradients TensorFlow has as single ops (MirrorPadGrad, LeakyReluGrad, ResizeBilinearGrad), and
 * the composed adjoint of mirror padding for every other backend.
 */
import * as tf from '@tensorflow/tfjs';
import { type Args, type Info, type KernelFunc, native } from './binding.js';

export const mirrorPadGradKernel: KernelFunc = ({ inputs, backend, attrs }: Args) => {
  const n = native(backend);
  const a = attrs as unknown as { paddings: [number, number][]; mode: string };
  const p = a.paddings;
  return n.op(
    'MirrorPadGrad',
    [inputs.dy as Info, n.ints(p.flat(), [p.length, 2])],
    [
      n.T(),
      { name: 'Tpaddings', type: n.be.binding.TF_ATTR_TYPE, value: n.be.binding.TF_INT32 },
      n.str('mode', a.mode.toUpperCase()),
    ],
  );
};

export const leakyReluGradKernel: KernelFunc = ({ inputs, backend, attrs }: Args) => {
  const n = native(backend);
  return n.op(
    'LeakyReluGrad',
    [inputs.dy as Info, inputs.x as Info],
    [n.T(), n.float('alpha', (attrs as { alpha: number }).alpha)],
  );
};

export const resizeBilinearGradKernel: KernelFunc = ({ inputs, backend, attrs }: Args) => {
  const n = native(backend);
  const a = attrs as unknown as tf.ResizeBilinearGradAttrs;
  return n.op(
    'ResizeBilinearGrad',
    [inputs.dy as Info, inputs.images as Info],
    [n.T(), n.bool('align_corners', a.alignCorners), n.bool('half_pixel_centers', a.halfPixelCenters)],
  );
};

/** Folds the mirrored borders of dy back onto their sources along one axis. */
function foldMirror(dy: tf.Tensor, axis: number, before: number, after: number, reflect: boolean): tf.Tensor {
  if (before === 0 && after === 0) return dy;
  const n = dy.shape[axis]! - before - after;
  const off = reflect ? 1 : 0;
  const sl = (start: number, size: number): tf.Tensor => {
    const b = new Array<number>(dy.rank).fill(0);
    const s = dy.shape.slice();
    b[axis] = start;
    s[axis] = size;
    return tf.slice(dy, b, s);
  };
  const padAxis = (t: tf.Tensor, lo: number, hi: number): tf.Tensor => {
    const pads = new Array<[number, number]>(dy.rank).fill([0, 0]);
    pads[axis] = [lo, hi];
    return tf.pad(t, pads);
  };
  const parts = [sl(before, n)];
  // padded index i < before holds source before - i - 1 + off: reversed, it lands on off..
  if (before > 0) parts.push(padAxis(tf.reverse(sl(0, before), axis), off, n - before - off));
  // padded index before + n + i holds source n - 1 - off - i: reversed, it ends at n - 1 - off
  if (after > 0) parts.push(padAxis(tf.reverse(sl(before + n, after), axis), n - after - off, off));
  return parts.length === 1 ? parts[0]! : tf.addN(parts);
}

/** dx of MirrorPad from tfjs ops, for backends without a native MirrorPadGrad. */
export function mirrorPadGradComposed(dy: tf.Tensor, paddings: [number, number][], mode: string): tf.Tensor {
  let g = dy;
  for (let axis = 0; axis < paddings.length; axis++) {
    const [b, a] = paddings[axis]!;
    g = foldMirror(g, axis, b, a, mode === 'reflect');
  }
  return g;
}
