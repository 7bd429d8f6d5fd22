/**
 * The Seq2Seq generator (science spec, "The generator"): a shared encoder, ConvLSTM fusion over
 * sources or time, a second ConvLSTM that unrolls n_out output time points, and a decoder whose
 * convolution kernels are generated from the target code (hyper-convolutions).
 *
 * Every building block is a class with a plain JSON config (getConfig / fromConfig) registered
 * with tf.serialization, in the spirit of tfjs-layers; parameters live in one ParamStore keyed by
 * dotted names so weights can be saved, loaded and optimised as a flat list.
 */
import { hasKernel, MRISEQ_CONV_LSTM_FIRST, MRISEQ_LSTM_CELL, tf } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import { convNd, instanceNorm, leakyRelu, reflectPad, upsample2x } from './ops.js';
import { Mulberry32 as Rng } from '../random/index.js';
import { releaseCompiled } from './infer.js';
import { ParamStore, type NamedWeights, type WeightFit } from '../params/index.js';

export { ParamStore, type NamedWeights };

type Tensor = tf.Tensor;

abstract class Module extends tf.serialization.Serializable {
  abstract override getConfig(): tf.serialization.ConfigDict;
}

function kernelShape(ndims: number, k: number, cin: number, cout: number): number[] {
  return [...new Array<number>(ndims).fill(k), cin, cout];
}

// ---------------------------------------------------------------------------------------------
/** Reflect pad + conv (+ instance norm + LeakyReLU), PyTorch's Conv(padding_mode='reflect'). */
export interface ConvBlockConfig {
  name: string;
  ndims: 2 | 3;
  cin: number;
  cout: number;
  kernel: number;
  stride: number;
  norm: boolean;
  act: boolean;
}

/**
 * A convolution block of the generator: reflect padding, convolution, then instance norm
 * (else bias) and LeakyReLU as configured; Kaiming-normal weights. `apply` takes channels-last x.
 *
 * @example
 * ```ts
 * import { ConvBlock, ModelRng, ParamStore, tf, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const block = new ConvBlock(
 *   { name: 'c', ndims: 2, cin: 3, cout: 8, kernel: 3, stride: 2, norm: true, act: true },
 *   new ParamStore(new ModelRng(0)),
 * );
 * const y = tf.tidy(() => block.apply(tf.zeros([1, 16, 16, 3])));
 * console.log(y.shape); // [1, 8, 8, 8]
 * y.dispose();
 * ```
 */
export class ConvBlock extends Module {
  static className = 'MriseqConvBlock';
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(
    readonly config: ConvBlockConfig,
    store: ParamStore,
  ) {
    super();
    const { ndims, kernel: k, cin, cout, name } = config;
    // Kaiming normal (fan_in, gain sqrt 2), biases zero: the authors' initialisation.
    this.w = store.create(`${name}.w`, kernelShape(ndims, k, cin, cout), Math.sqrt(2 / (cin * k ** ndims)));
    this.b = store.create(`${name}.b`, [cout], 0);
  }
  apply(x: Tensor): Tensor {
    const { ndims, kernel, stride, norm, act } = this.config;
    const p = (kernel - 1) >> 1;
    let y = convNd(reflectPad(x, new Array<number>(ndims).fill(p)), this.w, stride, 'valid');
    // An instance norm removes any per-channel constant: before one the bias cannot change the
    // output (its gradient is 0 up to rounding, in PyTorch too), so it is not added there.
    y = norm ? instanceNorm(y) : tf.add(y, this.b);
    if (act) y = leakyRelu(y);
    return y;
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.config };
  }
}

/**
 * pad, conv3, norm, lrelu, pad, conv3, norm, + skip.
 * @example
 * ```ts
 * import { ModelRng, ParamStore, ResBlock, tf, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const res = new ResBlock({ name: 'r', ndims: 2, dim: 8 }, new ParamStore(new ModelRng(0)));
 * const y = tf.tidy(() => res.apply(tf.randomNormal([1, 8, 8, 8])));
 * console.log(y.shape); // [1, 8, 8, 8]
 * y.dispose();
 * ```
 */
export class ResBlock extends Module {
  static className = 'MriseqResBlock';
  readonly c1: ConvBlock;
  readonly c2: ConvBlock;
  constructor(
    readonly config: { name: string; ndims: 2 | 3; dim: number },
    store: ParamStore,
  ) {
    super();
    const base = { ndims: config.ndims, cin: config.dim, cout: config.dim, kernel: 3, stride: 1, norm: true };
    this.c1 = new ConvBlock({ ...base, name: `${config.name}.c1`, act: true }, store);
    this.c2 = new ConvBlock({ ...base, name: `${config.name}.c2`, act: false }, store);
  }
  apply(x: Tensor): Tensor {
    return tf.add(x, this.c2.apply(this.c1.apply(x)));
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.config };
  }
}

// ---------------------------------------------------------------------------------------------
/**
 * Hyper-convolution: kernel = P . f(s), bias = B . g(s), with f, g: Linear(c_s, c_w) of the style
 * vector s. P is stored as [c_w, k.., in, out] so one matmul yields the channels-last kernel.
 */
