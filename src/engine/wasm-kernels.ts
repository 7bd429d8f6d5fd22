/**
 * Gradient kernels the tfjs 4.22 wasm backend lacks or runs very slowly, composed from forward
 * kernels it runs well (XNNPACK's 2D convolution). Without them a conv net cannot train on wasm
 * (no Conv2DBackpropFilter kernel), and 3D convolutions take ~0.4 s each at 16^3 x 16 because
 * wasm's Conv3D kernels are naive loops.
 *
 * Browser-safe: only @tensorflow/tfjs. Kernels run with tfjs's tape off (they are inside a kernel),
 * so composing ops here adds nothing to autodiff; each kernel tidies its intermediates.
 *
 * The identities used (stride s, zero padding already applied to x; NHWC):
 * - filter gradient  dW[i,j,c,o] = sum_{n,y,x} xp[n, y*s+i, x*s+j, c] dy[n,y,x,o]: a convolution
 *   of xp (batch and channel swapped) with dy as the filter, dilated by s.
 * - input gradient (s = 1) = convolution of dy, padded by k-1-pad, with the filter rotated 180
 *   degrees and its in/out channels swapped.
 * - a 3D convolution = the sum over depth taps of 2D convolutions batched over depth.
 */
import * as tf from '@tensorflow/tfjs';
import { registerFusedGradients, registerFusedNativeKernels } from './native-kernels.js';

type Pads2 = [[number, number], [number, number]];
type Pads3 = [[number, number], [number, number], [number, number]];

function tensorOf(info: tf.TensorInfo): tf.Tensor {
  // The engine hands kernels the op's own input tensors; anything else would be a tfjs change.
  if (info instanceof tf.Tensor) return info;
  throw new Error('mriseq wasm kernel: expected a tf.Tensor input');
}

function triple(v: number | [number, number, number]): [number, number, number] {
  return typeof v === 'number' ? [v, v, v] : v;
}

/** dW of a stride-(sh,sw) 'valid' 2D conv of an already padded NHWC x, for a kh x kw filter. */
function filterGrad2d(
  xp: tf.Tensor4D,
  dy: tf.Tensor4D,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
): tf.Tensor4D {
  const [, hp, wp, ci] = xp.shape;
  const [, ho, wo, co] = dy.shape;
  // Rows of xp past the last window do not contribute; cropping them keeps the output >= k.
  const hUsed = Math.min(hp, (ho - 1) * sh + kh);
  const wUsed = Math.min(wp, (wo - 1) * sw + kw);
  const xc = hUsed === hp && wUsed === wp ? xp : tf.slice(xp, [0, 0, 0, 0], [-1, hUsed, wUsed, -1]);
  const xT = tf.transpose(xc, [3, 1, 2, 0]); // [ci, H, W, N]: N becomes the channel dimension
  const f = tf.transpose(dy, [1, 2, 0, 3]); // [ho, wo, N, co]
  const r = tf.conv2d(xT, f, 1, 'valid', 'NHWC', [sh, sw]); // [ci, kh', kw', co], kh' >= kh
  const rc = r.shape[1] === kh && r.shape[2] === kw ? r : tf.slice(r, [0, 0, 0, 0], [ci, kh, kw, co]);
  return tf.transpose(rc, [1, 2, 0, 3]);
}

/**
 * x[..., start : start + (count-1)*step + 1 : step, ...] along `axis`, on a rank-3 view with plain
 * slices: wasm's stridedSlice and its rank-5 slice fall back to slow JS loops (~200 ms for a
 * 16^3 x 16 volume, against ~1 ms this way).
 */
function takeStrided(x: tf.Tensor, axis: number, start: number, count: number, step: number): tf.Tensor {
  const shape = x.shape;
  const outer = shape.slice(0, axis).reduce((p, q) => p * q, 1);
  const inner = shape.slice(axis + 1).reduce((p, q) => p * q, 1);
  const flat = tf.reshape(x, [outer, shape[axis]!, inner]);
  let taps: tf.Tensor;
  if (step === 1) taps = tf.slice(flat, [0, start, 0], [outer, count, inner]);
  else {
    const need = count * step;
    const avail = Math.min(need, shape[axis]! - start);
    let part = tf.slice(flat, [0, start, 0], [outer, avail, inner]);
    if (avail < need)
      part = tf.pad(part, [
        [0, 0],
        [0, need - avail],
        [0, 0],
      ]);
    taps = tf.slice(tf.reshape(part, [outer, count, step, inner]), [0, 0, 0, 0], [outer, count, 1, inner]);
  }
  const next = [...shape];
  next[axis] = count;
  return tf.reshape(taps, next);
}

