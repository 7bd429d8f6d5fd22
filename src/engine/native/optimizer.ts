/** Adam in place on TensorFlow resource variables (the native backend's optimizer). */
import * as tf from '@tensorflow/tfjs';
import { type DataId, type Info, isNative, native, Native } from './binding.js';

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
