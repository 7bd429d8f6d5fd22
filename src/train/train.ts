/**
 * Training the generator (science spec, "Training"), browser-safe. Per step: a random subject,
 * random source s and target t among the sequences it has, a random crop; three forward passes
 * (translation y_t = G(x_s, t), self-reconstruction y_s = G(x_s, s), cycle y_c = G(y_t, s));
 * loss = 10 (SmoothL1(y_t, x_t) + SmoothL1(y_s, x_s)) + 10 SmoothL1(y_c, x_s)
 *        + w_struct * structural, structural = (1 - SSIM(y_t, x_t)) + (1 - SSIM(y_s, x_s))
 * (deviation: the reference's VGG19 perceptual term needs ImageNet weights that cannot be had
 * here; w_struct = 0.01 by default, 0 switches it off; like the authors' perceptual term it
 * covers y_t and y_s, not the cycle). y_t and y_s share the encoding of x_s: the same values and
 * gradients as encoding twice, for one encoder pass less.
 * The authors' recipe (train_brats_seq2seq_2d.py and their BraTS dataloader) is the default:
 * crops whose source is all background (-1 everywhere) are drawn again without counting a step;
 * source and target are flipped together along x (the last axis of their arrays) with
 * probability 1/2; the learning rate decays per epoch, lr_e = lrEnd + (lr - lrEnd)(1 - e/E)^0.9
 * (poly_lr), an epoch being 8 crops per training subject (their rep_step). `recipe: 'mriseq-0.1'`
 * restores this project's first recipe (per-step linear decay, no flips, no background skipping,
 * the structural term on the cycle too).
 * Adam (PyTorch's update).
 * Validation PSNR on fixed crops picks the best weights. Progress is reported every step;
 * an AbortSignal (or the host's interrupt, see ../interrupt) stops between steps; the whole state (weights, Adam moments, RNG, step) can be
 * snapshotted and resumed bit for bit on the same backend.
 */
import { ensureEngine, tf } from '../engine/index.js';
import { FlatAdam } from '../params/index.js';
import { MriseqError } from '../errors/index.js';
import { signalOrInterrupt, yieldToHost } from '../interrupt/index.js';
import { Seq2Seq, smoothL1, ssimLoss, type NamedWeights } from '../model/index.js';
import { Mulberry32 as Rng } from '../random/index.js';
import { extractPatch } from '../model/data.js';
import { SubjectPool, subjectCount, type Prepared, type TrainSubjects } from './pool.js';
import { CompiledStep, CompileError } from './compiled.js';

// The project's one Adam (src/params), exported here too as before.
export { FlatAdam };

/**
 * Options of {@link train} and {@link trainSteps}; defaults follow the authors' recipe.
 *
 * @example
 * ```ts
 * import { type TrainOptions } from 'mriseq';
 * const ac = new AbortController();
 * const options: TrainOptions = { steps: 6000, crop: 64, lr: 2e-4, seed: 1, signal: ac.signal };
 * console.log(options.steps);
 * ```
 */
export interface TrainOptions {
  /** Total number of steps (the learning-rate schedule spans them). */
  steps: number;
  /** Seed of sampling (default 0; the weights' seed is in the model config). */
  seed?: number;
  /** Crop edge in voxels (default 192, capped to the volume, rounded down to a multiple of 4). */
  crop?: number;
  /**
   * The recipe whose defaults fill the options below: 'authors' (default: the authors' training
   * script) or 'mriseq-0.1' (this project's first recipe, to reproduce runs made with it).
   */
  recipe?: TrainRecipe;
  /** Initial learning rate (2e-4). */
  lr?: number;
  /** Final learning rate (1e-6). */
  lrEnd?: number;
  /** 'epoch' (authors): the rate changes once per epoch; 'step': at every step. */
  lrSchedule?: 'epoch' | 'step';
  /** Power of the polynomial decay (authors 0.9; mriseq-0.1: 1, linear). */
  lrPower?: number;
  /** Steps per epoch for lrSchedule 'epoch' (default 8 per training subject, the authors' rep_step). */
  epochSteps?: number;
  /** Flip source and target together along x with probability 1/2 (authors: true). */
  flip?: boolean;
  /** Draw again when the source crop is all background (authors: true). */
  skipBackground?: boolean;
  /** The structural term also covers the cycle output y_c (authors: false; mriseq-0.1: true). */
  structuralCycle?: boolean;
  beta1?: number;
  beta2?: number;
  /** Weight of the structural (1 - SSIM) term; 0 switches it off (0.01). */
  structuralWeight?: number;
  /**
   * The cycle pass G(y_t, code_s) sees y_t without a gradient path back into it (default false:
   * the authors' recipe). With the gradient, the cycle loss rewards y_t for carrying source
   * information the target does not show (CycleGAN steganography, Chu et al. 2017); detaching
   * removes that reward and keeps the loss value. On the phantom it did not change the acceptance
   * (lesion AUC 0.43 detached vs 0.45 with the gradient), so the recipe stays the default.
   */
  detachCycle?: boolean;
  /** Subjects for validation PSNR; without them the last weights are the best. */
  validation?: TrainSubjects;
  /**
   * Most bytes of normalised subjects held at once (default DEFAULT_TRAIN_CACHE_BYTES, 1 GiB):
   * subjects are loaded when drawn and dropped when the budget needs the room.
   */
  cacheBytes?: number;
  /** Validate every this many steps (default max(1, steps / 10)) and at the end. */
  validateEvery?: number;
  /** Number of fixed validation crops (8). */
  validationCrops?: number;
  /** Volumes are already normalised to [-1, 1] (default false: normalise as the spec says). */
  normalized?: boolean;
  signal?: AbortSignal;
  onProgress?: (e: TrainProgress) => void;
  /** Called every checkpointEvery steps, at a new best, and at the end (or when stopped). */
  onCheckpoint?: (c: TrainCheckpoint) => void | Promise<void>;
  checkpointEvery?: number;
  /** Continue from a checkpoint's state (the model must already hold its weights). */
  resume?: TrainState;
  /**
   * Run each step as one TensorFlow function (src/train/compiled.ts): the eager step's ops,
   * recorded once per crop shape and code pairing, without tfjs's per-op bookkeeping. Default
   * true where the native backend has graph functions (elsewhere the eager step runs); false runs
   * the eager step; 'xla' also compiles the function with XLA's CPU JIT (tens of seconds per
   * recording, see docs/speed.md). The same losses and weights as the eager step to float32
   * rounding; checkpoints and resumption are the same either way.
   */
  compile?: boolean | 'xla';
}