export interface HyperConvConfig {
  name: string;
  ndims: 2 | 3;
  cin: number;
  cout: number;
  kernel: number;
  styleDim: number;
  weightDim: number;
  /** How the code's linear maps start (see Seq2SeqConfig.linearInit). */
  linearInit?: LinearInit;
}

/**
 * Initial weights of the linear maps of the code (the style layer, and f and g of every
 * hyper-convolution). 'pytorch' (the authors', by default): nn.Linear's default U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)), with the biases zeroed as their Generator zeroes every bias. 'scaled' (mriseq
 * 0.1): N(0, 1/c_s) for the style layer and N(0, 1) for f and g, which gave the generated kernels
 * Kaiming variance for a one-hot code (kept to reproduce runs made with it).
 * @example
 * ```ts
 * import { createGenerator, type LinearInit, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const linearInit: LinearInit = 'scaled'; // reproduce a mriseq 0.1 run
 * createGenerator('lite', { linearInit }).dispose();
 * ```
 */
export type LinearInit = 'pytorch' | 'scaled';

function linearWeights(
  store: ParamStore,
  name: string,
  shape: [number, number],
  init: LinearInit | undefined,
  scaledStd: number,
): tf.Variable {
  return (init ?? 'pytorch') === 'pytorch'
    ? store.createUniform(name, shape, 1 / Math.sqrt(shape[0]))
    : store.create(name, shape, scaledStd);
}

/**
 * The decoder's hyper-convolution: its kernel P·f(s) and bias B·g(s) are generated from the target
 * code's style vector s by the linear maps f and g (the paper's sequence-specific decoder).
 *
 * @example
 * ```ts
 * import { HyperConv, ModelRng, ParamStore, tf, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const hc = new HyperConv(
 *   { name: 'h', ndims: 2, cin: 8, cout: 4, kernel: 3, styleDim: 4, weightDim: 16 },
 *   new ParamStore(new ModelRng(0)),
 * );
 * const { kernel, bias } = hc.weights(tf.oneHot([1], 4).toFloat());
 * console.log(kernel.shape, bias?.shape); // [3, 3, 8, 4] [4]
 * tf.dispose([kernel, bias!]);
 * ```
 */
export class HyperConv extends Module {
  static className = 'MriseqHyperConv';
  readonly P: tf.Variable;
  readonly B: tf.Variable;
  readonly fw: tf.Variable;
  readonly fb: tf.Variable;
  readonly gw: tf.Variable;
  readonly gb: tf.Variable;
  constructor(
    readonly config: HyperConvConfig,
    store: ParamStore,
  ) {
    super();
    const { name, ndims, cin, cout, kernel: k, styleDim, weightDim } = config;
    // f(s) has entries of order 1 (unit-variance rows over a code of order 1), so P gets the
    // Kaiming scale divided by sqrt(c_w): the generated kernel then has Kaiming variance.
    this.P = store.create(
      `${name}.P`,
      [weightDim, ...kernelShape(ndims, k, cin, cout)],
      Math.sqrt(2 / (cin * k ** ndims * weightDim)),
    );
    this.B = store.create(`${name}.B`, [weightDim, cout], 0);
    this.fw = linearWeights(store, `${name}.f.w`, [styleDim, weightDim], config.linearInit, 1);
    this.fb = store.create(`${name}.f.b`, [weightDim], 0);
    this.gw = linearWeights(store, `${name}.g.w`, [styleDim, weightDim], config.linearInit, 1);
    this.gb = store.create(`${name}.g.b`, [weightDim], 0);
  }
  /**
   * The kernel and bias this code generates; style: [1, c_s]. withBias false skips the bias
   * (for a conv followed by an instance norm, which cancels it).
   */
  weights(style: Tensor, withBias = true): HyperWeights {
    const { ndims, cin, cout, kernel: k, weightDim } = this.config;
    const f = tf.add(tf.matMul(style as tf.Tensor2D, this.fw as tf.Tensor2D), this.fb);
    const flatP = tf.reshape(this.P, [weightDim, -1]);
    const kernel = tf.reshape(
      tf.matMul(f as tf.Tensor2D, flatP as tf.Tensor2D),
      kernelShape(ndims, k, cin, cout),
    );
    if (!withBias) return { kernel };
    const g = tf.add(tf.matMul(style as tf.Tensor2D, this.gw as tf.Tensor2D), this.gb);
    const bias = tf.reshape(tf.matMul(g as tf.Tensor2D, this.B as tf.Tensor2D), [cout]);
    return { kernel, bias };
  }
  /** Valid convolution (the caller pads) with the weights of a style, or precomputed ones. */
  apply(x: Tensor, style: Tensor | HyperWeights): Tensor {
    const { kernel, bias } = style instanceof tf.Tensor ? this.weights(style) : style;
    const y = convNd(x, kernel, 1, 'valid');
    return bias ? tf.add(y, bias) : y;
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.config };
  }
}

/**
 * A hyper-convolution's generated kernel and bias for one target code.
 * @example
 * ```ts
 * import { HyperConv, ModelRng, ParamStore, tf, type HyperWeights, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const hc = new HyperConv({ name: 'h', ndims: 2, cin: 4, cout: 4, kernel: 3, styleDim: 2, weightDim: 8 }, new ParamStore(new ModelRng(0)));
 * const w: HyperWeights = hc.weights(tf.tensor2d([[1, 0]]), false);
 * console.log(w.kernel.shape, w.bias); // [3, 3, 4, 4] undefined
 * w.kernel.dispose();
 * ```
 */
