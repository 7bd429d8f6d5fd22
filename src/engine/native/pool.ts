/** Average pooling and its gradient through oneDNN's pooling (onednn.ts). */
import * as tf from '@tensorflow/tfjs';
import {
  type Args,
  type Info,
  intsAttr,
  type KernelFunc,
  native,
  Native,
  type OpAttr,
  padOp,
} from './binding.js';
import { labelledOpRuns, MKL_LABEL, oneDnnOps, oneDnnRoutes } from './onednn.js';

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: unknown;
  dimRoundingMode?: unknown;
}

function poolInfo(
  shape: number[],
  a: PoolAttrs,
): ReturnType<typeof tf.backend_util.computePool2DInfo> | undefined {
  if (!oneDnnRoutes.avgPool || shape.length !== 4) return undefined;
  if (a.pad !== 'same' && a.pad !== 'valid') return undefined;
  if (a.dimRoundingMode !== undefined && a.dimRoundingMode !== null) return undefined;
  return tf.backend_util.computePool2DInfo(
    shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
  );
}

/** oneDNN's average pooling of x, or undefined where it does not run here. */
function oneDnnAvgPool(
  n: Native,
  x: Info,
  k: number[],
  s: number[],
  padding: 'SAME' | 'VALID',
): Info | undefined {
  const op = oneDnnOps.avgPool;
  const attrs = (kk: number[], ss: number[], pad: string): OpAttr[] => [
    n.T(),
    intsAttr(n, 'ksize', [1, ...kk, 1]),
    intsAttr(n, 'strides', [1, ...ss, 1]),
    n.str('padding', pad),
    n.str('data_format', 'NHWC'),
    n.str('_kernel', MKL_LABEL),
  ];
  const runs = labelledOpRuns(n, op, () => {
    const one = n.reshape(n.fill(1, 1), [1, 1, 1, 1]);
    try {
      return n.op(op, [one], attrs([1, 1], [1, 1], 'VALID'));
    } finally {
      n.free(one);
    }
  });
  return runs ? n.op(op, [x], attrs(k, s, padding)) : undefined;
}

export const avgPoolKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    const { x } = args.inputs as { x: Info };
    const info = x.dtype === 'float32' ? poolInfo(x.shape, args.attrs as unknown as PoolAttrs) : undefined;
    if (!info) return original(args);
    const n = native(args.backend);
    const k = [info.filterHeight, info.filterWidth];
    const s = [info.strideHeight, info.strideWidth];
    return oneDnnAvgPool(n, x, k, s, info.padInfo.type === 'SAME' ? 'SAME' : 'VALID') ?? original(args);
  };

// At stride 1 without padding every window divides by kh*kw, so the gradient (each pixel gets the
// mean of dy over the windows that cover it) is the same average pooling of dy zero-padded by
// k-1 on each side. (TensorFlow's AvgPoolGrad is Eigen's generic loop; oneDNN's was not faster.)
export const avgPoolGradKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    const { dy, input } = args.inputs as { dy: Info; input: Info };
    const info =
      dy.dtype === 'float32' ? poolInfo(input.shape, args.attrs as unknown as PoolAttrs) : undefined;
    if (!info || info.padInfo.type !== 'VALID' || info.strideHeight !== 1 || info.strideWidth !== 1)
      return original(args);
    const n = native(args.backend);
    const [kh, kw] = [info.filterHeight, info.filterWidth];
    const padded = padOp(n, dy, [
      [0, 0],
      [kh - 1, kh - 1],
      [kw - 1, kw - 1],
      [0, 0],
    ]);
    const dx = oneDnnAvgPool(n, padded, [kh, kw], [1, 1], 'VALID');
    if (padded !== dy) n.free(padded);
    return dx ?? original(args);
  };
