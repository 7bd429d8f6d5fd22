/**
 * The native ('tensorflow') backend reached by duck typing: the binding's types, the kernel names
 * registered here, and `Native`, a thin layer that issues TensorFlow ops by name straight through
 * the binding (plus the attribute and op helpers the kernel families share).
 */
import * as tf from '@tensorflow/tfjs';

export type Info = tf.TensorInfo;
export type DataId = Info['dataId'];

export interface OpAttr {
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

export function isNative(b: unknown): b is NativeBackend {
  const n = b as Partial<NativeBackend> | undefined;
  return typeof n?.executeMultipleOutputs === 'function' && typeof n.binding === 'object';
}

/** Kernel names registered here (for the 'tensorflow' backend). */
export const MRISEQ_LSTM_CELL = 'MriseqLstmCell';
export const MRISEQ_LSTM_CELL_GRAD = 'MriseqLstmCellGrad';
export const MRISEQ_INSTANCE_NORM = 'MriseqInstanceNorm';
/** A ConvLSTM layer's step from a zero state, convolution included (2D, rank-4 x). */
export const MRISEQ_CONV_LSTM_FIRST = 'MriseqConvLstmFirst';
export const CONV_LSTM_FIRST_GRAD = 'MriseqConvLstmFirstGrad';
export const MRISEQ_INSTANCE_NORM_GRAD = 'MriseqInstanceNormGrad';
export const MIRROR_PAD_GRAD = 'MriseqMirrorPadGrad';
export const LEAKY_RELU_GRAD = 'MriseqLeakyReluGrad';

/** Whether the active backend has a kernel of this name (fused kernels exist on 'tensorflow'). */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * A thin layer over the binding: ops by TensorFlow name, float32 only, intermediates freed by
 * `free`, small constants (axis scalars, ones/zeros vectors, shapes) written once per backend and
 * kept outside the tfjs engine's tensor count.
 */
export class Native {
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
export function native(backend: unknown): Native {
  if (!isNative(backend)) throw new Error('mriseq fused kernel: not the native tensorflow backend');
  let n = natives.get(backend);
  if (!n) {
    n = new Native(backend);
    natives.set(backend, n);
  }
  return n;
}

export type KernelFunc = tf.KernelConfig['kernelFunc'];
export type Args = Parameters<KernelFunc>[0];

export function intsAttr(n: Native, name: string, value: number[]): OpAttr {
  return { name, type: n.be.binding.TF_ATTR_INT, value };
}

export function typeAttr(n: Native, name: string, int32: boolean): OpAttr {
  const b = n.be.binding;
  return { name, type: b.TF_ATTR_TYPE, value: int32 ? b.TF_INT32 : b.TF_FLOAT };
}

export function padOp(n: Native, x: Info, pads: [number, number][]): Info {
  if (pads.every(([a, z]) => a === 0 && z === 0)) return x;
  return n.op('Pad', [x, n.ints(pads.flat(), [pads.length, 2])], [n.T(), typeAttr(n, 'Tpaddings', true)]);
}

export function stridedSlice(n: Native, x: Info, begin: number[], end: number[], strides: number[]): Info {
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

export function transposeOp(n: Native, x: Info, perm: number[]): Info {
  return n.op('Transpose', [x, n.ints(perm, [perm.length])], [n.T(), typeAttr(n, 'Tperm', true)]);
}
