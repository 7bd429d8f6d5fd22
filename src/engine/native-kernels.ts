/**
 * Fused kernels for the native ('tensorflow') backend, and gradient fixes for every backend.
 *
 * Why: on tfjs-node each tfjs op costs 25-120 us of engine bookkeeping (tape, scopes, kernel
 * lookup, attribute tensors) on top of TensorFlow's own ~15 us per eager op, and a generator
 * training step is thousands of small ops. A kernel registered here runs once through the tfjs
 * engine and then issues several TensorFlow ops straight through the binding, so a ConvLSTM gate
 * step or an instance norm costs one engine op forward and one backward. Where TensorFlow has a
 * gradient op (MirrorPadGrad, LeakyReluGrad, FusedBatchNormGradV3, ResizeBilinearGrad with
 * half_pixel_centers) it replaces tfjs's composed or wrong gradient. Conv3D and its two gradients,
 * the 2D convolution gradients on large maps and AvgPool run TensorFlow's oneDNN kernels, which
 * eager TensorFlow never picks (see below).
 *
 * Browser-safe: only @tensorflow/tfjs; the native backend is reached by duck typing.
 * The model asks `hasKernel(name)` and falls back to composed tfjs ops on other backends.
 */
import * as tf from '@tensorflow/tfjs';
import { outsideTrace, recordingStockOps } from './graph.js';

type Info = tf.TensorInfo;
type DataId = Info['dataId'];

interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

interface NativeBinding {
  TF_FLOAT: number;
  TF_INT32: number;
  TF_ATTR_STRING: number;
  TF_ATTR_INT: number;
  TF_ATTR_FLOAT: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_SHAPE: number;
}

interface NativeBackend {
  binding: NativeBinding;
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: Info[]): Info;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: Info[], numOutputs: number): Info[];
  disposeData(dataId: DataId, force?: boolean): boolean;
  incRef(dataId: DataId): void;
  write(values: Float32Array | Int32Array, shape: number[], dtype: tf.DataType): DataId;
}

function isNative(b: unknown): b is NativeBackend {
  const n = b as Partial<NativeBackend> | undefined;
  return typeof n?.executeMultipleOutputs === 'function' && typeof n.binding === 'object';
}

/** Kernel names registered here (for the 'tensorflow' backend). */
export const MRISEQ_LSTM_CELL = 'MriseqLstmCell';
export const MRISEQ_LSTM_CELL_GRAD = 'MriseqLstmCellGrad';
export const MRISEQ_INSTANCE_NORM = 'MriseqInstanceNorm';
/** A ConvLSTM layer's step from a zero state, convolution included (2D, rank-4 x). */
export const MRISEQ_CONV_LSTM_FIRST = 'MriseqConvLstmFirst';
const CONV_LSTM_FIRST_GRAD = 'MriseqConvLstmFirstGrad';
export const MRISEQ_INSTANCE_NORM_GRAD = 'MriseqInstanceNormGrad';
const MIRROR_PAD_GRAD = 'MriseqMirrorPadGrad';
const LEAKY_RELU_GRAD = 'MriseqLeakyReluGrad';

/** Whether the active backend has a kernel of this name (fused kernels exist on 'tensorflow'). */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * A thin layer over the binding: ops by TensorFlow name, float32 only, intermediates freed by
 * `free`, small constants (axis scalars, ones/zeros vectors, shapes) written once per backend and
 * kept outside the tfjs engine's tensor count.
 */
class Native {
  private readonly consts = new Map<string, Info>();
  constructor(readonly be: NativeBackend) {}
  private get b(): NativeBinding {
    return this.be.binding;
  }
  T(name = 'T'): OpAttr {
    return { name, type: this.b.TF_ATTR_TYPE, value: this.b.TF_FLOAT };
  }
  bool(name: string, value: boolean): OpAttr {
    return { name, type: this.b.TF_ATTR_BOOL, value };
  }
  float(name: string, value: number): OpAttr {
    return { name, type: this.b.TF_ATTR_FLOAT, value };
  }
  str(name: string, value: string): OpAttr {
    return { name, type: this.b.TF_ATTR_STRING, value };
  }
  int(name: string, value: number): OpAttr {
    return { name, type: this.b.TF_ATTR_INT, value };
  }
  op(name: string, inputs: Info[], attrs: OpAttr[] = [this.T()]): Info {
    return this.be.executeSingleOutput(name, attrs, inputs);
  }
  ops(name: string, inputs: Info[], n: number, attrs: OpAttr[] = [this.T()]): Info[] {
    return this.be.executeMultipleOutputs(name, attrs, inputs, n);
  }
  /**
   * Disposes intermediates. The backend returns engine-tracked tensors from its ops, so they are
   * disposed as tensors (never through disposeData, which would leave the engine's books wrong).
   */
  free(...xs: (Info | undefined)[]): void {
    for (const x of xs) if (x) (x as tf.Tensor).dispose();
  }
  /** An int32 constant (axis, shape, paddings), cached. */
  ints(values: number[], shape: number[]): Info {
    const key = `i${shape.join('x')}:${values.join(',')}`;
    let c = this.consts.get(key);
    if (!c) {
      c = { dataId: this.be.write(Int32Array.from(values), shape, 'int32'), shape, dtype: 'int32' };
      this.consts.set(key, c);
    }
    return c;
  }
  private scalars: DataId[] = [];
  /** A float32 scalar for this kernel call (freed by dropScalars). */
  scalar(v: number): Info {
    const dataId = this.be.write(Float32Array.of(v), [], 'float32');
    this.scalars.push(dataId);
    return { dataId, shape: [], dtype: 'float32' };
  }
  dropScalars(): void {
    // written with backend.write, unknown to the engine: released at the backend
    for (const d of this.scalars) this.be.disposeData(d);
    this.scalars = [];
  }
  /** A float32 vector filled with v, cached. */
  fill(v: number, n: number): Info {
    const key = `f${n}:${v}`;
    let c = this.consts.get(key);
    if (!c) {
      c = {
        dataId: this.be.write(new Float32Array(n).fill(v), [n], 'float32'),
        shape: [n],
        dtype: 'float32',
      };
      this.consts.set(key, c);
    }
    return c;
  }
  /** A float32 zeros tensor of this shape, cached. */
  zeros(shape: number[]): Info {
    const key = `z${shape.join('x')}`;
    let c = this.consts.get(key);
    if (!c) {
      const size = shape.reduce((a, b) => a * b, 1);
      c = { dataId: this.be.write(new Float32Array(size), shape, 'float32'), shape, dtype: 'float32' };
      this.consts.set(key, c);
    }
    return c;
  }
  /** x itself when the shape is already right (then the caller must not free it twice). */
  reshape(x: Info, shape: number[]): Info {
    if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
    return this.op(
      'Reshape',
      [x, this.ints(shape, [shape.length])],
      [this.T(), { name: 'Tshape', type: this.b.TF_ATTR_TYPE, value: this.b.TF_INT32 }],
    );
  }
  /** Splits x into n equal parts along its last axis. */
  splitLast(x: Info, n: number): Info[] {
    return this.ops('Split', [this.ints([x.shape.length - 1], []), x], n, [
      this.T(),
      this.int('num_split', n),
    ]);
  }
  concatLast(xs: Info[]): Info {
    return this.op(
      'ConcatV2',
      [...xs, this.ints([xs[0]!.shape.length - 1], [])],
      [
        this.T(),
        this.int('N', xs.length),
        { name: 'Tidx', type: this.b.TF_ATTR_TYPE, value: this.b.TF_INT32 },
      ],
    );
  }
}

