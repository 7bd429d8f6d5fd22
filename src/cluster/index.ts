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
