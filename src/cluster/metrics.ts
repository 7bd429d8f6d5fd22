/**
 * Clustering metrics: accuracy under the best one-to-one cluster-to-class matching (Hungarian
 * algorithm), normalised mutual information and adjusted Rand index with scikit-learn's
 * definitions (NMI with the arithmetic-mean normaliser, sklearn's default), and the silhouette.
 */
import { MriseqError } from '../errors/index.js';

/**
 * Minimum-cost assignment (Hungarian / Kuhn-Munkres with potentials, O(n^2 m)) for a rectangular
 * cost matrix. Returns, for each row, its assigned column (or -1 when there are more rows than
 * columns and the row is left out). Same optimum as scipy.optimize.linear_sum_assignment.
 * @param cost - Cost matrix, one row per worker, one column per task (rows may outnumber columns or not).
 * @returns Each row's column (−1 when left out) and the total cost.
 * @example
 * ```ts
 * import { hungarian } from 'mriseq';
 * const { rowToCol, total } = hungarian([[4, 1, 3], [2, 0, 5], [3, 2, 2]]);
 * console.log(rowToCol, total); // [1, 0, 2] 5
 * ```
 */
export function hungarian(cost: readonly (readonly number[])[]): { rowToCol: number[]; total: number } {
  const nRows = cost.length;
  const nCols = nRows ? cost[0].length : 0;
  const transpose = nRows > nCols;
  // The potential method below needs rows <= columns: solve the transpose otherwise.
  const a = transpose ? Array.from({ length: nCols }, (_, j) => cost.map((r) => r[j])) : cost;
  const n = a.length;
  const m = n ? a[0].length : 0;
  const INF = Number.POSITIVE_INFINITY;
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j]: row (1-based) matched to column j
  const way = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(INF);
    const used = new Uint8Array(m + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = INF;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  const rowToColA = new Array<number>(n).fill(-1);
  for (let j = 1; j <= m; j++) if (p[j]) rowToColA[p[j] - 1] = j - 1;
  let rowToCol: number[];
  if (transpose) {
    rowToCol = new Array<number>(nRows).fill(-1);
    rowToColA.forEach((col, r) => {
      if (col >= 0) rowToCol[col] = r;
    });
  } else rowToCol = rowToColA;
  let total = 0;
  rowToCol.forEach((c, r) => {
    if (c >= 0) total += cost[r][c];
  });
  return { rowToCol, total };
}

function relabel(labels: ArrayLike<number | string>): { ids: number[]; k: number } {
  const map = new Map<number | string, number>();
  const ids = Array.from(labels, (l) => {
    let id = map.get(l);
    if (id === undefined) map.set(l, (id = map.size));
    return id;
  });
  return { ids, k: map.size };
}

function contingency(a: ArrayLike<number | string>, b: ArrayLike<number | string>): number[][] {
  if (a.length !== b.length) {
    throw new MriseqError('label arrays differ in length', {
      field: 'labels',
      found: `${a.length} and ${b.length}`,
      expected: 'equal lengths',
      code: 'metrics.length',
    });
  }
  const A = relabel(a);
  const B = relabel(b);
  const t = Array.from({ length: A.k }, () => new Array<number>(B.k).fill(0));
  for (let i = 0; i < A.ids.length; i++) t[A.ids[i]][B.ids[i]]++;
  return t;
}

/**
 * Fraction of subjects whose cluster maps to their class under the best one-to-one matching.
 * @param yTrue - Each subject's class.
 * @param clusters - Each subject's cluster, same order.
 * @returns The accuracy in [0, 1] and the cluster → class matching (each side's values numbered in
 *   order of first appearance).
 * @throws {@link MriseqError} 'metrics.length' when the arrays differ in length.
 * @example
 * ```ts
 * import { clusteringAccuracy } from 'mriseq';
 * console.log(clusteringAccuracy(['a', 'a', 'b', 'b'], [1, 1, 0, 1]).accuracy); // 0.75
 * ```
 */
export function clusteringAccuracy(
  yTrue: ArrayLike<number | string>,
  clusters: ArrayLike<number | string>,
): { accuracy: number; clusterToClass: Map<number, number> } {
  const t = contingency(clusters, yTrue);
  const max = Math.max(0, ...t.flat());
  const { rowToCol } = hungarian(t.map((r) => r.map((c) => max - c)));
  let hit = 0;
  const clusterToClass = new Map<number, number>();
  rowToCol.forEach((c, r) => {
    if (c >= 0) {
      hit += t[r][c];
      clusterToClass.set(r, c);
    }
  });
  return { accuracy: yTrue.length ? hit / yTrue.length : 0, clusterToClass };
}

