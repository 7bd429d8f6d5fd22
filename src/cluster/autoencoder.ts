/**
 * A contrastive autoencoder (after Ferrante et al. 2022): a small convolutional encoder to a latent
 * vector and a decoder back to the image, trained with reconstruction (MSE) plus NT-Xent (SimCLR,
 * Chen et al. 2020) over two augmented views of each image, so images of one kind gather in the
 * latent space. 2D inputs are [B, H, W, C], 3D inputs [B, D, H, W, C] (channels-last).
 *
 * Layout: encoder = per width: conv k3 stride 2 'same' + LeakyReLU(0.2); flatten; dense -> latent.
 * Decoder = dense -> reshape -> per width (reversed): transposed conv k3 stride 2 + LeakyReLU;
 * conv k3 -> channels (linear). Projection head for NT-Xent: dense -> ReLU -> dense (on the latent).
 */
import { signalOrInterrupt } from '../interrupt/index.js';
import { ensureEngine, tf } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import { createRng, normal, permutation, type Rng } from '../classify/index.js';
import {
  FlatAdam,
  ParamStore,
  TFJS_ADAM_EPSILON,
  type SerializedWeights,
  type WeightFit,
} from '../params/index.js';

export interface AutoencoderConfig {
  ndims: 2 | 3;
  /** Spatial input size ([H, W] or [D, H, W]); each must divide by 2^widths.length. */
  inputShape: number[];
  channels: number;
  widths: number[];
  latentDim: number;
  projectionDim: number;
  seed: number;
}

export type AutoencoderOptions = Partial<AutoencoderConfig> & Pick<AutoencoderConfig, 'inputShape'>;

/**
 * Images as flat channels-last arrays of one shape ([H, W, C] or [D, H, W, C]).
 * @example
 * ```ts
 * import { phantom, sliceVolume, type ImageDataset } from 'mriseq';
 * const p = phantom({ subjects: 4, size: [32, 32, 16] });
 * const data: ImageDataset = {
 *   shape: [32, 32, 1],
 *   inputs: p.ids().map((id) => sliceVolume(p.subject(id).volumes.flair!, 2, 8).data),
 *   ids: p.ids(),
 * };
 * console.log(data.inputs.length);
 * ```
 */
export interface ImageDataset {
  shape: number[];
  inputs: Float32Array[];
  ids?: string[];
}

/**
 * A contrastive autoencoder (after Ferrante et al. 2022) for the clustering study: a small conv
 * encoder to a latent vector, a decoder back, and a projection head; trained with reconstruction (MSE)
 * plus NT-Xent over two augmented views of each image. Images are channels-last, [B, H, W, C] or
 * [B, D, H, W, C]; each spatial size must divide by 2^widths.length. Dispose it when done.
 *
 * @example
 * ```ts
 * import { ContrastiveAutoencoder, tf, initEngine } from 'mriseq';
 * await initEngine();
 * const ae = new ContrastiveAutoencoder({ inputShape: [32, 32], latentDim: 8 });
 * const z = tf.tidy(() => ae.encode(tf.zeros([2, 32, 32, 1])));
 * console.log(z.shape); // [2, 8]
 * z.dispose();
 * ae.dispose();
 * ```
 */
export class ContrastiveAutoencoder {
  readonly config: AutoencoderConfig;
  private readonly store = new ParamStore();
  private readonly bottleneck: number[];

