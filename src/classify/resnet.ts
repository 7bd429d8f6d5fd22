/**
 * A 3D residual network with optional CBAM attention, written on raw tfjs ops over named
 * variables so that (1) its config + weights serialise to plain objects and reload in a fresh
 * process, (2) any stage's activation can be captured or replaced, which is what Grad-CAM needs.
 *
 * Input: [B, D, H, W, C] channels-last (D = nz, H = ny, W = nx; C = the chosen sequences and M_d
 * maps, in `inputChannels` order). Output: class logits [B, K].
 *
 * Layout (weighted layers counted as in the ResNet names):
 * - stem: conv3d k3 (stride `stemStride`) -> GroupNorm -> ReLU
 * - stages: basic blocks (conv3 -> GN -> ReLU -> conv3 -> GN -> [CBAM] -> + shortcut -> ReLU);
 *   stage i has width baseWidth * 2^i and stride 1 for the first stage, 2 after.
 *   ResNet18: 4 stages x 2 blocks (1 + 16 convs + 1 dense = 18).
 *   ResNet6: 2 stages x 1 block (1 + 4 convs + 1 dense = 6); our choice, the paper does not give it.
 * - head: global average pool -> dense K.
 * Deviation: GroupNorm instead of BatchNorm, because downstream cohorts are small and batches of
 * a few 3D volumes make batch statistics noisy; GroupNorm has no running state to carry.
 * CBAM (Woo et al. 2018) sits on the residual branch before the addition: channel attention
 * (shared MLP over the spatial mean and max, sigmoid) then spatial attention (conv over the
 * channel mean and max maps, sigmoid).
 */
import { tf } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import { createRng, normal } from './random.js';
import { ParamStore, type SerializedWeights, type WeightFit } from '../params/index.js';

export type { SerializedWeights };

/**
 * A {@link ResNet3d}'s full configuration (what a saved classifier stores).
 *
 * @example
 * ```ts
 * import { ResNet3d, type ResNet3dConfig, initEngine } from 'mriseq';
 * await initEngine();
 * const net = new ResNet3d({ inputChannels: ['t1gd'], classNames: ['a', 'b'] });
 * const c: ResNet3dConfig = net.config;
 * console.log(c.depth, c.baseWidth, c.attention, c.groups);
 * net.dispose();
 * ```
 */
export interface ResNet3dConfig {
  /** Names of the input channels, in order (e.g. ['t1gd', 'flair', 'md:t1gd']). */
  inputChannels: string[];
  /** Class names, in output order. */
  classNames: string[];
  depth: 6 | 18;
  /** Width of the first stage (default 8; the paper's ResNets use 64). */
  baseWidth: number;
  /** CBAM attention on every residual block (default on). */
  attention: boolean;
  /** CBAM channel-MLP reduction ratio (default 4). */
  reduction: number;
  /** CBAM spatial-attention kernel (default 7; 3 suits tiny volumes). */
  spatialKernel: number;
  stemStride: 1 | 2;
  /** GroupNorm groups (capped by the width; default 4). */
  groups: number;
  /** Seed of the weight initialisation. */
  seed: number;
  /**
   * Global pooling before the dense head (default 'avg'). 'max' or 'avgmax' (both, concatenated)
   * keep a small, local finding (a few hundred voxels of necrosis in a lesion crop) from being
   * averaged away: after GroupNorm, which normalises each subject's feature maps over space, a
   * sparse detector's mean barely differs between subjects with and without the finding.
   */
  pooling: 'avg' | 'max' | 'avgmax';
  /**
   * 'group' (default): GroupNorm. 'none': a per-channel scale and bias only (the same parameters),
   * for inputs where per-subject statistics mislead: in a region of interest whose outside is
   * background, GroupNorm's mean and variance are set mostly by the lesion's size, not its content.
   */
  norm: 'group' | 'none';
}

/**
 * The {@link ResNet3d} constructor's options: input channels and class names, the rest defaulted.
 *
 * @example
 * ```ts
 * import { ResNet3d, type ResNet3dOptions, initEngine } from 'mriseq';
 * await initEngine();
 * const o: ResNet3dOptions = { inputChannels: ['t1gd', 'md:t1gd'], classNames: ['15-19%', '24-30%'], depth: 18, baseWidth: 16 };
 * new ResNet3d(o).dispose();
 * ```
 */
export type ResNet3dOptions = Partial<ResNet3dConfig> & Pick<ResNet3dConfig, 'inputChannels' | 'classNames'>;

/** Hook into one named activation: read it, or replace it (the forward continues from `replace`). */
export interface ActivationHook {
  layer: string;
  capture?: (activation: tf.Tensor) => void;
  replace?: tf.Tensor;
}

