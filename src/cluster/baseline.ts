/**
 * The supervised baseline for the clustering comparison: multinomial logistic regression on the
 * same latent vectors, with scikit-learn's objective (L2 on the weights, not the intercept:
 * 0.5 * ||W||^2 + C * sum of cross-entropies), solved by full-batch gradient descent with
 * Nesterov momentum on standardised features. The problem is strictly convex, so the optimum is
 * sklearn's LogisticRegression(C).
 */
import { MriseqError } from '../errors/index.js';

export interface LogisticRegressionModel {
  classes: number[];
  mean: number[];
  scale: number[];
  /** [k][d] on standardised features. */
  weights: number[][];
  intercept: number[];
}

function softmaxRow(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * Fits on rows `x` and integer labels `y`. `standardize` (default true) centres and scales the
 * features first (then the penalty acts on standardised weights, as in a StandardScaler pipeline).
 * Multinomial logistic regression with scikit-learn's objective (L2 on the weights, C times the
 * summed cross-entropy): the supervised baseline of the clustering study.
 *
 * @param x - Feature rows.
 * @param y - Integer label per row.
 * @param options - `C` (inverse penalty), `iterations`, `standardize` (default true).
 * @returns The fitted model.
 * @throws {@link MriseqError} when x and y differ in length.
 * @example
 * ```ts
 * import { fitLogisticRegression, predictLogisticRegression } from 'mriseq';
 * const m = fitLogisticRegression([[0], [1], [9], [10]], [0, 0, 1, 1], { C: 1 });
 * console.log(predictLogisticRegression(m, [[0.5], [9.5]])); // [[p0, p1], [p0, p1]]
 * ```
 */
export function fitLogisticRegression(
  x: number[][],
  y: number[],
  options: { C?: number; iterations?: number; standardize?: boolean } = {},
): LogisticRegressionModel {
  if (x.length !== y.length || x.length === 0) {
    throw new MriseqError('one label per row is needed', {
      field: 'y',
      found: `${y.length} labels for ${x.length} rows`,
      expected: 'equal, non-zero',
      code: 'cluster.baseline',
    });
  }
  const classes = [...new Set(y)].sort((a, b) => a - b);
  const k = classes.length;
  const n = x.length;
  const d = x[0].length;
  const std = options.standardize ?? true;
  const mean = Array.from({ length: d }, (_, j) => (std ? x.reduce((s, r) => s + r[j], 0) / n : 0));
  const scale = Array.from({ length: d }, (_, j) => {
    if (!std) return 1;
    const v = x.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / n;
    return v > 0 ? Math.sqrt(v) : 1;
  });
  const xs = x.map((r) => r.map((v, j) => (v - mean[j]) / scale[j]));
  const yi = y.map((v) => classes.indexOf(v));
  const C = options.C ?? 1;
  // Objective divided by C*n so the step size does not depend on n or C.
  const lam = 1 / (C * n);
  let W = Array.from({ length: k }, () => new Array<number>(d + 1).fill(0));
  let V = W.map((r) => r.slice());
  let prev = W.map((r) => r.slice());
  const L = 0.5 * (1 + xs.reduce((s, r) => s + r.reduce((a, v) => a + v * v, 0), 0) / n) + lam;
  const step = 1 / L;
  for (let it = 0; it < (options.iterations ?? 3000); it++) {
    const g = Array.from({ length: k }, () => new Array<number>(d + 1).fill(0));
    for (let i = 0; i < n; i++) {
      const p = softmaxRow(V.map((w) => w[d] + xs[i].reduce((s, v, j) => s + v * w[j], 0)));
      for (let c = 0; c < k; c++) {
        const e = (p[c] - (yi[i] === c ? 1 : 0)) / n;
        for (let j = 0; j < d; j++) g[c][j] += e * xs[i][j];
        g[c][d] += e;
      }
    }
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) g[c][j] += lam * V[c][j];
    const next = V.map((w, c) => w.map((v, j) => v - step * g[c][j]));
    const mom = it / (it + 3);
    V = next.map((w, c) => w.map((v, j) => v + mom * (v - prev[c][j])));
    prev = next;
    W = next;
  }
  return { classes, mean, scale, weights: W.map((w) => w.slice(0, d)), intercept: W.map((w) => w[d]) };
}

/**
 * Class probabilities (softmax) of a fitted {@link fitLogisticRegression} model.
 *
 * @param m - A model from {@link fitLogisticRegression}.
 * @param x - Feature rows.
 * @returns Class probabilities per row (columns in `m.classes` order).
 * @example
 * ```ts
 * import { fitLogisticRegression, predictLogisticRegression } from 'mriseq';
 * const m = fitLogisticRegression([[0, 1], [1, 0], [5, 6], [6, 5]], [0, 0, 1, 1]);
 * console.log(m.classes, predictLogisticRegression(m, [[5, 5]]));
 * ```
 */
export function predictLogisticRegression(m: LogisticRegressionModel, x: number[][]): number[][] {
  return x.map((r) => {
    const s = r.map((v, j) => (v - m.mean[j]) / m.scale[j]);
    return softmaxRow(m.weights.map((w, c) => m.intercept[c] + s.reduce((a, v, j) => a + v * w[j], 0)));
  });
}