  constructor(options: AutoencoderOptions) {
    this.config = {
      ndims: options.inputShape.length === 3 ? 3 : 2,
      channels: 1,
      widths: [8, 16],
      latentDim: 16,
      projectionDim: 16,
      seed: 0,
      ...options,
    };
    const c = this.config;
    const f = 2 ** c.widths.length;
    if (c.inputShape.length !== c.ndims || c.inputShape.some((s) => s % f !== 0)) {
      throw new MriseqError('autoencoder input size must have ndims axes, each divisible by 2^stages', {
        field: 'inputShape',
        found: `[${c.inputShape.join(', ')}] (ndims ${c.ndims})`,
        expected: `${c.ndims} sizes divisible by ${f}`,
        code: 'cluster.shape',
      });
    }
    this.bottleneck = [...c.inputShape.map((s) => s / f), c.widths[c.widths.length - 1]];
    const k = Array<number>(c.ndims).fill(3);
    let cin = c.channels;
    c.widths.forEach((w, i) => {
      this.add(
        `enc${i}.w`,
        [...k, cin, w],
        k.reduce((a, b) => a * b, cin),
      );
      this.add(`enc${i}.b`, [w], 0);
      cin = w;
    });
    const flat = this.bottleneck.reduce((a, b) => a * b, 1);
    this.add('enc.dense.w', [flat, c.latentDim], flat);
    this.add('enc.dense.b', [c.latentDim], 0);
    this.add('dec.dense.w', [c.latentDim, flat], c.latentDim);
    this.add('dec.dense.b', [flat], 0);
    const rev = [...c.widths].reverse();
    rev.forEach((w, i) => {
      const out = rev[i + 1] ?? c.widths[0];
      // Transposed-conv filters are [k.., out, in].
      this.add(
        `dec${i}.w`,
        [...k, out, w],
        k.reduce((a, b) => a * b, w),
      );
      this.add(`dec${i}.b`, [out], 0);
    });
    this.add(
      'dec.out.w',
      [...k, c.widths[0], c.channels],
      k.reduce((a, b) => a * b, c.widths[0]),
    );
    this.add('dec.out.b', [c.channels], 0);
    this.add('proj1.w', [c.latentDim, c.latentDim], c.latentDim);
    this.add('proj1.b', [c.latentDim], 0);
    this.add('proj2.w', [c.latentDim, c.projectionDim], c.latentDim);
    this.add('proj2.b', [c.projectionDim], 0);
  }

  private add(name: string, shape: number[], fanIn: number): void {
    const size = shape.reduce((a, b) => a * b, 1);
    const rng = createRng(this.config.seed * 7919 + this.params.size * 104729 + 11);
    const sd = fanIn ? Math.sqrt(2 / fanIn) : 0;
    this.store.add(
      name,
      shape,
      Float32Array.from({ length: size }, () => sd * normal(rng)),
    );
  }

  /** The parameters by name, in creation order. */
  get params(): Map<string, tf.Variable> {
    return this.store.vars;
  }

  private p(name: string): tf.Tensor {
    return this.params.get(name)!;
  }

