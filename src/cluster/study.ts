/**
 * Seed 3 of the paper as a function (browser-safe), so notebook 08, a script and the gated test
 * compute the same thing: on one labelled dataset, repeated over several seeds,
 *
 * - (a) the contrastive autoencoder (clusterImages) and k-means on its latents,
 * - (b) k-means on the raw voxels (same k, restarts and seed),
 * - (c) the supervised baselines: logistic regression on the same latents (held-out split) and
 *   the 3D ResNet + CBAM of the downstream studies (runClassifier, the same split fraction),
 *
 * scored by clustering accuracy, NMI and ARI against the label, each summarised over the seeds as
 * mean with a Student-t 95% interval (seedInterval). The label is used only to score and to train
 * the supervised baselines, never by the autoencoder or k-means.
 */
import { MriseqError } from '../errors/index.js';
import { seedInterval, type SeedInterval } from '../analysis/index.js';
import {
  channelStatistics,
  runClassifier,
  standardizeChannels,
  type ChannelStandardization,
  type DownstreamDataset,
  type DownstreamRunOptions,
  type StudyProgress,
} from '../classify/index.js';
import { intervalFigure, type Figure, type IntervalRow } from '../plot/index.js';
import type { TrainAutoencoderOptions, ImageDataset } from './autoencoder.js';
import { kMeans } from './kmeans.js';
import { adjustedRandIndex, clusteringAccuracy, normalizedMutualInfo } from './metrics.js';
import { clusterImages, type ClusterImagesOptions, type ClusterImagesResult } from './pipeline.js';

/**
 * The methods of the study by key, with the names its tables and figure give them, in the order
 * they are reported.
 * @example
 * ```ts
 * import { CLUSTER_STUDY_METHODS } from 'mriseq';
 * console.log(CLUSTER_STUDY_METHODS.autoencoder, Object.keys(CLUSTER_STUDY_METHODS));
 * ```
 */
export const CLUSTER_STUDY_METHODS = {
  autoencoder: 'contrastive AE + k-means',
  reconstruction: 'AE without NT-Xent + k-means',
  raw: 'k-means on raw voxels',
  logistic: 'logistic regression on the latent (supervised)',
  resnet: '3D ResNet + CBAM (supervised)',
} as const;

/**
 * One of {@link CLUSTER_STUDY_METHODS}' keys.
 * @example
 * ```ts
 * import { CLUSTER_STUDY_METHODS, type ClusterStudyMethod } from 'mriseq';
 * const m: ClusterStudyMethod = 'raw';
 * console.log(CLUSTER_STUDY_METHODS[m]);
 * ```
 */
export type ClusterStudyMethod = keyof typeof CLUSTER_STUDY_METHODS;

/**
 * Options of {@link clusterStudy}.
 * @example
 * ```ts
 * import { type ClusterStudyOptions } from 'mriseq';
 * const o: ClusterStudyOptions = {
 *   seeds: [0, 1, 2, 3, 4],
 *   autoencoder: { latentDim: 16 },
 *   train: { epochs: 40, batchSize: 16 },
 *   resnet: { model: { depth: 6, baseWidth: 8, attention: true }, train: { epochs: 20, patience: 5 } },
 * };
 * console.log(o.seeds);
 * ```
 */