export function blocksPerStage(depth: 6 | 18): number[] {
  if (depth === 6) return [1, 1];
  if (depth === 18) return [2, 2, 2, 2];
  throw new MriseqError('unsupported ResNet depth', {
    field: 'depth',
    found: String(depth),
    expected: '6 or 18',
    code: 'classify.depth',
  });
}

/**
 * The downstream classifier: a 3D ResNet (depth 6 or 18) with optional CBAM attention and GroupNorm,
 * on raw tfjs ops so its weights serialise and any stage's activation can be captured (Grad-CAM).
 * Input [B, D, H, W, C] channels-last (C = `inputChannels`), output logits [B, K]. Dispose it when done.
 *
 * @example
 * ```ts
 * import { ResNet3d, tf, initEngine } from 'mriseq';
 * await initEngine();
 * const net = new ResNet3d({ inputChannels: ['t1gd', 'flair'], classNames: ['low', 'high'], spatialKernel: 3 });
 * const p = tf.tidy(() => net.predictProbabilities(tf.zeros([1, 8, 16, 16, 2])));
 * console.log(net.layerNames, p.shape); // ['stem', 'stage1', 'stage2'] [1, 2]
 * p.dispose();
 * net.dispose();
 * ```
 */
export class ResNet3d {
  readonly config: ResNet3dConfig;
  private readonly store = new ParamStore();

  constructor(options: ResNet3dOptions) {
    this.config = {
      depth: 6,
      baseWidth: 8,
      attention: true,
      reduction: 4,
      spatialKernel: 7,
      stemStride: 1,
      groups: 4,
      seed: 0,
      pooling: 'avg',
      norm: 'group',
      ...options,
    };
    const c = this.config;
    if (c.inputChannels.length < 1 || c.classNames.length < 2) {
      throw new MriseqError('a classifier needs at least one input channel and two classes', {
        field: 'inputChannels/classNames',
        found: `${c.inputChannels.length} channels, ${c.classNames.length} classes`,
        expected: '>= 1 channel, >= 2 classes',
        code: 'classify.config',
      });
    }
    blocksPerStage(c.depth);
    this.build();
  }

  /** Names of the activations that can be hooked (Grad-CAM targets): 'stem', 'stage1'.. */
  get layerNames(): string[] {
    return ['stem', ...blocksPerStage(this.config.depth).map((_, i) => `stage${i + 1}`)];
  }

  /** The last stage: the usual Grad-CAM target. */
  get lastLayer(): string {
    return `stage${blocksPerStage(this.config.depth).length}`;
  }

  get numClasses(): number {
    return this.config.classNames.length;
  }

  private add(name: string, shape: number[], init: 'he' | 'zeros' | 'ones', fanIn = 1): void {
    const size = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(size);
    if (init === 'ones') v.fill(1);
    if (init === 'he') {
      // Seeded per-parameter stream: the same seed builds the same network on any backend.
      const rng = createRng(this.config.seed * 7919 + this.params.size * 104729 + 1);
      const sd = Math.sqrt(2 / fanIn);
      for (let i = 0; i < size; i++) v[i] = sd * normal(rng);
    }
    this.store.add(name, shape, v);
  }

  private addConv(name: string, k: number, cin: number, cout: number): void {
    this.add(`${name}.w`, [k, k, k, cin, cout], 'he', k * k * k * cin);
  }

  private addNorm(name: string, c: number): void {
    this.add(`${name}.gamma`, [c], 'ones');
    this.add(`${name}.beta`, [c], 'zeros');
  }

  private build(): void {
    const c = this.config;
    let cin = c.inputChannels.length;
    let w = c.baseWidth;
    this.addConv('stem.conv', 3, cin, w);
    this.addNorm('stem.norm', w);
    cin = w;
    blocksPerStage(c.depth).forEach((n, s) => {
      w = c.baseWidth * 2 ** s;
      for (let b = 0; b < n; b++) {
        const p = `stage${s + 1}.block${b + 1}`;
        const stride = b === 0 && s > 0 ? 2 : 1;
        this.addConv(`${p}.conv1`, 3, cin, w);
        this.addNorm(`${p}.norm1`, w);
        this.addConv(`${p}.conv2`, 3, w, w);
        this.addNorm(`${p}.norm2`, w);
        if (c.attention) {
          const hidden = Math.max(1, Math.floor(w / c.reduction));
          this.add(`${p}.cbam.fc1.w`, [w, hidden], 'he', w);
          this.add(`${p}.cbam.fc1.b`, [hidden], 'zeros');
          this.add(`${p}.cbam.fc2.w`, [hidden, w], 'he', hidden);
          this.add(`${p}.cbam.fc2.b`, [w], 'zeros');
          const k = c.spatialKernel;
          this.add(`${p}.cbam.spatial.w`, [k, k, k, 2, 1], 'he', k * k * k * 2);
          this.add(`${p}.cbam.spatial.b`, [1], 'zeros');
        }
        if (stride !== 1 || cin !== w) {
          this.addConv(`${p}.short.conv`, 1, cin, w);
          this.addNorm(`${p}.short.norm`, w);
        }
        cin = w;
      }
    });
    const pooled = c.pooling === 'avgmax' ? 2 * cin : cin;
    this.add('head.w', [pooled, c.classNames.length], 'he', pooled);
    this.add('head.b', [c.classNames.length], 'zeros');
  }

