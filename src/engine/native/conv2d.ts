/** 2D convolutions and their gradients through oneDNN where it was measured faster (onednn.ts). */
import * as tf from '@tensorflow/tfjs';
import {
  type Args,
  type Info,
  intsAttr,
  type KernelFunc,
  Native,
  native,
  type OpAttr,
  padOp,
  transposeOp,
} from './binding.js';
import { labelledOpRuns, MKL_LABEL, oneDnnOps, oneDnnRoutes } from './onednn.js';

interface Conv2dAttrs {
  strides: number | [number, number];
  pad: unknown;
  dataFormat?: string;
  dimRoundingMode?: unknown;
}

/** TensorFlow attributes of a 2D convolution gradient, or undefined where the stock kernel runs. */
function conv2dGradAttrs(
  n: Native,
  inShape: number[],
  filterShape: number[],
  a: Conv2dAttrs,
): OpAttr[] | undefined {
  if (!oneDnnRoutes.conv2dGrads) return undefined;
  if (a.pad !== 'same' && a.pad !== 'valid') return undefined;
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') return undefined;
  if (a.dimRoundingMode !== undefined && a.dimRoundingMode !== null) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
  );
  const cols =
    info.batchSize * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels;
  if (cols < oneDnnRoutes.conv2dGradMinCols) return undefined;
  return conv2dLabelAttrs(n, info.strideHeight, info.strideWidth, a.pad === 'same' ? 'SAME' : 'VALID');
}

function conv2dLabelAttrs(n: Native, sh: number, sw: number, padding: 'SAME' | 'VALID'): OpAttr[] {
  return [
    n.T(),
    intsAttr(n, 'strides', [1, sh, sw, 1]),
    n.str('padding', padding),
    n.str('data_format', 'NHWC'),
    n.bool('use_cudnn_on_gpu', true),
    intsAttr(n, 'dilations', [1, 1, 1, 1]),
    n.str('_kernel', MKL_LABEL),
  ];
}

/** Runs the labelled oneDNN version of a 2D convolution gradient if it exists here. */
function oneDnnConv2dGrad(
  n: Native,
  op: string,
  inputs: Info[],
  attrs: OpAttr[],
  inputGrad: boolean,
): Info | undefined {
  const runs = labelledOpRuns(n, op, () => {
    const x = n.reshape(n.fill(1, 1), [1, 1, 1, 1]);
    try {
      const size = n.ints([1, 1, 1, 1], [4]);
      return n.op(op, inputGrad ? [size, x, x] : [x, size, x], conv2dLabelAttrs(n, 1, 1, 'VALID'));
    } finally {
      n.free(x);
    }
  });
  return runs ? n.op(op, inputs, attrs) : undefined;
}

export const conv2dInputGradKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    const { dy, filter } = args.inputs as { dy: Info; filter: Info };
    const a = args.attrs as unknown as Conv2dAttrs & { inputShape: number[] };
    if (dy.dtype !== 'float32' || filter.dtype !== 'float32') return original(args);
    const n = native(args.backend);
    const attrs = conv2dGradAttrs(n, a.inputShape, filter.shape, a);
    const inputs = [n.ints(a.inputShape, [4]), filter, dy];
    return (attrs && oneDnnConv2dGrad(n, oneDnnOps.conv2dInputGrad, inputs, attrs, true)) ?? original(args);
  };

/**
 * dw of a stride-1 conv with one output channel, as one forward convolution: dw[i, j, c] is the
 * correlation of input channel c with dy, so with the channels as the batch ([C, H, W, B]) and
 * dy as a [oh, ow, B, 1] filter, a 'valid' Conv2D gives [C, kh, kw, 1]. TensorFlow runs it as the
 * same im2col + GEMM as its own filter gradient (the same values, bit for bit, measured); on the
 * decoder's last conv at 128 px it took 0.74x the time of oneDNN's filter gradient (interleaved, in
 * the whole step), at 64 px 1.24x, hence its own im2col threshold.
 */
