/**
 * The one Adam of the project, PyTorch's arithmetic, used by the generator's training, the
 * classifier and the autoencoder. Browser-safe (the in-place native path is the engine's).
 */
import { NativeAdam, tf } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import type { NamedWeights } from './store.js';

/**
 * The epsilon of tfjs's tf.train.adam on float32 backends (the backend's epsilon), with which the
 * classifier and the autoencoder were trained before they used this Adam: they keep it.
 */
export const TFJS_ADAM_EPSILON = 1e-7;

/**
 * PyTorch's Adam over all parameters. On the native backend each parameter is updated in place
 * by TensorFlow's ResourceApplyAdam (NativeAdam: one pass per parameter, no allocation). On other
 * backends all parameters form one flat vector: the moments are two flat variables and the update
 * is a dozen ops whatever the number of parameters (per-variable Adam costs ~14 ops per variable,
 * a third of a step's op count). Same arithmetic as PyTorch's Adam, element by element (the two
 * paths round differently, within float32 precision); a parameter without a gradient this step
 * (a ConvLSTM's hidden weights at one time point) is updated with gradient 0.
 * @example
 * ```ts
 * import { FlatAdam, tf, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const w = tf.variable(tf.ones([3]));
 * const adam = new FlatAdam([w], ['w']);
 * // Gradients are keyed by each variable's tfjs name (not by `names`); a missing one counts as 0.
 * tf.tidy(() => adam.update({ [w.name]: tf.ones([3]) }, 1, 0.1, 0.9, 0.999));
 * console.log(w.dataSync()); // each 0.9: the first Adam step moves by lr
 * adam.dispose();
 * w.dispose();
 * ```
 */
export class FlatAdam {
  private readonly native: NativeAdam | undefined;
  private readonly m: tf.Variable | undefined;
  private readonly v: tf.Variable | undefined;
  readonly sizes: number[];
  constructor(
    readonly vars: tf.Variable[],
    readonly names: string[],
  ) {
    this.sizes = vars.map((x) => x.size);
    this.native = NativeAdam.create(vars);
    if (!this.native) {
      const n = this.sizes.reduce((a, b) => a + b, 0);
      // tidy: the zeros each variable starts from would otherwise stay behind as tensors
      this.m = tf.tidy(() => tf.variable(tf.zeros([n]), false));
      this.v = tf.tidy(() => tf.variable(tf.zeros([n]), false));
    }
  }

  /** The in-place Adam on the native backend (undefined on other backends). */
  get nativeAdam(): NativeAdam | undefined {
    return this.native;
  }

  /**
   * Applies one update (call inside a tidy). adamStep counts from 1. eps is added to the
   * bias-corrected sqrt(v), as in PyTorch and tf.train.adam (PyTorch's default 1e-8; tfjs's
   * default is the backend's float32 epsilon, 1e-7).
   */
  update(
    grads: Record<string, tf.Tensor>,
    adamStep: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps = 1e-8,
  ): void {
    if (this.native) {
      this.native.update(grads, adamStep, lr, beta1, beta2, eps);
      return;
    }
    const m = this.m!;
    const v = this.v!;
    const g = tf.concat(this.vars.map((p) => tf.reshape(grads[p.name] ?? tf.zerosLike(p), [-1])));
    const bc1 = 1 - Math.pow(beta1, adamStep);
    const bc2 = Math.sqrt(1 - Math.pow(beta2, adamStep));
    const mi = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
    const vi = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
    m.assign(mi);
    v.assign(vi);
    // PyTorch: p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)
    const upd = tf.div(tf.mul(mi, lr / bc1), tf.add(tf.div(tf.sqrt(vi), bc2), eps));
    const parts = tf.split(upd, this.sizes);
    this.vars.forEach((p, i) => p.assign(tf.sub(p, tf.reshape(parts[i], p.shape))));
  }

  /** The moments per parameter name (copies). */
  state(): { m: NamedWeights; v: NamedWeights } {
    const m: NamedWeights = {};
    const v: NamedWeights = {};
    const flatM = this.native ? undefined : (this.m!.dataSync() as Float32Array);
    const flatV = this.native ? undefined : (this.v!.dataSync() as Float32Array);
    let off = 0;
    this.vars.forEach((p, i) => {
      const name = this.names[i];
      const mv = this.native
        ? this.native.readMoments(i)
        : { m: flatM!.slice(off, off + p.size), v: flatV!.slice(off, off + p.size) };
      m[name] = { shape: p.shape.slice(), data: mv.m };
      v[name] = { shape: p.shape.slice(), data: mv.v };
      off += p.size;
    });
    return { m, v };
  }

  load(m: NamedWeights, v: NamedWeights): void {
    // checked in full before anything is written
    const get = (src: NamedWeights, what: string, i: number): Float32Array => {
      const e = src[this.names[i]];
      if (!e || e.data.length !== this.vars[i].size) {
        throw new MriseqError('optimizer state does not match the generator', {
          field: `${what}.${this.names[i]}`,
          code: 'checkpoint.mismatch',
        });
      }
      return e.data;
    };
    const ms = this.vars.map((_, i) => get(m, 'adam.m', i));
    const vs = this.vars.map((_, i) => get(v, 'adam.v', i));
    if (this.native) {
      ms.forEach((mi, i) => this.native!.writeMoments(i, mi, vs[i]));
      return;
    }
    const flat = (parts: Float32Array[]): tf.Tensor => {
      const out = new Float32Array(this.sizes.reduce((a, b) => a + b, 0));
      let off = 0;
      for (const x of parts) {
        out.set(x, off);
        off += x.length;
      }
      return tf.tensor1d(out);
    };
    tf.tidy(() => {
      this.m!.assign(flat(ms));
      this.v!.assign(flat(vs));
    });
  }

  dispose(): void {
    this.native?.dispose();
    this.m?.dispose();
    this.v?.dispose();
  }
}