export interface HyperWeights {
  kernel: Tensor;
  /** Absent where an instance norm follows (it would cancel the bias). */
  bias?: Tensor;
}

/**
 * Every hyper-convolution's weights for one target code, in decoder order (see decoderWeights).
 * @example
 * ```ts
 * import { createGenerator, tf, type DecoderWeights, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const g = createGenerator('lite');
 * const w: DecoderWeights = g.decoderWeights(g.codeIndex('t1gd'));
 * console.log(w.code, w.res.length, w.convs.length);
 * tf.dispose([...w.res.flat().flatMap((h) => [h.kernel, h.bias]), ...w.convs.flatMap((h) => [h.kernel, h.bias])].filter((t) => t !== undefined));
 * g.dispose();
 * ```
 */
export interface DecoderWeights {
  code: number;
  res: [HyperWeights, HyperWeights][];
  convs: HyperWeights[];
}

/**
 * Parts of a decode computed earlier in the same step (see Seq2Seq.decode).
 * @example
 * ```ts
 * import { createGenerator, tf, type DecodeReuse, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const g = createGenerator('lite');
 * const y = tf.tidy(() => {
 *   const feature = g.encode(tf.zeros([1, 1, 32, 32, 1]));
 *   const reuse: DecodeReuse = { weights: g.decoderWeights(1), state: g.decoderState(feature) };
 *   return g.decode(feature, 1, 1, reuse);
 * });
 * console.log(y.shape); // [1, 1, 32, 32, 1]
 * y.dispose();
 * g.dispose();
 * ```
 */
export interface DecodeReuse {
  /** decoderWeights(code) for the same code. */
  weights?: DecoderWeights;
  /** decoderState(feature, nOut) for the same feature and nOut. */
  state?: Tensor;
}

/**
 * A residual block of two {@link HyperConv}s (the decoder's residual blocks), each with reflect
 * padding and instance norm.
 *
 * @example
 * ```ts
 * import { HyperResBlock, ModelRng, ParamStore, tf, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const block = new HyperResBlock({ name: 'hr', ndims: 2, dim: 8, styleDim: 4, weightDim: 16 }, new ParamStore(new ModelRng(0)));
 * const y = tf.tidy(() => block.apply(tf.randomNormal([1, 8, 8, 8]), tf.oneHot([2], 4).toFloat()));
 * console.log(y.shape); // [1, 8, 8, 8]
 * y.dispose();
 * ```
 */
export class HyperResBlock extends Module {
  static className = 'MriseqHyperResBlock';
  readonly c1: HyperConv;
  readonly c2: HyperConv;
  constructor(
    readonly config: { name: string; ndims: 2 | 3; dim: number; styleDim: number; weightDim: number },
    store: ParamStore,
  ) {
    super();
    const base = { ...config, cin: config.dim, cout: config.dim, kernel: 3 };
    this.c1 = new HyperConv({ ...base, name: `${config.name}.c1` }, store);
    this.c2 = new HyperConv({ ...base, name: `${config.name}.c2` }, store);
  }
  /** style: the style vector, or the two convolutions' precomputed weights. */
  apply(x: Tensor, style: Tensor | [HyperWeights, HyperWeights]): Tensor {
    const pads = new Array<number>(this.config.ndims).fill(1);
    // both convs feed an instance norm: no biases (see ConvBlock.apply)
    const [w1, w2] =
      style instanceof tf.Tensor ? [this.c1.weights(style, false), this.c2.weights(style, false)] : style;
    const y = leakyRelu(instanceNorm(this.c1.apply(reflectPad(x, pads), w1)));
    return tf.add(x, instanceNorm(this.c2.apply(reflectPad(y, pads), w2)));
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.config };
  }
}

// ---------------------------------------------------------------------------------------------
/**
 * Multi-layer ConvLSTM (gates i, f, o, g from one 'same' zero-padded conv of [input, hidden]).
 * The input and hidden parts of each gate conv are kept as two weights so the input part of all
 * time points runs as one batched conv and the zero initial state costs nothing.
 * @example
 * ```ts
 * import { ConvLSTM, ModelRng, ParamStore, tf, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const lstm = new ConvLSTM({ name: 'l', ndims: 2, cin: 8, hidden: 8, kernel: 3, layers: 1 }, new ParamStore(new ModelRng(0)));
 * const hs = tf.tidy(() => lstm.apply([tf.zeros([1, 4, 4, 8]), tf.ones([1, 4, 4, 8])]));
 * console.log(hs.length, hs[1]?.shape); // 2 [1, 4, 4, 8]
 * tf.dispose(hs);
 * ```
 */