  private conv(x: tf.Tensor, w: tf.Tensor, stride: number): tf.Tensor {
    return this.config.ndims === 2
      ? tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, 'same')
      : tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, stride, 'same');
  }

  private deconv(x: tf.Tensor, w: tf.Tensor, outShape: number[]): tf.Tensor {
    return this.config.ndims === 2
      ? tf.conv2dTranspose(
          x as tf.Tensor4D,
          w as tf.Tensor4D,
          outShape as [number, number, number, number],
          2,
          'same',
        )
      : tf.conv3dTranspose(
          x as tf.Tensor5D,
          w as tf.Tensor5D,
          outShape as [number, number, number, number, number],
          2,
          'same',
        );
  }

  /** Latent vectors [B, latentDim] of images [B, ...spatial, C]. */
  encode(x: tf.Tensor): tf.Tensor2D {
    const c = this.config;
    if (x.rank !== c.ndims + 2 || x.shape.slice(1).join('x') !== [...c.inputShape, c.channels].join('x')) {
      throw new MriseqError('autoencoder input has the wrong shape', {
        field: 'input',
        found: `[${x.shape.join(', ')}]`,
        expected: `[B, ${[...c.inputShape, c.channels].join(', ')}]`,
        code: 'cluster.input',
      });
    }
    let h = x;
    c.widths.forEach((_, i) => {
      h = tf.leakyRelu(tf.add(this.conv(h, this.p(`enc${i}.w`), 2), this.p(`enc${i}.b`)), 0.2);
    });
    const flat = tf.reshape(h, [x.shape[0], -1]) as tf.Tensor2D;
    return tf.add(tf.matMul(flat, this.p('enc.dense.w') as tf.Tensor2D), this.p('enc.dense.b'));
  }

  /** Images [B, ...spatial, C] from latents [B, latentDim]. */
  decode(z: tf.Tensor2D): tf.Tensor {
    const c = this.config;
    const b = z.shape[0];
    let h: tf.Tensor = tf.reshape(
      tf.leakyRelu(tf.add(tf.matMul(z, this.p('dec.dense.w') as tf.Tensor2D), this.p('dec.dense.b')), 0.2),
      [b, ...this.bottleneck],
    );
    const rev = [...c.widths].reverse();
    rev.forEach((_, i) => {
      const out = rev[i + 1] ?? c.widths[0];
      const spatial = h.shape.slice(1, 1 + c.ndims).map((s) => s * 2);
      h = tf.leakyRelu(
        tf.add(this.deconv(h, this.p(`dec${i}.w`), [b, ...spatial, out]), this.p(`dec${i}.b`)),
        0.2,
      );
    });
    return tf.add(this.conv(h, this.p('dec.out.w'), 1), this.p('dec.out.b'));
  }

  /** Projection head used only by the contrastive loss. */
  project(z: tf.Tensor2D): tf.Tensor2D {
    const h = tf.relu(tf.add(tf.matMul(z, this.p('proj1.w') as tf.Tensor2D), this.p('proj1.b')));
    return tf.add(tf.matMul(h as tf.Tensor2D, this.p('proj2.w') as tf.Tensor2D), this.p('proj2.b'));
  }

  get trainableVariables(): tf.Variable[] {
    return this.store.variables;
  }

  serialize(): { config: AutoencoderConfig; weights: SerializedWeights[] } {
    return { config: { ...this.config }, weights: this.store.serialize() };
  }

  static deserialize(data: ReturnType<ContrastiveAutoencoder['serialize']>): ContrastiveAutoencoder {
    const m = new ContrastiveAutoencoder(data.config);
    m.store.loadSerialized(data.weights, AUTOENCODER_WEIGHTS);
    return m;
  }

  dispose(): void {
    this.store.dispose();
  }
}

/** A saved autoencoder's weights may be a subset; each must fit by name and shape. */
const AUTOENCODER_WEIGHTS: WeightFit = {
  misfit: 'checkpoint weight does not fit this autoencoder',
  code: 'cluster.weights',
};

/**
 * NT-Xent (normalised temperature-scaled cross-entropy, SimCLR): for 2N projections of N pairs,
 * each view's positive is its partner; the other 2N - 2 views are negatives; cosine similarity
 * divided by the temperature; mean over all 2N anchors.
 * @param z1 - Projections of the first views [N, d].
 * @param z2 - Projections of the second views [N, d] (row i pairs with row i of z1).
 * @param temperature - Softmax temperature (default 0.5).
 * @returns The mean loss over the 2N anchors (a scalar tensor; dispose it).
 * @example
 * ```ts
 * import { ntXentLoss, tf, initEngine } from 'mriseq';
 * await initEngine();
 * const z1 = tf.randomNormal([4, 8]) as tf.Tensor2D;
 * const z2 = tf.randomNormal([4, 8]) as tf.Tensor2D;
 * const loss = ntXentLoss(z1, z2, 0.5);
 * console.log(loss.dataSync()[0]);
 * tf.dispose([z1, z2, loss]);
 * ```
 */
export function ntXentLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, temperature = 0.5): tf.Scalar {
  return tf.tidy(() => {
    const n = z1.shape[0];
    const z = tf.concat([z1, z2], 0);
    // ||z|| as sqrt(max(sum z^2, eps^2)), not tf.norm: tf.norm's gradient at a zero row is 0/0 =
    // NaN (a projection head whose ReLUs all died gives one), which turned every weight into NaN;
    // this is PyTorch's normalize(eps = 1e-12): below eps the denominator is constant.
    const zn = tf.div(z, tf.sqrt(tf.maximum(tf.sum(tf.square(z), 1, true), 1e-24)));
    const sim = tf.div(tf.matMul(zn, zn, false, true), temperature);
    // Self-similarity is excluded by a large negative bias on the diagonal.
    const masked = tf.sub(sim, tf.mul(tf.eye(2 * n), 1e9));
    const pos = Array.from({ length: 2 * n }, (_, i) => (i < n ? i + n : i - n));
    const target = tf.oneHot(tf.tensor1d(pos, 'int32'), 2 * n);
    return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(masked)), 1))) as tf.Scalar;
  });
}

