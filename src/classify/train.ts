/**
 * Seeded training of a classifier: Adam, class-weighted cross-entropy, early stopping on the
 * validation loss (the best weights are restored), progress events and interruption by an
 * AbortSignal (the best weights so far are kept).
 */
import { signalOrInterrupt } from '../interrupt/index.js';
import { ensureEngine, tf } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import { createRng, permutation, type Rng } from './random.js';
import type { ResNet3d, SerializedWeights } from './resnet.js';
import { FlatAdam, TFJS_ADAM_EPSILON } from '../params/index.js';

/**
 * Subjects as channels-last arrays: `inputs[i]` holds D*H*W*C values (x fastest, channel
 * innermost), `labels[i]` the class index.
 * @example
 * ```ts
 * import { type ClassifierDataset } from 'mriseq';
 * const d: ClassifierDataset = {
 *   shape: [8, 16, 16, 2], // [D, H, W, C]
 *   inputs: [new Float32Array(8 * 16 * 16 * 2), new Float32Array(8 * 16 * 16 * 2)],
 *   labels: [0, 1],
 *   ids: ['sim-00000', 'sim-00001'],
 * };
 * console.log(d.inputs.length);
 * ```
 */
export interface ClassifierDataset {
  /** [D, H, W, C]. */
  shape: [number, number, number, number];
  inputs: Float32Array[];
  labels: number[];
  /** Subject ids, kept alongside for reports. */
  ids?: string[];
}

export interface TrainEpochEvent {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  bestEpoch: number;
}

/**
 * Options of {@link trainClassifier}.
 *
 * @example
 * ```ts
 * import { type TrainClassifierOptions } from 'mriseq';
 * const o: TrainClassifierOptions = { epochs: 30, batchSize: 4, learningRate: 1e-3, classWeights: 'balanced', patience: 5, flipAugment: true, seed: 1 };
 * console.log(o.epochs);
 * ```
 */
export interface TrainClassifierOptions {
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** 'balanced' (n / (K * n_c), as scikit-learn), explicit weights per class, or 'none'. */
  classWeights?: 'balanced' | 'none' | number[];
  /** Validation set; when absent a stratified `validationFraction` of the training set is held out. */
  validation?: ClassifierDataset;
  validationFraction?: number;
  /** Epochs without a validation-loss improvement before stopping (default 5). */
  patience?: number;
  /** Random left-right flips of the training inputs. */
  flipAugment?: boolean;
  seed?: number;
  onEpoch?: (e: TrainEpochEvent) => void;
  signal?: AbortSignal;
}

/**
 * What {@link trainClassifier} returns.
 *
 * @example
 * ```ts
 * import { type TrainClassifierResult } from 'mriseq';
 * declare const r: TrainClassifierResult; // from trainClassifier
 * console.log(r.bestEpoch, r.bestValLoss, r.stoppedBy, r.classWeights);
 * ```
 */
export interface TrainClassifierResult {
  epochs: number;
  bestEpoch: number;
  bestValLoss: number;
  history: TrainEpochEvent[];
  stoppedBy: 'epochs' | 'early-stopping' | 'aborted';
  classWeights: number[];
}

export function checkDataset(d: ClassifierDataset, what: string, numClasses?: number): void {
  const per = d.shape.reduce((a, b) => a * b, 1);
  d.inputs.forEach((x, i) => {
    if (x.length !== per) {
      throw new MriseqError('subject input has the wrong size', {
        field: `${what}.inputs[${i}]${d.ids ? ` (${d.ids[i]})` : ''}`,
        found: String(x.length),
        expected: `${per} values for shape [${d.shape.join(', ')}]`,
        code: 'classify.dataset',
      });
    }
  });
  if (d.labels.length !== d.inputs.length) {
    throw new MriseqError('one label per subject is needed', {
      field: `${what}.labels`,
      found: String(d.labels.length),
      expected: String(d.inputs.length),
      code: 'classify.dataset',
    });
  }
  if (numClasses !== undefined) {
    d.labels.forEach((l, i) => {
      if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
        throw new MriseqError('label out of range', {
          field: `${what}.labels[${i}]`,
          found: String(l),
          expected: `an integer in [0, ${numClasses - 1}]`,
          code: 'classify.label',
        });
      }
    });
  }
}