export interface ClusterStudyOptions {
  /**
   * Repeat seeds (default [0, 1, 2, 3, 4]): each seeds the autoencoder's initialisation, its
   * augmentations and batch order, both k-means and the supervised baselines' split and training.
   */
  seeds?: readonly number[];
  /** Number of clusters (default: the number of classes). */
  k?: number;
  /** k-means restarts, the same for latents and raw voxels (default 10). */
  restarts?: number;
  /**
   * Standardise each channel with the mean and SD over every subject's voxels (inside the region
   * when the dataset has one) before clustering (default true). Unsupervised: no label is read.
   */
  standardize?: boolean;
  autoencoder?: ClusterImagesOptions['autoencoder'];
  /** Autoencoder training (epochs, batch size, temperature, augmentation, ...). */
  train?: Omit<TrainAutoencoderOptions, 'seed' | 'onEpoch' | 'signal'>;
  /** Held-out fraction of the supervised baselines (default 0.3). */
  testFraction?: number;
  /** The supervised 3D ResNet baseline (runClassifier's model and training); false skips it. */
  resnet?: Pick<DownstreamRunOptions, 'model' | 'train'> | false;
  /**
   * Also train the same autoencoder with the NT-Xent weight at 0 (reconstruction only) and
   * cluster its latents: what the contrastive term adds (default false).
   */
  ablation?: boolean;
  /**
   * Other per-subject variables (in `data.ids` order) to compare every clustering with by NMI,
   * e.g. a nuisance such as the lesion's oedema extent: what the clusters follow instead of the label.
   */
  explain?: Record<string, readonly (string | number)[]>;
  /** Images sampled per cluster in the first seed's example (default 0). */
  samplesPerCluster?: number;
  onStage?: (p: StudyProgress) => void;
  onEpoch?: (
    seed: number,
    e: { epoch: number; loss: number; reconstruction: number; contrastive: number },
  ) => void;
  signal?: AbortSignal;
}

/**
 * Accuracy, NMI and ARI of one method in one seed. Clustering methods: clustering accuracy (best
 * one-to-one matching of clusters to classes) over every subject; supervised ones: plain accuracy
 * of the predicted class, NMI and ARI of the predictions, over their held-out subjects.
 * @example
 * ```ts
 * import { type ClusterScores } from 'mriseq';
 * const s: ClusterScores = { accuracy: 0.8, nmi: 0.3, ari: 0.36, subjects: 120 };
 * console.log(s.accuracy);
 * ```
 */
export interface ClusterScores {
  accuracy: number;
  nmi: number;
  ari: number;
  subjects: number;
  /** Supervised 3D ResNet only: its test AUC. */
  auc?: number;
}

/**
 * One seed of {@link clusterStudy}: every method's scores and how long each took.
 * @example
 * ```ts
 * import { type ClusterStudyRun } from 'mriseq';
 * declare const run: ClusterStudyRun;
 * console.log(run.seed, run.scores.autoencoder.accuracy, run.scores.raw.accuracy, run.seconds);
 * ```
 */
export interface ClusterStudyRun {
  seed: number;
  scores: Partial<Record<ClusterStudyMethod, ClusterScores>> &
    Record<'autoencoder' | 'raw' | 'logistic', ClusterScores>;
  /** NMI of each clustering method's clusters with each `explain` variable. */
  explained: Record<string, Partial<Record<ClusterStudyMethod, number>>>;
  /** The autoencoder's last epoch (loss, reconstruction, NT-Xent). */
  lastEpoch?: { epoch: number; loss: number; reconstruction: number; contrastive: number };
  /** Wall-clock seconds per part. */
  seconds: Partial<Record<ClusterStudyMethod, number>>;
}

/**
 * The mean of one score of one method over the seeds, with its 95% Student-t interval.
 * @example
 * ```ts
 * import { type ClusterStudySummary } from 'mriseq';
 * declare const s: ClusterStudySummary;
 * console.log(s.label, s.metric, s.interval.mean, s.interval.ci95);
 * ```
 */
export interface ClusterStudySummary {
  method: ClusterStudyMethod;
  label: string;
  metric: 'accuracy' | 'nmi' | 'ari';
  interval: SeedInterval;
}

/**
 * What {@link clusterStudy} returns.
 * @example
 * ```ts
 * import { type ClusterStudyResult } from 'mriseq';
 * declare const r: ClusterStudyResult;
 * for (const s of r.summary) console.log(s.label, s.metric, s.interval.mean, s.interval.ci95);
 * r.example.autoencoder.dispose();
 * ```
 */
export interface ClusterStudyResult {
  k: number;
  classNames: string[];
  ids: string[];
  /** Class index per subject (into classNames). */
  labels: number[];
  /** The images clustered: [D, H, W, C] after cropping to the autoencoder's multiple. */
  shape: number[];
  seeds: number[];
  runs: ClusterStudyRun[];
  summary: ClusterStudySummary[];
  standardization?: ChannelStandardization;
  /** The first seed's clustering (latents, clusters, Gaussians, samples, trained autoencoder: dispose it). */
  example: ClusterImagesResult;
  seconds: number;
}

