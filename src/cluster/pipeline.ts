/**
 * The whole clustering study in one call: train the contrastive autoencoder, embed every image,
 * k-means on the latent (k given, or chosen by silhouette), and, when labels are known, clustering
 * accuracy / NMI / ARI against them beside a supervised baseline (logistic regression on the same
 * latent, trained on a stratified split and scored on the held-out part).
 */
import { MriseqError } from '../errors/index.js';
import { createRng, stratifiedSplit } from '../classify/index.js';
import {
  ContrastiveAutoencoder,
  trainContrastiveAutoencoder,
  embed,
  fitClusterGaussians,
  sampleImages,
  type AutoencoderConfig,
  type ImageDataset,
  type TrainAutoencoderOptions,
  type ClusterGaussian,
} from './autoencoder.js';
import { kMeans, chooseK } from './kmeans.js';
import { clusteringAccuracy, normalizedMutualInfo, adjustedRandIndex } from './metrics.js';
import { fitLogisticRegression, predictLogisticRegression } from './baseline.js';

/**
 * Options of {@link clusterImages}.
 *
 * @example
 * ```ts
 * import { type ClusterImagesOptions } from 'mriseq';
 * const o: ClusterImagesOptions = { kMax: 5, epochs: 20, batchSize: 16, temperature: 0.5, samplesPerCluster: 4, seed: 1 };
 * console.log(o.kMax);
 * ```
 */
export interface ClusterImagesOptions extends TrainAutoencoderOptions {
  /** Number of clusters; when absent chosen by the silhouette over 2..kMax. */
  k?: number;
  kMax?: number;
  restarts?: number;
  /** Known labels (for evaluation only; never used to train the autoencoder or k-means). */
  labels?: (number | string)[];
  autoencoder?: Partial<Omit<AutoencoderConfig, 'inputShape' | 'channels'>>;
  /** Held-out fraction for the supervised baseline (default 0.3). */
  baselineTestFraction?: number;
  /** Images to sample per cluster from its latent Gaussian (default 0). */
  samplesPerCluster?: number;
}

/**
 * What {@link clusterImages} returns.
 *
 * @example
 * ```ts
 * import { type ClusterImagesResult } from 'mriseq';
 * declare const r: ClusterImagesResult; // from clusterImages
 * console.log(r.k, r.silhouettes, r.evaluation?.nmi, r.evaluation?.baseline.accuracy);
 * r.autoencoder.dispose();
 * ```
 */
export interface ClusterImagesResult {
  k: number;
  clusters: number[];
  latents: number[][];
  silhouettes?: { k: number; silhouette: number }[];
  evaluation?: {
    accuracy: number;
    nmi: number;
    ari: number;
    baseline: {
      method: 'logistic-regression-on-latent';
      accuracy: number;
      testSubjects: number;
      /** Indices (into the images) of the held-out subjects, and the class predicted for each. */
      heldOut: number[];
      predicted: number[];
      /** Class names, sorted; `predicted` and the scores' labels index them. */
      classNames: string[];
    };
    /** Clustering accuracy restricted to the baseline's held-out subjects (like for like). */
    clusteringAccuracyOnTest: number;
  };
  gaussians: ClusterGaussian[];
  samples: { cluster: number; images: Float32Array[] }[];
  history: { epoch: number; loss: number; reconstruction: number; contrastive: number }[];
  autoencoder: ContrastiveAutoencoder;
}