  private p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`internal: missing parameter ${name}`);
    return v;
  }

  private conv(x: tf.Tensor5D, name: string, stride: number): tf.Tensor5D {
    return tf.conv3d(x, this.p(`${name}.w`) as tf.Tensor5D, stride, 'same');
  }

  private norm(x: tf.Tensor5D, name: string): tf.Tensor5D {
    const gamma = this.p(`${name}.gamma`);
    const beta = this.p(`${name}.beta`);
    if (this.config.norm === 'none') return tf.add(tf.mul(x, gamma), beta);
    return groupNorm(x, gamma, beta, this.config.groups);
  }

  private block(x: tf.Tensor5D, p: string, stride: number): tf.Tensor5D {
    let y = tf.relu(this.norm(this.conv(x, `${p}.conv1`, stride), `${p}.norm1`));
    y = this.norm(this.conv(y, `${p}.conv2`, 1), `${p}.norm2`);
    if (this.config.attention) {
      y = cbam(y, {
        fc1w: this.p(`${p}.cbam.fc1.w`),
        fc1b: this.p(`${p}.cbam.fc1.b`),
        fc2w: this.p(`${p}.cbam.fc2.w`),
        fc2b: this.p(`${p}.cbam.fc2.b`),
        spatialW: this.p(`${p}.cbam.spatial.w`),
        spatialB: this.p(`${p}.cbam.spatial.b`),
      });
    }
    const short = this.params.has(`${p}.short.conv.w`)
      ? this.norm(this.conv(x, `${p}.short.conv`, stride), `${p}.short.norm`)
      : x;
    return tf.relu(tf.add(y, short)) as tf.Tensor5D;
  }

  /**
   * Class logits [B, K] for x [B, D, H, W, C]. With a hook, the named activation is captured,
   * or replaced by `hook.replace` (Grad-CAM differentiates the score w.r.t. that tensor).
   */
  forward(x: tf.Tensor, hook?: ActivationHook): tf.Tensor2D {
    const c = this.config;
    if (x.rank !== 5 || x.shape[4] !== c.inputChannels.length) {
      throw new MriseqError('classifier input has the wrong shape', {
        field: 'input',
        found: `[${x.shape.join(', ')}]`,
        expected: `5D [B, D, H, W, ${c.inputChannels.length}] (channels ${c.inputChannels.join(', ')})`,
        code: 'classify.input',
      });
    }
    const tap = (name: string, t: tf.Tensor5D): tf.Tensor5D => {
      if (!hook || hook.layer !== name) return t;
      if (hook.replace) return hook.replace as tf.Tensor5D;
      hook.capture?.(t);
      return t;
    };
    let h = tap(
      'stem',
      tf.relu(this.norm(this.conv(x as tf.Tensor5D, 'stem.conv', c.stemStride), 'stem.norm')),
    );
    blocksPerStage(c.depth).forEach((n, s) => {
      for (let b = 0; b < n; b++) h = this.block(h, `stage${s + 1}.block${b + 1}`, b === 0 && s > 0 ? 2 : 1);
      h = tap(`stage${s + 1}`, h);
    });
    const pooled = (
      c.pooling === 'max'
        ? tf.max(h, [1, 2, 3])
        : c.pooling === 'avgmax'
          ? tf.concat([tf.mean(h, [1, 2, 3]), tf.max(h, [1, 2, 3])], 1)
          : tf.mean(h, [1, 2, 3])
    ) as tf.Tensor2D;
    return tf.add(tf.matMul(pooled, this.p('head.w') as tf.Tensor2D), this.p('head.b'));
  }

  /** Class probabilities [B, K] (softmax of the logits). */
  predictProbabilities(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.forward(x)));
  }

  /** The parameters by name, in creation order. */
  get params(): Map<string, tf.Variable> {
    return this.store.vars;
  }

  get trainableVariables(): tf.Variable[] {
    return this.store.variables;
  }

  get parameterCount(): number {
    return this.store.parameterCount;
  }

  /** Config and weights as plain data (JSON-safe). */
  serialize(): { config: ResNet3dConfig; weights: SerializedWeights[] } {
    return { config: { ...this.config }, weights: this.store.serialize() };
  }

  /** Rebuilds a model from `serialize()`'s output; checks that every weight fits. */
  static deserialize(data: { config: ResNet3dConfig; weights: SerializedWeights[] }): ResNet3d {
    const m = new ResNet3d(data.config);
    m.setWeights(data.weights);
    return m;
  }

  setWeights(weights: SerializedWeights[]): void {
    this.store.loadSerialized(weights, CLASSIFIER_WEIGHTS);
  }

  dispose(): void {
    this.store.dispose();
  }
}