/** Crops each spatial axis of channels-last images to a multiple of `f` (the autoencoder's stride). */
function cropToMultiple(d: DownstreamDataset, f: number): ImageDataset {
  const [D0, H0, W0, C] = d.shape;
  const [D, H, W] = [D0, H0, W0].map((n) => n - (n % f));
  if (!D || !H || !W) {
    throw new MriseqError('the images are too small for the autoencoder', {
      field: 'shape',
      found: `${W0}x${H0}x${D0}`,
      expected: `each axis at least ${f} voxels (it halves each axis ${Math.log2(f)} times)`,
      code: 'cluster.shape',
    });
  }
  if (D === D0 && H === H0 && W === W0) return { shape: [D, H, W, C], inputs: d.inputs, ids: d.ids };
  return {
    shape: [D, H, W, C],
    ids: d.ids,
    inputs: d.inputs.map((x) => {
      const out = new Float32Array(D * H * W * C);
      for (let z = 0; z < D; z++)
        for (let y = 0; y < H; y++)
          for (let xx = 0; xx < W; xx++)
            for (let c = 0; c < C; c++)
              out[((z * H + y) * W + xx) * C + c] = x[((z * H0 + y) * W0 + xx) * C + c];
      return out;
    }),
  };
}

const scoresOf = (y: number[], pred: number[], clustering: boolean): ClusterScores => {
  const hits = pred.filter((p, i) => p === y[i]).length;
  return {
    accuracy: clustering ? clusteringAccuracy(y, pred).accuracy : y.length ? hits / y.length : NaN,
    nmi: normalizedMutualInfo(y, pred),
    ari: adjustedRandIndex(y, pred),
    subjects: y.length,
  };
};

/**
 * Seed 3: the contrastive autoencoder + k-means against k-means on raw voxels and the supervised
 * baselines (logistic regression on the latents; a 3D ResNet), on the same images, repeated over
 * `seeds`, with each score's mean and Student-t 95% interval over the seeds.
 * @param data - A labelled dataset from buildDownstreamDataset (e.g. lesion-centred boxes, label
 *   `lesionGroup`); the label only scores the clusters and trains the supervised baselines.
 * @param options - Seeds, k, restarts, standardisation, autoencoder and training options, the ResNet baseline.
 * @returns Per-seed scores, their summaries, the first seed's clustering (dispose its autoencoder).
 * @throws {@link MriseqError} for fewer than two classes, no seed, or images smaller than the autoencoder's stride.
 * @example
 * ```ts
 * import { Cohort, buildDownstreamDataset, clusterStudy, initEngine } from 'mriseq';
 * await initEngine();
 * const d = await buildDownstreamDataset(Cohort.fromPhantom({ subjects: 16, size: [32, 32, 16] }), {
 *   label: 'lesionGroup',
 *   sequences: ['t1', 't2'],
 *   roi: { mask: 'lesion', size: [8, 8, 4], maskOutside: true },
 * });
 * const r = await clusterStudy(d, { seeds: [0, 1], train: { epochs: 2 }, resnet: false });
 * for (const s of r.summary) console.log(s.label, s.metric, s.interval.mean.toFixed(3), s.interval.ci95);
 * r.example.autoencoder.dispose();
 * ```
 */