export class ConvLSTM extends Module {
  static className = 'MriseqConvLSTM';
  readonly wx: tf.Variable[] = [];
  readonly wh: tf.Variable[] = [];
  readonly b: tf.Variable[] = [];
  constructor(
    readonly config: {
      name: string;
      ndims: 2 | 3;
      cin: number;
      hidden: number;
      kernel: number;
      layers: number;
    },
    store: ParamStore,
  ) {
    super();
    const { name, ndims, cin, hidden, kernel: k, layers } = config;
    for (let l = 0; l < layers; l++) {
      const ci = l === 0 ? cin : hidden;
      const std = Math.sqrt(2 / ((ci + hidden) * k ** ndims));
      this.wx.push(store.create(`${name}.l${l}.wx`, kernelShape(ndims, k, ci, 4 * hidden), std));
      this.wh.push(store.create(`${name}.l${l}.wh`, kernelShape(ndims, k, hidden, 4 * hidden), std));
      this.b.push(store.create(`${name}.l${l}.b`, [4 * hidden], 0));
    }
  }
  /**
   * xs: T tensors [B, ...spatial, C] (the same tensor object repeated means a repeated input,
   * computed once). Returns the last layer's hidden state at every time point.
   */
  apply(xs: Tensor[]): Tensor[] {
    const { hidden, layers } = this.config;
    let inputs = xs;
    // One time point from a zero state (2D training and inference): the layer as one fused kernel,
    // convolution included, that skips the forget gate's quarter (it multiplies a zero state).
    const fusedFirst = xs.length === 1 && xs[0]!.rank === 4 && hasKernel(MRISEQ_CONV_LSTM_FIRST);
    for (let l = 0; l < layers; l++) {
      if (fusedFirst) {
        const r = tf
          .engine()
          .runKernel(
            MRISEQ_CONV_LSTM_FIRST,
            { x: inputs[0]!, w: this.wx[l]!, b: this.b[l]! },
            {},
          ) as Tensor[];
        // the activated gates are an output only for the gradient, which keeps its own copy
        r[1]!.dispose();
        inputs = [r[0]!];
        continue;
      }
      const distinct = [...new Set(inputs)];
      const batch = distinct[0].shape[0];
      const conv = tf.add(
        convNd(distinct.length === 1 ? distinct[0] : tf.concat(distinct, 0), this.wx[l], 1, 'same'),
        this.b[l],
      );
      const parts = distinct.length === 1 ? [conv] : tf.split(conv, distinct.length, 0);
      const byInput = new Map(distinct.map((d, i) => [d, parts[i]]));
      void batch;
      let h: Tensor | undefined;
      let c: Tensor | undefined;
      const outs: Tensor[] = [];
      // The gate math as one fused kernel (forward and backward) where the backend has it.
      const fused = hasKernel(MRISEQ_LSTM_CELL);
      for (const x of inputs) {
        let z = byInput.get(x)!;
        if (h) z = tf.add(z, convNd(h, this.wh[l], 1, 'same'));
        if (fused) {
          const r = tf
            .engine()
            .runKernel(
              c ? MRISEQ_LSTM_CELL : `${MRISEQ_LSTM_CELL}First`,
              c ? { z, c } : { z },
              {},
            ) as Tensor[];
          [h, c] = r as [Tensor, Tensor];
          outs.push(h);
          continue;
        }
        const [zi, zf, zo, zg] = tf.split(z, 4, -1);
        const i = tf.sigmoid(zi);
        const o = tf.sigmoid(zo);
        const g = tf.tanh(zg);
        c = c ? tf.add(tf.mul(tf.sigmoid(zf), c), tf.mul(i, g)) : tf.mul(i, g);
        h = tf.mul(o, tf.tanh(c));
        outs.push(h);
      }
      void hidden;
      inputs = outs;
    }
    return inputs;
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.config };
  }
}

// ---------------------------------------------------------------------------------------------
/**
 * The generator's architecture (see {@link preset} for the named ones).
 *
 * @example
 * ```ts
 * import { createGenerator, preset, type Seq2SeqConfig, initEngine } from 'mriseq';
 * await initEngine();
 * const config: Seq2SeqConfig = { ...preset('lite'), nresEnc: 1, nresDec: 1, seed: 7 };
 * createGenerator(config).dispose();
 * ```
 */
export interface Seq2SeqConfig {
  /** 2: slices with c_in adjacent z slices as channels; 3: volumes (conv3d, trilinear). */
  ndims: 2 | 3;
  /** Input/output channels (adjacent slices for 2D). */
  cIn: number;
  cEnc: number[];
  kEnc: number[];
  sEnc: number[];
  nresEnc: number;
  nresDec: number;
  /** Decoder channels; the last equals cIn. Every stage but the last upsamples x2. */
  cDec: number[];
  kDec: number[];
  /** ConvLSTM width (= last encoder width). */
  cLstm: number;
  lstmLayers: number;
  /** Code length c_s (max number of sequences). */
  cS: number;
  /** Hyper-weight width c_w. */
  cW: number;
  /** The sequence names, in code order: sequences[i] has one-hot code i. */
  sequences: string[];
  /** Seed of the initial weights. */
  seed: number;
  /** Initial weights of the code's linear maps (default 'pytorch', the authors'; see LinearInit). */
  linearInit?: LinearInit;
  /**
   * Time points of the 4D sequences the generator was trained on (e.g. { dce: 6 }): generate()
   * makes a series of that length for a subject that lacks the target. Sequences not named are 3D.
   */
  timePoints?: Record<string, number>;
}

/**
 * The named generator configurations of {@link preset}.
 *
 * @example
 * ```ts
 * import { createGenerator, type PresetName, initEngine } from 'mriseq';
 * await initEngine();
 * const name: PresetName = 'lite';
 * createGenerator(name).dispose();
 * ```
 */