export interface AugmentOptions {
  /** Random flips along the last spatial axis (x). */
  flip?: boolean;
  /** Largest integer shift (voxels) along each spatial axis, zero-filled. */
  shift?: number;
  /** Intensity scale drawn from [1 - s, 1 + s]. */
  scale?: number;
  /** Gaussian noise SD. */
  noise?: number;
}

/** One seeded augmented view of a channels-last image of `shape` ([..spatial, C]). */
export function augmentImage(
  x: Float32Array,
  shape: number[],
  rng: Rng,
  o: AugmentOptions = {},
): Float32Array {
  const spatial = shape.slice(0, -1);
  const C = shape[shape.length - 1];
  const flip = (o.flip ?? true) && rng() < 0.5;
  const maxShift = o.shift ?? 1;
  const shifts = spatial.map(() => Math.round((rng() * 2 - 1) * maxShift));
  const s = 1 + (rng() * 2 - 1) * (o.scale ?? 0.1);
  const noise = o.noise ?? 0.05;
  const out = new Float32Array(x.length);
  const strides = spatial.map((_, i) => spatial.slice(i + 1).reduce((a, b) => a * b, 1) * C);
  const nVox = spatial.reduce((a, b) => a * b, 1);
  const coord = new Array<number>(spatial.length).fill(0);
  for (let v = 0; v < nVox; v++) {
    let rem = v;
    for (let a = 0; a < spatial.length; a++) {
      coord[a] = Math.floor(rem / (strides[a] / C));
      rem -= coord[a] * (strides[a] / C);
    }
    let src = 0;
    let inside = true;
    for (let a = 0; a < spatial.length; a++) {
      let c = coord[a] - shifts[a];
      if (flip && a === spatial.length - 1) c = spatial[a] - 1 - c;
      if (c < 0 || c >= spatial[a]) inside = false;
      src += c * strides[a];
    }
    for (let ch = 0; ch < C; ch++) {
      out[v * C + ch] = (inside ? x[src + ch] * s : 0) + (noise ? noise * normal(rng) : 0);
    }
  }
  return out;
}

export interface TrainAutoencoderOptions {
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** NT-Xent temperature (default 0.5). */
  temperature?: number;
  /** Weight of NT-Xent against reconstruction (loss = recon + w * ntxent; default 1). */
  contrastiveWeight?: number;
  augment?: AugmentOptions;
  seed?: number;
  onEpoch?: (e: { epoch: number; loss: number; reconstruction: number; contrastive: number }) => void;
  signal?: AbortSignal;
}

function stack(d: ImageDataset, arrays: Float32Array[]): tf.Tensor {
  const per = d.shape.reduce((a, b) => a * b, 1);
  const buf = new Float32Array(arrays.length * per);
  arrays.forEach((a, i) => buf.set(a, i * per));
  return tf.tensor(buf, [arrays.length, ...d.shape]);
}

/**
 * Trains the autoencoder in place; returns the loss history.
 * @param ae - The autoencoder (trained in place).
 * @param data - Images of its input shape.
 * @param options - Epochs, batch size, learning rate, temperature, contrastive weight, augmentation, seed, `onEpoch`, `signal`.
 * @returns The loss history per epoch and whether `signal` stopped it.
 * @throws {@link MriseqError} when an image has the wrong size.
 * @example
 * ```ts
 * import { ContrastiveAutoencoder, trainContrastiveAutoencoder, initEngine } from 'mriseq';
 * await initEngine();
 * const inputs = Array.from({ length: 8 }, (_, i) => new Float32Array(16 * 16).fill(i % 2));
 * const ae = new ContrastiveAutoencoder({ inputShape: [16, 16] });
 * const { history } = await trainContrastiveAutoencoder(ae, { shape: [16, 16, 1], inputs }, { epochs: 2, batchSize: 4 });
 * console.log(history.at(-1));
 * ae.dispose();
 * ```
 */