/**
 * The loss of one step, term by term (total = 10·translation + 10·selfReconstruction + 10·cycle +
 * structuralWeight·structural, each SmoothL1 or 1 − SSIM): the total and one number per term of
 * the step's loss list.
 *
 * @example
 * ```ts
 * import { type LossTerms } from 'mriseq';
 * const l: LossTerms = { total: 1.2, translation: 0.05, selfReconstruction: 0.03, cycle: 0.04, structural: 0.3 };
 * console.log(l.total);
 * ```
 */
export type LossTerms = { total: number } & { [K in StepLossTermName]: number };

/**
 * One step's report from {@link trainSteps} (and `onProgress`).
 *
 * @example
 * ```ts
 * import { type TrainProgress } from 'mriseq';
 * const log = (e: TrainProgress): void =>
 *   console.log(e.step, e.lr, e.loss.translation, e.validationPsnr ?? '', `${e.stepMs.toFixed(0)} ms`);
 * void log;
 * ```
 */
export interface TrainProgress {
  step: number;
  steps: number;
  loss: LossTerms;
  lr: number;
  /** Wall time of this step in ms. */
  stepMs: number;
  subject: string;
  source: string;
  target: string;
  /** Where the step's crop was taken (voxel origin, x fastest) and whether it was flipped along x. */
  crop: { x: number; y: number; z: number; flip: boolean };
  /** Whether this step ran as one compiled TensorFlow function (see TrainOptions.compile). */
  compiled?: boolean;
  /** Why the step is not compiled although asked for (set on the first step where it fell back). */
  compileNote?: string;
  /** Set on steps that validated. */
  validationPsnr?: number;
  bestPsnr?: number;
  /** Bytes of normalised subjects the training cache holds after this step (within its budget). */
  cachedBytes?: number;
}

/**
 * Everything besides the weights that a resumed run needs.
 * @example
 * ```ts
 * import { loadCheckpoint, type TrainState, initEngine } from 'mriseq';
 * await initEngine();
 * const state: TrainState | undefined = loadCheckpoint('runs/lite', 'last').state;
 * console.log(state?.step, state?.bestPsnr);
 * ```
 */
export interface TrainState {
  step: number;
  steps: number;
  rngState: number;
  adamStep: number;
  m: NamedWeights;
  v: NamedWeights;
  bestPsnr: number | null;
  bestStep: number | null;
  options: {
    seed: number;
    crop: number;
    lr: number;
    lrEnd: number;
    lrPower: number;
    beta1: number;
    beta2: number;
    structuralWeight: number;
    /** Absent in checkpoints written before the option existed: those trained with the gradient. */
    detachCycle?: boolean;
    /**
     * The recipe's fields below are absent in checkpoints written before the authors' recipe was
     * the default: those resume with mriseq 0.1's (per-step decay, no flips, no skipping, the
     * structural term on the cycle too).
     */
    lrSchedule?: 'epoch' | 'step';
    epochSteps?: number;
    flip?: boolean;
    skipBackground?: boolean;
    structuralCycle?: boolean;
  };
}

/**
 * Named training recipes (see TrainOptions.recipe).
 * @example
 * ```ts
 * import { type TrainOptions, type TrainRecipe } from 'mriseq/browser';
 * const recipe: TrainRecipe = 'mriseq-0.1';
 * const options: TrainOptions = { steps: 300, recipe };
 * console.log(options.recipe);
 * ```
 */
export type TrainRecipe = 'authors' | 'mriseq-0.1';

/** The recipe options a run fixes at its start (and a resumed run keeps). */
type RecipeOptions = Required<
  Pick<TrainState['options'], 'lrSchedule' | 'lrPower' | 'flip' | 'skipBackground' | 'structuralCycle'>
>;

const RECIPES: Readonly<Record<TrainRecipe, RecipeOptions>> = {
  authors: { lrSchedule: 'epoch', lrPower: 0.9, flip: true, skipBackground: true, structuralCycle: false },
  'mriseq-0.1': { lrSchedule: 'step', lrPower: 1, flip: false, skipBackground: false, structuralCycle: true },
};