export type PresetName = 'reference' | 'reference-small' | 'lite';

/**
 * The preset names, for option parsing and error messages.
 * @example
 * ```ts
 * import { PRESET_NAMES, preset } from 'mriseq/browser';
 * for (const name of PRESET_NAMES) console.log(name, preset(name).nresEnc);
 * ```
 */
export const PRESET_NAMES: readonly PresetName[] = ['lite', 'reference', 'reference-small'];

/**
 * Named configurations.
 * - 'reference': the authors' published 2D configuration (seq2seq_brats_2d_missing.yaml): c_in 3,
 *   encoder 64/128/256, 6 + 6 residual blocks, 155,159,760 parameters.
 * - 'reference-small': the same with 3 + 3 residual blocks (94,959,120 parameters; mriseq 0.1's
 *   'reference').
 * - 'lite': 3,316,416 parameters like the authors' lite model; what runs on a laptop CPU.
 * @param name - 'reference', 'reference-small' or 'lite'.
 * @param overrides - Fields replacing the preset's.
 * @returns The configuration (nothing is allocated).
 * @throws {@link MriseqError} for an unknown name.
 * @example
 * ```ts
 * import { preset } from 'mriseq';
 * const c = preset('reference');
 * console.log(c.ndims, c.cIn, c.cEnc, c.sequences); // 2 3 [64, 128, 256] ['t1', 't1gd', 't2', 'flair']
 * ```
 */
export function preset(name: PresetName, overrides: Partial<Seq2SeqConfig> = {}): Seq2SeqConfig {
  const sequences = ['t1', 't1gd', 't2', 'flair'];
  let base: Seq2SeqConfig;
  if (name === 'reference' || name === 'reference-small') {
    const nres = name === 'reference' ? 6 : 3;
    base = {
      ndims: 2,
      cIn: 3,
      cEnc: [64, 128, 256],
      kEnc: [7, 3, 3],
      sEnc: [1, 2, 2],
      nresEnc: nres,
      nresDec: nres,
      cDec: [128, 64, 3],
      kDec: [3, 3, 7],
      cLstm: 256,
      lstmLayers: 3,
      cS: 64,
      cW: 16,
      sequences,
      seed: 0,
    };
  } else if (name === 'lite') {
    base = {
      ndims: 2,
      cIn: 1,
      cEnc: [16, 32, 64],
      kEnc: [7, 3, 3],
      sEnc: [1, 2, 2],
      nresEnc: 2,
      nresDec: 2,
      cDec: [32, 16, 1],
      kDec: [3, 3, 7],
      cLstm: 64,
      lstmLayers: 3,
      cS: 8,
      cW: 8,
      sequences,
      seed: 0,
    };
  } else {
    throw new MriseqError(`unknown preset '${String(name)}'`, {
      field: 'preset',
      found: String(name),
      expected: PRESET_NAMES.join(', '),
      code: 'model.preset',
    });
  }
  const cfg = { ...base, ...overrides };
  if (overrides.cIn !== undefined && overrides.cDec === undefined)
    cfg.cDec = [...base.cDec.slice(0, -1), overrides.cIn];
  return cfg;
}

/**
 * Checks a generator configuration before anything is allocated.
 *
 * @param c - The configuration.
 * @param file - Names the config file in errors.
 * @throws {@link MriseqError} 'invalid generator config' naming the field and what it expects (ndims,
 *   channel lists, kernels and strides, cDec ending in cIn, sequences within cS, linearInit, at most
 *   500 million parameters).
 * @example
 * ```ts
 * import { preset, validateConfig } from 'mriseq/browser';
 * try {
 *   validateConfig({ ...preset('lite'), cDec: [64, 32, 2] }); // the last decoder width must equal cIn
 * } catch (e) {
 *   console.log((e as Error).message);
 * }
 * ```
 */
