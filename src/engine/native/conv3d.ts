/** Conv3D and its two gradients through oneDNN, or through fast 2D ops where oneDNN does not run. */
import * as tf from '@tensorflow/tfjs';
import { outsideTrace, recordingStockOps } from '../graph.js';
import {
  type Args,
  type Info,
  intsAttr,
  type KernelFunc,
  Native,
  native,
  type OpAttr,
  padOp,
  stridedSlice,
  transposeOp,
  typeAttr,
} from './binding.js';

// Eager TensorFlow never picks oneDNN's convolution kernels (its Conv2D ops run im2col + a oneDNN
// GEMM, seen with ONEDNN_VERBOSE=1; see conv2d.ts and onednn.ts). Its Conv3D, Conv3DBackpropInputV2
// and Conv3DBackpropFilterV2 run Eigen's generic code, the forward 2-8x and the gradients 3-300x
// (worst at stride 2) slower than PyTorch. The wheel has the oneDNN versions (_MklNativeConv3D...:
// same inputs, attributes and NDHWC layout), which its graph rewrite would pick; eager can run
// them directly when asked for their kernel label.
// Where they do not run (a TensorFlow build without oneDNN), the gradients go through fast 2D ops:
// - dx at stride 1 is the correlation of dy (padded by k-1-pad per side) with the filter
//   flipped in space and with in/out swapped: one Conv3D forward.
// - otherwise, with Do output planes, "depth im2col": the kd input planes read by output plane d
//   (i + s*d - front, i < kd) stacked on channels give cols [B*Do, H, W, kd*C] and the filter
//   [kh, kw, kd*C, F], so the 3D convolution is one 2D convolution of cols. dw is
//   Conv2DBackpropFilter(cols, dy); dx is Conv2DBackpropInput of that 2D convolution, its kd
//   channel blocks added back onto the planes they were read from.
// Conv3DBackpropInputV2 is also conv3dTranspose's forward, which gets the same speed.

type Conv3dGeometry = {
  b: number;
  d: number;
  h: number;
  w: number;
  c: number;
  kd: number;
  kh: number;
  kw: number;
  f: number;
  sd: number;
  sh: number;
  sw: number;
  /** Output planes, depth pad before, output rows and columns. */
  od: number;
  front: number;
  oh: number;
  ow: number;
  /** TensorFlow's padding name for the in-plane (2D) part: the same rule as Conv3D's. */
  padding: 'SAME' | 'VALID';
  info: tf.backend_util.Conv3DInfo;
};

/** The geometry, or undefined for what the rewrite does not cover (the original kernel runs). */
interface Conv3dAttrs {
  strides: number | [number, number, number];
  pad: unknown;
  dilations?: unknown;
  dataFormat?: string;
}