/** The recipe a checkpoint's options describe, old checkpoints (no recipe fields) included. */
function recipeOf(o: TrainState['options']): RecipeOptions & { epochSteps: number } {
  const legacy = RECIPES['mriseq-0.1'];
  return {
    lrSchedule: o.lrSchedule ?? legacy.lrSchedule,
    lrPower: o.lrPower,
    flip: o.flip ?? legacy.flip,
    skipBackground: o.skipBackground ?? legacy.skipBackground,
    structuralCycle: o.structuralCycle ?? legacy.structuralCycle,
    epochSteps: o.epochSteps ?? 1,
  };
}

/**
 * What `onCheckpoint` receives: the weights and state to save, and why now.
 *
 * @example
 * ```ts
 * import { type TrainCheckpoint } from 'mriseq';
 * const onCheckpoint = (c: TrainCheckpoint): void => console.log(c.reason, c.state.step);
 * void onCheckpoint;
 * ```
 */
export interface TrainCheckpoint {
  reason: 'periodic' | 'best' | 'final' | 'stopped';
  state: TrainState;
  weights: NamedWeights;
}

/**
 * What {@link train} returns.
 *
 * @example
 * ```ts
 * import { createGenerator, phantom, train, type TrainResult, initEngine } from 'mriseq';
 * await initEngine();
 * const model = createGenerator('lite');
 * const r: TrainResult = await train(model, [phantom({ size: [32, 32, 16] }).subject(0)], { steps: 1, crop: 32 });
 * console.log(r.steps, r.stopped, r.finalLoss?.total);
 * model.dispose();
 * ```
 */
export interface TrainResult {
  steps: number;
  stopped: boolean;
  finalLoss: LossTerms | null;
  bestPsnr: number | null;
  bestStep: number | null;
  history: TrainProgress[];
}

interface Sample {
  subject: string;
  source: string;
  target: string;
  origin: { x: number; y: number; z: number };
  flip: boolean;
  xs: tf.Tensor;
  xt: tf.Tensor;
  nts: number;
  ntt: number;
}

function cropSize(p: Prepared, ndims: 2 | 3, crop: number, cIn: number) {
  const shape = [...p.vols.values()][0].shape;
  const fit = (n: number) => Math.max(4, Math.floor(Math.min(crop, n) / 4) * 4);
  return { w: fit(shape[0]), h: fit(shape[1]), d: ndims === 2 ? cIn : fit(shape[2]), shape };
}

/**
 * Reverses the W axis of a channels-last buffer [..., W, C] in place (a flip along x).
 * @param data - A channels-last buffer [..., W, C].
 * @param w - The width W.
 * @param c - The channels C.
 * @example
 * ```ts
 * import { flipLastSpatial } from 'mriseq/browser';
 * const row = Float32Array.from([1, 2, 3]);
 * flipLastSpatial(row, 3, 1);
 * console.log(row); // [3, 2, 1]
 * ```
 */
export function flipLastSpatial(data: Float32Array, w: number, c: number): void {
  const row = w * c;
  for (let r = 0; r < data.length; r += row)
    for (let a = 0, b = w - 1; a < b; a++, b--)
      for (let k = 0; k < c; k++) {
        const i = r + a * c + k;
        const j = r + b * c + k;
        const t = data[i];
        data[i] = data[j];
        data[j] = t;
      }
}

/**
 * The authors' test for an empty crop: its mean is -1 (normalised background) to 1e-8.
 * @param data - A crop of normalised intensities.
 * @returns True when its mean is within 1e-8 of −1 (nothing but background).
 * @example
 * ```ts
 * import { isBackground } from 'mriseq/browser';
 * console.log(isBackground(new Float32Array(16).fill(-1)), isBackground(Float32Array.from([-1, 0.5]))); // true false
 * ```
 */
export function isBackground(data: Float32Array): boolean {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i];
  return Math.abs(s / data.length + 1) < 1e-8;
}

interface Augment {
  /** Flip source and target together along x with probability 1/2 (one draw per call). */
  flip: boolean;
  /** Return null instead of a sample when the source crop is all background. */
  skipBackground: boolean;
}

const NO_AUGMENT: Augment = { flip: false, skipBackground: false };