export function validateConfig(c: Seq2SeqConfig, file?: string): void {
  const bad = (field: string, found: unknown, expected: string): never => {
    throw new MriseqError('invalid generator config', {
      file,
      field,
      found: JSON.stringify(found),
      expected,
      code: 'model.config',
    });
  };
  if (c.ndims !== 2 && c.ndims !== 3) bad('ndims', c.ndims, '2 or 3');
  // Upper bounds keep a hostile or corrupt config from allocating without end.
  const posInt = (v: unknown, max = 4096): boolean =>
    Number.isInteger(v) && (v as number) > 0 && (v as number) <= max;
  for (const k of ['cIn', 'cLstm', 'cS', 'cW'] as const)
    if (!posInt(c[k])) bad(k, c[k], 'an integer in 1..4096');
  if (!posInt(c.lstmLayers, 16)) bad('lstmLayers', c.lstmLayers, 'an integer in 1..16');
  for (const k of ['nresEnc', 'nresDec'] as const)
    if (!Number.isInteger(c[k]) || c[k] < 0 || c[k] > 64) bad(k, c[k], 'an integer in 0..64');
  for (const k of ['cEnc', 'cDec'] as const) {
    if (!Array.isArray(c[k]) || c[k].length < 1 || c[k].length > 8 || !c[k].every((v) => posInt(v)))
      bad(k, c[k], '1 to 8 integers in 1..4096');
  }
  for (const k of ['kEnc', 'sEnc', 'kDec'] as const) {
    if (!Array.isArray(c[k]) || !c[k].every((v) => posInt(v, 15)))
      bad(k, c[k], 'an array of integers in 1..15');
  }
  if (c.kEnc.length !== c.cEnc.length || c.sEnc.length !== c.cEnc.length)
    bad('kEnc/sEnc', [c.kEnc, c.sEnc], `${c.cEnc.length} entries like cEnc`);
  if (c.kDec.length !== c.cDec.length) bad('kDec', c.kDec, `${c.cDec.length} entries like cDec`);
  if (c.cDec[c.cDec.length - 1] !== c.cIn) bad('cDec', c.cDec, `last entry = cIn (${c.cIn})`);
  if (c.cLstm !== c.cEnc[c.cEnc.length - 1])
    bad('cLstm', c.cLstm, `the last encoder width ${c.cEnc[c.cEnc.length - 1]}`);
  if (!Array.isArray(c.sequences) || c.sequences.length < 1 || c.sequences.length > c.cS)
    bad('sequences', c.sequences, `1 to cS=${c.cS} names`);
  if (!Number.isInteger(c.seed)) bad('seed', c.seed, 'an integer');
  if (c.linearInit !== undefined && c.linearInit !== 'pytorch' && c.linearInit !== 'scaled')
    bad('linearInit', c.linearInit, "'pytorch' or 'scaled'");
  if (c.sequences.some((x) => typeof x !== 'string')) bad('sequences', c.sequences, 'names (strings)');
  if (c.timePoints !== undefined) {
    if (typeof c.timePoints !== 'object' || c.timePoints === null || Array.isArray(c.timePoints))
      bad('timePoints', c.timePoints, 'an object { sequence: number of time points }');
    for (const [k, v] of Object.entries(c.timePoints))
      if (!c.sequences.includes(k) || !posInt(v, 1024))
        bad(`timePoints.${k}`, v, 'a sequence of the generator and an integer in 1..1024');
  }
  const params = estimateParams(c);
  if (params > 5e8) bad('size', params, 'at most 500 million parameters');
}

/**
 * Parameter count of a (validated-shape) config, without allocating anything.
 * @param c - A configuration (shapes valid).
 * @returns The number of trainable parameters its generator has.
 * @example
 * ```ts
 * import { estimateParams, preset } from 'mriseq/browser';
 * console.log(estimateParams(preset('lite')), estimateParams(preset('reference'))); // 3316416 155159760
 * ```
 */
export function estimateParams(c: Seq2SeqConfig): number {
  const k = (n: number) => n ** c.ndims;
  let n = 0;
  let prev = c.cIn;
  c.cEnc.forEach((ch, i) => {
    n += k(c.kEnc[i]) * prev * ch + ch;
    prev = ch;
  });
  n += c.nresEnc * 2 * (k(3) * prev * prev + prev);
  n += 2 * c.lstmLayers * (2 * k(3) * c.cLstm * 4 * c.cLstm + 4 * c.cLstm);
  n += c.cS * c.cS + c.cS;
  const hyper = (cin: number, cout: number, kk: number) =>
    c.cW * k(kk) * cin * cout + c.cW * cout + 2 * (c.cS * c.cW + c.cW);
  n += c.nresDec * 2 * hyper(prev, prev, 3);
  c.cDec.forEach((ch, i) => {
    n += hyper(prev, ch, c.kDec[i]);
    prev = ch;
  });
  return n;
}

/**
 * The paper's generator y_t = G(x_s, code_t): a shared encoder of the source sequence(s), a ConvLSTM
 * fusing time points, and a decoder whose kernels are hyper-weights of the target sequence's one-hot
 * code. 2D models work on 2.5D stacks of `cIn` adjacent axial slices, 3D models on volumes.
 * Tensors are channels-last: input [B, T, H, W, cIn] (2D) or [B, T, D, H, W, cIn] (3D), values in
 * normalised [-1, 1]; spatial sizes must be multiples of `spatialMultiple`. Dispose it when done.
 *
 * @example
 * ```ts
 * import { Seq2Seq, preset, tf, initEngine } from 'mriseq';
 * await initEngine();
 * const model = new Seq2Seq(preset('lite'));
 * const y = tf.tidy(() => model.apply(tf.zeros([1, 1, 32, 32, 1]), 't1gd')); // lite: cIn 1; [B, nOut, H, W, cIn]
 * console.log(model.countParams(), y.shape); // 3316416 [1, 1, 32, 32, 1]
 * y.dispose();
 * model.dispose();
 * ```
 */
export class Seq2Seq extends Module {
  static className = 'MriseqSeq2Seq';
  readonly store: ParamStore;
  readonly encConvs: ConvBlock[] = [];
  readonly encRes: ResBlock[] = [];
  readonly encLstm: ConvLSTM;
  readonly decLstm: ConvLSTM;
  readonly styleW: tf.Variable;
  readonly styleB: tf.Variable;
  readonly decRes: HyperResBlock[] = [];
  readonly decConvs: HyperConv[] = [];