function entropy(counts: number[], n: number): number {
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / n) * Math.log(c / n);
  return h;
}

/**
 * Normalised mutual information, sklearn's `normalized_mutual_info_score` (arithmetic mean).
 * @param a - One labelling.
 * @param b - Another labelling of the same items.
 * @returns NMI in [0, 1] (1 = the same partition).
 * @throws {@link MriseqError} 'metrics.length' when the labellings differ in length.
 * @example
 * ```ts
 * import { normalizedMutualInfo } from 'mriseq';
 * console.log(normalizedMutualInfo([0, 0, 1, 1], [1, 1, 0, 0])); // 1
 * ```
 */
export function normalizedMutualInfo(a: ArrayLike<number | string>, b: ArrayLike<number | string>): number {
  const t = contingency(a, b);
  const n = a.length;
  const rows = t.map((r) => r.reduce((s, v) => s + v, 0));
  const cols = t[0]?.map((_, j) => t.reduce((s, r) => s + r[j], 0)) ?? [];
  // sklearn: a single cluster on both sides (or no data) is a perfect match.
  if ((rows.length === 1 && cols.length === 1) || n === 0) return 1;
  let mi = 0;
  for (let i = 0; i < rows.length; i++) {
    for (let j = 0; j < cols.length; j++) {
      const nij = t[i][j];
      if (nij > 0) mi += (nij / n) * Math.log((n * nij) / (rows[i] * cols[j]));
    }
  }
  if (mi <= 0) return 0;
  const norm = (entropy(rows, n) + entropy(cols, n)) / 2;
  return mi / Math.max(norm, Number.EPSILON);
}

/**
 * Adjusted Rand index, sklearn's `adjusted_rand_score` (pair-confusion form).
 * @param a - One labelling.
 * @param b - Another labelling of the same items.
 * @returns ARI (1 = the same partition, about 0 for chance, may be negative).
 * @throws {@link MriseqError} 'metrics.length' when the labellings differ in length.
 * @example
 * ```ts
 * import { adjustedRandIndex } from 'mriseq';
 * console.log(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2])); // 0.571...
 * ```
 */
export function adjustedRandIndex(a: ArrayLike<number | string>, b: ArrayLike<number | string>): number {
  const t = contingency(a, b);
  const n = a.length;
  const rows = t.map((r) => r.reduce((s, v) => s + v, 0));
  const cols = t[0]?.map((_, j) => t.reduce((s, r) => s + r[j], 0)) ?? [];
  const sumSq = t.flat().reduce((s, v) => s + v * v, 0);
  const rowSq = rows.reduce((s, v) => s + v * v, 0);
  const colSq = cols.reduce((s, v) => s + v * v, 0);
  const tp = sumSq - n;
  // sklearn's pair confusion matrix with a as labels_true: fp = pairs together in b only.
  const fp = colSq - sumSq;
  const fn = rowSq - sumSq;
  const tn = n * n - fp - fn - sumSq;
  if (fn === 0 && fp === 0) return 1;
  return (2 * (tp * tn - fn * fp)) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}

/**
 * Mean silhouette over all points (Euclidean), sklearn's `silhouette_score`.
 * @param points - One row of features per item.
 * @param labels - Each item's cluster.
 * @returns The mean silhouette in [-1, 1].
 * @throws {@link MriseqError} unless there are between 2 and n − 1 clusters.
 * @example
 * ```ts
 * import { silhouetteScore } from 'mriseq';
 * console.log(silhouetteScore([[0, 0], [0, 1], [10, 10], [10, 11]], [0, 0, 1, 1]));
 * ```
 */
export function silhouetteScore(points: readonly ArrayLike<number>[], labels: ArrayLike<number>): number {
  const n = points.length;
  const { ids, k } = relabel(labels);
  if (k < 2 || k > n - 1) {
    throw new MriseqError('silhouette needs between 2 and n-1 clusters', {
      field: 'labels',
      found: `${k} clusters for ${n} points`,
      expected: '2 <= k <= n-1',
      code: 'metrics.silhouette',
    });
  }
  const size = new Array<number>(k).fill(0);
  for (const id of ids) size[id]++;
  let total = 0;
  const sums = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      let d = 0;
      for (let f = 0; f < points[i].length; f++) {
        const x = points[i][f] - points[j][f];
        d += x * x;
      }
      sums[ids[j]] += Math.sqrt(d);
    }
    const own = ids[i];
    if (size[own] <= 1) continue; // sklearn: silhouette 0 for singletons
    const a = sums[own] / (size[own] - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own) b = Math.min(b, sums[c] / size[c]);
    const m = Math.max(a, b);
    total += m > 0 ? (b - a) / m : 0;
  }
  return total / n;
}
