/**
 * Fused kernels for the native ('tensorflow') backend, and gradient fixes for every backend.
 *
 * Why: on tfjs-node each tfjs op costs 25-120 us of engine bookkeeping (tape, scopes, kernel
 * lookup, attribute tensors) on top of TensorFlow's own ~15 us per eager op, and a generator
 * training step is thousands of small ops. A kernel registered here runs once through the tfjs
 * engine and then issues several TensorFlow ops straight through the binding, so a ConvLSTM gate
 * step or an instance norm costs one engine op forward and one backward. Where TensorFlow has a
 * gradient op (MirrorPadGrad, LeakyReluGrad, FusedBatchNormGradV3, ResizeBilinearGrad with
 * half_pixel_centers) it replaces tfjs's composed or wrong gradient.
 *
 * Browser-safe: only @tensorflow/tfjs; the native backend is reached by duck typing.
 * The model asks `hasKernel(name)` and falls back to composed tfjs ops on other backends.
 */
import * as tf from '@tensorflow/tfjs';

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

const lstmCellGrad: KernelFunc = ({ inputs, backend }: Args) => {
  // Recomputes the gates from z (six cheap elementwise ops) instead of keeping them as extra
  // outputs, which the tape would then also differentiate and zero-fill.
  const n = native(backend);
  const { z, c, cNew, dh, dc } = inputs as { z: Info; c?: Info; cNew: Info; dh: Info; dc: Info };
  const [i, f, o, g] = gates(n, z);
  const tc = n.op('Tanh', [cNew]);
  const dO = n.op('Mul', [dh, tc]);
  const dTc = n.op('Mul', [dh, o!]);
  const dcIn = n.op('TanhGrad', [tc, dTc]);
  const dcTot = n.op('AddV2', [dc, dcIn]);
  const dI = n.op('Mul', [dcTot, g!]);
  const dG = n.op('Mul', [dcTot, i!]);
  const dzi = n.op('SigmoidGrad', [i!, dI]);
  const dzo = n.op('SigmoidGrad', [o!, dO]);
  const dzg = n.op('TanhGrad', [g!, dG]);
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
  n.free(i, f, o, g, tc, dO, dTc, dcIn, dcTot, dI, dG, dzi, dzf, dzo, dzg);
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
  const outs = n.ops('FusedBatchNormGradV3', [dy4, x4, n.fill(1, c), r1!, r2!, r3!], 5, bnAttrs(n, eps));
  const dx = n.reshape(outs[0]!, x!.shape);
  n.free(
    x4 === x ? undefined : x4,
    dy4 === dy ? undefined : dy4,
    dx === outs[0] ? undefined : outs[0],
    ...outs.slice(1),
  );
  return dx;
};

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

// --- Adam over one flat parameter vector ---------------------------------------------------------
/** Kernel name of the flat Adam update (see FlatAdam in src/train). */
export const MRISEQ_ADAM = 'MriseqAdam';

/** Attributes of MRISEQ_ADAM; inputs are m, v, p0..p{n-1} and g_i where p_i has a gradient. */
export interface AdamAttrs {
  n: number;
  beta1: number;
  beta2: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** sqrt(1 - beta2^t) */
  bc2: number;
  eps: number;
}

/**
 * PyTorch's Adam on the concatenation of all parameters, with exactly the arithmetic of the
 * composed FlatAdam.update (same ops in the same order), as TensorFlow ops straight through the
 * binding: one engine op instead of ~4 per parameter tensor. Outputs [m', v', p0', ...].
 */
const adamKernel: KernelFunc = ({ inputs, backend, attrs }: Args) => {
  const nat = native(backend);
  const a = attrs as unknown as AdamAttrs;
  const m = inputs.m as Info;
  const v = inputs.v as Info;
  const ps: Info[] = [];
  const flat: Info[] = [];
  const made: Info[] = [];
  for (let i = 0; i < a.n; i++) {
    const p = inputs[`p${i}`] as Info;
    ps.push(p);
    const size = p.shape.reduce((x, y) => x * y, 1);
    const g = inputs[`g${i}`] as Info | undefined;
    // a parameter without a gradient this step is updated with gradient 0 (a cached zero vector)
    const f = g ? nat.reshape(g, [size]) : nat.fill(0, size);
    if (g && f !== g) made.push(f);
    flat.push(f);
  }
  const g = nat.op(
    'ConcatV2',
    [...flat, nat.ints([0], [])],
    [
      nat.T(),
      nat.int('N', flat.length),
      { name: 'Tidx', type: nat.be.binding.TF_ATTR_TYPE, value: nat.be.binding.TF_INT32 },
    ],
  );
  const temps: Info[] = [];
  const sc = (x: number): Info => nat.scalar(x);
  const t = (x: Info): Info => (temps.push(x), x);
  const mi = nat.op('AddV2', [t(nat.op('Mul', [m, sc(a.beta1)])), t(nat.op('Mul', [g, sc(1 - a.beta1)]))]);
  const g2 = t(nat.op('Square', [g]));
  const vi = nat.op('AddV2', [t(nat.op('Mul', [v, sc(a.beta2)])), t(nat.op('Mul', [g2, sc(1 - a.beta2)]))]);
  const num = t(nat.op('Mul', [mi, sc(a.stepSize)]));
  const den = t(nat.op('AddV2', [t(nat.op('RealDiv', [t(nat.op('Sqrt', [vi])), sc(a.bc2)])), sc(a.eps)]));
  const upd = t(nat.op('RealDiv', [num, den]));
  const sizes = ps.map((p) => p.shape.reduce((x, y) => x * y, 1));
  const parts = nat.ops('SplitV', [upd, nat.ints(sizes, [sizes.length]), nat.ints([0], [])], sizes.length, [
    nat.T(),
    { name: 'Tlen', type: nat.be.binding.TF_ATTR_TYPE, value: nat.be.binding.TF_INT32 },
    nat.int('num_split', sizes.length),
  ]);
  const out: Info[] = [mi, vi];
  parts.forEach((part, i) => {
    const r = nat.reshape(part, ps[i]!.shape);
    out.push(nat.op('Sub', [ps[i]!, r]));
    nat.free(r === part ? undefined : r, part);
  });
  nat.free(g, ...temps, ...made);
  nat.dropScalars();
  return out;
};

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
  add(MRISEQ_INSTANCE_NORM, instanceNormKernel);
  add(MRISEQ_INSTANCE_NORM_GRAD, instanceNormGradKernel);
  add(MIRROR_PAD_GRAD, mirrorPadGradKernel);
  add(LEAKY_RELU_GRAD, leakyReluGradKernel);
  add(tf.ResizeBilinearGrad, resizeBilinearGradKernel);
  add(MRISEQ_ADAM, adamKernel);
  const reshape = tf.getKernel(tf.Reshape, 'tensorflow');
  if (reshape) add(tf.Reshape, reshapeKernel(reshape.kernelFunc));
  const cast = tf.getKernel(tf.Cast, 'tensorflow');
  if (cast) add(tf.Cast, castKernel(cast.kernelFunc));
  return done;
}