const natives = new WeakMap<object, Native>();
function native(backend: unknown): Native {
  if (!isNative(backend)) throw new Error('mriseq fused kernel: not the native tensorflow backend');
  let n = natives.get(backend);
  if (!n) {
    n = new Native(backend);
    natives.set(backend, n);
  }
  return n;
}

type KernelFunc = tf.KernelConfig['kernelFunc'];
type Args = Parameters<KernelFunc>[0];

// --- ConvLSTM gate step ------------------------------------------------------------------------
// z = conv([x, h]) + b with gates i, f, o, g along the last axis (each `hidden` wide);
// c' = sigmoid(f) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c'). Inputs {z} or {z, c}.

/** The gate activations of z: [i, f, o, g] (sigmoid, sigmoid, sigmoid, tanh). */
function gates(n: Native, z: Info): Info[] {
  const [zi, zf, zo, zg] = n.splitLast(z, 4);
  const out = [n.op('Sigmoid', [zi!]), n.op('Sigmoid', [zf!]), n.op('Sigmoid', [zo!]), n.op('Tanh', [zg!])];
  n.free(zi, zf, zo, zg);
  return out;
}

const lstmCell: KernelFunc = ({ inputs, backend }: Args) => {
  const n = native(backend);
  const { z, c } = inputs as { z: Info; c?: Info };
  const [i, f, o, g] = gates(n, z);
  const ig = n.op('Mul', [i!, g!]);
  let cNew = ig;
  if (c) {
    const fc = n.op('Mul', [f!, c]);
    cNew = n.op('AddV2', [fc, ig]);
    n.free(fc, ig);
  }
  const tc = n.op('Tanh', [cNew]);
  const h = n.op('Mul', [o!, tc]);
  n.free(i, f, o, g, tc);
  return [h, cNew];
};

/**
 * The gradients of c' and h' = o tanh(c') through the gates i, o, g (c' = i g + f c; the f term is
 * the caller's): dz_i, dz_o, dz_g and dc' in total (dc, the gradient arriving at c', added when
 * given). The caller frees the four results.
 */
function iogGrads(n: Native, i: Info, o: Info, g: Info, cNew: Info, dh: Info, dc?: Info) {
  const tc = n.op('Tanh', [cNew]);
  const dO = n.op('Mul', [dh, tc]);
  const dTc = n.op('Mul', [dh, o]);
  const dcIn = n.op('TanhGrad', [tc, dTc]);
  const dcTot = dc ? n.op('AddV2', [dc, dcIn]) : dcIn;
  const dI = n.op('Mul', [dcTot, g]);
  const dG = n.op('Mul', [dcTot, i]);
  const dzi = n.op('SigmoidGrad', [i, dI]);
  const dzo = n.op('SigmoidGrad', [o, dO]);
  const dzg = n.op('TanhGrad', [g, dG]);
  n.free(tc, dO, dTc, dc ? dcIn : undefined, dI, dG);
  return { dzi, dzo, dzg, dcTot };
}

const lstmCellGrad: KernelFunc = ({ inputs, backend }: Args) => {
  // Recomputes the gates from z (six cheap elementwise ops) instead of keeping them as extra
  // outputs, which the tape would then also differentiate and zero-fill.
  const n = native(backend);
  const { z, c, cNew, dh, dc } = inputs as { z: Info; c?: Info; cNew: Info; dh: Info; dc: Info };
  const [i, f, o, g] = gates(n, z);
  const { dzi, dzo, dzg, dcTot } = iogGrads(n, i!, o!, g!, cNew, dh, dc);
  let dzf: Info;
  let dcPrev: Info | undefined;
  if (c) {
    const dF = n.op('Mul', [dcTot, c]);
    dzf = n.op('SigmoidGrad', [f!, dF]);
    dcPrev = n.op('Mul', [dcTot, f!]);
    n.free(dF);
  } else {
    // f multiplies a zero initial state: its gate gets no gradient.
    dzf = n.op('ZerosLike', [f!]);
  }
  const dz = n.concatLast([dzi, dzf, dzo, dzg]);
  n.free(i, f, o, g, dcTot, dzi, dzf, dzo, dzg);
  return dcPrev ? [dz, dcPrev] : [dz];
};