/** A saved classifier's weights may be a subset (as before); each must fit by name and shape. */
const CLASSIFIER_WEIGHTS: WeightFit = {
  misfit: 'checkpoint weight does not fit this model',
  code: 'classify.weights',
};

/**
 * GroupNorm over [B, D, H, W, C] (statistics per sample and channel group, eps 1e-5).
 * @param x - Activations [B, D, H, W, C].
 * @param gamma - Scale per channel [C].
 * @param beta - Shift per channel [C].
 * @param groups - Number of channel groups (must divide C).
 * @returns The normalised activations, same shape.
 * @example
 * ```ts
 * import { groupNorm, tf, initEngine } from 'mriseq';
 * await initEngine();
 * const y = tf.tidy(() => groupNorm(tf.randomNormal([1, 2, 2, 2, 4]) as tf.Tensor5D, tf.ones([4]), tf.zeros([4]), 2));
 * console.log(y.shape);
 * y.dispose();
 * ```
 */
export function groupNorm(x: tf.Tensor5D, gamma: tf.Tensor, beta: tf.Tensor, groups: number): tf.Tensor5D {
  const [b, d, h, w, c] = x.shape;
  let g = Math.min(groups, c);
  while (c % g !== 0) g--;
  const xr = tf.reshape(x, [b, d, h, w, g, c / g]);
  const { mean, variance } = tf.moments(xr, [1, 2, 3, 5], true);
  const xn = tf.reshape(tf.div(tf.sub(xr, mean), tf.sqrt(tf.add(variance, 1e-5))), [
    b,
    d,
    h,
    w,
    c,
  ]) as tf.Tensor5D;
  return tf.add(tf.mul(xn, gamma), beta);
}

export interface CbamWeights {
  fc1w: tf.Tensor;
  fc1b: tf.Tensor;
  fc2w: tf.Tensor;
  fc2b: tf.Tensor;
  /** [k, k, k, 2, 1] over the (channel mean, channel max) maps. */
  spatialW: tf.Tensor;
  spatialB: tf.Tensor;
}

/**
 * CBAM: channel attention then spatial attention, on [B, D, H, W, C].
 * @param x - Activations [B, D, H, W, C].
 * @param w - The block's weights: channel MLP (fc1w [C, C/r], fc1b, fc2w [C/r, C], fc2b) and spatial conv (spatialW [k, k, k, 2, 1], spatialB [1]).
 * @returns x re-weighted by both attentions, same shape.
 * @example
 * ```ts
 * import { cbam, tf, initEngine } from 'mriseq';
 * await initEngine();
 * const y = tf.tidy(() =>
 *   cbam(tf.randomNormal([1, 4, 4, 4, 8]) as tf.Tensor5D, {
 *     fc1w: tf.randomNormal([8, 2]), fc1b: tf.zeros([2]), fc2w: tf.randomNormal([2, 8]), fc2b: tf.zeros([8]),
 *     spatialW: tf.randomNormal([3, 3, 3, 2, 1]), spatialB: tf.zeros([1]),
 *   }),
 * );
 * console.log(y.shape); // [1, 4, 4, 4, 8]
 * y.dispose();
 * ```
 */
export function cbam(x: tf.Tensor5D, w: CbamWeights): tf.Tensor5D {
  const [b, , , , c] = x.shape;
  const mlp = (v: tf.Tensor2D) =>
    tf.add(
      tf.matMul(tf.relu(tf.add(tf.matMul(v, w.fc1w as tf.Tensor2D), w.fc1b)), w.fc2w as tf.Tensor2D),
      w.fc2b,
    );
  const avg = tf.mean(x, [1, 2, 3]) as tf.Tensor2D;
  const max = tf.max(x, [1, 2, 3]) as tf.Tensor2D;
  const channel = tf.reshape(tf.sigmoid(tf.add(mlp(avg), mlp(max))), [b, 1, 1, 1, c]);
  const xc = tf.mul(x, channel) as tf.Tensor5D;
  const maps = tf.concat([tf.mean(xc, 4, true), tf.max(xc, 4, true)], 4) as tf.Tensor5D;
  const spatial = tf.sigmoid(tf.add(tf.conv3d(maps, w.spatialW as tf.Tensor5D, 1, 'same'), w.spatialB));
  return tf.mul(xc, spatial) as tf.Tensor5D;
}
