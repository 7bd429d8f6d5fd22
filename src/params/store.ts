/**
 * The one store of a model's trainable parameters: named tfjs variables with their serialisation
 * (plain arrays by name for checkpoints, JSON-safe lists for saved classifiers and autoencoders).
 * The generator (Seq2Seq), the classifier (ResNet3d) and the autoencoder keep their parameters
 * here and are trained by the same Adam (FlatAdam, src/train). Browser-safe.
 */
import { tf } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import type { Mulberry32 as Rng } from '../random/index.js';

/**
 * A generator's weights as plain arrays, by parameter name (what checkpoints store).
 *
 * @example
 * ```ts
 * import { createGenerator, type NamedWeights, initEngine } from 'mriseq';
 * await initEngine();
 * const g = createGenerator('lite');
 * const w: NamedWeights = g.getWeights();
 * console.log(Object.keys(w).length, w[Object.keys(w)[0]!]?.shape);
 * g.dispose();
 * ```
 */
export type NamedWeights = Record<string, { shape: number[]; data: Float32Array }>;

/**
 * One weight as JSON-safe data: what a saved classifier or autoencoder stores per parameter.
 *
 * @example
 * ```ts
 * import { ResNet3d, type SerializedWeights, initEngine } from 'mriseq';
 * await initEngine();
 * const net = new ResNet3d({ inputChannels: ['x'], classNames: ['a', 'b'], spatialKernel: 3 });
 * const w: SerializedWeights[] = net.serialize().weights;
 * console.log(w[0]?.name, w[0]?.shape);
 * net.dispose();
 * ```
 */
export interface SerializedWeights {
  name: string;
  shape: number[];
  values: number[];
}

/** How a model names a weight that does not fit it (its error message, code and file). */
export interface WeightFit {
  /** The message of a weight whose name is unknown or whose shape differs. */
  misfit: string;
  /** The error code. */
  code: string;
  /**
   * Every parameter must be given (a generator checkpoint): missing or extra names are an error
   * with this message. Without it any subset may be given.
   */
  incomplete?: string;
  /** The file the weights came from, for the error. */
  file?: string;
}

/**
 * Named parameters in creation order (the order weights are saved in): each a trainable tfjs
 * variable (tfjs names them uniquely; ours are per model). `create` and `createUniform` draw from the store's generator, in creation order (the
 * generator's initial weights); `add` takes values drawn by the model itself.
 * Seeded from the generator config's `seed`, so the same config gives the same initial weights.
 *
 * @example
 * ```ts
 * import { ModelRng, ParamStore, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const store = new ParamStore(new ModelRng(0));
 * const w = store.create('demo.w', [3, 3, 1, 8], 0.1);
 * console.log([...store.vars.keys()], w.shape);
 * w.dispose();
 * ```
 */
export class ParamStore {
  readonly vars = new Map<string, tf.Variable>();
  /** @param rng - The generator `create` and `createUniform` draw from (none: only `add`). */
  constructor(readonly rng?: Rng) {}

  /** Creates a trainable variable drawn from N(0, std^2); std 0 gives zeros. */
  create(name: string, shape: number[], std: number): tf.Variable {
    const rng = this.generator();
    return this.make(name, shape, (n, data) => {
      if (std > 0) for (let i = 0; i < n; i++) data[i] = std * rng.normal();
    });
  }

  /** Creates a trainable variable drawn from U(-bound, bound) (PyTorch's default Linear weights). */
  createUniform(name: string, shape: number[], bound: number): tf.Variable {
    const rng = this.generator();
    return this.make(name, shape, (n, data) => {
      for (let i = 0; i < n; i++) data[i] = bound * (2 * rng.next() - 1);
    });
  }

  /** Creates a trainable variable holding these values (length: the shape's size). */
  add(name: string, shape: number[], values: Float32Array): tf.Variable {
    return this.make(name, shape, (_, data) => data.set(values));
  }

  private generator(): Rng {
    if (!this.rng) throw new Error('mriseq ParamStore: create() needs the store made with a generator');
    return this.rng;
  }

  private make(name: string, shape: number[], fill: (n: number, data: Float32Array) => void): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} created twice`);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    fill(n, data);
    // tfjs variable names are global; ours are per model, so tfjs picks its own unique name.
    const t = tf.tensor(data, shape, 'float32');
    const v = tf.variable(t, true);
    t.dispose();
    this.vars.set(name, v);
    return v;
  }

  /** The variables in creation order (what an optimizer updates). */
  get variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Number of scalar parameters. */
  get parameterCount(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** Copies weights as plain arrays (name -> {shape, data}). */
  getWeights(): NamedWeights {
    const out: NamedWeights = {};
    for (const [k, v] of this.vars) out[k] = { shape: v.shape.slice(), data: v.dataSync() as Float32Array };
    return out;
  }

  /** Sets weights by name (a subset unless `fit.incomplete`), all checked before any is written. */
  setWeights(w: NamedWeights, fit: WeightFit): void {
    this.assignChecked(
      Object.entries(w).map(([name, e]) => ({ name, shape: e.shape, data: e.data })),
      fit,
    );
  }

  /** Weights as JSON-safe data, in creation order. */
  serialize(): SerializedWeights[] {
    return [...this.vars.entries()].map(([name, v]) => ({
      name,
      shape: v.shape.slice(),
      values: Array.from(v.dataSync()),
    }));
  }

  /** Sets weights from `serialize()`'s output (a subset unless `fit.incomplete`), checked first. */
  loadSerialized(weights: readonly SerializedWeights[], fit: WeightFit): void {
    this.assignChecked(
      weights.map((w) => ({ name: w.name, shape: w.shape, data: w.values })),
      fit,
    );
  }

  private assignChecked(
    entries: { name: string; shape: number[]; data: ArrayLike<number> }[],
    fit: WeightFit,
  ): void {
    if (fit.incomplete) {
      const given = new Set(entries.map((e) => e.name));
      const missing = [...this.vars.keys()].filter((k) => !given.has(k));
      const extra = [...given].filter((k) => !this.vars.has(k));
      if (missing.length || extra.length) {
        throw new MriseqError(fit.incomplete, {
          file: fit.file,
          field: 'weights',
          found: `missing ${missing.slice(0, 3).join(', ') || 'none'}; unexpected ${extra.slice(0, 3).join(', ') || 'none'}`,
          expected: `${this.vars.size} named tensors`,
          code: fit.code,
        });
      }
    }
    for (const e of entries) {
      const v = this.vars.get(e.name);
      if (!v || e.shape.join(',') !== v.shape.join(',') || e.data.length !== v.size) {
        throw new MriseqError(fit.misfit, {
          file: fit.file,
          field: e.name,
          found: `[${e.shape.join(', ')}]`,
          expected: v ? `[${v.shape.join(', ')}]` : 'a weight of this architecture',
          code: fit.code,
        });
      }
    }
    for (const e of entries) {
      const v = this.vars.get(e.name)!;
      tf.tidy(() => v.assign(tf.tensor(e.data as number[], v.shape, 'float32')));
    }
  }

  /** Frees every variable and empties the store. */
  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