function lstmGradFunc(withC: boolean): tf.GradConfig['gradFunc'] {
  return (dys, saved) => {
    const [dh, dc] = dys as tf.Tensor[];
    const [z, c, cNew] = withC ? saved : [saved[0], undefined, saved[1]];
    const ins: tf.NamedTensorMap = { z: z!, cNew: cNew!, dh: dh!, dc: dc! };
    if (c) ins.c = c;
    const out = tf.engine().runKernel(MRISEQ_LSTM_CELL_GRAD, ins, {}) as tf.Tensor[];
    const grads: Record<string, () => tf.Tensor> = { z: () => out[0]! };
    if (withC) grads.c = () => out[1]!;
    return grads;
  };
}

// --- ConvLSTM layer over one time point (zero initial state), conv included -------------------
// With h = c = 0 the step is z = conv(x, wx) + b, c' = sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c'):
// the forget gate multiplies a zero state, so its quarter of the convolution (and of its two
// gradients: dz_f is exactly 0) is never computed. One engine op forward ({x, w, b} -> h' and the
// activated gates [i, o, g], kept for the backward) and one backward (-> dx, dw, db) in place of
// conv + bias add + gate step and their gradients; dw and db get zeros in the forget block.
// 2D only (x rank 4, w [k, k, Cin, 4 hidden], 'SAME' at stride 1).

/** SplitV of t along its last axis into blocks of these widths. */
function splitLastV(n: Native, t: Info, widths: number[]): Info[] {
  return n.ops(
    'SplitV',
    [t, n.ints(widths, [widths.length]), n.ints([t.shape.length - 1], [])],
    widths.length,
    [n.T(), n.int('num_split', widths.length), typeAttr(n, 'Tlen', true)],
  );
}

/**
 * The i, o, g blocks of the last axis of t (gate width hidden): two ops, each copying whole
 * blocks (a GatherV2 of 192 single channels on the innermost axis took 5x as long).
 */
function iogOf(n: Native, t: Info, hidden: number): Info {
  const [i, f, og] = splitLastV(n, t, [hidden, hidden, 2 * hidden]);
  const out = n.concatLast([i!, og!]);
  n.free(i, f, og);
  return out;
}

/** [i, o, g] blocks back to [i, 0, o, g] along the last axis. */
function withZeroForget(n: Native, t: Info, hidden: number): Info {
  const [i, og] = splitLastV(n, t, [hidden, 2 * hidden]);
  const out = n.concatLast([i!, n.zeros([...t.shape.slice(0, -1), hidden]), og!]);
  n.free(i, og);
  return out;
}

const convLstmFirst: KernelFunc = ({ inputs, backend }: Args) => {
  const n = native(backend);
  const { x, w, b } = inputs as { x: Info; w: Info; b: Info };
  const hidden = w.shape[3]! / 4;
  const w3 = iogOf(n, w, hidden);
  const b3 = iogOf(n, b, hidden);
  const conv = n.op('Conv2D', [x, w3], conv2dPlainAttrs(n, 'SAME'));
  const z = n.op('BiasAdd', [conv, b3], [n.T(), n.str('data_format', 'NHWC')]);
  n.free(w3, b3, conv);
  const [zio, zg] = splitLastV(n, z, [2 * hidden, hidden]);
  const io = n.op('Sigmoid', [zio!]);
  const g = n.op('Tanh', [zg!]);
  const gates = n.concatLast([io, g]);
  n.free(z, zio, zg, io, g);
  const [i, o, g2] = n.splitLast(gates, 3);
  const c = n.op('Mul', [i!, g2!]);
  const tc = n.op('Tanh', [c]);
  const h = n.op('Mul', [o!, tc]);
  n.free(i, o, g2, c, tc);
  return [h, gates];
};

const convLstmFirstGrad: KernelFunc = ({ inputs, backend }: Args) => {
  const n = native(backend);
  const { x, w, gates, dh } = inputs as { x: Info; w: Info; gates: Info; dh: Info };
  const hidden = w.shape[3]! / 4;
  const [i, o, g] = n.splitLast(gates, 3);
  const c = n.op('Mul', [i!, g!]);
  const { dzi, dzo, dzg, dcTot } = iogGrads(n, i!, o!, g!, c, dh);
  const dz = n.concatLast([dzi, dzo, dzg]);
  n.free(i, o, g, c, dcTot, dzi, dzo, dzg);
  const w3 = iogOf(n, w, hidden);
  // Sum, as tfjs's gradient of the bias add: the same summation order, bit for bit (BiasAddGrad
  // sums in another order)
  const db3 = n.op(
    'Sum',
    [dz, n.ints([0, 1, 2], [3])],
    [n.T(), typeAttr(n, 'Tidx', true), n.bool('keep_dims', false)],
  );
  const dx = n.op('Conv2DBackpropInput', [n.ints(x.shape, [4]), w3, dz], conv2dPlainAttrs(n, 'SAME'));
  const dw3 = n.op('Conv2DBackpropFilter', [x, n.ints(w3.shape, [4]), dz], conv2dPlainAttrs(n, 'SAME'));
  n.free(w3, dz);
  const dw = withZeroForget(n, dw3, hidden);
  const db = withZeroForget(n, db3, hidden);
  n.free(dw3, db3);
  return [dx, dw, db];
};