/** Draws one training/validation example; tensors [1, T, ...box, C]. */
function draw(p: Prepared, model: Seq2Seq, rng: Rng, crop: number): Sample;
function draw(p: Prepared, model: Seq2Seq, rng: Rng, crop: number, aug: Augment): Sample | null;
function draw(p: Prepared, model: Seq2Seq, rng: Rng, crop: number, aug: Augment = NO_AUGMENT): Sample | null {
  const names = [...p.vols.keys()];
  const source = rng.pick(names);
  const target = rng.pick(names);
  const { ndims, cIn } = model.config;
  const size = cropSize(p, ndims, crop, cIn);
  const [nx, ny, nz] = size.shape;
  const origin = {
    x: rng.int(Math.max(1, nx - size.w + 1)),
    y: rng.int(Math.max(1, ny - size.h + 1)),
    z: rng.int(Math.max(1, nz - size.d + 1)),
  };
  const box = ndims === 2 ? [size.h, size.w] : [size.d, size.h, size.w];
  const c = ndims === 2 ? cIn : 1;
  const flip = aug.flip && rng.next() < 0.5;
  const patch = (name: string) => {
    const v = p.vols.get(name)!;
    const data = extractPatch(
      { data: v.data, shape: v.shape, spacing: [], affine: [], datatype: 'float32' },
      ndims,
      origin,
      size,
    );
    if (flip) flipLastSpatial(data, size.w, c);
    return { data, nt: v.nt };
  };
  const s = patch(source);
  if (aug.skipBackground && isBackground(s.data)) return null;
  const t = target === source ? s : patch(target);
  return {
    subject: p.id,
    source,
    target,
    origin,
    flip,
    xs: tf.tensor(s.data, [1, s.nt, ...box, c]),
    xt: tf.tensor(t.data, [1, t.nt, ...box, c]),
    nts: s.nt,
    ntt: t.nt,
  };
}

/** Redraws allowed in a row before the data are declared all background. */
const MAX_REDRAWS = 10_000;

/** The next training sample of the recipe: redraws (uncounted) while the source crop is empty. */
async function drawTraining(
  data: SubjectPool,
  model: Seq2Seq,
  rng: Rng,
  crop: number,
  aug: Augment,
): Promise<Sample> {
  const seen = new Set<string>();
  for (let k = 0; k < MAX_REDRAWS; k++) {
    const p = await data.get(rng.int(data.size));
    seen.add(p.id);
    const s = draw(p, model, rng, crop, aug);
    if (s) return s;
  }
  throw new MriseqError(`${MAX_REDRAWS} crops in a row were all background`, {
    field: 'subjects',
    found: `${seen.size} subject(s) drawn: ${[...seen].slice(0, 3).join(', ')}${seen.size > 3 ? ', ...' : ''}`,
    expected: 'volumes with foreground (values above the minimum after normalisation)',
    code: 'train.empty',
  });
}

/** The identity whose gradient is zero (PyTorch's detach inside a taped computation). */
const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor),
})) as (x: tf.Tensor) => tf.Tensor;

/** [B, T, ...spatial, C] -> [B*T, ...spatial, C] for SSIM. */
function flatT(x: tf.Tensor): tf.Tensor {
  return tf.reshape(x, [x.shape[0] * (x.shape[1] ?? 1), ...x.shape.slice(2)]);
}

/**
 * PSNR in dB of two tensors in [-1, 1] (data range 2): 10·log10(4 / MSE), the training loop's validation metric.
 *
 * @param y - Prediction.
 * @param x - Target, same shape.
 * @returns PSNR in dB (MSE floored at 1e-12).
 * @example
 * ```ts
 * import { psnrOf, tf, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const x = tf.zeros([1, 8, 8, 1]);
 * const y = tf.fill([1, 8, 8, 1], 0.1);
 * console.log(psnrOf(y, x)); // 26.02
 * tf.dispose([x, y]);
 * ```
 */
export function psnrOf(y: tf.Tensor, x: tf.Tensor): number {
  const mse = tf.tidy(() => tf.mean(tf.squaredDifference(y, x)).dataSync()[0]);
  return 10 * Math.log10(4 / Math.max(mse, 1e-12));
}

/**
 * The learning rate of a step (0-based): polynomial decay from lr to lrEnd, per step, or per
 * epoch as the authors' poly_lr(epoch, epochs, lr, min_lr, 0.9) with epochs = ceil(steps / epochSteps).
 * @param step - The step, from 0.
 * @param steps - Total steps.
 * @param o - The run's options (lr, lrEnd, lrPower, lrSchedule, epochSteps; a {@link TrainState}'s `options`).
 * @returns The learning rate of that step.
 * @example
 * ```ts
 * import { learningRate, type TrainState } from 'mriseq/browser';
 * const o: TrainState['options'] = {
 *   seed: 0, crop: 64, lr: 2e-4, lrEnd: 1e-6, lrPower: 0.9, beta1: 0.5, beta2: 0.999, structuralWeight: 0.01,
 *   lrSchedule: 'epoch', epochSteps: 100,
 * };
 * console.log(learningRate(0, 1000, o), learningRate(999, 1000, o));
 * ```
 */
export function learningRate(step: number, steps: number, o: TrainState['options']): number {
  const r = recipeOf(o);
  const frac =
    r.lrSchedule === 'epoch'
      ? Math.floor(step / r.epochSteps) / Math.max(1, Math.ceil(steps / r.epochSteps))
      : step / Math.max(1, steps);
  return (o.lr - o.lrEnd) * Math.pow(1 - Math.min(1, frac), o.lrPower) + o.lrEnd;
}

/**
 * One sample of a training step: sources x_s [B, T_s, ...] and target x_t [B, T_t, ...].
 * @example
 * ```ts
 * import { tf, type StepSample, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const sample: StepSample = { xs: tf.zeros([2, 1, 32, 32, 1]), xt: tf.zeros([2, 1, 32, 32, 1]), source: 't2', target: 'flair', nts: 1, ntt: 1 };
 * tf.dispose([sample.xs, sample.xt]);
 * ```
 */