/** Depth taps of a [n, D, H, W, C] tensor, as a [n*count, H, W, C] batch of 2D images. */
function depthTaps(x: tf.Tensor5D, a: number, count: number, step: number): tf.Tensor4D {
  const [n, , h, w, c] = x.shape;
  return tf.reshape(takeStrided(x, 1, a, count, step), [n * count, h, w, c]);
}

/**
 * Along each listed axis: inserts step-1 zeros between elements (the input of a strided
 * transposed convolution), then pads (positive) or crops (negative) before/after. Works on rank-3
 * views [outer, axis, inner], which wasm runs fast at any tensor rank.
 */
function spreadPadCrop(
  x: tf.Tensor,
  axes: { axis: number; step: number; before: number; after: number }[],
): tf.Tensor {
  let t = x;
  for (const { axis, step, before, after } of axes) {
    const shape = t.shape;
    const outer = shape.slice(0, axis).reduce((p, q) => p * q, 1);
    const inner = shape.slice(axis + 1).reduce((p, q) => p * q, 1);
    let len = shape[axis]!;
    let v = tf.reshape(t, [outer, len, inner]);
    if (step > 1) {
      v = tf.pad(tf.reshape(v, [outer, len, 1, inner]), [
        [0, 0],
        [0, 0],
        [0, step - 1],
        [0, 0],
      ]);
      len = (len - 1) * step + 1;
      v = tf.slice(tf.reshape(v, [outer, len + step - 1, inner]), [0, 0, 0], [outer, len, inner]);
    }
    const cropB = Math.max(0, -before);
    const cropA = Math.max(0, -after);
    if (cropB > 0 || cropA > 0) {
      len -= cropB + cropA;
      v = tf.slice(v, [0, cropB, 0], [outer, len, inner]);
    }
    if (before > 0 || after > 0) {
      v = tf.pad(v, [
        [0, 0],
        [Math.max(0, before), Math.max(0, after)],
        [0, 0],
      ]);
      len += Math.max(0, before) + Math.max(0, after);
    }
    const next = [...shape];
    next[axis] = len;
    t = tf.reshape(v, next);
  }
  return t;
}

/** A 'valid' 3D conv (strides, no dilation) of an already padded x, as 2D convs over depth taps. */
function conv3dValid(xp: tf.Tensor5D, w: tf.Tensor5D, strides: [number, number, number]): tf.Tensor5D {
  const [n, dp, , , ci] = xp.shape;
  const [kd, kh, kw, , co] = w.shape;
  const wFlat = tf.reshape(w, [kd, kh * kw * ci * co]);
  const [sd, sh, sw] = strides;
  const dOut = Math.floor((dp - kd) / sd) + 1;
  let acc: tf.Tensor4D | undefined;
  for (let a = 0; a < kd; a++) {
    const xs = depthTaps(xp, a, dOut, sd);
    const wa = tf.reshape(tf.slice(wFlat, [a, 0], [1, -1]), [kh, kw, ci, co]) as tf.Tensor4D;
    const y = tf.conv2d(xs, wa, [sh, sw], 'valid');
    acc = acc === undefined ? y : tf.add<tf.Tensor4D>(acc, y);
  }
  const [, ho, wo] = acc!.shape;
  return tf.reshape(acc!, [n, dOut, ho, wo, co]);
}

function pad4(x: tf.Tensor4D, p: Pads2): tf.Tensor4D {
  return p.every(([a, b]) => a === 0 && b === 0) ? x : tf.pad(x, [[0, 0], p[0], p[1], [0, 0]]);
}

function pad5(x: tf.Tensor5D, p: Pads3): tf.Tensor5D {
  return p.every(([a, b]) => a === 0 && b === 0) ? x : tf.pad(x, [[0, 0], p[0], p[1], p[2], [0, 0]]);
}

type KernelFunc = tf.KernelConfig['kernelFunc'];
type Args = Parameters<KernelFunc>[0];