// --- Instance norm (batch 1) through TensorFlow's fused batch norm in training mode -------------
// With one image, batch statistics over (N, H, W) are the instance statistics; 3D volumes are
// viewed as [1, D*H, W, C]. Normalises with the biased variance, as PyTorch's InstanceNorm.

function as4d(n: Native, x: Info): Info {
  const s = x.shape;
  return s.length === 4
    ? n.reshape(x, s)
    : n.reshape(x, [1, s.slice(1, -2).reduce((a, b) => a * b, 1), s[s.length - 2]!, s[s.length - 1]!]);
}

function bnAttrs(n: Native, eps: number): OpAttr[] {
  return [
    n.T(),
    n.T('U'),
    n.float('epsilon', eps),
    n.str('data_format', 'NHWC'),
    n.bool('is_training', true),
  ];
}

const instanceNormKernel: KernelFunc = ({ inputs, backend, attrs }: Args) => {
  const n = native(backend);
  const x = inputs.x as Info;
  const eps = (attrs as { eps: number }).eps;
  const c = x.shape[x.shape.length - 1]!;
  const x4 = as4d(n, x);
  const empty = n.fill(0, 0);
  const outs = n.ops('FusedBatchNormV3', [x4, n.fill(1, c), n.fill(0, c), empty, empty], 6, [
    ...bnAttrs(n, eps),
    n.float('exponential_avg_factor', 1),
  ]);
  const y = n.reshape(outs[0]!, x.shape);
  n.free(x4 === x ? undefined : x4, y === outs[0] ? undefined : outs[0], outs[1], outs[2]);
  // reserve spaces 1-3 are what FusedBatchNormGradV3 needs: extra outputs, saved for the gradient
  return [y, outs[3]!, outs[4]!, outs[5]!];
};

const instanceNormGradKernel: KernelFunc = ({ inputs, backend, attrs }: Args) => {
  const n = native(backend);
  const { dy, x, r1, r2, r3 } = inputs as Record<string, Info>;
  const eps = (attrs as { eps: number }).eps;
  const c = x!.shape[x!.shape.length - 1]!;
  const x4 = as4d(n, x!);
  const dy4 = as4d(n, dy!);
  const ins = [dy4, x4, n.fill(1, c), r1!, r2!, r3!];
  const outs = oneDnnBatchNormGrad(n, ins, eps) ?? n.ops('FusedBatchNormGradV3', ins, 5, bnAttrs(n, eps));
  const dx = n.reshape(outs[0]!, x!.shape);
  n.free(
    x4 === x ? undefined : x4,
    dy4 === dy ? undefined : dy4,
    dx === outs[0] ? undefined : outs[0],
    ...outs.slice(1),
  );
  return dx;
};

// The stock FusedBatchNormGradV3 is Eigen's generic code: oneDNN's took 0.4x of its time at
// 128 x 128 x 16, 0.45x at 64 x 64 x 32, 0.67x at 64 x 64 x 16, but 1.2x at 32 x 32 x 32 and 2.1x
// at 16 x 16 x 64 (kernel times in the step, interleaved, load ~6). Whole 64 px steps were not
// faster with it (1.01-1.03x, 30 pairs), 128 px steps were (0.95x, 20 pairs), so it takes over
// from 128 x 128 pixels (oneDnnRoutes.instanceNormGradMinPixels). It reads the stock forward's reserve spaces (mean,
// biased variance) the same way (dx equal to 1e-6). The forward stays stock (no faster).
function oneDnnBatchNormGrad(n: Native, ins: Info[], eps: number): Info[] | undefined {
  const s = ins[1]!.shape;
  if (!oneDnnRoutes.instanceNormGrad || s[1]! * s[2]! < oneDnnRoutes.instanceNormGradMinPixels)
    return undefined;
  const op = oneDnnOps.instanceNormGrad;
  const attrs = [...bnAttrs(n, eps), n.str('_kernel', MKL_LABEL)];
  const runs = labelledOpRuns(n, op, () => {
    const one = n.reshape(n.fill(1, 1), [1, 1, 1, 1]);
    const v = n.fill(1, 1);
    try {
      const outs = n.ops(op, [one, one, v, v, v, n.fill(0, 0)], 5, attrs);
      n.free(...outs.slice(1));
      return outs[0]!;
    } finally {
      n.free(one);
    }
  });
  return runs ? n.ops(op, ins, 5, attrs) : undefined;
}

// --- Gradients TensorFlow has as single ops ------------------------------------------------------

const mirrorPadGradKernel: KernelFunc = ({ inputs, backend, attrs }: Args) => {
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

const leakyReluGradKernel: KernelFunc = ({ inputs, backend, attrs }: Args) => {
  const n = native(backend);
  return n.op(
    'LeakyReluGrad',
    [inputs.dy as Info, inputs.x as Info],
    [n.T(), n.float('alpha', (attrs as { alpha: number }).alpha)],
  );
};

const resizeBilinearGradKernel: KernelFunc = ({ inputs, backend, attrs }: Args) => {
  const n = native(backend);
  const a = attrs as unknown as tf.ResizeBilinearGradAttrs;
  return n.op(
    'ResizeBilinearGrad',
    [inputs.dy as Info, inputs.images as Info],
    [n.T(), n.bool('align_corners', a.alignCorners), n.bool('half_pixel_centers', a.halfPixelCenters)],
  );
};

const castKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    // tfjs-node runs a TensorFlow Cast even to the same dtype; tfjs's gradients cast often.
    const x = args.inputs.x as Info;
    if ((args.attrs as { dtype: string }).dtype !== x.dtype) return original(args);
    // like tfjs-node's own Identity kernel: share the data, count one more reference
    native(args.backend).be.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };

// --- 3D convolutions through oneDNN -------------------------------------------------------------
// Eager TensorFlow never picks oneDNN's convolution kernels (its Conv2D ops run im2col + a oneDNN
// GEMM, seen with ONEDNN_VERBOSE=1; see the 2D section below). Its Conv3D, Conv3DBackpropInputV2
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

function intsAttr(n: Native, name: string, value: number[]): OpAttr {
  return { name, type: n.be.binding.TF_ATTR_INT, value };
}

function typeAttr(n: Native, name: string, int32: boolean): OpAttr {
  const b = n.be.binding;
  return { name, type: b.TF_ATTR_TYPE, value: int32 ? b.TF_INT32 : b.TF_FLOAT };
}

function padOp(n: Native, x: Info, pads: [number, number][]): Info {
  if (pads.every(([a, z]) => a === 0 && z === 0)) return x;
  return n.op('Pad', [x, n.ints(pads.flat(), [pads.length, 2])], [n.T(), typeAttr(n, 'Tpaddings', true)]);
}

function stridedSlice(n: Native, x: Info, begin: number[], end: number[], strides: number[]): Info {
  const r = begin.length;
  return n.op(
    'StridedSlice',
    [x, n.ints(begin, [r]), n.ints(end, [r]), n.ints(strides, [r])],
    [
      n.T(),
      typeAttr(n, 'Index', true),
      n.int('begin_mask', 0),
      n.int('end_mask', 0),
      n.int('ellipsis_mask', 0),
      n.int('new_axis_mask', 0),
      n.int('shrink_axis_mask', 0),
    ],
  );
}

function transposeOp(n: Native, x: Info, perm: number[]): Info {
  return n.op('Transpose', [x, n.ints(perm, [perm.length])], [n.T(), typeAttr(n, 'Tperm', true)]);
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

const conv3dFilterGradKernel =
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

const conv3dKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    const { x, filter } = args.inputs as { x: Info; filter: Info };
    const a = args.attrs as unknown as Conv3dAttrs;
    const g = conv3dGeometry(x.shape, filter.shape, a);
    if (!g || x.dtype !== 'float32') return original(args);
    return oneDnnConv3d(native(args.backend), 'Conv3D', [x, filter], g, false) ?? original(args);
  };

const conv3dInputGradKernel =
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

// --- 2D convolution gradients and average pooling through oneDNN --------------------------------
// Eager TensorFlow runs Conv2DBackpropInput/Filter as im2col (or col2im) + one oneDNN GEMM: it
// materialises an [output pixels, kh*kw*Cin] matrix, which at full resolution with few channels
// is tens of MB per call (the decoder's last k7 16->1 at 128 px: 51 MB; 45 ms per gradient,
// oneDNN's direct kernel 1.5-5 ms). oneDNN's _MklNative versions win while that matrix is large
// and lose (weight reorders, up to 1.7x) on small, wide ones like the ConvLSTM's 64->256 at 32 px,
// so they take over from 3 MB of im2col (oneDnnRoutes.conv2dGradMinCols; measured interleaved
// on this model's shapes, 2 threads). The forward Conv2D stays stock: oneDNN's was slower on all
// but the one-channel first conv. AvgPool (the SSIM's 7x7 window) runs Eigen's generic code in
// eager TensorFlow, ~25x slower than oneDNN's; its gradient (AvgPoolGrad, ~5x slower) at stride 1
// without padding is oneDNN's pooling again (oneDNN's own AvgPoolGrad was not faster).

/**
 * Which oneDNN routes the native backend takes: tests turn them off to compare with the stock
 * kernels, or lower `conv2dGradMinCols` (im2col elements, output pixels x kh*kw*Cin, from which the
 * 2D gradients go to oneDNN; 3 MB by default) to reach every geometry on small inputs.
 */
export const oneDnnRoutes: {
  conv2dGrads: boolean;
  conv2dGradMinCols: number;
  avgPool: boolean;
  /** Forward Conv2D with one input channel (the encoder's first conv) through oneDNN. */
  conv2dOneInput: boolean;
  /**
   * The filter gradient of a conv with one output channel (the decoder's last, k7) as one stock
   * forward Conv2D (while conv2dGrads is on, from filterGradOneOutputMinCols).
   */
  filterGradOneOutput: boolean;
  /** im2col elements from which filterGradOneOutput takes over (it lost at 64 px, 3.2 M). */
  filterGradOneOutputMinCols: number;
  /** The instance norm's gradient (FusedBatchNormGradV3) through oneDNN. */
  instanceNormGrad: boolean;
  /** Pixels per image (of the 4D view) from which instanceNormGrad takes over. */
  instanceNormGradMinPixels: number;
} = {
  conv2dGrads: true,
  conv2dGradMinCols: 3 << 18,
  avgPool: true,
  conv2dOneInput: true,
  filterGradOneOutput: true,
  filterGradOneOutputMinCols: 8 << 20,
  instanceNormGrad: true,
  instanceNormGradMinPixels: 128 * 128,
};

/** The labelled ops used (tests name a missing one to check the fallback). */
export const oneDnnOps = {
  conv2d: '_MklNativeConv2D',
  instanceNormGrad: '_MklNativeFusedBatchNormGradV3',
  conv2dInputGrad: '_MklNativeConv2DBackpropInput',
  conv2dFilterGrad: '_MklNativeConv2DBackpropFilter',
  avgPool: '_MklNativeAvgPool',
};