export interface StepSample {
  xs: tf.Tensor;
  xt: tf.Tensor;
  source: string | number;
  target: string | number;
  /** Time points of the source / target (1 for 3D volumes). */
  nts: number;
  ntt: number;
  /** The codes' one-hot vectors [1, c_s] as tensors (a compiled step feeds them; see Seq2Seq.style). */
  codeVectors?: { source: tf.Tensor; target: tf.Tensor };
}

/**
 * The options the step's loss reads.
 * @example
 * ```ts
 * import { type StepLossOptions } from 'mriseq/browser';
 * const o: StepLossOptions = { structuralWeight: 0.01, structuralCycle: false, detachCycle: false };
 * console.log(o.structuralWeight);
 * ```
 */
export interface StepLossOptions {
  structuralWeight: number;
  /** The structural term covers y_c too (default false: y_t and y_s, as the authors' perceptual term). */
  structuralCycle?: boolean;
  /** See TrainOptions.detachCycle (default false here: the authors' recipe). */
  detachCycle?: boolean;
}

/** The images a step's loss terms compare: generated y_t, y_s, y_c = G(y_t, code_s) and the real x_t, x_s. */
interface StepImages {
  yt: tf.Tensor;
  ys: tf.Tensor;
  yc: tf.Tensor;
  xt: tf.Tensor;
  xs: tf.Tensor;
}

/** One named term of the step's loss (its name is its key in {@link LossTerms}). */
interface StepLossTerm {
  name: string;
  value: (images: StepImages, o: StepLossOptions) => tf.Scalar;
}

/** Terms summed and then weighted: total = Σ weight · (Σ terms of the group). */
interface StepLossGroup {
  weight: (o: StepLossOptions) => number;
  terms: readonly StepLossTerm[];
}

const smoothL1Of =
  (y: keyof StepImages, x: keyof StepImages) =>
  (g: StepImages): tf.Scalar =>
    smoothL1(g[y], g[x]);

/**
 * The structural term: the sum of (1 - SSIM) over (y_t, x_t) and (y_s, x_s), and (y_c, x_s) with
 * structuralCycle (the authors' perceptual term stands on y_t and y_s).
 */
function structuralOf(g: StepImages, o: StepLossOptions): tf.Scalar {
  const pairs: [tf.Tensor, tf.Tensor][] = [
    [flatT(g.yt), flatT(g.xt)],
    [flatT(g.ys), flatT(g.xs)],
  ];
  if (o.structuralCycle) pairs.push([flatT(g.yc), flatT(g.xs)]);
  const same = pairs.every(([y]) => y.shape.join() === pairs[0][0].shape.join());
  // Equal shapes: one SSIM over the pairs as a batch; its mean is the mean of the pairs' (each
  // has the same number of windows), so sum(1 - SSIM_i) = n (1 - mean).
  return same
    ? (tf.mul(
        tf.sub(1, ssimLoss(tf.concat(pairs.map((p) => p[0])), tf.concat(pairs.map((p) => p[1])))),
        pairs.length,
      ) as tf.Scalar)
    : (tf.addN(pairs.map(([y, x]) => tf.sub(1, ssimLoss(y, x)))) as tf.Scalar);
}

/**
 * The step's loss, as one list (science.md): 10 (SmoothL1(y_t, x_t) + SmoothL1(y_s, x_s)) +
 * 10 SmoothL1(y_c, x_s) + w_struct · structural. {@link stepLoss} (so the eager and the compiled
 * step, which records it), the reported {@link LossTerms} and their order all read it: swapping,
 * reweighting or adding a term is one change here.
 */
const STEP_LOSS = [
  {
    weight: () => 10,
    terms: [
      { name: 'translation', value: smoothL1Of('yt', 'xt') },
      { name: 'selfReconstruction', value: smoothL1Of('ys', 'xs') },
    ],
  },
  { weight: () => 10, terms: [{ name: 'cycle', value: smoothL1Of('yc', 'xs') }] },
  {
    weight: (o: StepLossOptions) => o.structuralWeight,
    terms: [{ name: 'structural', value: structuralOf }],
  },
] as const satisfies readonly StepLossGroup[];

/** The terms' names in the order of the step's parts (after the total). */
type StepLossTermName = (typeof STEP_LOSS)[number]['terms'][number]['name'];
const STEP_LOSS_TERMS: readonly StepLossTermName[] = STEP_LOSS.flatMap((g) => g.terms.map((t) => t.name));

/**
 * The step's loss terms by name, from the step's [total, ...terms] values.
 * @param values - What {@link trainingStep} (or the compiled step) returns.
 * @returns The total and each term under its name.
 */
function lossTermsOf(values: Float32Array): LossTerms {
  const out = { total: values[0] } as LossTerms;
  STEP_LOSS_TERMS.forEach((name, i) => (out[name] = values[i + 1]));
  return out;
}