const conv2dBackpropFilter: KernelFunc = ({ inputs, attrs }: Args) =>
  tf.tidy(() => {
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    let x = tensorOf(inputs.x!) as tf.Tensor4D;
    let dy = tensorOf(inputs.dy!) as tf.Tensor4D;
    if (a.dataFormat === 'NCHW') {
      x = tf.transpose(x, [0, 2, 3, 1]);
      dy = tf.transpose(dy, [0, 2, 3, 1]);
    }
    const fs = a.filterShape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      fs,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      false,
      'channelsLast',
    );
    const p = info.padInfo;
    const xp = pad4(x, [
      [p.top, Math.max(0, p.bottom)],
      [p.left, Math.max(0, p.right)],
    ]);
    return filterGrad2d(xp, dy, fs[0], fs[1], info.strideHeight, info.strideWidth);
  });

const conv2dBackpropInput: KernelFunc = ({ inputs, attrs }: Args) =>
  tf.tidy(() => {
    const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    let dy = tensorOf(inputs.dy!) as tf.Tensor4D;
    const w = tensorOf(inputs.filter!) as tf.Tensor4D;
    const nchw = a.dataFormat === 'NCHW';
    if (nchw) dy = tf.transpose(dy, [0, 2, 3, 1]);
    const s = a.inputShape;
    const inShape = (nchw ? [s[0], s[2], s[3], s[1]] : s) as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(
      inShape,
      w.shape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      false,
      'channelsLast',
    );
    const [kh, kw] = w.shape;
    const p = info.padInfo;
    const dyp = spreadPadCrop(dy, [
      {
        axis: 1,
        step: info.strideHeight,
        before: kh - 1 - p.top,
        after: inShape[1] + p.top - (dy.shape[1] - 1) * info.strideHeight - 1,
      },
      {
        axis: 2,
        step: info.strideWidth,
        before: kw - 1 - p.left,
        after: inShape[2] + p.left - (dy.shape[2] - 1) * info.strideWidth - 1,
      },
    ]) as tf.Tensor4D;
    const wr = tf.reverse(tf.transpose(w, [0, 1, 3, 2]), [0, 1]);
    const dx = tf.conv2d(dyp, wr, 1, 'valid');
    return nchw ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
  });

function conv3dInfo(xShape: number[], fShape: number[], strides: number | number[], pad: string) {
  return tf.backend_util.computeConv3DInfo(
    xShape as [number, number, number, number, number],
    fShape as [number, number, number, number, number],
    strides as [number, number, number],
    1,
    pad as 'same' | 'valid',
  );
}

function pads3(p: {
  front: number;
  back: number;
  top: number;
  bottom: number;
  left: number;
  right: number;
}): Pads3 {
  return [
    [p.front, Math.max(0, p.back)],
    [p.top, Math.max(0, p.bottom)],
    [p.left, Math.max(0, p.right)],
  ];
}

function conv3d(original: KernelFunc): KernelFunc {
  return (args: Args) => {
    const a = args.attrs as unknown as tf.Conv3DAttrs;
    const dil = triple(a.dilations as number | [number, number, number]);
    if (a.dataFormat === 'NCDHW' || dil.some((d) => d !== 1)) return original(args);
    const x = tensorOf(args.inputs.x!) as tf.Tensor5D;
    const w = tensorOf(args.inputs.filter!) as tf.Tensor5D;
    const info = conv3dInfo(x.shape, w.shape, a.strides, a.pad);
    return tf.tidy(() =>
      conv3dValid(pad5(x, pads3(info.padInfo)), w, [info.strideDepth, info.strideHeight, info.strideWidth]),
    );
  };
}

const conv3dBackpropInput: KernelFunc = ({ inputs, attrs }: Args) =>
  tf.tidy(() => {
    // wasm's own Conv3DBackpropInputV2 is also wrong for strides > 1 (checked against cpu and
    // TensorFlow), so this replacement covers every case.
    const a = attrs as unknown as tf.Conv3DBackpropInputV2Attrs;
    const dy = tensorOf(inputs.dy!) as tf.Tensor5D;
    const w = tensorOf(inputs.filter!) as tf.Tensor5D;
    const info = conv3dInfo(a.inputShape, w.shape, a.strides, a.pad);
    const p = info.padInfo;
    const k = w.shape;
    const st = [info.strideDepth, info.strideHeight, info.strideWidth];
    const lead = [p.front, p.top, p.left];
    const dyp = spreadPadCrop(
      dy,
      [0, 1, 2].map((i) => ({
        axis: i + 1,
        step: st[i]!,
        before: k[i]! - 1 - lead[i]!,
        after: a.inputShape[i + 1]! + lead[i]! - (dy.shape[i + 1]! - 1) * st[i]! - 1,
      })),
    ) as tf.Tensor5D;
    const wr = tf.reverse(tf.transpose(w, [0, 1, 2, 4, 3]), [0, 1, 2]);
    return conv3dValid(dyp, wr, [1, 1, 1]);
  });

