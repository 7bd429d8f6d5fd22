/**
 * Claim 2 of the paper: the top-k sequences by C_d can replace the full set for a downstream task.
 * Tested as non-inferiority of AUC: H0: AUC_topk - AUC_full <= -margin, on the same test cases
 * (paired), with DeLong's variance of the difference (default) or a paired case bootstrap.
 * Browser-safe; the downstream task is a function, so this does not depend on a classifier module.
 */
import { MriseqError } from '../errors/index.js';
import { delong, voxelAuc } from './auc.js';
import { bootstrapDraws, percentile, type SequenceRanking } from './contribution.js';

/**
 * Standard normal CDF (erfc by Numerical Recipes' Chebyshev fit, |error| < 1.2e-7).
 * @param z - A standard normal value.
 * @returns P(Z ≤ z).
 * @example
 * ```ts
 * import { normalCdf } from 'mriseq/browser';
 * console.log(normalCdf(1.96)); // 0.975
 * ```
 */
export function normalCdf(z: number): number {
  const x = -z / Math.SQRT2;
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const r =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  const erfc = x >= 0 ? r : 2 - r;
  return 0.5 * erfc;
}

/**
 * Inverse of normalCdf by bisection (enough for CI quantiles).
 * @param p - A probability in (0, 1).
 * @returns z with P(Z ≤ z) = p.
 * @example
 * ```ts
 * import { normalQuantile } from 'mriseq/browser';
 * console.log(normalQuantile(0.95)); // 1.645
 * ```
 */