/** Whether a labelled oneDNN op runs here: tried once per op name on a tiny input. */
const labelled = new Map<string, boolean>();
function labelledOpRuns(n: Native, op: string, probe: () => Info): boolean {
  // XLA compiles stock ops only (graph.ts)
  if (recordingStockOps()) return false;
  let ok = labelled.get(op);
  if (ok === undefined) {
    try {
      // for real even while a compiled step is being recorded (graph.ts)
      outsideTrace(() => n.free(probe()));
      ok = true;
    } catch {
      ok = false;
    }
    labelled.set(op, ok);
  }
  return ok;
}

/** Whether this labelled oneDNN op ran here (undefined before it was first needed). */
export function oneDnnOpRuns(op: string): boolean | undefined {
  return labelled.get(op);
}

const MKL_LABEL = 'MklNameChangeOp';

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

const conv2dInputGradKernel =
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
function filterGradOneOutput(
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

function conv2dPlainAttrs(n: Native, padding: 'SAME' | 'VALID'): OpAttr[] {
  return [
    n.T(),
    intsAttr(n, 'strides', [1, 1, 1, 1]),
    n.str('padding', padding),
    n.str('data_format', 'NHWC'),
    intsAttr(n, 'dilations', [1, 1, 1, 1]),
  ];
}

const conv2dFilterGradKernel =
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
const conv2dKernel =
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

const avgPoolKernel =
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
const avgPoolGradKernel =
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

// --- Composed adjoint of mirror padding (every other backend) ----------------------------------

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

const reshapeKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    // tfjs's gradients reshape to the shape a tensor already has (every Add, Sub, Mul...);
    // tfjs-node would run a TensorFlow Reshape and build a shape tensor each time.
    const x = args.inputs.x as Info;
    const shape = (args.attrs as { shape: number[] }).shape;
    if (shape.length !== x.shape.length || shape.some((d, i) => d !== x.shape[i])) return original(args);
    native(args.backend).be.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };

// --- Adam in place on TensorFlow resource variables ---------------------------------------------

/** Distinguishes this module instance's variables from any other's in the same TF context. */
const adamTag = Math.random().toString(36).slice(2, 10);
let adamVars = 0;

/**
 * PyTorch's Adam, in place: each parameter and its two moments are TensorFlow resource variables
 * and one ResourceApplyAdam per parameter updates all three in a single pass, allocating nothing.
 * (The flat alternative, concatenating all gradients into one vector and running a dozen
 * elementwise ops on it, makes ~15 passes over 13 MB and as many fresh buffers per step.)
 *
 * The tfjs Variable of a parameter holds a ReadVariableOp of its resource variable, which shares
 * the variable's buffer. TensorFlow copies a variable's buffer before updating it when anything
 * else still references it, so the update releases the Variable's read first, applies, and binds
 * the Variable to a fresh read: with no other live alias the update is truly in place (with one,
 * e.g. a tensor someone kept, TensorFlow copies and the kept tensor keeps the old values, as
 * tfjs's assign would). If the Variable was assigned meanwhile (setWeights), its value is copied
 * into the resource variable first.
 *
 * Only on the native 'tensorflow' backend: `NativeAdam.create` returns undefined elsewhere.
 */
export class NativeAdam {
  private readonly h: { p: Info; m: Info; v: Info }[] = [];
  /** The dataId each Variable was last bound to here. */
  private readonly bound: DataId[] = [];
  /** Zero gradients of parameters that had none in a step (written on first need). */
  private readonly zeros = new Map<number, DataId>();