/** Stacks subjects into one [B, D, H, W, C] tensor, optionally flipping some along x. */
export function batchTensor(d: ClassifierDataset, idx: number[], flips?: boolean[]): tf.Tensor5D {
  const [D, H, W, C] = d.shape;
  const per = D * H * W * C;
  const buf = new Float32Array(idx.length * per);
  idx.forEach((i, b) => {
    const src = d.inputs[i];
    if (!flips?.[b]) {
      buf.set(src, b * per);
      return;
    }
    const row = W * C;
    for (let r = 0; r < D * H; r++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < C; c++) buf[b * per + r * row + x * C + c] = src[r * row + (W - 1 - x) * C + c];
      }
    }
  });
  return tf.tensor5d(buf, [idx.length, D, H, W, C]);
}

/**
 * scikit-learn's 'balanced' weights: n / (K · n_c); a class without subjects gets 0.
 *
 * @param labels - Class index per subject.
 * @param k - Number of classes.
 * @returns One weight per class.
 * @example
 * ```ts
 * import { balancedClassWeights } from 'mriseq';
 * console.log(balancedClassWeights([0, 0, 0, 1], 2)); // [0.667, 2]
 * ```
 */
export function balancedClassWeights(labels: number[], k: number): number[] {
  const counts = new Array<number>(k).fill(0);
  for (const l of labels) counts[l]++;
  return counts.map((c) => (c ? labels.length / (k * c) : 0));
}

/** Stratified seeded split: about `fraction` of each class goes to the second part. */
export function stratifiedSplit(
  labels: number[],
  fraction: number,
  rng: Rng,
): { train: number[]; held: number[] } {
  const byClass = new Map<number, number[]>();
  labels.forEach((l, i) => byClass.set(l, [...(byClass.get(l) ?? []), i]));
  const train: number[] = [];
  const held: number[] = [];
  for (const idx of byClass.values()) {
    const p = permutation(idx.length, rng).map((j) => idx[j]);
    const nh = idx.length > 1 ? Math.max(1, Math.round(idx.length * fraction)) : 0;
    held.push(...p.slice(0, nh));
    train.push(...p.slice(nh));
  }
  return { train: train.sort((a, b) => a - b), held: held.sort((a, b) => a - b) };
}

export function subset(d: ClassifierDataset, idx: number[]): ClassifierDataset {
  return {
    shape: d.shape,
    inputs: idx.map((i) => d.inputs[i]),
    labels: idx.map((i) => d.labels[i]),
    ids: d.ids ? idx.map((i) => d.ids![i]) : undefined,
  };
}

function weightedLoss(logits: tf.Tensor2D, labels: number[], weights: number[], k: number): tf.Scalar {
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), k);
  const w = tf.tensor1d(labels.map((l) => weights[l]));
  const ce = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1));
  return tf.div(tf.sum(tf.mul(ce, w)), tf.sum(w)) as tf.Scalar;
}

function evalLoss(model: ResNet3d, d: ClassifierDataset, weights: number[], batchSize: number): number {
  let total = 0;
  let wsum = 0;
  for (let s = 0; s < d.inputs.length; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, d.inputs.length - s) }, (_, i) => s + i);
    const labels = idx.map((i) => d.labels[i]);
    const bw = labels.reduce((a, l) => a + weights[l], 0);
    const l = tf.tidy(() =>
      weightedLoss(model.forward(batchTensor(d, idx)), labels, weights, model.numClasses).dataSync(),
    )[0];
    total += l * bw;
    wsum += bw;
  }
  return wsum ? total / wsum : NaN;
}

function snapshot(model: ResNet3d): SerializedWeights[] {
  return model.serialize().weights;
}

/**
 * Trains `model` in place and leaves it at the epoch with the lowest validation loss.
 * Adam on class-weighted cross-entropy, with early stopping on the validation loss.
 *
 * @param model - The classifier (trained in place).
 * @param data - Training subjects (inputs [D, H, W, C] each, class labels).
 * @param options - Epochs, batch size, learning rate, class weights, validation set or fraction, patience, flips, seed, `onEpoch`, `signal`.
 * @returns Epochs run, the best epoch and its validation loss, the history, why it stopped, the class weights used.
 * @throws {@link MriseqError} when an input does not match `data.shape` or a label is outside the classes.
 * @example
 * ```ts
 * import { ResNet3d, trainClassifier, initEngine } from 'mriseq';
 * await initEngine();
 * const shape: [number, number, number, number] = [4, 8, 8, 1];
 * const inputs = Array.from({ length: 8 }, (_, i) => new Float32Array(4 * 8 * 8).fill(i % 2 ? 1 : -1));
 * const net = new ResNet3d({ inputChannels: ['x'], classNames: ['neg', 'pos'], spatialKernel: 3 });
 * const r = await trainClassifier(net, { shape, inputs, labels: [0, 1, 0, 1, 0, 1, 0, 1] }, { epochs: 3, batchSize: 4 });
 * console.log(r.epochs, r.bestEpoch, r.stoppedBy);
 * net.dispose();
 * ```
 */