/**
 * The step's loss (science.md): 10 (SmoothL1(y_t, x_t) + SmoothL1(y_s, x_s)) + 10 SmoothL1(y_c, x_s)
 * + w_struct * structural, with y_c = G(y_t, code_s) and structural the sum of (1 - SSIM) over
 * (y_t, x_t) and (y_s, x_s) (and (y_c, x_s) with structuralCycle). Call it under a gradient tape
 * (it keeps nothing itself). Returns the total and [total, translation, selfReconstruction, cycle,
 * structural].
 * @param model - The generator.
 * @param o - Structural weight and which terms it covers; whether the cycle is detached.
 * @param sample - Source and target batches.
 * @returns The total (a scalar tensor to differentiate) and its parts.
 * @example
 * ```ts
 * import { createGenerator, stepLoss, tf, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const model = createGenerator('lite');
 * const xs = tf.randomUniform([1, 1, 32, 32, 1], -1, 1);
 * const total = tf.tidy(() => stepLoss(model, { structuralWeight: 0.01 }, { xs, xt: xs, source: 't1', target: 't2', nts: 1, ntt: 1 }).total);
 * console.log(total.dataSync()[0]);
 * tf.dispose([xs, total]);
 * model.dispose();
 * ```
 */
export function stepLoss(
  model: Seq2Seq,
  o: StepLossOptions,
  sample: StepSample,
): { total: tf.Scalar; parts: tf.Scalar[] } {
  const codeS = model.codeIndex(sample.source);
  const codeT = model.codeIndex(sample.target);
  const feat = model.encode(sample.xs);
  // The decoder's generated kernels depend only on the code: once per code and step ...
  const dwT = model.decoderWeights(codeT, sample.codeVectors?.target);
  const dwS = codeS === codeT ? dwT : model.decoderWeights(codeS, sample.codeVectors?.source);
  // ... and the decoder's ConvLSTM only on the feature: y_t and y_s share it.
  const stT = model.decoderState(feat, sample.ntt);
  const stS = sample.nts === sample.ntt ? stT : model.decoderState(feat, sample.nts);
  const yt = model.decode(feat, codeT, sample.ntt, { weights: dwT, state: stT });
  const ys = model.decode(feat, codeS, sample.nts, { weights: dwS, state: stS });
  const yc = model.apply(o.detachCycle ? stopGradient(yt) : yt, codeS, sample.nts, { weights: dwS });
  const images: StepImages = { yt, ys, yc, xt: sample.xt, xs: sample.xs };
  const parts: tf.Scalar[] = [];
  const weighted: tf.Scalar[] = [];
  for (const group of STEP_LOSS) {
    const w = group.weight(o);
    // an unweighted group is not computed (its terms report 0)
    const values = group.terms.map((t) => (w > 0 ? t.value(images, o) : tf.scalar(0)));
    parts.push(...values);
    weighted.push(
      tf.mul(
        values.reduce((a, b) => tf.add(a, b)),
        w,
      ),
    );
  }
  const total = tf.addN(weighted) as tf.Scalar;
  return { total, parts: [total, ...parts] };
}

/**
 * One optimisation step in one tidy: three forward passes, one backward pass, Adam (PyTorch's
 * update) on every variable. Returns [total, translation, selfReconstruction, cycle, structural].
 * Exported for the benchmark; adamStep counts from 1.
 * @param model - The generator (updated in place).
 * @param adam - The optimiser over its variables.
 * @param adamStep - The Adam step, from 1.
 * @param lr - The learning rate.
 * @param o - Adam's betas and the loss options.
 * @param sample - Source and target batches.
 * @returns The loss terms [total, translation, selfReconstruction, cycle, structural].
 * @example
 * ```ts
 * import { FlatAdam, createGenerator, tf, trainingStep, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const model = createGenerator('lite');
 * const adam = new FlatAdam([...model.variables.values()], [...model.variables.keys()]);
 * const xs = tf.randomUniform([1, 1, 32, 32, 1], -1, 1);
 * const xt = tf.randomUniform([1, 1, 32, 32, 1], -1, 1);
 * const loss = trainingStep(model, adam, 1, 2e-4, { beta1: 0.5, beta2: 0.999, structuralWeight: 0.01 }, {
 *   xs, xt, source: 't1', target: 't1gd', nts: 1, ntt: 1,
 * });
 * console.log(loss);
 * tf.dispose([xs, xt]);
 * adam.dispose();
 * model.dispose();
 * ```
 */
export function trainingStep(
  model: Seq2Seq,
  adam: FlatAdam,
  adamStep: number,
  lr: number,
  o: { beta1: number; beta2: number } & StepLossOptions,
  sample: StepSample,
): Float32Array {
  return tf.tidy(() => {
    let parts: tf.Scalar[] = [];
    const { grads } = tf.variableGrads(() => {
      const r = stepLoss(model, o, sample);
      // kept past variableGrads' own scope; disposed right after reading them
      parts = r.parts.map((t) => tf.keep(t));
      return r.total;
    }, adam.vars);
    adam.update(grads, adamStep, lr, o.beta1, o.beta2);
    const out = tf.stack(parts).dataSync() as Float32Array;
    for (const t of parts) t.dispose();
    return out;
  });
}