  constructor(readonly config: Seq2SeqConfig) {
    super();
    validateConfig(config);
    const c = config;
    const nd = c.ndims;
    this.store = new ParamStore(new Rng(c.seed));
    const s = this.store;
    let prev = c.cIn;
    c.cEnc.forEach((ch, i) => {
      this.encConvs.push(
        new ConvBlock(
          {
            name: `enc.conv${i}`,
            ndims: nd,
            cin: prev,
            cout: ch,
            kernel: c.kEnc[i],
            stride: c.sEnc[i],
            norm: true,
            act: true,
          },
          s,
        ),
      );
      prev = ch;
    });
    for (let i = 0; i < c.nresEnc; i++)
      this.encRes.push(new ResBlock({ name: `enc.res${i}`, ndims: nd, dim: prev }, s));
    const lstm = { ndims: nd, cin: c.cLstm, hidden: c.cLstm, kernel: 3, layers: c.lstmLayers };
    this.encLstm = new ConvLSTM({ ...lstm, name: 'fuse.lstm' }, s);
    this.decLstm = new ConvLSTM({ ...lstm, name: 'dec.lstm' }, s);
    this.styleW = linearWeights(s, 'style.w', [c.cS, c.cS], c.linearInit, Math.sqrt(1 / c.cS));
    this.styleB = s.create('style.b', [c.cS], 0);
    const hc = { ndims: nd, styleDim: c.cS, weightDim: c.cW, linearInit: c.linearInit };
    for (let i = 0; i < c.nresDec; i++)
      this.decRes.push(new HyperResBlock({ ...hc, name: `dec.res${i}`, dim: prev }, s));
    c.cDec.forEach((ch, i) => {
      this.decConvs.push(
        new HyperConv({ ...hc, name: `dec.conv${i}`, cin: prev, cout: ch, kernel: c.kDec[i] }, s),
      );
      prev = ch;
    });
  }

  /** All parameters by name, in a fixed order. */
  get variables(): Map<string, tf.Variable> {
    return this.store.vars;
  }