/**
 * The clustering study in one call: train the contrastive autoencoder, embed every image, k-means
 * on the latent (k given or chosen by silhouette), and with known labels: accuracy, NMI and ARI
 * beside a supervised baseline (logistic regression on the same latent, stratified held-out split).
 *
 * @param data - Images of one shape.
 * @param options - Autoencoder training options, `k` or `kMax`, `labels` (evaluation only), samples per cluster.
 * @returns The clusters, latents, evaluation, per-cluster Gaussians, samples, loss history and the trained autoencoder.
 * @throws {@link MriseqError} for fewer than 3 images or a label count that differs from the images'.
 * @example
 * ```ts
 * import { clusterImages, phantom, sliceVolume, normalizeIntensity, initEngine } from 'mriseq';
 * await initEngine();
 * const p = phantom({ subjects: 8, size: [32, 32, 16] });
 * const subjects = p.ids().map((id) => p.subject(id));
 * const r = await clusterImages(
 *   { shape: [32, 32, 1], inputs: subjects.map((s) => sliceVolume(normalizeIntensity(s.volumes.flair!), 2, 8).data) },
 *   { k: 2, epochs: 2, labels: subjects.map((s) => s.labels.lesionGroup) },
 * );
 * console.log(r.clusters, r.evaluation?.accuracy);
 * r.autoencoder.dispose();
 * ```
 */
export async function clusterImages(
  data: ImageDataset,
  options: ClusterImagesOptions = {},
): Promise<ClusterImagesResult> {
  if (data.inputs.length < 3) {
    throw new MriseqError('clustering needs at least 3 images', {
      field: 'inputs',
      found: String(data.inputs.length),
      expected: '>= 3',
      code: 'cluster.dataset',
    });
  }
  if (options.labels && options.labels.length !== data.inputs.length) {
    throw new MriseqError('one label per image is needed', {
      field: 'labels',
      found: String(options.labels.length),
      expected: String(data.inputs.length),
      code: 'cluster.labels',
    });
  }
  const seed = options.seed ?? 0;
  const ae = new ContrastiveAutoencoder({
    ...options.autoencoder,
    seed,
    inputShape: data.shape.slice(0, -1),
    channels: data.shape[data.shape.length - 1],
  });
  const { history } = await trainContrastiveAutoencoder(ae, data, options);
  const latents = embed(ae, data);
  let clusters: number[];
  let k: number;
  let silhouettes: { k: number; silhouette: number }[] | undefined;
  if (options.k !== undefined) {
    const r = kMeans(latents, options.k, { seed, restarts: options.restarts });
    clusters = r.labels;
    k = r.k;
  } else {
    const r = chooseK(latents, { seed, restarts: options.restarts, kMax: options.kMax });
    clusters = r.best.labels;
    k = r.best.k;
    silhouettes = r.silhouettes;
  }
  let evaluation: ClusterImagesResult['evaluation'];
  if (options.labels) {
    const names = [...new Set(options.labels.map(String))].sort();
    const y = options.labels.map((l) => names.indexOf(String(l)));
    const split = stratifiedSplit(y, options.baselineTestFraction ?? 0.3, createRng(seed + 5));
    const lr = fitLogisticRegression(
      split.train.map((i) => latents[i]),
      split.train.map((i) => y[i]),
    );
    const pred = predictLogisticRegression(
      lr,
      split.held.map((i) => latents[i]),
    ).map((p) => lr.classes[p.indexOf(Math.max(...p))]);
    const hits = pred.filter((p, j) => p === y[split.held[j]]).length;
    evaluation = {
      accuracy: clusteringAccuracy(y, clusters).accuracy,
      nmi: normalizedMutualInfo(y, clusters),
      ari: adjustedRandIndex(y, clusters),
      baseline: {
        method: 'logistic-regression-on-latent',
        accuracy: split.held.length ? hits / split.held.length : NaN,
        testSubjects: split.held.length,
        heldOut: split.held,
        predicted: pred,
        classNames: names,
      },
      clusteringAccuracyOnTest: clusteringAccuracy(
        split.held.map((i) => y[i]),
        split.held.map((i) => clusters[i]),
      ).accuracy,
    };
  }
  const gaussians = fitClusterGaussians(latents, clusters);
  const samples =
    (options.samplesPerCluster ?? 0) > 0
      ? gaussians.map((g) => ({
          cluster: g.cluster,
          images: sampleImages(ae, g, options.samplesPerCluster!, seed + g.cluster).images,
        }))
      : [];
  return { k, clusters, latents, silhouettes, evaluation, gaussians, samples, history, autoencoder: ae };
}