function conv3dGeometry(
  inShape: number[],
  filterShape: number[],
  attrs: Conv3dAttrs,
): Conv3dGeometry | undefined {
  if (attrs.pad !== 'same' && attrs.pad !== 'valid') return undefined;
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NDHWC') return undefined;
  const dil = attrs.dilations ?? 1;
  if (!(dil === 1 || (Array.isArray(dil) && dil.every((v) => v === 1)))) return undefined;
  const info = tf.backend_util.computeConv3DInfo(
    inShape as [number, number, number, number, number],
    filterShape as [number, number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
  );
  const [b, d, h, w, c] = inShape as [number, number, number, number, number];
  const [kd, kh, kw, , f] = filterShape as [number, number, number, number, number];
  return {
    b,
    d,
    h,
    w,
    c,
    kd,
    kh,
    kw,
    f,
    sd: info.strideDepth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    od: info.outDepth,
    // TensorFlow's rule; tfjs's padInfo goes negative where a stride skips input (k < s)
    front: Math.floor(Math.max(0, (info.outDepth - 1) * info.strideDepth + kd - d) / 2),
    oh: info.outHeight,
    ow: info.outWidth,
    padding: attrs.pad === 'same' ? 'SAME' : 'VALID',
    info,
  };
}

function conv2dAttrs(n: Native, g: Conv3dGeometry): OpAttr[] {
  return [
    n.T(),
    intsAttr(n, 'strides', [1, g.sh, g.sw, 1]),
    n.str('padding', g.padding),
    n.str('data_format', 'NHWC'),
    intsAttr(n, 'dilations', [1, 1, 1, 1]),
  ];
}

/** The filter [kd, kh, kw, C, F] as the 2D filter of the depth-im2col columns [kh, kw, kd*C, F]. */
function colsFilter(n: Native, filter: Info, g: Conv3dGeometry): Info {
  const t = transposeOp(n, filter, [1, 2, 0, 3, 4]);
  const r = n.reshape(t, [g.kh, g.kw, g.kd * g.c, g.f]);
  if (r !== t) n.free(t);
  return r;
}

/** cols [B*Do, H, W, kd*C]: block i of the channels holds input plane i + sd*d - front. */
function depthCols(n: Native, x: Info, g: Conv3dGeometry): Info {
  const back = Math.max(0, g.sd * (g.od - 1) + g.kd - g.front - g.d);
  const xp = padOp(n, x, [
    [0, 0],
    [g.front, back],
    [0, 0],
    [0, 0],
    [0, 0],
  ]);
  const parts: Info[] = [];
  for (let i = 0; i < g.kd; i++) {
    parts.push(
      stridedSlice(
        n,
        xp,
        [0, i, 0, 0, 0],
        [g.b, i + g.sd * (g.od - 1) + 1, g.h, g.w, g.c],
        [1, g.sd, 1, 1, 1],
      ),
    );
  }
  const cat = parts.length === 1 ? parts[0]! : n.concatLast(parts);
  if (cat !== parts[0]) n.free(...parts);
  if (xp !== x) n.free(xp);
  const cols = n.reshape(cat, [g.b * g.od, g.h, g.w, g.kd * g.c]);
  if (cols !== cat) n.free(cat);
  return cols;
}

export const conv3dFilterGradKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    const { x, dy } = args.inputs as { x: Info; dy: Info };
    const a = args.attrs as unknown as Conv3dAttrs & { filterShape: number[] };
    const g = conv3dGeometry(x.shape, a.filterShape, a);
    if (!g || x.dtype !== 'float32') return original(args);
    const n = native(args.backend);
    const fast = oneDnnConv3d(n, 'Conv3DBackpropFilterV2', [x, n.ints(a.filterShape, [5]), dy], g, false);
    if (fast) return fast;
    const cols = depthCols(n, x, g);
    const dy2 = n.reshape(dy, [g.b * g.od, g.oh, g.ow, g.f]);
    const dw2 = n.op(
      'Conv2DBackpropFilter',
      [cols, n.ints([g.kh, g.kw, g.kd * g.c, g.f], [4]), dy2],
      conv2dAttrs(n, g),
    );
    n.free(cols, dy2 === dy ? undefined : dy2);
    const dw5 = n.reshape(dw2, [g.kh, g.kw, g.kd, g.c, g.f]);
    const dw = transposeOp(n, dw5, [2, 0, 1, 3, 4]);
    n.free(dw2, dw5 === dw2 ? undefined : dw5);
    return dw;
  };