const conv3dBackpropFilter: KernelFunc = ({ inputs, attrs }: Args) =>
  tf.tidy(() => {
    const a = attrs as unknown as tf.Conv3DBackpropFilterV2Attrs;
    const x = tensorOf(inputs.x!) as tf.Tensor5D;
    const dy = tensorOf(inputs.dy!) as tf.Tensor5D;
    const fs = a.filterShape as [number, number, number, number, number];
    const info = conv3dInfo(x.shape, fs, a.strides, a.pad);
    const xp = pad5(x, pads3(info.padInfo));
    const [n, dOut, ho, wo, co] = dy.shape;
    const [kd, kh, kw] = fs;
    const sd = info.strideDepth;
    const dy2 = tf.reshape(dy, [n * dOut, ho, wo, co]) as tf.Tensor4D;
    const taps: tf.Tensor4D[] = [];
    for (let t = 0; t < kd; t++) {
      taps.push(filterGrad2d(depthTaps(xp, t, dOut, sd), dy2, kh, kw, info.strideHeight, info.strideWidth));
    }
    return tf.stack(taps);
  });

const unsortedSegmentSum: KernelFunc = ({ inputs, attrs }: Args) =>
  tf.tidy(() => {
    // Needed by the gradient of tf.gather. out[s] = sum_i [ids[i] = s] x[i] as a one-hot matMul.
    const x = tensorOf(inputs.x!);
    const ids = tensorOf(inputs.segmentIds!);
    const numSegments = (attrs as unknown as tf.UnsortedSegmentSumAttrs).numSegments;
    const rows = ids.size;
    const rest = x.shape.slice(ids.rank);
    const restSize = rest.reduce((p, q) => p * q, 1);
    // wasm's oneHot writes int32 bits into a float32 output: build it as int32 and cast.
    const hot = tf.cast(tf.oneHot(tf.cast(tf.reshape(ids, [rows]), 'int32'), numSegments), 'float32');
    const sum = tf.matMul(hot, tf.reshape(tf.cast(x, 'float32'), [rows, restSize]), true, false);
    const out = tf.reshape(sum, [numSegments, ...rest]);
    return x.dtype === 'float32' ? out : tf.cast(out, x.dtype);
  });