/**
 * The training loop as an async iterator of per-step progress events. `train()` runs it to the
 * end; a notebook can `for await` it to draw a live curve.
 * Each step draws a subject, a source and a target among its sequences, and a crop; it optimises
 * 10·(SmoothL1(y_t, x_t) + SmoothL1(y_s, x_s)) + 10·SmoothL1(y_c, x_s) + w·(1 − SSIM) with Adam.
 *
 * @param model - The generator to train (its weights change in place).
 * @param subjects - Training subjects, each with at least two of the model's sequences.
 * @param options - As {@link train}.
 * @returns An async generator of {@link TrainProgress} per step whose return value is the {@link TrainResult}.
 * @throws {@link MriseqError} for invalid options (steps, recipe, epochSteps), subjects the model cannot
 *   use, or a diverged (non-finite) loss.
 * @example
 * ```ts
 * import { createGenerator, phantom, trainSteps, initEngine } from 'mriseq';
 * await initEngine();
 * const p = phantom({ subjects: 2, size: [32, 32, 16] });
 * const model = createGenerator('lite');
 * for await (const e of trainSteps(model, [p.subject(0), p.subject(1)], { steps: 2, crop: 32 }))
 *   console.log(`step ${e.step}/${e.steps} ${e.source}->${e.target} loss ${e.loss.total.toFixed(3)}`);
 * model.dispose();
 * ```
 */
export async function* trainSteps(
  model: Seq2Seq,
  subjects: TrainSubjects,
  options: TrainOptions,
): AsyncGenerator<TrainProgress, TrainResult> {
  ensureEngine();
  // The caller's signal, else the Jupyter kernel's for this cell: an interrupt stops at the next step.
  const signal = signalOrInterrupt(options.signal);
  if (!Number.isInteger(options.steps) || options.steps < 1) {
    throw new MriseqError('steps must be a positive integer', {
      field: 'steps',
      found: String(options.steps),
      expected: '>= 1',
      code: 'train.steps',
    });
  }
  const normalized = options.normalized ?? false;
  // subjects are loaded and normalised when drawn, within the cache budget
  const data = SubjectPool.open(subjects, model, normalized, 'subjects', options.cacheBytes);
  const val =
    options.validation && subjectCount(options.validation) > 0
      ? SubjectPool.open(options.validation, model, normalized, 'validation', options.cacheBytes)
      : undefined;
  const resume = options.resume;
  const recipe = options.recipe ?? 'authors';
  if (!Object.hasOwn(RECIPES, recipe))
    throw new MriseqError('unknown training recipe', {
      field: 'recipe',
      found: String(recipe),
      expected: Object.keys(RECIPES).join(', '),
      code: 'train.recipe',
    });
  const base = RECIPES[recipe];
  const o: TrainState['options'] = resume?.options ?? {
    seed: options.seed ?? 0,
    crop: options.crop ?? 192,
    lr: options.lr ?? 2e-4,
    lrEnd: options.lrEnd ?? 1e-6,
    lrPower: options.lrPower ?? base.lrPower,
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    structuralWeight: options.structuralWeight ?? 0.01,
    detachCycle: options.detachCycle ?? false,
    lrSchedule: options.lrSchedule ?? base.lrSchedule,
    epochSteps: options.epochSteps ?? 8 * data.size,
    flip: options.flip ?? base.flip,
    skipBackground: options.skipBackground ?? base.skipBackground,
    structuralCycle: options.structuralCycle ?? base.structuralCycle,
  };
  if (!Number.isInteger(o.epochSteps) || (o.epochSteps ?? 0) < 1)
    throw new MriseqError('epochSteps must be a positive integer', {
      field: 'epochSteps',
      found: String(o.epochSteps),
      expected: '>= 1',
      code: 'train.options',
    });
  const rc = recipeOf(o);
  const augment: Augment = { flip: rc.flip, skipBackground: rc.skipBackground };
  const lossOptions = { ...o, structuralCycle: rc.structuralCycle };
  const steps = options.steps;
  const names = [...model.variables.keys()];
  const vars = [...model.variables.values()];
  const rng = new Rng(o.seed);
  const adam = new FlatAdam(vars, names);
  const compileMode = options.compile ?? true;
  const compiled = compileMode ? CompiledStep.create(model, adam, { xla: compileMode === 'xla' }) : undefined;
  // said when compiling was asked for explicitly (the default on a backend without graph
  // functions is silent), or when a recording failed
  let compileNote: string | undefined =
    options.compile && !compiled ? 'the backend has no graph functions: eager steps' : undefined;
  let noteSent = false;
  let adamStep = 0;
  let bestPsnr: number | null = null;
  let bestStep: number | null = null;
  let step = 0;
  if (resume) {
    if (resume.steps !== steps) {
      throw new MriseqError(
        'a resumed run must keep the total number of steps (the learning-rate schedule spans it)',
        {
          field: 'steps',
          found: String(steps),
          expected: String(resume.steps),
          code: 'train.resume',
        },
      );
    }
    rng.state = resume.rngState;
    adamStep = resume.adamStep;
    step = resume.step;
    bestPsnr = resume.bestPsnr;
    bestStep = resume.bestStep;
    adam.load(resume.m, resume.v);
  }
  // Validation crops are fixed by the seed, independent of the training draws.
  const valSamples: Sample[] = [];
  if (val) {
    const vr = new Rng((o.seed ^ 0x5eed) >>> 0);
    const n = options.validationCrops ?? 8;
    for (let i = 0; i < n; i++) valSamples.push(draw(await val.get(i % val.size), model, vr, o.crop));
  }
  const validateEvery = options.validateEvery ?? Math.max(1, Math.floor(steps / 10));
  const checkpointEvery = options.checkpointEvery ?? 0;
  const history: TrainProgress[] = [];

  const state = (): TrainState => ({
    step,
    steps,
    rngState: rng.state,
    adamStep,
    ...adam.state(),
    bestPsnr,
    bestStep,
    options: { ...o },
  });
  const checkpoint = async (reason: TrainCheckpoint['reason']) => {
    if (options.onCheckpoint)
      await options.onCheckpoint({ reason, state: state(), weights: model.getWeights() });
  };
  const validate = (): number => {
    let sum = 0;
    for (const s of valSamples) {
      const p = tf.tidy(() => psnrOf(model.apply(s.xs, s.target, s.ntt), s.xt));
      // the inputs are finite (prepare checks them): a NaN here is the generator's own output
      if (!Number.isFinite(p))
        throw new MriseqError('validation PSNR is not finite (the generator outputs NaN or Inf)', {
          field: `validation ${s.subject} (${s.source} -> ${s.target})`,
          found: String(p),
          expected: 'a finite PSNR (training diverged: lower lr?)',
          code: 'train.diverged',
        });
      sum += p;
    }
    return sum / valSamples.length;
  };

  let last: LossTerms | null = null;
  let stopped = false;
  try {
    while (step < steps) {
      if (signal?.aborted) {
        stopped = true;
        break;
      }
      const t0 = performance.now();
      const sample = await drawTraining(data, model, rng, o.crop, augment);
      const lr = learningRate(step, steps, o);
      adamStep++;
      let terms: Float32Array | undefined;
      if (compiled && !compileNote) {
        try {
          terms = compiled.step(adamStep, lr, lossOptions, sample);
        } catch (e) {
          // only a failed recording falls back (nothing ran); a failure while running is raised
          if (!(e instanceof CompileError)) throw e;
          compileNote = `${e.message}: eager steps`;
        }
      }
      const wasCompiled = terms !== undefined;
      terms ??= trainingStep(model, adam, adamStep, lr, lossOptions, sample);
      sample.xs.dispose();
      sample.xt.dispose();
      step++;
      last = lossTermsOf(terms);
      if (!Number.isFinite(last.total)) {
        throw new MriseqError('training diverged (loss is not finite)', {
          field: `loss at step ${step} (subject ${sample.subject}, ${sample.source} -> ${sample.target})`,
          found: String(last.total),
          expected: 'a finite number (lower lr?)',
          code: 'train.diverged',
        });
      }
      const ev: TrainProgress = {
        step,
        steps,
        loss: last,
        lr,
        stepMs: performance.now() - t0,
        subject: sample.subject,
        source: sample.source,
        target: sample.target,
        crop: { ...sample.origin, flip: sample.flip },
        cachedBytes: data.cachedBytes,
        compiled: wasCompiled,
      };
      if (compileNote && !noteSent) {
        ev.compileNote = compileNote;
        noteSent = true;
      }
      let improved = false;
      if (valSamples.length && (step % validateEvery === 0 || step === steps)) {
        ev.validationPsnr = validate();
        // a NaN never counts as best (a first NaN would have stayed best for the whole run)
        if (Number.isFinite(ev.validationPsnr) && (bestPsnr === null || ev.validationPsnr > bestPsnr)) {
          bestPsnr = ev.validationPsnr;
          bestStep = step;
          improved = true;
        }
      }
      if (bestPsnr !== null) ev.bestPsnr = bestPsnr;
      history.push(ev);
      options.onProgress?.(ev);
      yield ev;
      if (improved) await checkpoint('best');
      if (checkpointEvery > 0 && step % checkpointEvery === 0 && step < steps) await checkpoint('periodic');
      await yieldToHost(); // lets a kernel's interrupt (or a UI) in between steps
    }
    await checkpoint(stopped ? 'stopped' : 'final');
  } finally {
    compiled?.dispose();
    adam.dispose();
    for (const s of valSamples) {
      s.xs.dispose();
      s.xt.dispose();
    }
  }
  return { steps: step, stopped, finalLoss: last, bestPsnr, bestStep, history };
}