/** dx at stride 1: Conv3D of the padded dy with the space-flipped, in/out-swapped filter. */
function conv3dInputGradStride1(n: Native, dy: Info, filter: Info, g: Conv3dGeometry): Info {
  const p = g.info.padInfo;
  const dyp = padOp(n, dy, [
    [0, 0],
    [g.kd - 1 - p.front, g.kd - 1 - p.back],
    [g.kh - 1 - p.top, g.kh - 1 - p.bottom],
    [g.kw - 1 - p.left, g.kw - 1 - p.right],
    [0, 0],
  ]);
  const rev = n.op('ReverseV2', [filter, n.ints([0, 1, 2], [3])], [n.T(), typeAttr(n, 'Tidx', true)]);
  const wf = transposeOp(n, rev, [0, 1, 2, 4, 3]);
  const dx = n.op(
    'Conv3D',
    [dyp, wf],
    [
      n.T(),
      intsAttr(n, 'strides', [1, 1, 1, 1, 1]),
      n.str('padding', 'VALID'),
      n.str('data_format', 'NDHWC'),
      intsAttr(n, 'dilations', [1, 1, 1, 1, 1]),
    ],
  );
  n.free(dyp === dy ? undefined : dyp, rev, wf);
  return dx;
}

/**
 * t [B, L, R] placed at planes offset.. of a [B, len, R] tensor (zeros elsewhere, what falls
 * outside dropped); undefined when nothing of t lands inside.
 */
function placePlanes(n: Native, t: Info, offset: number, len: number): Info | undefined {
  const [b, l, r] = t.shape as [number, number, number];
  const start = Math.max(0, -offset);
  const stop = Math.min(l, len - offset);
  if (stop <= start) return undefined;
  const u = start > 0 || stop < l ? stridedSlice(n, t, [0, start, 0], [b, stop, r], [1, 1, 1]) : t;
  const v = padOp(n, u, [
    [0, 0],
    [offset + start, len - (offset + stop)],
    [0, 0],
  ]);
  if (u !== t && v !== u) n.free(u);
  return v;
}

/** Frees each distinct intermediate once, except those kept (ops may return their input). */
function freeExcept(n: Native, keep: Info[], xs: Info[], inputs: Info[] = []): void {
  const skip = new Set<Info>([...keep, ...inputs]);
  for (const x of xs) {
    if (skip.has(x)) continue;
    skip.add(x);
    n.free(x);
  }
}

/** dx through the depth-im2col 2D convolution: its input gradient, folded back onto planes. */
function conv3dInputGradCols(n: Native, dy: Info, filter: Info, g: Conv3dGeometry): Info {
  const tmp: Info[] = [];
  const keep = <T extends Info>(x: T): T => (tmp.push(x), x);
  const w2 = keep(colsFilter(n, filter, g));
  const dy2 = keep(n.reshape(dy, [g.b * g.od, g.oh, g.ow, g.f]));
  const dcols = keep(
    n.op(
      'Conv2DBackpropInput',
      [n.ints([g.b * g.od, g.h, g.w, g.kd * g.c], [4]), w2, dy2],
      conv2dAttrs(n, g),
    ),
  );
  const plane = g.h * g.w * g.c;
  const d4 = keep(n.reshape(dcols, [g.b, g.od, g.h * g.w, g.kd * g.c]));
  const blocks = g.kd === 1 ? [d4] : n.splitLast(d4, g.kd).map(keep);
  const placed: Info[] = [];
  blocks.forEach((blk, i) => {
    // block i holds the gradient of planes i + sd*d - front, d < Do
    let t = keep(n.reshape(blk, [g.b, g.od, 1, plane]));
    if (g.sd > 1)
      t = keep(
        padOp(n, t, [
          [0, 0],
          [0, 0],
          [0, g.sd - 1],
          [0, 0],
        ]),
      );
    const q = placePlanes(n, keep(n.reshape(t, [g.b, g.od * g.sd, plane])), i - g.front, g.d);
    if (q) placed.push(keep(q));
  });
  const sum = keep(
    placed.length === 1 ? placed[0]! : n.op('AddN', placed, [n.T(), n.int('N', placed.length)]),
  );
  const dx = n.reshape(sum, [g.b, g.d, g.h, g.w, g.c]);
  freeExcept(n, [dx], tmp, [dy, filter]);
  return dx;
}

/**
 * How the 3D convolution kernels run: `oneDnn` false skips the oneDNN kernels (tests use it to
 * check the 2D route; it also turns false by itself when they do not run here); `stride1` picks
 * the 2D route's input gradient at stride 1.
 */
