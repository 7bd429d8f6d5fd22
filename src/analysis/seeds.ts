/**
 * Summaries over repeated runs (seeds): the mean with a Student-t confidence interval. A study that
 * repeats a training over a handful of seeds (the clustering study: 5) has too few values for a
 * bootstrap over seeds, whose percentile interval is too narrow at n = 5; the t interval is exact
 * for normal values and is the usual report of "mean ± CI over seeds". Browser-safe.
 */
import { MriseqError } from '../errors/index.js';

/**
 * Student's t CDF for an integer number of degrees of freedom, in closed form (Abramowitz & Stegun
 * 26.7.3 and 26.7.4: a finite series in cos θ, θ = atan(t / √ν)), so exact to rounding.
 * @param t - The statistic.
 * @param df - Degrees of freedom, a positive integer.
 * @returns P(T ≤ t).
 * @throws {@link MriseqError} when df is not a positive integer.
 * @example
 * ```ts
 * import { studentTCdf } from 'mriseq';
 * console.log(studentTCdf(2.776, 4)); // 0.975
 * ```
 */
export function studentTCdf(t: number, df: number): number {
  if (!(Number.isInteger(df) && df >= 1)) {
    throw new MriseqError('degrees of freedom must be a positive integer', {
      field: 'df',
      found: String(df),
      expected: 'an integer >= 1',
      code: 'analysis.df',
    });
  }
  if (!Number.isFinite(t)) return t > 0 ? 1 : 0;
  const theta = Math.atan(Math.abs(t) / Math.sqrt(df));
  const c2 = Math.cos(theta) ** 2;
  const s = Math.sin(theta);
  // A = P(|T| <= |t|)
  let a: number;
  if (df % 2 === 0) {
    let term = 1;
    let sum = 1;
    for (let j = 2; j <= df - 2; j += 2) {
      term *= (c2 * (j - 1)) / j;
      sum += term;
    }
    a = s * sum;
  } else if (df === 1) {
    a = (2 * theta) / Math.PI;
  } else {
    let term = 1;
    let sum = 1;
    for (let j = 3; j <= df - 2; j += 2) {
      term *= (c2 * (j - 1)) / j;
      sum += term;
    }
    a = (2 / Math.PI) * (theta + s * Math.cos(theta) * sum);
  }
  return t >= 0 ? 0.5 + a / 2 : 0.5 - a / 2;
}

/**
 * Quantile of Student's t (inverse of {@link studentTCdf}, by bisection).
 * @param p - A probability in (0, 1).
 * @param df - Degrees of freedom, a positive integer.
 * @returns t with P(T ≤ t) = p.
 * @throws {@link MriseqError} when p is outside (0, 1) or df is not a positive integer.
 * @example
 * ```ts
 * import { studentTQuantile } from 'mriseq';
 * console.log(studentTQuantile(0.975, 4)); // 2.776
 * ```
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) {
    throw new MriseqError('a quantile needs a probability strictly between 0 and 1', {
      field: 'p',
      found: String(p),
      expected: '0 < p < 1',
      code: 'analysis.probability',
    });
  }
  studentTCdf(0, df); // validates df
  let lo = -1;
  let hi = 1;
  while (studentTCdf(lo, df) > p) lo *= 2;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(hi)); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The mean of repeated measurements (one per seed) with its Student-t confidence interval.
 * @example
 * ```ts
 * import { seedInterval, type SeedInterval } from 'mriseq';
 * const s: SeedInterval = seedInterval([0.8, 0.82, 0.79]);
 * console.log(s.mean, s.ci95, s.n);
 * ```
 */
export interface SeedInterval {
  mean: number;
  /** Sample standard deviation (n - 1). */
  sd: number;
  n: number;
  /** mean ± t(0.975, n - 1) · sd / √n; [mean, mean] for a single value. */
  ci95: [number, number];
  method: 't';
  values: number[];
}

/**
 * Mean and 95% Student-t interval of one value per seed (NaN values, e.g. a score a run could not
 * compute, are left out and the count says how many remained).
 * @param values - One measurement per seed.
 * @returns The mean, SD, count and interval.
 * @throws {@link MriseqError} when no finite value is given.
 * @example
 * ```ts
 * import { seedInterval } from 'mriseq';
 * console.log(seedInterval([0.71, 0.75, 0.69, 0.8, 0.74]).ci95);
 * ```
 */
export function seedInterval(values: readonly number[]): SeedInterval {
  const v = values.filter((x) => Number.isFinite(x));
  if (!v.length) {
    throw new MriseqError('no finite value to summarise', {
      field: 'values',
      found: `[${values.join(', ')}]`,
      expected: 'at least one finite number',
      code: 'analysis.values',
    });
  }
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const half = n > 1 ? (studentTQuantile(0.975, n - 1) * sd) / Math.sqrt(n) : 0;
  return { mean, sd, n, ci95: [mean - half, mean + half], method: 't', values: [...values] };
}
