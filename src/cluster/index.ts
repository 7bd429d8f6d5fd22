/**
 * Unsupervised clustering (browser-safe): a contrastive autoencoder (NT-Xent over two augmented
 * views plus reconstruction), k-means on its latent, clustering accuracy / NMI / ARI, a supervised
 * baseline on the same latent, and sampling new images from per-cluster latent Gaussians.
 */
export {
  hungarian,
  clusteringAccuracy,
  normalizedMutualInfo,
  adjustedRandIndex,
  silhouetteScore,
} from './metrics.js';
export { kMeans, chooseK, type KMeansOptions, type KMeansResult } from './kmeans.js';
export {
  ContrastiveAutoencoder,
  ntXentLoss,
  augmentImage,
  trainContrastiveAutoencoder,
  embed,
  decodeLatents,
  fitClusterGaussians,
  sampleImages,
  type AutoencoderConfig,
  type AutoencoderOptions,
  type ImageDataset,
  type AugmentOptions,
  type TrainAutoencoderOptions,
  type ClusterGaussian,
} from './autoencoder.js';
export {
  fitLogisticRegression,
  predictLogisticRegression,
  type LogisticRegressionModel,
} from './baseline.js';
export { clusterImages, type ClusterImagesOptions, type ClusterImagesResult } from './pipeline.js';
export {
  clusterStudy,
  clusterStudyFigure,
  CLUSTER_STUDY_METHODS,
  type ClusterStudyMethod,
  type ClusterStudyOptions,
  type ClusterScores,
  type ClusterStudyRun,
  type ClusterStudySummary,
  type ClusterStudyResult,
} from './study.js';
