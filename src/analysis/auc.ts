/**
 * ROC AUC as the Mann-Whitney U statistic with mid-ranks for ties (equal to
 * sklearn.metrics.roc_auc_score), plus DeLong's variance for comparing correlated AUCs.
 * Browser-safe.
 */
import { MriseqError } from '../errors/index.js';

/**
 * Mid-ranks (1-based) of values; tied values share the mean of their ranks.
 * @param values - Numbers.
 * @returns Their 1-based ranks, ties sharing the mean rank.
 * @example
 * ```ts
 * import { midranks } from 'mriseq/browser';
 * console.log(midranks([10, 20, 20, 5])); // [2, 3.5, 3.5, 1]
 * ```
 */
export function midranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => values[a] - values[b]);
  const r = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[idx[j + 1]] === values[idx[i]]) j++;
    const mid = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]] = mid;
    i = j + 1;
  }
  return r;
}

/**
 * Options of {@link voxelAuc}.
 *
 * @example
 * ```ts
 * import { voxelAuc, type AucOptions } from 'mriseq/browser';
 * const o: AucOptions = { region: [1, 1, 1, 0] };
 * console.log(voxelAuc([0.9, 0.1, 0.2, 0.8], [1, 0, 0, 1], o)); // 1
 * ```
 */
export interface AucOptions {
  /** Only voxels where region is non-zero take part (e.g. the lesion). */
  region?: ArrayLike<number> | ArrayLike<boolean>;
}

/**
 * Voxel-wise AUC of `score` (higher = more likely positive) against a binary truth mask:
 * the probability that a random positive voxel scores above a random negative one, ties 1/2.
 * Computed from mid-ranks (the Mann-Whitney U statistic), as sklearn.metrics.roc_auc_score.
 *
 * @param score - One score per voxel (e.g. an M_d map's data).
 * @param truth - The binary truth per voxel (non-zero / true = positive).
 * @param opts - `region`: only voxels where it is non-zero take part (e.g. the lesion).
 * @returns The AUC in [0, 1] (0.5 = chance).
 * @throws {@link MriseqError} when sizes differ or the truth has only one class in the region.
 * @example
 * ```ts
 * import { voxelAuc } from 'mriseq';
 * console.log(voxelAuc([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])); // 1
 * console.log(voxelAuc([0.9, 0.2, 0.3, 0.1], [1, 1, 0, 0], { region: [1, 1, 1, 0] })); // 0.5
 * ```
 */
export function voxelAuc(
  score: ArrayLike<number>,
  truth: ArrayLike<number> | ArrayLike<boolean>,
  opts: AucOptions = {},
): number {
  if (score.length !== truth.length)
    throw new MriseqError('AUC: score and truth differ in size', {
      field: 'truth',
      found: `${truth.length} values`,
      expected: `${score.length}`,
      code: 'auc.size',
    });
  if (opts.region !== undefined && opts.region.length !== score.length)
    throw new MriseqError('AUC: region differs in size from the score', {
      field: 'region',
      found: `${opts.region.length} values`,
      expected: `${score.length}`,
      code: 'auc.size',
    });
  const s: number[] = [];
  const y: boolean[] = [];
  for (let i = 0; i < score.length; i++) {
    if (opts.region !== undefined && !opts.region[i]) continue;
    if (Number.isNaN(score[i])) continue;
    s.push(score[i]);
    y.push(Boolean(truth[i]));
  }
  let nPos = 0;
  for (const v of y) if (v) nPos++;
  const nNeg = y.length - nPos;
  if (nPos === 0 || nNeg === 0)
    throw new MriseqError('AUC undefined: the truth has only one class in the region', {
      field: 'truth',
      found: `${nPos} positive, ${nNeg} negative voxels`,
      expected: 'both classes present',
      code: 'auc.oneclass',
    });
  const r = midranks(s);
  let sumPos = 0;
  for (let i = 0; i < r.length; i++) if (y[i]) sumPos += r[i];
  return (sumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * What {@link delong} returns.
 *
 * @example
 * ```ts
 * import { delong, type DelongResult } from 'mriseq/browser';
 * const r: DelongResult = delong([[0.9, 0.6, 0.4, 0.2]], [1, 1, 0, 0]);
 * console.log(r.auc, r.cov);
 * ```
 */
export interface DelongResult {
  /** AUC of each score against the shared labels. */
  auc: number[];
  /** DeLong covariance matrix of the AUCs. */
  cov: number[][];
}

/**
 * DeLong et al. (1988) AUCs and their covariance for several scores of the same cases (structural
 * components V10/V01 from mid-ranks, as in Sun & Xu's fast algorithm).
 * @param scores - Several score arrays of the same cases.
 * @param labels - Binary labels of the cases.
 * @returns Each score's AUC and the DeLong covariance matrix of the AUCs.
 * @throws {@link MriseqError} when there are fewer than two cases of a class or sizes differ.
 * @example
 * ```ts
 * import { delong } from 'mriseq';
 * const labels = [1, 1, 1, 0, 0, 0];
 * const { auc, cov } = delong([[0.9, 0.7, 0.4, 0.5, 0.2, 0.1], [0.6, 0.8, 0.3, 0.4, 0.5, 0.2]], labels);
 * console.log(auc, Math.sqrt(cov[0]![0]!)); // AUCs and the first one's standard error
 * ```
 */
export function delong(
  scores: readonly ArrayLike<number>[],
  labels: ArrayLike<number> | ArrayLike<boolean>,
): DelongResult {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] ? pos : neg).push(i);
  const m = pos.length;
  const n = neg.length;
  if (m < 2 || n < 2)
    throw new MriseqError('DeLong needs at least two cases of each class', {
      field: 'labels',
      found: `${m} positive, ${n} negative`,
      code: 'auc.oneclass',
    });
  const k = scores.length;
  const auc: number[] = [];
  const v10: number[][] = [];
  const v01: number[][] = [];
  for (const sc of scores) {
    if (sc.length !== labels.length)
      throw new MriseqError('DeLong: score and labels differ in size', {
        field: 'scores',
        found: `${sc.length}`,
        expected: `${labels.length}`,
        code: 'auc.size',
      });
    const x = pos.map((i) => sc[i]);
    const yv = neg.map((i) => sc[i]);
    const tz = midranks([...x, ...yv]);
    const tx = midranks(x);
    const ty = midranks(yv);
    const a = (x.reduce((s, _, i) => s + tz[i], 0) - (m * (m + 1)) / 2) / (m * n);
    auc.push(a);
    v10.push(x.map((_, i) => (tz[i] - tx[i]) / n));
    v01.push(yv.map((_, j) => 1 - (tz[m + j] - ty[j]) / m));
  }
  const covOf = (v: number[][], len: number): number[][] => {
    const means = v.map((row) => row.reduce((s, q) => s + q, 0) / len);
    return v.map((ra, a) =>
      v.map((rb, b) => ra.reduce((s, q, i) => s + (q - means[a]) * (rb[i] - means[b]), 0) / (len - 1)),
    );
  };
  const s10 = covOf(v10, m);
  const s01 = covOf(v01, n);
  const cov = Array.from({ length: k }, (_, a) =>
    Array.from({ length: k }, (_, b) => s10[a][b] / m + s01[a][b] / n),
  );
  return { auc, cov };
}