export function normalQuantile(p: number): number {
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Options of {@link aucNonInferiority} and {@link compareTopK}.
 *
 * @example
 * ```ts
 * import { type NonInferiorityOptions } from 'mriseq';
 * const o: NonInferiorityOptions = { margin: 0.05, alpha: 0.05, method: 'bootstrap', resamples: 2000, seed: 1 };
 * console.log(o.method);
 * ```
 */
export interface NonInferiorityOptions {
  /** Largest acceptable loss of AUC (e.g. 0.05). */
  margin: number;
  /** One-sided significance level. Default 0.05. */
  alpha?: number;
  /** 'delong' (default) or 'bootstrap' (paired resampling of cases). */
  method?: 'delong' | 'bootstrap';
  resamples?: number;
  seed?: number;
}

/**
 * What {@link aucNonInferiority} returns.
 *
 * @example
 * ```ts
 * import { aucNonInferiority, type NonInferiorityResult } from 'mriseq';
 * const r: NonInferiorityResult = aucNonInferiority([1, 1, 0, 0], [0.9, 0.6, 0.4, 0.1], [0.8, 0.7, 0.3, 0.2], { margin: 0.1 });
 * console.log(r.aucFull, r.aucTopK, r.p, r.nonInferior);
 * ```
 */
export interface NonInferiorityResult {
  aucFull: number;
  aucTopK: number;
  /** AUC_topk - AUC_full. */
  difference: number;
  /** Lower bound of the one-sided (1 - alpha) confidence interval of the difference. */
  lowerBound: number;
  /** One-sided p-value of H0: difference <= -margin (NaN for the bootstrap method). */
  p: number;
  margin: number;
  alpha: number;
  method: 'delong' | 'bootstrap';
  /** True when lowerBound > -margin: top-k is non-inferior. */
  nonInferior: boolean;
}

/**
 * Paired non-inferiority test of AUC(topK scores) against AUC(full-set scores) on the same cases.
 * @param labels - Binary labels of the test cases.
 * @param scoresFull - Scores of the model using every sequence.
 * @param scoresTopK - Scores of the model using the top-k sequences, same cases.
 * @param opts - `margin` (largest acceptable AUC loss), `alpha` (0.05), `method` ('delong' or 'bootstrap'), resamples, seed.
 * @returns Both AUCs, their difference, its one-sided lower bound, the p-value and the verdict.
 * @throws {@link MriseqError} for a negative margin, or as {@link delong}.
 * @example
 * ```ts
 * import { aucNonInferiority } from 'mriseq';
 * const labels = [1, 1, 1, 1, 0, 0, 0, 0];
 * const full = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.5];
 * const topK = [0.85, 0.4, 0.65, 0.6, 0.45, 0.3, 0.2, 0.5]; // one positive now ranks below two negatives
 * const r = aucNonInferiority(labels, full, topK, { margin: 0.2 });
 * console.log(r.aucFull, r.aucTopK, r.lowerBound, r.nonInferior); // 1 0.875, the bound, and the verdict
 * ```
 */
export function aucNonInferiority(
  labels: ArrayLike<number> | ArrayLike<boolean>,
  scoresFull: ArrayLike<number>,
  scoresTopK: ArrayLike<number>,
  opts: NonInferiorityOptions,
): NonInferiorityResult {
  const alpha = opts.alpha ?? 0.05;
  const method = opts.method ?? 'delong';
  if (!(opts.margin >= 0))
    throw new MriseqError('non-inferiority margin must be >= 0', {
      field: 'margin',
      found: String(opts.margin),
      code: 'analysis.margin',
    });
  if (method === 'delong') {
    const d = delong([scoresFull, scoresTopK], labels);
    const diff = d.auc[1] - d.auc[0];
    const sd = Math.sqrt(Math.max(d.cov[0][0] + d.cov[1][1] - 2 * d.cov[0][1], 0));
    const zq = normalQuantile(1 - alpha);
    const lowerBound = diff - zq * sd;
    const p = sd > 0 ? 1 - normalCdf((diff + opts.margin) / sd) : diff + opts.margin > 0 ? 0 : 1;
    return {
      aucFull: d.auc[0],
      aucTopK: d.auc[1],
      difference: diff,
      lowerBound,
      p,
      margin: opts.margin,
      alpha,
      method,
      nonInferior: lowerBound > -opts.margin,
    };
  }
  const n = labels.length;
  const aucFull = voxelAuc(scoresFull, labels);
  const aucTopK = voxelAuc(scoresTopK, labels);
  const diffs: number[] = [];
  for (const draw of bootstrapDraws(n, opts.resamples ?? 2000, opts.seed ?? 0)) {
    const l = draw.map((i) => Number(Boolean(labels[i])));
    const pos = l.reduce((s, v) => s + v, 0);
    if (pos === 0 || pos === n) continue;
    diffs.push(
      voxelAuc(
        draw.map((i) => scoresTopK[i]),
        l,
      ) -
        voxelAuc(
          draw.map((i) => scoresFull[i]),
          l,
        ),
    );
  }
  const lowerBound = percentile(diffs, alpha * 100);
  return {
    aucFull,
    aucTopK,
    difference: aucTopK - aucFull,
    lowerBound,
    p: NaN,
    margin: opts.margin,
    alpha,
    method,
    nonInferior: lowerBound > -opts.margin,
  };
}

/**
 * What {@link aucDifferenceTest} returns: two paired AUCs, their difference with its DeLong SE,
 * two-sided 95% CI and p-values.
 * @example
 * ```ts
 * import { aucDifferenceTest, type AucDifferenceTest } from 'mriseq';
 * const t: AucDifferenceTest = aucDifferenceTest([0, 0, 1, 1], [0.2, 0.6, 0.4, 0.8], [0.1, 0.3, 0.7, 0.9]);
 * console.log(t.difference, t.ci95, t.pTwoSided); // 0.25, its CI, its p-value
 * ```
 */
export interface AucDifferenceTest {
  aucA: number;
  aucB: number;
  /** AUC_B - AUC_A. */
  difference: number;
  /** DeLong standard error of the difference (paired: same cases). */
  se: number;
  /** Two-sided 95% confidence interval of the difference. */
  ci95: [number, number];
  z: number;
  /** Two-sided p-value of H0: AUC_B = AUC_A. */
  pTwoSided: number;
  /** One-sided p-value of H0: AUC_B <= AUC_A (B better is the alternative). */
  pBGreater: number;
}

/**
 * DeLong's paired test of two AUCs measured on the same cases (e.g. MRI alone vs MRI + M_d
 * classifiers scored on the same held-out subjects): z = (AUC_B - AUC_A) / SE, with the SE from
 * the DeLong covariance of the two AUCs (as pROC's roc.test(paired = TRUE, method = "delong")).
 * @param labels - Binary labels of the cases (1/true = positive).
 * @param scoresA - Scores of the reference model (e.g. MRI alone), one per case.
 * @param scoresB - Scores of the compared model on the same cases.
 * @returns Both AUCs, B - A with its SE and two-sided 95% CI, z, and the two- and one-sided p-values.
 * @throws {@link MriseqError} as {@link delong} (lengths differ, one class missing, non-finite scores).
 * @example
 * ```ts
 * import { aucDifferenceTest } from 'mriseq';
 * const labels = [0, 0, 0, 0, 1, 1, 1, 1];
 * const mri = [0.3, 0.6, 0.2, 0.5, 0.4, 0.7, 0.55, 0.8];
 * const withMap = [0.1, 0.3, 0.2, 0.4, 0.6, 0.8, 0.7, 0.9];
 * const t = aucDifferenceTest(labels, mri, withMap);
 * console.log(t.aucA, t.aucB, t.difference, t.ci95, t.pBGreater); // 0.8125 1 0.1875, its CI, one-sided p
 * ```
 */
export function aucDifferenceTest(
  labels: ArrayLike<number> | ArrayLike<boolean>,
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
): AucDifferenceTest {
  const d = delong([scoresA, scoresB], labels);
  const diff = d.auc[1] - d.auc[0];
  const se = Math.sqrt(Math.max(d.cov[0][0] + d.cov[1][1] - 2 * d.cov[0][1], 0));
  const zq = normalQuantile(0.975);
  // se 0 (e.g. identical scores): the difference is exact, so z is 0 or infinite.
  const z = se > 0 ? diff / se : diff === 0 ? 0 : diff * Infinity;
  return {
    aucA: d.auc[0],
    aucB: d.auc[1],
    difference: diff,
    se,
    ci95: [diff - zq * se, diff + zq * se],
    z,
    pTwoSided: Number.isFinite(z) ? 2 * (1 - normalCdf(Math.abs(z))) : 0,
    pBGreater: Number.isFinite(z) ? 1 - normalCdf(z) : z > 0 ? 0 : 1,
  };
}

/**
 * The k sequences with the highest C_d.
 * @param ranking - A ranking from {@link rankSequences}.
 * @param k - How many, 1 to the number of sequences.
 * @returns The k sequences with the highest C_d, highest first.
 * @throws {@link MriseqError} when k is out of range.
 * @example
 * ```ts
 * import { rankSequences, topKSequences } from 'mriseq';
 * const rows = ['t1', 't2', 'flair'].flatMap((source) =>
 *   ['t1', 't2', 'flair'].filter((t) => t !== source).map((target) => ({ subject: 'a', source, target, psnr: target === 'flair' ? 20 : 27, ssim: 0.9 })),
 * );
 * console.log(topKSequences(rankSequences(rows, { resamples: 0 }), 1)); // ['flair']
 * ```
 */
export function topKSequences(ranking: SequenceRanking, k: number): string[] {
  if (!(k >= 1 && k <= ranking.order.length))
    throw new MriseqError('k out of range', {
      field: 'k',
      found: String(k),
      expected: `1..${ranking.order.length}`,
      code: 'analysis.k',
    });
  return ranking.order.slice(0, k);
}

/**
 * A downstream task: train on the given sequences, return test-set scores and labels (same cases every call).
 * @example
 * ```ts
 * import { type DownstreamTask } from 'mriseq';
 * const task: DownstreamTask = async (sequences) => {
 *   // train a classifier on `sequences`, then score the fixed test set
 *   return { scores: sequences.map(() => 0.5), labels: sequences.map((_, i) => i % 2) };
 * };
 * console.log((await task(['t1gd', 'flair'])).scores);
 * ```
 */
export type DownstreamTask = (
  sequences: readonly string[],
) => Promise<{ scores: ArrayLike<number>; labels: ArrayLike<number> | ArrayLike<boolean> }>;

/**
 * What {@link compareTopK} returns: the non-inferiority result and the two sequence sets.
 *
 * @example
 * ```ts
 * import { type TopKComparison } from 'mriseq';
 * declare const c: TopKComparison; // from compareTopK
 * console.log(`top-${c.k} ${c.topK.join('+')} vs ${c.full.join('+')}: non-inferior ${c.nonInferior}`);
 * ```
 */
export interface TopKComparison extends NonInferiorityResult {
  k: number;
  full: string[];
  topK: string[];
}

/**
 * Runs the task on the full set and on the top-k by C_d, and tests non-inferiority of the AUC.
 * @param ranking - A ranking from {@link rankSequences}.
 * @param task - Trains and scores the downstream task on a sequence set (same test cases every call).
 * @param opts - `k` plus the non-inferiority options (`margin`, ...).
 * @returns The full and top-k sequence sets with the non-inferiority result.
 * @throws {@link MriseqError} when the two calls of `task` score different cases, or as {@link aucNonInferiority}.
 * @example
 * ```ts
 * import { compareTopK, rankSequences, type DownstreamTask } from 'mriseq';
 * const rows = ['t1', 't1gd', 't2'].flatMap((source) =>
 *   ['t1', 't1gd', 't2'].filter((t) => t !== source).map((target) => ({ subject: 'a', source, target, psnr: target === 't1gd' ? 20 : 28, ssim: 0.9 })),
 * );
 * const task: DownstreamTask = async (sequences) => ({
 *   labels: [1, 1, 0, 0, 1, 0],
 *   scores: [0.9, 0.7, 0.2, 0.4, sequences.length > 1 ? 0.6 : 0.5, 0.3],
 * });
 * const r = await compareTopK(rankSequences(rows, { resamples: 0 }), task, { k: 1, margin: 0.1 });
 * console.log(r.topK, r.nonInferior);
 * ```
 */
export async function compareTopK(
  ranking: SequenceRanking,
  task: DownstreamTask,
  opts: NonInferiorityOptions & { k: number },
): Promise<TopKComparison> {
  const full = [...ranking.order];
  const topK = topKSequences(ranking, opts.k);
  const a = await task(full);
  const b = await task(topK);
  let paired = a.labels.length === b.labels.length;
  for (let i = 0; paired && i < a.labels.length; i++) paired = Boolean(a.labels[i]) === Boolean(b.labels[i]);
  if (!paired)
    throw new MriseqError('the downstream task must score the same test cases for both sequence sets', {
      field: 'labels',
      code: 'analysis.paired',
    });
  return { ...aucNonInferiority(a.labels, a.scores, b.scores, opts), k: opts.k, full, topK };
}
