/**
 * k-means on latent vectors: k-means++ seeding, Lloyd iterations, several seeded restarts keeping
 * the lowest inertia (as scikit-learn's KMeans(n_init=...)); and a choice of k by the mean
 * silhouette when the number of clusters is not given.
 */
import { MriseqError } from '../errors/index.js';
import { createRng, type Rng } from '../classify/index.js';
import { silhouetteScore } from './metrics.js';

export interface KMeansOptions {
  /** Independent k-means++ starts; the one with the lowest inertia wins (default 10). */
  restarts?: number;
  maxIterations?: number;
  /** Stop when no centre moves more than this (squared distance, default 1e-8). */
  tolerance?: number;
  seed?: number;
}

/**
 * What {@link kMeans} returns.
 *
 * @example
 * ```ts
 * import { kMeans, type KMeansResult } from 'mriseq';
 * const r: KMeansResult = kMeans([[0], [1], [9], [10]], 2);
 * console.log(r.k, r.labels, r.centroids, r.iterations);
 * ```
 */
export interface KMeansResult {
  k: number;
  labels: number[];
  centroids: number[][];
  /** Sum of squared distances of points to their centre. */
  inertia: number;
  iterations: number;
}

function sqDist(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] - b[i];
    d += x * x;
  }
  return d;
}

function plusPlus(points: readonly ArrayLike<number>[], k: number, rng: Rng): number[][] {
  const n = points.length;
  const centres: number[][] = [Array.from(points[Math.floor(rng() * n)])];
  const d2 = points.map((p) => sqDist(p, centres[0]));
  while (centres.length < k) {
    const total = d2.reduce((s, v) => s + v, 0);
    let pick = 0;
    if (total > 0) {
      let r = rng() * total;
      for (pick = 0; pick < n - 1; pick++) {
        r -= d2[pick];
        if (r <= 0) break;
      }
    } else pick = Math.floor(rng() * n);
    const c = Array.from(points[pick]);
    centres.push(c);
    for (let i = 0; i < n; i++) d2[i] = Math.min(d2[i], sqDist(points[i], c));
  }
  return centres;
}

function lloyd(
  points: readonly ArrayLike<number>[],
  init: number[][],
  maxIter: number,
  tol: number,
): Omit<KMeansResult, 'k'> {
  const n = points.length;
  const dim = points[0].length;
  let centroids = init;
  const labels = new Array<number>(n).fill(0);
  let iterations = 0;
  for (; iterations < maxIter; iterations++) {
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bd = Infinity;
      for (let c = 0; c < centroids.length; c++) {
        const d = sqDist(points[i], centroids[c]);
        if (d < bd) {
          bd = d;
          best = c;
        }
      }
      labels[i] = best;
    }
    const sums = centroids.map(() => new Array<number>(dim).fill(0));
    const counts = new Array<number>(centroids.length).fill(0);
    for (let i = 0; i < n; i++) {
      counts[labels[i]]++;
      for (let f = 0; f < dim; f++) sums[labels[i]][f] += points[i][f];
    }
    // An emptied cluster keeps its old centre rather than collapsing to NaN.
    const next = sums.map((s, c) => (counts[c] ? s.map((v) => v / counts[c]) : centroids[c]));
    const shift = Math.max(...next.map((c, i) => sqDist(c, centroids[i])));
    centroids = next;
    if (shift <= tol) {
      iterations++;
      break;
    }
  }
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bd = Infinity;
    for (let c = 0; c < centroids.length; c++) {
      const d = sqDist(points[i], centroids[c]);
      if (d < bd) {
        bd = d;
        best = c;
      }
    }
    labels[i] = best;
  }
  const inertia = points.reduce((s, p, i) => s + sqDist(p, centroids[labels[i]]), 0);
  return { labels, centroids, inertia, iterations };
}

/**
 * k-means with k-means++ seeding and seeded restarts. Points: one row per subject.
 * @param points - One row of features per subject (e.g. latent vectors).
 * @param k - Number of clusters (1 to the number of points).
 * @param options - `restarts` (10), `maxIterations`, `tolerance`, `seed`.
 * @returns Labels, centroids, inertia and iterations of the best restart.
 * @throws {@link MriseqError} for an invalid k.
 * @example
 * ```ts
 * import { kMeans } from 'mriseq';
 * const r = kMeans([[0, 0], [0, 1], [10, 10], [10, 11], [0, 2]], 2, { seed: 1 });
 * console.log(r.labels, r.inertia);
 * ```
 */
export function kMeans(
  points: readonly ArrayLike<number>[],
  k: number,
  options: KMeansOptions = {},
): KMeansResult {
  if (!Number.isInteger(k) || k < 1 || k > points.length) {
    throw new MriseqError('invalid number of clusters', {
      field: 'k',
      found: String(k),
      expected: `an integer from 1 to the number of points (${points.length})`,
      code: 'cluster.k',
    });
  }
  const rng = createRng(options.seed ?? 0);
  let best: Omit<KMeansResult, 'k'> | undefined;
  for (let r = 0; r < (options.restarts ?? 10); r++) {
    const res = lloyd(
      points,
      plusPlus(points, k, rng),
      options.maxIterations ?? 300,
      options.tolerance ?? 1e-8,
    );
    if (!best || res.inertia < best.inertia) best = res;
  }
  return { k, ...best! };
}

/**
 * k-means for each k in [kMin, kMax] and the one with the highest mean silhouette; every
 * candidate's silhouette is returned so the choice can be shown.
 * @param points - One row of features per subject.
 * @param options - {@link kMeans}' options plus `kMin` (2) and `kMax`.
 * @returns The best k's result and every candidate's silhouette.
 * @throws {@link MriseqError} when there are too few points for the range.
 * @example
 * ```ts
 * import { chooseK } from 'mriseq';
 * const pts = [[0, 0], [0, 1], [5, 5], [5, 6], [10, 0], [10, 1]];
 * const { best, silhouettes } = chooseK(pts, { kMax: 4, seed: 0 });
 * console.log(best.k, silhouettes); // 3
 * ```
 */
export function chooseK(
  points: readonly ArrayLike<number>[],
  options: KMeansOptions & { kMin?: number; kMax?: number } = {},
): { best: KMeansResult; silhouettes: { k: number; silhouette: number }[] } {
  const kMin = Math.max(2, options.kMin ?? 2);
  const kMax = Math.min(points.length - 1, options.kMax ?? 8);
  let best: KMeansResult | undefined;
  let bestS = -Infinity;
  const silhouettes: { k: number; silhouette: number }[] = [];
  for (let k = kMin; k <= kMax; k++) {
    const r = kMeans(points, k, options);
    const s = silhouetteScore(points, r.labels);
    silhouettes.push({ k, silhouette: s });
    if (s > bestS) {
      bestS = s;
      best = r;
    }
  }
  if (!best) {
    throw new MriseqError('too few points to choose a number of clusters', {
      field: 'points',
      found: String(points.length),
      expected: 'at least 3',
      code: 'cluster.k',
    });
  }
  return { best, silhouettes };
}