  /**
   * Parameters per layer, in creation order: 'enc.conv0', 'enc.res0', 'fuse.lstm.l0', 'style',
   * 'dec.lstm.l0', 'dec.res0', 'dec.conv0', ... (a residual block and a ConvLSTM layer count as one
   * layer each, as the authors' modules do).
   */
  layerParameterCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, v] of this.store.vars) {
      const parts = name.split('.');
      const layer = parts[0] === 'style' ? 'style' : parts.slice(0, parts[1] === 'lstm' ? 3 : 2).join('.');
      out.set(layer, (out.get(layer) ?? 0) + v.size);
    }
    return out;
  }

  countParams(): number {
    return this.store.parameterCount;
  }

  /** Index of a sequence's code, or a MriseqError naming the known sequences. */
  codeIndex(sequence: string | number): number {
    if (typeof sequence === 'number') {
      if (Number.isInteger(sequence) && sequence >= 0 && sequence < this.config.cS) return sequence;
      throw new MriseqError('target code out of range', {
        field: 'target',
        found: String(sequence),
        expected: `0..${this.config.cS - 1}`,
      });
    }
    const i = this.config.sequences.indexOf(sequence);
    if (i < 0)
      throw new MriseqError('the generator has no code for this sequence', {
        field: 'target',
        found: sequence,
        expected: this.config.sequences.join(', '),
      });
    return i;
  }

  /**
   * style = LeakyReLU(Linear(one-hot code)) as [1, c_s]. `onehot` ([1, c_s] float32) passes the
   * code's one-hot vector as a tensor: a compiled training step feeds it, so that one recorded
   * function serves every code.
   */
  style(code: number, onehot?: Tensor): Tensor {
    const oh = onehot ?? tf.oneHot(tf.tensor1d([code], 'int32'), this.config.cS).toFloat();
    return leakyRelu(tf.add(tf.matMul(oh as tf.Tensor2D, this.styleW as tf.Tensor2D), this.styleB));
  }

  /** Encodes x [B, T, ...spatial, C] into the fused feature [B, ...spatial/4, F] (mean over t). */
  encode(x: Tensor): Tensor {
    const [b, t] = x.shape;
    const spatial = x.shape.slice(2);
    this.checkInput(x);
    let h = tf.reshape(x, [b * t, ...spatial]);
    for (const c of this.encConvs) h = c.apply(h);
    for (const r of this.encRes) h = r.apply(h);
    // batch-major [B*T] -> T tensors of [B, ...]
    const fs = h.shape.slice(1);
    const seq = t === 1 ? [h] : tf.unstack(tf.reshape(h, [b, t, ...fs]), 1);
    const outs = this.encLstm.apply(seq);
    return outs.length === 1 ? outs[0] : tf.div(tf.addN(outs), outs.length);
  }

  /**
   * The decoder's kernels P.f(s) and biases B.g(s) for one code. They depend on the code only:
   * a training step that decodes twice for the same code (self-reconstruction and cycle)
   * computes them once and passes them to decode(). `onehot`: see style().
   */
  decoderWeights(code: number, onehot?: Tensor): DecoderWeights {
    const style = this.style(code, onehot);
    return {
      code,
      // Every hyper-conv but the last feeds an instance norm, which cancels a bias.
      res: this.decRes.map((r) => [r.c1.weights(style, false), r.c2.weights(style, false)]),
      convs: this.decConvs.map((c, i) => c.weights(style, i === this.decConvs.length - 1)),
    };
  }

  /**
   * The decoder's ConvLSTM unrolled nOut times over a fused feature: [B*nOut, ...spatial/4, F].
   * It does not depend on the target code, so decodes of one feature to several targets can
   * share it (DecodeReuse.state).
   */
  decoderState(feature: Tensor, nOut = 1): Tensor {
    const seq = this.decLstm.apply(new Array<Tensor>(nOut).fill(feature));
    if (seq.length === 1) return seq[0];
    const b = feature.shape[0];
    const h = tf.concat(
      seq.map((s) => tf.expandDims(s, 1)),
      1,
    );
    return tf.reshape(h, [b * nOut, ...feature.shape.slice(1)]);
  }

  /**
   * Decodes a fused feature into [B, nOut, ...spatial, cIn] for the target code. `reuse` passes
   * parts already computed in this step for the same code (weights) or feature and nOut (state):
   * the same values and gradients as computing them again, for fewer ops.
   */
  decode(feature: Tensor, code: number, nOut = 1, reuse: DecodeReuse = {}): Tensor {
    const { weights, state } = reuse;
    if (weights && weights.code !== code) throw new Error('decode: weights were made for another code');
    const w = weights ?? this.decoderWeights(code);
    const b = feature.shape[0];
    let h = state ?? this.decoderState(feature, nOut);
    this.decRes.forEach((r, i) => (h = r.apply(h, w.res[i]!)));
    const nd = this.config.ndims;
    const n = this.decConvs.length;
    this.decConvs.forEach((conv, i) => {
      const p = (this.config.kDec[i] - 1) >> 1;
      if (i < n - 1) {
        h = leakyRelu(
          instanceNorm(conv.apply(reflectPad(upsample2x(h), new Array<number>(nd).fill(p)), w.convs[i]!)),
        );
      } else {
        h = tf.tanh(conv.apply(reflectPad(h, new Array<number>(nd).fill(p)), w.convs[i]!));
      }
    });
    return tf.reshape(h, [b, nOut, ...h.shape.slice(1)]);
  }

  /** G(x, code): x [B, T, ...spatial, cIn] with spatial sizes multiples of 4 -> [B, nOut, ...]. */
  apply(x: Tensor, target: string | number, nOut = 1, reuse: Pick<DecodeReuse, 'weights'> = {}): Tensor {
    return this.decode(this.encode(x), this.codeIndex(target), nOut, reuse);
  }

  /** The spatial multiple inputs must have (product of encoder strides). */
  get spatialMultiple(): number {
    return this.config.sEnc.reduce((a, b) => a * b, 1);
  }

  private checkInput(x: Tensor): void {
    const c = this.config;
    const m = this.spatialMultiple;
    const bad =
      x.rank !== c.ndims + 3 ||
      x.shape[x.rank - 1] !== c.cIn ||
      x.shape.slice(2, -1).some((d) => d % m !== 0);
    if (bad) {
      throw new MriseqError('generator input has the wrong shape', {
        field: 'x',
        found: `[${x.shape.join(', ')}]`,
        expected: `[B, T, ${new Array<string>(c.ndims).fill(`multiple of ${m}`).join(', ')}, ${c.cIn}]`,
        code: 'model.input',
      });
    }
  }

  /** Copies weights as plain arrays (name -> {shape, data}). */
  getWeights(): NamedWeights {
    return this.store.getWeights();
  }

  /** Sets every weight; names and shapes must match exactly. */
  setWeights(w: NamedWeights, file?: string): void {
    this.store.setWeights(w, { ...GENERATOR_WEIGHTS, file });
  }

  dispose(): void {
    releaseCompiled(this);
    this.store.dispose();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return JSON.parse(JSON.stringify(this.config)) as tf.serialization.ConfigDict;
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config as unknown as Seq2SeqConfig) as T;
  }
}

/** How a generator checkpoint must fit: every weight, exactly the stored names and shapes. */
const GENERATOR_WEIGHTS: WeightFit = {
  misfit: 'weight shape does not match the generator config',
  incomplete: 'weights do not match the generator config',
  code: 'checkpoint.mismatch',
};

for (const cls of [ConvBlock, ResBlock, HyperConv, HyperResBlock, ConvLSTM, Seq2Seq]) {
  tf.serialization.registerClass(
    cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
  );
}

/**
 * Builds a generator from a preset name or a full config (seeded initial weights).
 * @param config - A preset name ('lite' by default, 'reference', 'reference-small') or a full {@link Seq2SeqConfig}.
 * @param overrides - Fields replacing the preset's (e.g. `sequences`, `seed`).
 * @returns A new {@link Seq2Seq} with seeded initial weights.
 * @throws {@link MriseqError} for an unknown preset or an invalid config (field named).
 * @example
 * ```ts
 * import { createGenerator, initEngine } from 'mriseq';
 * await initEngine();
 * const g = createGenerator('lite', { sequences: ['t1', 't1gd', 't2', 'flair', 'dwi'], seed: 3 });
 * console.log(g.config.sequences.length, g.spatialMultiple);
 * g.dispose();
 * ```
 */
export function createGenerator(
  config: PresetName | Seq2SeqConfig = 'lite',
  overrides: Partial<Seq2SeqConfig> = {},
): Seq2Seq {
  const c = typeof config === 'string' ? preset(config, overrides) : { ...config, ...overrides };
  return new Seq2Seq(c);
}