export async function clusterStudy(
  data: DownstreamDataset,
  options: ClusterStudyOptions = {},
): Promise<ClusterStudyResult> {
  const t0 = Date.now();
  const seeds = [...(options.seeds ?? [0, 1, 2, 3, 4])];
  if (!seeds.length || seeds.some((s) => !Number.isInteger(s))) {
    throw new MriseqError('the study needs at least one integer seed', {
      field: 'seeds',
      found: `[${seeds.join(', ')}]`,
      expected: 'a non-empty list of integers',
      code: 'cluster.seeds',
    });
  }
  if (data.classNames.length < 2) {
    throw new MriseqError('scoring clusters needs a label with at least two classes', {
      field: 'label',
      found: data.classNames.join(', ') || 'none',
      expected: 'two or more classes',
      code: 'cluster.labels',
    });
  }
  for (const [name, v] of Object.entries(options.explain ?? {})) {
    if (v.length !== data.ids.length) {
      throw new MriseqError('an explain variable needs one value per subject', {
        field: `explain.${name}`,
        found: `${v.length} values`,
        expected: `${data.ids.length} (the dataset's subjects, in its order)`,
        code: 'cluster.explain',
      });
    }
  }
  const k = options.k ?? data.classNames.length;
  const restarts = options.restarts ?? 10;
  const testFraction = options.testFraction ?? 0.3;
  const standardization = (options.standardize ?? true) ? channelStatistics(data) : undefined;
  const prepared = standardization ? standardizeChannels(data, standardization) : data;
  const stages = (options.autoencoder?.widths ?? [8, 16]).length;
  const images = cropToMultiple(prepared, 2 ** stages);
  const y = data.labels;
  const runs: ClusterStudyRun[] = [];
  let example: ClusterImagesResult | undefined;
  const total = seeds.length;
  try {
    for (const [i, seed] of seeds.entries()) {
      if (options.signal?.aborted) break;
      const seconds: ClusterStudyRun['seconds'] = {};
      options.onStage?.({ stage: `seed ${seed}: ${CLUSTER_STUDY_METHODS.autoencoder}`, done: i, total });
      let t = Date.now();
      const r = await clusterImages(images, {
        ...options.train,
        k,
        restarts,
        seed,
        // the class names themselves, so the baseline's predictions map back by name
        labels: y.map((c) => data.classNames[c]),
        autoencoder: options.autoencoder,
        baselineTestFraction: testFraction,
        samplesPerCluster: i === 0 ? (options.samplesPerCluster ?? 0) : 0,
        signal: options.signal,
        onEpoch: options.onEpoch ? (e) => options.onEpoch!(seed, e) : undefined,
      });
      seconds.autoencoder = (Date.now() - t) / 1000;
      if (options.signal?.aborted) {
        // a seed cut short would enter the intervals with a half-trained autoencoder: drop it
        r.autoencoder.dispose();
        break;
      }
      const ev = r.evaluation!;
      const b = ev.baseline;
      const heldY = b.heldOut.map((j) => y[j]);
      // clusterImages indexes the sorted class names; the dataset orders its classes its own way
      const lrPred = b.predicted.map((c) => data.classNames.indexOf(b.classNames[c]));
      const scores: ClusterStudyRun['scores'] = {
        autoencoder: scoresOf(y, r.clusters, true),
        raw: { accuracy: NaN, nmi: NaN, ari: NaN, subjects: 0 },
        logistic: scoresOf(heldY, lrPred, false),
      };
      if (i === 0) example = r;
      else r.autoencoder.dispose();

      const clusterings: Partial<Record<ClusterStudyMethod, number[]>> = { autoencoder: r.clusters };

      if (options.ablation) {
        options.onStage?.({ stage: `seed ${seed}: ${CLUSTER_STUDY_METHODS.reconstruction}`, done: i, total });
        t = Date.now();
        const a = await clusterImages(images, {
          ...options.train,
          contrastiveWeight: 0,
          k,
          restarts,
          seed,
          autoencoder: options.autoencoder,
          signal: options.signal,
        });
        a.autoencoder.dispose();
        scores.reconstruction = scoresOf(y, a.clusters, true);
        clusterings.reconstruction = a.clusters;
        seconds.reconstruction = (Date.now() - t) / 1000;
      }

      options.onStage?.({ stage: `seed ${seed}: ${CLUSTER_STUDY_METHODS.raw}`, done: i, total });
      t = Date.now();
      clusterings.raw = kMeans(images.inputs, k, { seed, restarts }).labels;
      scores.raw = scoresOf(y, clusterings.raw, true);
      seconds.raw = (Date.now() - t) / 1000;
      const explained: ClusterStudyRun['explained'] = {};
      for (const [name, v] of Object.entries(options.explain ?? {})) {
        explained[name] = Object.fromEntries(
          Object.entries(clusterings).map(([m, c]) => [m, normalizedMutualInfo(v, c)]),
        );
      }

      if (options.resnet !== false) {
        options.onStage?.({ stage: `seed ${seed}: ${CLUSTER_STUDY_METHODS.resnet}`, done: i, total });
        t = Date.now();
        const run = await runClassifier(CLUSTER_STUDY_METHODS.resnet, data, {
          model: options.resnet?.model,
          train: { ...options.resnet?.train, seed },
          seed,
          testFraction,
          standardize: options.standardize ?? true,
          bootstrap: 200,
        });
        const testY = run.testIds.map((id) => y[data.ids.indexOf(id)]);
        const pred = run.probabilities.map((p) => p.indexOf(Math.max(...p)));
        scores.resnet = { ...scoresOf(testY, pred, false), auc: run.evaluation.auc };
        run.model.dispose();
        seconds.resnet = (Date.now() - t) / 1000;
      }
      runs.push({ seed, scores, explained, lastEpoch: r.history.at(-1), seconds });
    }
  } catch (e) {
    example?.autoencoder.dispose();
    throw e;
  }
  if (!example) {
    throw new MriseqError('the study was stopped before its first seed finished', {
      field: 'signal',
      found: 'aborted',
      expected: 'at least one finished seed',
      code: 'cluster.aborted',
    });
  }
  options.onStage?.({ stage: 'done', done: total, total });
  const methods = (Object.keys(CLUSTER_STUDY_METHODS) as ClusterStudyMethod[]).filter((m) =>
    runs.every((r) => r.scores[m]),
  );
  const summary: ClusterStudySummary[] = methods.flatMap((method) =>
    (['accuracy', 'nmi', 'ari'] as const).map((metric) => ({
      method,
      label: CLUSTER_STUDY_METHODS[method],
      metric,
      interval: seedInterval(runs.map((r) => r.scores[method]![metric])),
    })),
  );
  return {
    k,
    classNames: [...data.classNames],
    ids: [...data.ids],
    labels: [...y],
    shape: images.shape,
    seeds: runs.map((r) => r.seed),
    runs,
    summary,
    standardization,
    example,
    seconds: (Date.now() - t0) / 1000,
  };
}