/**
 * Trains to the end (or until options.signal aborts) and returns the summary.
 * @param model - The generator to train (its weights change in place).
 * @param subjects - Training subjects (raw intensities; normalised as the spec says unless `options.normalized`).
 * @param options - Steps, crop, learning-rate schedule, loss weights, validation, callbacks; see {@link TrainOptions}.
 * @returns The summary: steps done, whether stopped, last loss, best validation PSNR (dB) and the history.
 * @throws {@link MriseqError} as {@link trainSteps}.
 * @example
 * ```ts
 * import { createGenerator, phantom, train, initEngine } from 'mriseq';
 * await initEngine();
 * const p = phantom({ subjects: 3, size: [32, 32, 16] });
 * const model = createGenerator('lite');
 * const result = await train(model, [p.subject(0), p.subject(1)], {
 *   steps: 2,
 *   crop: 32,
 *   validation: [p.subject(2)],
 *   onProgress: (e) => console.log(e.step, e.loss.total.toFixed(3)),
 * });
 * console.log(result.bestPsnr, 'dB');
 * model.dispose();
 * ```
 */
export async function train(
  model: Seq2Seq,
  subjects: TrainSubjects,
  options: TrainOptions,
): Promise<TrainResult> {
  const it = trainSteps(model, subjects, options);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}