export function filterGradOneOutput(
  n: Native,
  x: Info,
  dy: Info,
  a: Conv2dAttrs,
  filterShape: number[],
): Info | undefined {
  if (!oneDnnRoutes.conv2dGrads || !oneDnnRoutes.filterGradOneOutput || filterShape[3] !== 1)
    return undefined;
  if (a.pad !== 'same' && a.pad !== 'valid') return undefined;
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') return undefined;
  if (a.dimRoundingMode !== undefined && a.dimRoundingMode !== null) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
  );
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return undefined;
  const cols =
    info.batchSize * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels;
  if (cols < oneDnnRoutes.filterGradOneOutputMinCols) return undefined;
  const p = info.padInfo;
  const xp = padOp(n, x, [
    [0, 0],
    [p.top, p.bottom],
    [p.left, p.right],
    [0, 0],
  ]);
  const xt = transposeOp(n, xp, [3, 1, 2, 0]);
  const b = x.shape[0]!;
  const f = b === 1 ? n.reshape(dy, [info.outHeight, info.outWidth, 1, 1]) : transposeOp(n, dy, [1, 2, 0, 3]);
  const o = n.op('Conv2D', [xt, f], conv2dPlainAttrs(n, 'VALID'));
  const dw = transposeOp(n, o, [1, 2, 0, 3]);
  n.free(xp === x ? undefined : xp, xt, f === dy ? undefined : f, o);
  return dw;
}

export function conv2dPlainAttrs(n: Native, padding: 'SAME' | 'VALID'): OpAttr[] {
  return [
    n.T(),
    intsAttr(n, 'strides', [1, 1, 1, 1]),
    n.str('padding', padding),
    n.str('data_format', 'NHWC'),
    intsAttr(n, 'dilations', [1, 1, 1, 1]),
  ];
}

export const conv2dFilterGradKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    const { x, dy } = args.inputs as { x: Info; dy: Info };
    const a = args.attrs as unknown as Conv2dAttrs & { filterShape: number[] };
    if (dy.dtype !== 'float32' || x.dtype !== 'float32') return original(args);
    const n = native(args.backend);
    const one = filterGradOneOutput(n, x, dy, a, a.filterShape);
    if (one) return one;
    const attrs = conv2dGradAttrs(n, x.shape, a.filterShape, a);
    const inputs = [x, n.ints(a.filterShape, [4]), dy];
    return (attrs && oneDnnConv2dGrad(n, oneDnnOps.conv2dFilterGrad, inputs, attrs, false)) ?? original(args);
  };

// The encoder's first convolution has one input channel: oneDNN's direct kernel is about twice
// as fast as im2col + GEMM there (measured interleaved at 64 and 128 px); on every other shape of
// the model the stock forward won.
export const conv2dKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    const { x, filter } = args.inputs as { x: Info; filter: Info };
    const a = args.attrs as unknown as Conv2dAttrs & { dilations?: unknown };
    if (!oneDnnRoutes.conv2dOneInput || x.shape[3] !== 1 || x.shape.length !== 4) return original(args);
    if (x.dtype !== 'float32' || filter.dtype !== 'float32') return original(args);
    if (a.pad !== 'same' && a.pad !== 'valid') return original(args);
    if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') return original(args);
    if (a.dimRoundingMode !== undefined && a.dimRoundingMode !== null) return original(args);
    const dil = a.dilations ?? 1;
    if (!(dil === 1 || (Array.isArray(dil) && dil.every((v) => v === 1)))) return original(args);
    const [sh, sw] = typeof a.strides === 'number' ? [a.strides, a.strides] : a.strides;
    const n = native(args.backend);
    const op = oneDnnOps.conv2d;
    const attrs = conv2dLabelAttrs(n, sh, sw, a.pad === 'same' ? 'SAME' : 'VALID').filter(
      (t) => t.name !== 'use_cudnn_on_gpu',
    );
    const runs = labelledOpRuns(n, op, () => {
      const one = n.reshape(n.fill(1, 1), [1, 1, 1, 1]);
      try {
        return n.op(
          op,
          [one, one],
          attrs.map((t) => (t.name === 'strides' ? intsAttr(n, 'strides', [1, 1, 1, 1]) : t)),
        );
      } finally {
        n.free(one);
      }
    });
    return runs ? n.op(op, [x, filter], attrs) : original(args);
  };