/**
 * The study's figure: each method's accuracy, NMI and ARI, mean over seeds with the 95% t
 * interval (dot and whisker), chance marked for accuracy by the largest class's share.
 * @param summary - {@link ClusterStudyResult}'s summary (or the same rows read back from its JSON).
 * @param options - Title (default names the seeds' count) and the largest class's share (accuracy's chance level).
 * @returns A plotly figure spec (display it, or write it as claims/seed3-seed<k>-scores.figure.json).
 * @example
 * ```ts
 * import { clusterStudyFigure, type ClusterStudySummary } from 'mriseq';
 * const rows: ClusterStudySummary[] = [
 *   { method: 'raw', label: 'k-means on raw voxels', metric: 'accuracy', interval: { mean: 0.8, sd: 0.01, n: 5, ci95: [0.79, 0.81], method: 't', values: [] } },
 * ];
 * console.log(clusterStudyFigure(rows, { chance: 0.5 }).data.length);
 * ```
 */
export function clusterStudyFigure(
  summary: readonly ClusterStudySummary[],
  options: { title?: string; chance?: number } = {},
): Figure {
  const rows: IntervalRow[] = summary.map((s) => ({
    label: s.label,
    value: s.interval.mean,
    lo: s.interval.ci95[0],
    hi: s.interval.ci95[1],
    group: s.metric === 'accuracy' ? 'accuracy' : s.metric.toUpperCase(),
    note: `${s.interval.n} seeds, t interval; values ${s.interval.values.map((v) => v.toFixed(3)).join(', ')}`,
  }));
  const n = Math.max(0, ...summary.map((s) => s.interval.n));
  return intervalFigure(rows, {
    title: options.title ?? `Seed 3: clustering scores, mean over ${n} seeds (95% t interval)`,
    xTitle: 'score (accuracy, NMI, ARI)',
    refs: [
      { x: 0, label: 'chance (NMI, ARI)' },
      ...(options.chance !== undefined ? [{ x: options.chance, label: 'chance (accuracy)' }] : []),
    ],
    range: [-0.1, 1.05],
  });
}