const maxPoolGrad: KernelFunc = ({ inputs, attrs }: Args) =>
  tf.tidy(() => {
    // wasm's own MaxPoolGrad drops some gradients (found by test/engine). Each window tap routes
    // dy to the first input equal to the window's max, as TensorFlow does.
    const a = attrs as unknown as tf.MaxPoolGradAttrs;
    const dy = tensorOf(inputs.dy!) as tf.Tensor4D;
    const x = tensorOf(inputs.input!) as tf.Tensor4D;
    const y = tensorOf(inputs.output!) as tf.Tensor4D;
    const info = tf.backend_util.computePool2DInfo(
      x.shape,
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const p = info.padInfo;
    const [n, h, w, c] = x.shape;
    const xp = tf.pad(
      x,
      [
        [0, 0],
        [p.top, Math.max(0, p.bottom)],
        [p.left, Math.max(0, p.right)],
        [0, 0],
      ],
      -3.4e38,
    );
    const [, hp, wp] = xp.shape;
    const [, ho, wo] = dy.shape;
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    let taken = tf.zeros(dy.shape, 'bool');
    let acc: tf.Tensor = tf.zeros(xp.shape);
    for (let i = 0; i < info.filterHeight; i++)
      for (let j = 0; j < info.filterWidth; j++) {
        const tap = takeStrided(takeStrided(xp, 1, i, ho, sh), 2, j, wo, sw);
        const hit = tf.logicalAnd(tf.equal(tap, y), tf.logicalNot(taken));
        taken = tf.logicalOr(taken, hit);
        const g = tf.where(hit, dy, tf.zerosLike(dy));
        acc = tf.add(
          acc,
          spreadPadCrop(g, [
            { axis: 1, step: sh, before: i, after: hp - i - ((ho - 1) * sh + 1) },
            { axis: 2, step: sw, before: j, after: wp - j - ((wo - 1) * sw + 1) },
          ]),
        );
      }
    return tf.slice(acc, [0, p.top, p.left, 0], [n, h, w, c]);
  });

interface PoolAxis {
  stride: number;
  filter: number;
  padBefore: number;
}

/**
 * dx of an average pool whose windows average only their in-image part (TensorFlow's semantics,
 * and tfjs's forward pass): dy / count, scattered back through every window tap.
 */
function avgPoolBackprop(dy: tf.Tensor, xShape: number[], axes: PoolAxis[]): tf.Tensor {
  const spatial = xShape.slice(1, -1);
  const outSpatial = dy.shape.slice(1, -1);
  // count = product over axes of the in-image length of the window: an outer product in JS.
  let count = [1];
  axes.forEach((ax, d) => {
    const len = spatial[d]!;
    const per = Array.from({ length: outSpatial[d]! }, (_, o) => {
      const start = o * ax.stride - ax.padBefore;
      return Math.min(start + ax.filter, len) - Math.max(start, 0);
    });
    count = count.flatMap((c0) => per.map((q) => c0 * q));
  });
  const g = tf.div(dy, tf.tensor(count, [1, ...outSpatial, 1]));
  const padded = axes.map((ax, d) =>
    Math.max(spatial[d]! + ax.padBefore, (outSpatial[d]! - 1) * ax.stride + ax.filter),
  );
  let acc: tf.Tensor = tf.zeros([xShape[0]!, ...padded, xShape[xShape.length - 1]!]);
  const taps = axes.reduce((t, ax) => t * ax.filter, 1);
  for (let k = 0; k < taps; k++) {
    let rest = k;
    const offs = axes.map((ax) => {
      const o = rest % ax.filter;
      rest = Math.floor(rest / ax.filter);
      return o;
    });
    acc = tf.add(
      acc,
      spreadPadCrop(
        g,
        axes.map((ax, d) => ({
          axis: d + 1,
          step: ax.stride,
          before: offs[d]!,
          after: padded[d]! - offs[d]! - ((outSpatial[d]! - 1) * ax.stride + 1),
        })),
      ),
    );
  }
  return tf.slice(acc, [0, ...axes.map((ax) => ax.padBefore), 0], xShape);
}

const avgPoolGrad: KernelFunc = ({ inputs, attrs }: Args) =>
  tf.tidy(() => {
    // Stock cpu and wasm AvgPoolGrad divide by the whole window, while their forward pass (like
    // TensorFlow's) averages only the in-image part of windows that overlap the padding.
    const a = attrs as unknown as tf.AvgPoolGradAttrs;
    const dy = tensorOf(inputs.dy!);
    const x = tensorOf(inputs.input!) as tf.Tensor4D;
    const info = tf.backend_util.computePool2DInfo(x.shape, a.filterSize, a.strides, 1, a.pad, undefined);
    return avgPoolBackprop(dy, x.shape, [
      { stride: info.strideHeight, filter: info.filterHeight, padBefore: info.padInfo.top },
      { stride: info.strideWidth, filter: info.filterWidth, padBefore: info.padInfo.left },
    ]);
  });

const avgPool3dGrad: KernelFunc = ({ inputs, attrs }: Args) =>
  tf.tidy(() => {
    const a = attrs as unknown as tf.AvgPool3DGradAttrs;
    const dy = tensorOf(inputs.dy!);
    const x = tensorOf(inputs.input!) as tf.Tensor5D;
    const info = tf.backend_util.computePool3DInfo(
      x.shape,
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    return avgPoolBackprop(dy, x.shape, [
      { stride: info.strideDepth, filter: info.filterDepth, padBefore: info.padInfo.front },
      { stride: info.strideHeight, filter: info.filterHeight, padBefore: info.padInfo.top },
      { stride: info.strideWidth, filter: info.filterWidth, padBefore: info.padInfo.left },
    ]);
  });

/** The [outLen, inLen] interpolation matrix of tfjs/TensorFlow's bilinear resize along one axis. */
function resizeMatrix(inLen: number, outLen: number, alignCorners: boolean, halfPixel: boolean): tf.Tensor2D {
  const ratio = alignCorners && outLen > 1 ? (inLen - 1) / (outLen - 1) : inLen / outLen;
  const m = new Float32Array(outLen * inLen);
  for (let o = 0; o < outLen; o++) {
    const src = halfPixel ? ratio * (o + 0.5) - 0.5 : ratio * o;
    const lo = Math.max(0, Math.floor(src));
    const hi = Math.min(inLen - 1, Math.ceil(src));
    const frac = src - Math.floor(src);
    m[o * inLen + lo] += 1 - frac;
    m[o * inLen + hi] += frac;
  }
  return tf.tensor2d(m, [outLen, inLen]);
}

/**
 * ResizeBilinearGrad as dx = A_h^T dy A_w per image and channel. Replaces cpu's (which swaps
 * height and width of non-square images) and tfjs-node's (which ignores halfPixelCenters).
 */
function resizeBilinearGrad(original: KernelFunc | undefined): KernelFunc {
  return (args: Args) => {
    const a = args.attrs as unknown as tf.ResizeBilinearGradAttrs;
    if (original && !a.halfPixelCenters) return original(args);
    return tf.tidy(() => {
      const dy = tensorOf(args.inputs.dy!) as tf.Tensor4D;
      const img = tensorOf(args.inputs.images!) as tf.Tensor4D;
      const [n, h, w, c] = img.shape;
      const [, nh, nw] = dy.shape;
      const ah = resizeMatrix(h, nh, a.alignCorners, a.halfPixelCenters);
      const aw = resizeMatrix(w, nw, a.alignCorners, a.halfPixelCenters);
      const rows = tf.reshape(tf.transpose(dy, [0, 3, 1, 2]), [n * c * nh, nw]);
      const t1 = tf.reshape(tf.matMul(rows, aw), [n * c, nh, w]);
      const cols = tf.reshape(tf.transpose(t1, [0, 2, 1]), [n * c * w, nh]);
      const t2 = tf.reshape(tf.matMul(cols, ah), [n, c, w, h]);
      return tf.transpose(t2, [0, 3, 2, 1]);
    });
  };
}

/**
 * Native ('tensorflow') kernels: fused and fixed kernels (see native-kernels.ts), among them
 * TensorFlow's own ResizeBilinearGrad called with half_pixel_centers (tfjs-node drops it). Once.
 * Returns what it registered.
 */
export function registerNativeKernels(): string[] {
  return registerFusedNativeKernels();
}

let cpuDone: string[] | undefined;

/** Replaces the cpu backend's AvgPoolGrad and AvgPool3DGrad (see avgPoolGrad). Once. */
export function registerCpuKernels(): string[] {
  if (cpuDone) return cpuDone;
  cpuDone = [];
  for (const [name, fn] of [
    [tf.AvgPoolGrad, avgPoolGrad],
    [tf.AvgPool3DGrad, avgPool3dGrad],
    [tf.ResizeBilinearGrad, resizeBilinearGrad(undefined)],
  ] as const) {
    const original = tf.getKernel(name, 'cpu');
    if (!original) continue;
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ ...original, kernelFunc: fn });
    cpuDone.push(name);
  }
  return cpuDone;
}