export async function trainClassifier(
  model: ResNet3d,
  data: ClassifierDataset,
  options: TrainClassifierOptions = {},
): Promise<TrainClassifierResult> {
  ensureEngine();
  const signal = signalOrInterrupt(options.signal);
  const k = model.numClasses;
  checkDataset(data, 'train', k);
  const seed = options.seed ?? 0;
  const rng = createRng(seed + 1);
  let train = data;
  let val = options.validation;
  if (val) checkDataset(val, 'validation', k);
  else {
    const split = stratifiedSplit(data.labels, options.validationFraction ?? 0.2, rng);
    train = subset(data, split.train);
    val = subset(data, split.held);
  }
  const weights =
    options.classWeights === 'none'
      ? new Array<number>(k).fill(1)
      : Array.isArray(options.classWeights)
        ? options.classWeights
        : balancedClassWeights(train.labels, k);
  const epochs = options.epochs ?? 30;
  const batchSize = options.batchSize ?? 8;
  const patience = options.patience ?? 5;
  const lr = options.learningRate ?? 1e-3;
  const vars = model.trainableVariables;
  const adam = new FlatAdam(vars, [...model.params.keys()]);
  let adamStep = 0;
  const history: TrainEpochEvent[] = [];
  let best = { loss: Infinity, epoch: -1, weights: snapshot(model) };
  let stoppedBy: TrainClassifierResult['stoppedBy'] = 'epochs';
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = permutation(train.inputs.length, rng);
      let sum = 0;
      let count = 0;
      for (let s = 0; s < order.length; s += batchSize) {
        if (signal?.aborted) {
          stoppedBy = 'aborted';
          break;
        }
        const idx = order.slice(s, s + batchSize);
        const flips = options.flipAugment ? idx.map(() => rng() < 0.5) : undefined;
        const labels = idx.map((i) => train.labels[i]);
        const cost = tf.tidy((): tf.Scalar => {
          const x = batchTensor(train, idx, flips);
          const { value, grads } = tf.variableGrads(
            () => weightedLoss(model.forward(x), labels, weights, k),
            vars,
          );
          adam.update(grads, ++adamStep, lr, 0.9, 0.999, TFJS_ADAM_EPSILON);
          return value;
        });
        sum += (await cost.data())[0] * idx.length;
        count += idx.length;
        cost.dispose();
      }
      if (stoppedBy === 'aborted') break;
      const valLoss = evalLoss(model, val, weights, batchSize);
      if (valLoss < best.loss) best = { loss: valLoss, epoch, weights: snapshot(model) };
      const ev = { epoch, trainLoss: count ? sum / count : NaN, valLoss, bestEpoch: best.epoch };
      history.push(ev);
      options.onEpoch?.(ev);
      if (epoch - best.epoch >= patience) {
        stoppedBy = 'early-stopping';
        break;
      }
      // Yield so a notebook or CLI stays responsive and can abort between epochs.
      await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    adam.dispose();
  }
  if (best.epoch >= 0) model.setWeights(best.weights);
  return {
    epochs: history.length,
    bestEpoch: best.epoch,
    bestValLoss: best.loss,
    history,
    stoppedBy,
    classWeights: weights,
  };
}

/**
 * Class probabilities, one row per subject.
 * @param model - A trained classifier.
 * @param data - Subjects (labels are not used).
 * @param batchSize - Subjects per forward pass (default 8).
 * @returns One row of class probabilities per subject.
 * @example
 * ```ts
 * import { ResNet3d, predictProbabilities, initEngine } from 'mriseq';
 * await initEngine();
 * const net = new ResNet3d({ inputChannels: ['x'], classNames: ['a', 'b'], spatialKernel: 3 });
 * console.log(predictProbabilities(net, { shape: [4, 8, 8, 1], inputs: [new Float32Array(256)], labels: [0] }));
 * net.dispose();
 * ```
 */
export function predictProbabilities(model: ResNet3d, data: ClassifierDataset, batchSize = 8): number[][] {
  const out: number[][] = [];
  for (let s = 0; s < data.inputs.length; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, data.inputs.length - s) }, (_, i) => s + i);
    const p = tf.tidy(() => model.predictProbabilities(batchTensor(data, idx)).arraySync());
    out.push(...p);
  }
  return out;
}