  private constructor(
    private readonly n: Native,
    readonly vars: tf.Variable[],
  ) {
    try {
      vars.forEach((p, i) => {
        const handle = (): Info => {
          const h = this.n.op(
            'VarHandleOp',
            [],
            [
              this.n.str('container', ''),
              this.n.str('shared_name', `mriseq_adam_${adamTag}_${adamVars++}`),
              this.n.T('dtype'),
              { name: 'shape', type: this.n.be.binding.TF_ATTR_SHAPE, value: p.shape },
            ],
          );
          tf.keep(h as tf.Tensor);
          return h;
        };
        const e = { p: handle(), m: handle(), v: handle() };
        this.h.push(e);
        this.assign(e.p, p);
        this.bound.push(p.dataId);
        this.writeMoments(i, new Float32Array(p.size), new Float32Array(p.size));
        tf.engine().disposeTensor(p);
        this.rebind(i);
      });
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  /** In-place Adam over these variables, or undefined when the backend is not the native one. */
  static create(vars: tf.Variable[]): NativeAdam | undefined {
    const be = tf.backend();
    return isNative(be) ? new NativeAdam(native(be), vars) : undefined;
  }

  private assign(h: Info, x: Info): void {
    this.n.ops('AssignVariableOp', [h, x], 0, [this.n.T('dtype')]);
  }

  private read(h: Info): tf.Tensor {
    return this.n.op('ReadVariableOp', [h], [this.n.T('dtype')]) as tf.Tensor;
  }

  /** What Variable.assign does, minus disposing the old value (released before the update). */
  private rebind(i: number): void {
    const p = this.vars[i]!;
    const r = this.read(this.h[i]!.p);
    p.dataId = r.dataId;
    tf.engine().incRef(p, tf.backend());
    r.dispose();
    this.bound[i] = p.dataId;
  }

  /**
   * One Adam step (adamStep counts from 1); a parameter missing from grads (keyed by Variable
   * name) is updated with gradient 0.
   */
  update(
    grads: Record<string, tf.Tensor>,
    adamStep: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps = 1e-8,
  ): void {
    if (this.h.length !== this.vars.length) throw new Error('mriseq NativeAdam: used after dispose()');
    const n = this.n;
    // TensorFlow: alpha = lr' sqrt(1 - beta2_power) / (1 - beta1_power), m += (g - m)(1 - beta1),
    // v += (g^2 - v)(1 - beta2), p -= alpha m / (sqrt(v) + eps'). With both powers 0, alpha is
    // lr' itself, so the bias corrections are done here in double precision (TensorFlow would
    // compute 1 - beta2^t in float32, 1e-5 off at t = 1): lr' = lr bc2 / bc1 and eps' = eps bc2
    // give p -= lr / bc1 * m / (sqrt(v) / bc2 + eps), PyTorch's update.
    const bc1 = 1 - Math.pow(beta1, adamStep);
    const bc2 = Math.sqrt(1 - Math.pow(beta2, adamStep));
    const zero = n.scalar(0);
    const ins = [
      zero,
      zero,
      n.scalar((lr * bc2) / bc1),
      n.scalar(beta1),
      n.scalar(beta2),
      n.scalar(eps * bc2),
    ];
    const attrs = [n.T(), n.bool('use_locking', false), n.bool('use_nesterov', false)];
    try {
      this.vars.forEach((p, i) => {
        const h = this.h[i]!;
        if (p.dataId !== this.bound[i]) this.assign(h.p, p);
        const g: Info = grads[p.name] ?? this.zeroGrad(i);
        tf.engine().disposeTensor(p);
        try {
          n.ops('ResourceApplyAdam', [h.p, h.m, h.v, ...ins, g], 0, attrs);
        } finally {
          this.rebind(i);
        }
      });
    } finally {
      n.dropScalars();
    }
  }

  /**
   * The Adam step as ResourceApplyAdam ops only, with the learning rate and epsilon (already bias
   * corrected, see update) and the betas as float32 scalar tensors: what a compiled step records
   * (src/engine/graph.ts). The caller keeps the Variables' reads consistent (runInPlace).
   */
  applyOps(grads: Record<string, tf.Tensor>, lr: Info, beta1: Info, beta2: Info, eps: Info): void {
    const n = this.n;
    const zero = n.scalar(0);
    const attrs = [n.T(), n.bool('use_locking', false), n.bool('use_nesterov', false)];
    try {
      this.vars.forEach((p, i) => {
        const h = this.h[i]!;
        const g = grads[p.name] ?? tf.zerosLike(p);
        n.ops('ResourceApplyAdam', [h.p, h.m, h.v, zero, zero, lr, beta1, beta2, eps, g], 0, attrs);
      });
    } finally {
      n.dropScalars();
    }
  }

  /** Each parameter's resource handles: value, first and second moment. */
  handles(): readonly { p: Info; m: Info; v: Info }[] {
    return this.h;
  }

  /**
   * Runs fn, which updates the resource variables by other means (a compiled step), with the
   * Variables' reads released (so that the updates run in place) and bound to fresh reads after.
   * A Variable assigned meanwhile (setWeights) is first copied into its resource variable.
   */
  runInPlace<T>(fn: () => T): T {
    if (this.h.length !== this.vars.length) throw new Error('mriseq NativeAdam: used after dispose()');
    this.vars.forEach((p, i) => {
      if (p.dataId !== this.bound[i]) this.assign(this.h[i]!.p, p);
      tf.engine().disposeTensor(p);
    });
    try {
      return fn();
    } finally {
      this.vars.forEach((_, i) => this.rebind(i));
    }
  }

  private zeroGrad(i: number): Info {
    const p = this.vars[i]!;
    let d = this.zeros.get(i);
    if (!d) {
      d = this.n.be.write(new Float32Array(p.size), p.shape, 'float32');
      this.zeros.set(i, d);
    }
    return { dataId: d, shape: p.shape, dtype: 'float32' };
  }

  /** The moments of parameter i (copies). */
  readMoments(i: number): { m: Float32Array; v: Float32Array } {
    const h = this.h[i]!;
    const get = (x: Info): Float32Array => {
      const r = this.read(x);
      const data = (r.dataSync() as Float32Array).slice();
      r.dispose();
      return data;
    };
    return { m: get(h.m), v: get(h.v) };
  }

  /** Sets the moments of parameter i (lengths must be its size). */
  writeMoments(i: number, m: Float32Array, v: Float32Array): void {
    const p = this.vars[i]!;
    const h = this.h[i]!;
    for (const [x, data] of [
      [h.m, m],
      [h.v, v],
    ] as const) {
      const d = this.n.be.write(data, p.shape, 'float32');
      try {
        this.assign(x, { dataId: d, shape: p.shape, dtype: 'float32' });
      } finally {
        this.n.be.disposeData(d);
      }
    }
  }

  /** Frees the resource variables; the parameters keep their current values. */
  dispose(): void {
    for (const e of this.h) {
      for (const x of [e.p, e.m, e.v]) {
        try {
          this.n.ops('DestroyResourceOp', [x], 0, [this.n.bool('ignore_lookup_error', true)]);
        } finally {
          (x as tf.Tensor).dispose();
        }
      }
    }
    this.h.length = 0;
    for (const d of this.zeros.values()) this.n.be.disposeData(d);
    this.zeros.clear();
  }
}

let done: string[] | undefined;

/**
 * Gradient fixes for every backend (tfjs's MirrorPad gradient is a plain slice that drops the
 * mirrored contributions) that dispatch to native kernels where they exist. Once.
 */
export function registerFusedGradients(): void {
  const leaky = tf.getGradient(tf.LeakyRelu);
  tf.registerGradient({
    kernelName: tf.MirrorPad,
    gradFunc: (dy, _saved, attrs) => {
      const a = attrs as unknown as { paddings: [number, number][]; mode: string };
      const g = dy as tf.Tensor;
      return {
        x: () =>
          hasKernel(MIRROR_PAD_GRAD)
            ? (tf.engine().runKernel(MIRROR_PAD_GRAD, { dy: g }, attrs as tf.NamedAttrMap) as tf.Tensor)
            : mirrorPadGradComposed(g, a.paddings, a.mode),
      };
    },
  });
  if (leaky) {
    tf.registerGradient({
      ...leaky,
      gradFunc: (dy, saved, attrs) =>
        hasKernel(LEAKY_RELU_GRAD)
          ? {
              x: () =>
                tf
                  .engine()
                  .runKernel(
                    LEAKY_RELU_GRAD,
                    { dy: dy as tf.Tensor, x: saved[0]! },
                    attrs as tf.NamedAttrMap,
                  ) as tf.Tensor,
            }
          : leaky.gradFunc(dy, saved, attrs),
    });
  }
  // conv3dTranspose (Conv3DBackpropInputV2) has no gradient in tfjs 4.22, so a 3D decoder could not
  // train: its adjoint is conv3d for dy and the filter gradient of conv3d with the roles swapped.
  if (!tf.getGradient(tf.Conv3DBackpropInputV2)) {
    tf.registerGradient({
      kernelName: tf.Conv3DBackpropInputV2,
      inputsToSave: ['dy', 'filter'],
      gradFunc: (ddx, saved, attrs) => {
        const [dy, filter] = saved as [tf.Tensor5D, tf.Tensor5D];
        const a = attrs as unknown as { strides: [number, number, number] | number; pad: 'same' | 'valid' };
        const g = ddx as tf.Tensor5D;
        return {
          dy: () => tf.conv3d(g, filter, a.strides, a.pad),
          filter: () =>
            tf.engine().runKernel(tf.Conv3DBackpropFilterV2, { x: g, dy }, {
              strides: a.strides,
              pad: a.pad,
              filterShape: filter.shape,
            } as unknown as tf.NamedAttrMap) as tf.Tensor,
        };
      },
    });
  }
  tf.registerGradient({
    kernelName: MRISEQ_LSTM_CELL,
    inputsToSave: ['z', 'c'],
    outputsToSave: [false, true],
    gradFunc: lstmGradFunc(true),
  });
  tf.registerGradient({
    kernelName: `${MRISEQ_LSTM_CELL}First`,
    inputsToSave: ['z'],
    outputsToSave: [false, true],
    gradFunc: lstmGradFunc(false),
  });
  tf.registerGradient({
    kernelName: MRISEQ_CONV_LSTM_FIRST,
    inputsToSave: ['x', 'w'],
    outputsToSave: [false, true],
    gradFunc: (dys, saved) => {
      const [dh] = dys as tf.Tensor[];
      const [x, w, gates] = saved;
      const out = tf
        .engine()
        .runKernel(CONV_LSTM_FIRST_GRAD, { x: x!, w: w!, gates: gates!, dh: dh! }, {}) as tf.Tensor[];
      return { x: () => out[0]!, w: () => out[1]!, b: () => out[2]! };
    },
  });
  tf.registerGradient({
    kernelName: MRISEQ_INSTANCE_NORM,
    inputsToSave: ['x'],
    outputsToSave: [false, true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      const [x, r1, r2, r3] = saved;
      return {
        x: () =>
          tf
            .engine()
            .runKernel(
              MRISEQ_INSTANCE_NORM_GRAD,
              { dy, x: x!, r1: r1!, r2: r2!, r3: r3! },
              attrs as tf.NamedAttrMap,
            ) as tf.Tensor,
      };
    },
  });
}

/**
 * The fused and fixed kernels on the 'tensorflow' backend. Once; returns what it registered.
 */
export function registerFusedNativeKernels(): string[] {
  if (done) return done;
  done = [];
  const add = (kernelName: string, kernelFunc: KernelFunc): void => {
    if (tf.getKernel(kernelName, 'tensorflow')) tf.unregisterKernel(kernelName, 'tensorflow');
    tf.registerKernel({ kernelName, backendName: 'tensorflow', kernelFunc });
    done!.push(kernelName);
  };
  add(MRISEQ_LSTM_CELL, lstmCell);
  add(`${MRISEQ_LSTM_CELL}First`, lstmCell);
  add(MRISEQ_LSTM_CELL_GRAD, lstmCellGrad);
  add(MRISEQ_CONV_LSTM_FIRST, convLstmFirst);
  add(CONV_LSTM_FIRST_GRAD, convLstmFirstGrad);
  add(MRISEQ_INSTANCE_NORM, instanceNormKernel);
  add(MRISEQ_INSTANCE_NORM_GRAD, instanceNormGradKernel);
  add(MIRROR_PAD_GRAD, mirrorPadGradKernel);
  add(LEAKY_RELU_GRAD, leakyReluGradKernel);
  add(tf.ResizeBilinearGrad, resizeBilinearGradKernel);
  // kernels that wrap tfjs-node's own (their fallback), registered only where it has one
  const wrappers: [string, (original: KernelFunc) => KernelFunc][] = [
    [tf.Reshape, reshapeKernel],
    [tf.Conv3D, conv3dKernel],
    [tf.Conv3DBackpropInputV2, conv3dInputGradKernel],
    [tf.Conv3DBackpropFilterV2, conv3dFilterGradKernel],
    [tf.Conv2D, conv2dKernel],
    [tf.Conv2DBackpropInput, conv2dInputGradKernel],
    [tf.Conv2DBackpropFilter, conv2dFilterGradKernel],
    [tf.AvgPool, avgPoolKernel],
    [tf.AvgPoolGrad, avgPoolGradKernel],
    [tf.Cast, castKernel],
  ];
  for (const [name, wrap] of wrappers) {
    const original = tf.getKernel(name, 'tensorflow');
    if (original) add(name, wrap(original.kernelFunc));
  }
  return done;
}