export async function trainContrastiveAutoencoder(
  ae: ContrastiveAutoencoder,
  data: ImageDataset,
  options: TrainAutoencoderOptions = {},
): Promise<{
  history: { epoch: number; loss: number; reconstruction: number; contrastive: number }[];
  aborted: boolean;
}> {
  ensureEngine();
  const signal = signalOrInterrupt(options.signal);
  const per = data.shape.reduce((a, b) => a * b, 1);
  data.inputs.forEach((x, i) => {
    if (x.length !== per) {
      throw new MriseqError('image has the wrong size', {
        field: `inputs[${i}]${data.ids ? ` (${data.ids[i]})` : ''}`,
        found: String(x.length),
        expected: `${per} values for shape [${data.shape.join(', ')}]`,
        code: 'cluster.dataset',
      });
    }
  });
  const rng = createRng((options.seed ?? 0) + 17);
  const batchSize = Math.max(2, options.batchSize ?? 16);
  const w = options.contrastiveWeight ?? 1;
  const temperature = options.temperature ?? 0.5;
  const lr = options.learningRate ?? 1e-3;
  const vars = ae.trainableVariables;
  const adam = new FlatAdam(vars, [...ae.params.keys()]);
  let adamStep = 0;
  const history: { epoch: number; loss: number; reconstruction: number; contrastive: number }[] = [];
  let aborted = false;
  try {
    for (let epoch = 0; epoch < (options.epochs ?? 20); epoch++) {
      const order = permutation(data.inputs.length, rng);
      let sum = [0, 0, 0];
      let batches = 0;
      for (let s = 0; s < order.length; s += batchSize) {
        if (signal?.aborted) {
          aborted = true;
          break;
        }
        const idx = order.slice(s, s + batchSize);
        if (idx.length < 2) continue; // NT-Xent needs a negative
        const clean = idx.map((i) => data.inputs[i]);
        const v1 = clean.map((x) => augmentImage(x, data.shape, rng, options.augment));
        const v2 = clean.map((x) => augmentImage(x, data.shape, rng, options.augment));
        const parts = tf.tidy(() => {
          const x = stack(data, clean);
          const a = stack(data, v1);
          const b = stack(data, v2);
          let rec: tf.Scalar | undefined;
          let con: tf.Scalar | undefined;
          const { value: total, grads } = tf.variableGrads(() => {
            // keep(): variableGrads tidies its function; the parts are read after it returns.
            rec = tf.keep(tf.mean(tf.square(tf.sub(ae.decode(ae.encode(x)), x))) as tf.Scalar);
            con = tf.keep(ntXentLoss(ae.project(ae.encode(a)), ae.project(ae.encode(b)), temperature));
            return tf.add(rec, tf.mul(con, w)) as tf.Scalar;
          }, vars);
          adam.update(grads, ++adamStep, lr, 0.9, 0.999, TFJS_ADAM_EPSILON);
          const out = tf.stack([total, rec!, con!]);
          tf.dispose([rec!, con!]);
          return out;
        });
        const vals = await parts.data();
        parts.dispose();
        sum = sum.map((v, i) => v + vals[i]);
        batches++;
      }
      if (aborted) break;
      if (!sum.every(Number.isFinite)) {
        // a NaN weight gives NaN latents, and k-means on NaN rows a meaningless clustering
        throw new MriseqError('autoencoder training diverged (the loss is not finite)', {
          field: 'learningRate',
          found: `loss ${sum[0] / batches} (reconstruction ${sum[1] / batches}, NT-Xent ${sum[2] / batches}) at epoch ${epoch}`,
          expected: 'a finite loss: lower the learning rate or standardise the inputs',
          code: 'cluster.diverged',
        });
      }
      const ev = {
        epoch,
        loss: sum[0] / batches,
        reconstruction: sum[1] / batches,
        contrastive: sum[2] / batches,
      };
      history.push(ev);
      options.onEpoch?.(ev);
      await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    adam.dispose();
  }
  return { history, aborted };
}

/**
 * Latent vectors, one row per image.
 * @param ae - A trained autoencoder.
 * @param data - Images of its input shape.
 * @param batchSize - Images per forward pass (default 32).
 * @returns One latent vector per image.
 * @example
 * ```ts
 * import { ContrastiveAutoencoder, embed, initEngine } from 'mriseq';
 * await initEngine();
 * const ae = new ContrastiveAutoencoder({ inputShape: [16, 16], latentDim: 4 });
 * console.log(embed(ae, { shape: [16, 16, 1], inputs: [new Float32Array(256)] })); // [[4 numbers]]
 * ae.dispose();
 * ```
 */
export function embed(ae: ContrastiveAutoencoder, data: ImageDataset, batchSize = 32): number[][] {
  const out: number[][] = [];
  for (let s = 0; s < data.inputs.length; s += batchSize) {
    const chunk = data.inputs.slice(s, s + batchSize);
    out.push(...tf.tidy(() => ae.encode(stack(data, chunk)).arraySync()));
  }
  return out;
}

/**
 * Decoded images from latent rows.
 * @param ae - A trained autoencoder.
 * @param latents - Latent rows.
 * @returns One flat channels-last image per row.
 * @example
 * ```ts
 * import { ContrastiveAutoencoder, decodeLatents, initEngine } from 'mriseq';
 * await initEngine();
 * const ae = new ContrastiveAutoencoder({ inputShape: [16, 16], latentDim: 4 });
 * console.log(decodeLatents(ae, [[0, 0, 0, 0]])[0]?.length); // 256
 * ae.dispose();
 * ```
 */
export function decodeLatents(ae: ContrastiveAutoencoder, latents: number[][]): Float32Array[] {
  if (!latents.length) return [];
  const data = tf.tidy(() => ae.decode(tf.tensor2d(latents)));
  const flat = data.dataSync() as Float32Array;
  data.dispose();
  const per = flat.length / latents.length;
  return latents.map((_, i) => flat.slice(i * per, (i + 1) * per));
}

export interface ClusterGaussian {
  cluster: number;
  count: number;
  mean: number[];
  sd: number[];
}

/**
 * Diagonal Gaussian of the latent per cluster (the sampling model).
 * @param latents - Latent rows (e.g. from {@link embed}).
 * @param labels - Each row's cluster.
 * @returns Per cluster: its size and the mean and standard deviation of each latent dimension.
 * @example
 * ```ts
 * import { fitClusterGaussians } from 'mriseq';
 * console.log(fitClusterGaussians([[0, 1], [0.2, 1.2], [5, 5]], [0, 0, 1]));
 * ```
 */
export function fitClusterGaussians(latents: number[][], labels: number[]): ClusterGaussian[] {
  const ids = [...new Set(labels)].sort((a, b) => a - b);
  return ids.map((c) => {
    const rows = latents.filter((_, i) => labels[i] === c);
    const d = rows[0].length;
    const mean = Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
    const sd = Array.from({ length: d }, (_, j) =>
      Math.sqrt(rows.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / Math.max(1, rows.length - 1)),
    );
    return { cluster: c, count: rows.length, mean, sd };
  });
}

/**
 * New images for augmentation: latents drawn from a cluster's Gaussian (seeded), decoded.
 * @param ae - A trained autoencoder.
 * @param gaussian - One cluster's Gaussian from {@link fitClusterGaussians}.
 * @param count - How many images.
 * @param seed - Seed of the draws (default 0).
 * @returns The latents drawn and their decoded images.
 * @example
 * ```ts
 * import { ContrastiveAutoencoder, fitClusterGaussians, sampleImages, initEngine } from 'mriseq';
 * await initEngine();
 * const ae = new ContrastiveAutoencoder({ inputShape: [16, 16], latentDim: 2 });
 * const [g] = fitClusterGaussians([[0, 1], [0.2, 1.2]], [0, 0]);
 * console.log(sampleImages(ae, g!, 3, 1).images.length); // 3
 * ae.dispose();
 * ```
 */
export function sampleImages(
  ae: ContrastiveAutoencoder,
  gaussian: ClusterGaussian,
  count: number,
  seed = 0,
): { latents: number[][]; images: Float32Array[] } {
  const rng = createRng(seed + 23);
  const latents = Array.from({ length: count }, () =>
    gaussian.mean.map((m, j) => m + gaussian.sd[j] * normal(rng)),
  );
  return { latents, images: decodeLatents(ae, latents) };
}