let gradientsDone = false;

/**
 * Gradients stock tfjs lacks on every backend: Conv3DBackpropInputV2 (so tf.conv3dTranspose,
 * which the 3D autoencoder decodes with, cannot be trained through). Like TensorFlow's: the input
 * gradient is the forward conv of the upstream gradient, the filter gradient is the conv's filter
 * gradient with the upstream gradient as the input. Registered once, for all backends.
 */
export function registerGradients(): string[] {
  if (gradientsDone) return [];
  gradientsDone = true;
  const added: string[] = [];
  registerFusedGradients();
  added.push(`${tf.MirrorPad} gradient (mirrored borders)`);
  if (!tf.getGradient(tf.Conv3DBackpropInputV2)) {
    tf.registerGradient({
      kernelName: tf.Conv3DBackpropInputV2,
      inputsToSave: ['dy', 'filter'],
      gradFunc: (g, saved, attrs) => {
        const [dy, filter] = saved as [tf.Tensor5D, tf.Tensor5D];
        const a = attrs as unknown as tf.Conv3DBackpropInputV2Attrs;
        const up = (Array.isArray(g) ? g[0] : g) as tf.Tensor5D;
        return {
          dy: () => tf.conv3d(up, filter, a.strides, a.pad),
          filter: () =>
            tf.engine().runKernel(tf.Conv3DBackpropFilterV2, { x: up, dy }, {
              strides: a.strides,
              pad: a.pad,
              filterShape: filter.shape,
            } as unknown as tf.NamedAttrMap) as tf.Tensor,
        };
      },
    });
    added.push(`${tf.Conv3DBackpropInputV2} gradient`);
  }
  return added;
}