export const conv3dRoutes: { oneDnn: boolean; stride1: 'conv3d' | 'cols' } = {
  oneDnn: true,
  stride1: 'conv3d',
};

function oneDnnAttrs(
  n: Native,
  g: Pick<Conv3dGeometry, 'sd' | 'sh' | 'sw' | 'padding'>,
  shapeInput: boolean,
): OpAttr[] {
  const attrs: OpAttr[] = [
    n.T(),
    intsAttr(n, 'strides', [1, g.sd, g.sh, g.sw, 1]),
    n.str('padding', g.padding),
    n.str('data_format', 'NDHWC'),
    intsAttr(n, 'dilations', [1, 1, 1, 1, 1]),
    // the label TensorFlow's graph rewrite gives these kernels; without it none is found
    n.str('_kernel', 'MklNameChangeOp'),
  ];
  if (shapeInput) attrs.push(typeAttr(n, 'Tshape', true));
  return attrs;
}

/** Whether this TensorFlow runs the oneDNN Conv3D kernels (tried once on a 1-voxel input). */
let oneDnnWorks: boolean | undefined;
function oneDnnAvailable(n: Native): boolean {
  if (recordingStockOps()) return false;
  // a probe runs for real even while a compiled step is being recorded (graph.ts)
  if (oneDnnWorks === undefined) outsideTrace(() => probeOneDnnConv3d(n));
  return oneDnnWorks!;
}

function probeOneDnnConv3d(n: Native): void {
  const one = n.fill(1, 1);
  const x = n.reshape(one, [1, 1, 1, 1, 1]);
  try {
    const y = n.op(
      '_MklNativeConv3D',
      [x, x],
      oneDnnAttrs(n, { sd: 1, sh: 1, sw: 1, padding: 'VALID' }, false),
    );
    n.free(y);
    oneDnnWorks = true;
  } catch {
    oneDnnWorks = false;
  }
  n.free(x);
}

/** Whether oneDNN's Conv3D kernels ran here (undefined before the first native conv3d). */
export function conv3dOneDnnRuns(): boolean | undefined {
  return oneDnnWorks;
}

/** Runs oneDNN's version of a Conv3D op, or returns undefined when it is not to be used here. */
function oneDnnConv3d(
  n: Native,
  op: string,
  inputs: Info[],
  g: Conv3dGeometry,
  shapeInput: boolean,
): Info | undefined {
  if (!conv3dRoutes.oneDnn || !oneDnnAvailable(n)) return undefined;
  return n.op(`_MklNative${op}`, inputs, oneDnnAttrs(n, g, shapeInput));
}

export const conv3dKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    const { x, filter } = args.inputs as { x: Info; filter: Info };
    const a = args.attrs as unknown as Conv3dAttrs;
    const g = conv3dGeometry(x.shape, filter.shape, a);
    if (!g || x.dtype !== 'float32') return original(args);
    return oneDnnConv3d(native(args.backend), 'Conv3D', [x, filter], g, false) ?? original(args);
  };

export const conv3dInputGradKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    const { dy, filter } = args.inputs as { dy: Info; filter: Info };
    const a = args.attrs as unknown as Conv3dAttrs & { inputShape: number[] };
    const g = conv3dGeometry(a.inputShape, filter.shape, a);
    if (!g || dy.dtype !== 'float32') return original(args);
    const n = native(args.backend);
    const fast = oneDnnConv3d(n, 'Conv3DBackpropInputV2', [n.ints(a.inputShape, [5]), filter, dy], g, true);
    if (fast) return fast;
    if (g.sd === 1 && g.sh === 1 && g.sw === 1 && conv3dRoutes.stride1 === 'conv3d')
      return conv3dInputGradStride1(n, dy, filter, g);
    return conv3dInputGradCols(n, dy, filter, g);
  };