/**
 * What registerWasmKernels did, for the engine report and the README.
 * @example
 * ```ts
 * import { registerWasmKernels, type WasmKernelReport } from 'mriseq';
 * const r: WasmKernelReport = registerWasmKernels();
 * console.log(r.added, r.replaced);
 * ```
 */
export interface WasmKernelReport {
  added: string[];
  replaced: string[];
}

let done: WasmKernelReport | undefined;

/**
 * Registers (once) the composed kernels on the 'wasm' backend. Kernels wasm lacks are added;
 * Conv2DBackpropInput and the Conv3D family are replaced by faster compositions (Conv3D defers
 * to wasm's own kernel for dilations).
 * {@link initEngine} calls it when it picks 'wasm'; calling it yourself is only needed when you
 * set tfjs's wasm backend up by hand.
 *
 * @returns Which kernels were added and which were replaced.
 * @example
 * ```ts
 * import { registerWasmKernels } from 'mriseq';
 * const { added, replaced } = registerWasmKernels();
 * console.log(`${added.length} kernels added, ${replaced.length} replaced`);
 * ```
 */
export function registerWasmKernels(): WasmKernelReport {
  if (done) return done;
  const report: WasmKernelReport = { added: [], replaced: [] };
  const add = (kernelName: string, kernelFunc: KernelFunc): void => {
    if (tf.getKernel(kernelName, 'wasm')) return;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
    report.added.push(kernelName);
  };
  const replace = (kernelName: string, make: (original: KernelFunc) => KernelFunc): void => {
    const original = tf.getKernel(kernelName, 'wasm');
    if (!original) return;
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ ...original, kernelFunc: make(original.kernelFunc) });
    report.replaced.push(kernelName);
  };
  add(tf.Conv2DBackpropFilter, conv2dBackpropFilter);
  add(tf.Conv3DBackpropFilterV2, conv3dBackpropFilter);
  add(tf.UnsortedSegmentSum, unsortedSegmentSum);
  replace(tf.Conv2DBackpropInput, () => conv2dBackpropInput);
  replace(tf.MaxPoolGrad, () => maxPoolGrad);
  replace(tf.AvgPoolGrad, () => avgPoolGrad);
  replace(tf.AvgPool3DGrad, () => avgPool3dGrad);
  replace(tf.ResizeBilinearGrad, (original) => resizeBilinearGrad(original));
  // wasm's OneHot writes int32 bits into float32 outputs: run it as int32 and cast.
  replace(tf.OneHot, (original) => (args: Args) => {
    const a = args.attrs as unknown as tf.OneHotAttrs;
    if (a.dtype === 'int32') return original(args);
    const asInt = original({ ...args, attrs: { ...args.attrs, dtype: 'int32' } }) as tf.TensorInfo;
    return tf.tidy(() => {
      const t = tf.engine().makeTensorFromTensorInfo(asInt);
      return tf.cast(t, a.dtype);
    });
  });
  replace(tf.Conv3D, conv3d);
  replace(tf.Conv3DBackpropInputV2, () => conv3dBackpropInput);
  // Conv3DBackpropFilterV2 exists on wasm but is as slow as Conv3D: replace it too.
  if (!report.added.includes(tf.Conv3DBackpropFilterV2) && tf.getKernel(tf.Conv3DBackpropFilterV2, 'wasm')) {
    tf.unregisterKernel(tf.Conv3DBackpropFilterV2, 'wasm');
    tf.registerKernel({
      kernelName: tf.Conv3DBackpropFilterV2,
      backendName: 'wasm',
      kernelFunc: conv3dBackpropFilter,
    });
    report.replaced.push(tf.Conv3DBackpropFilterV2);
  }
  done = report;
  return report;
}
