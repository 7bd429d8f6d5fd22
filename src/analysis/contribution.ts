/**
 * Sequence contribution ranking (science spec, "Sequence contribution ranking"), browser-safe.
 *
 * From an evaluation table with one row per (subject, source i, target j):
 *  - the rows that enter: by default the authors' protocol ('cross'): source != target, as their
 *    test script evaluates only given sources against missing targets, so their table
 *    (cal_brats_seq2seq_2d_contribution.py's input) never has a self-reconstruction row; 'all'
 *    keeps the i = j rows too (science.md's wording);
 *  - each metric is oriented higher-is-better (distances such as MAE and LPIPS are negated; the
 *    orientation comes from the metric registry or the caller's declaration, never a guess);
 *  - z_m(i, j) = (mean of m over the rows of pair (i, j) - mu_m) / (sd_m + 1e-9), with mu_m and the
 *    POPULATION sd_m over all rows that enter;
 *  - A(i, j) = sum_m z_m(i, j);  C_t(i) = (1/N) sum_j A(i, j);  C_d(j) = -(1/N) sum_i A(i, j);
 *  - sequences rank by C_d, high first (most unique information first).
 * N is the number of sequences in the table. A pair with no rows has no A(i, j) (NaN in the matrix)
 * and adds nothing to the sums, which are still divided by N, as the spec writes them.
 * Confidence intervals: percentile bootstrap over subjects (seeded), the whole pipeline
 * (z-scoring included) recomputed on each resample.
 */
import { MriseqError } from '../errors/index.js';
import { mulberry32 } from '../random/index.js';
import { frameValues } from './evaluate.js';
import {
  metricOrientation,
  SYNTHESIS_METRICS,
  type MetricOrientation,
  type MetricOrientations,
} from './registry.js';

/**
 * One row of the tidy evaluation table. Metric values are as measured (MAE/LPIPS are distances).
 * @example
 * ```ts
 * import { type EvaluationRow } from 'mriseq';
 * const row: EvaluationRow = { subject: 'sim-00000', source: 't1', target: 't1gd', psnr: 24.3, ssim: 0.82, mae: 0.06, site: 'A' };
 * console.log(row.target);
 * ```
 */
export interface EvaluationRow {
  subject: string;
  source: string;
  target: string;
  psnr: number;
  ssim: number;
  mae?: number;
  lpips?: number;
  [extra: string]: string | number | undefined;
}

/**
 * Whether a metric is better when higher (+1) or lower (-1): the registry's (./registry.ts).
 * @example
 * ```ts
 * import { METRIC_ORIENTATION } from 'mriseq/browser';
 * console.log(METRIC_ORIENTATION); // { psnr: 1, ssim: 1, mae: -1, lpips: -1 }
 * ```
 */
export const METRIC_ORIENTATION: Readonly<Record<string, MetricOrientation>> = Object.fromEntries(
  SYNTHESIS_METRICS.map((m) => [m.name, m.orientation]),
);

/**
 * Which rows of the evaluation table enter C_t/C_d: 'cross' (default, the authors' protocol:
 * source != target) or 'all' (self-reconstruction rows too).
 * @example
 * ```ts
 * import { rankSequences, type RowSet } from 'mriseq';
 * const rows: RowSet = 'all';
 * console.log(rankSequences([{ subject: 'a', source: 't1', target: 't1', psnr: 40, ssim: 0.99 }, { subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9 }, { subject: 'a', source: 't2', target: 't1', psnr: 26, ssim: 0.9 }], { rows, resamples: 0 }).matrix.rowCount);
 * ```
 */
export type RowSet = 'cross' | 'all';

/**
 * How a series target (a 4D sequence such as DCE, whose rows carry per-phase columns psnr_f0,
 * psnr_f1, ...) is scored in C_t/C_d: 'all' (default) takes its metrics as the mean over every
 * phase, as evaluate writes them; 'after-first' over the phases after the first only. A DCE's
 * first phase is the pre-contrast image, a native T1-weighted scan with none of the DCE's unique
 * signal, so 'all' makes the series look easier to synthesise than its contrast phases are
 * (docs/dce.md measures this). ranking.json records which was used.
 * @example
 * ```ts
 * import { rankSequences, type SeriesFrames } from 'mriseq';
 * const frames: SeriesFrames = 'after-first';
 * const rows = [
 *   { subject: 'a', source: 't1', target: 'dce', psnr: 27, ssim: 0.8, psnr_f0: 34, ssim_f0: 0.95, psnr_f1: 20, ssim_f1: 0.65 },
 *   { subject: 'a', source: 'dce', target: 't1', psnr: 30, ssim: 0.9 },
 * ];
 * console.log(rankSequences(rows, { frames, resamples: 0 }).matrix.frames); // 'after-first'
 * ```
 */
export type SeriesFrames = 'all' | 'after-first';

/**
 * The series summaries a ranking accepts (see {@link SeriesFrames}).
 * @example
 * ```ts
 * import { SERIES_FRAMES } from 'mriseq/browser';
 * console.log(SERIES_FRAMES); // ['all', 'after-first']
 * ```
 */
export const SERIES_FRAMES: readonly SeriesFrames[] = ['all', 'after-first'];

/**
 * The row sets a ranking accepts (see {@link RowSet}).
 *
 * @example
 * ```ts
 * import { ROW_SETS } from 'mriseq/browser';
 * console.log(ROW_SETS); // ['cross', 'all']
 * ```
 */
export const ROW_SETS: readonly RowSet[] = ['cross', 'all'];

/**
 * Options of {@link contributionMatrix} (and of {@link rankSequences}).
 *
 * @example
 * ```ts
 * import { contributionMatrix, type ContributionOptions } from 'mriseq/browser';
 * const o: ContributionOptions = { metrics: ['psnr', 'ssim', 'dice'], orientations: { dice: 1 }, rows: 'cross', sequences: ['t1', 't2'] };
 * console.log(contributionMatrix([
 *   { subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9, dice: 0.8 },
 *   { subject: 'a', source: 't2', target: 't1', psnr: 27, ssim: 0.92, dice: 0.85 },
 * ], o).Cd);
 * ```
 */
export interface ContributionOptions {
  /**
   * Metric columns to use; default: the paper's psnr, ssim, lpips when every row has lpips, else
   * psnr, ssim and mae (MAE standing in for LPIPS).
   */
  metrics?: readonly string[];
  /** Orientations of metrics the registry does not know (+1 higher is better, -1 lower). */
  orientations?: MetricOrientations;
  /** Rows that enter (default 'cross', the authors' protocol). */
  rows?: RowSet;
  /** How a series target (per-phase columns) is scored (default 'all': every phase). */
  frames?: SeriesFrames;
  /** Order of sequences in the output; default: order of first appearance. */
  sequences?: readonly string[];
}

/**
 * What {@link contributionMatrix} returns (sequence i = source, j = target).
 *
 * @example
 * ```ts
 * import { contributionMatrix, type ContributionMatrix } from 'mriseq';
 * const m: ContributionMatrix = contributionMatrix([
 *   { subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9 },
 *   { subject: 'a', source: 't2', target: 't1', psnr: 27, ssim: 0.92 },
 * ]);
 * console.log(m.A, m.Ct, m.Cd, m.rows, m.rowCount);
 * ```
 */
export interface ContributionMatrix {
  sequences: string[];
  metrics: string[];
  /** The orientation each metric was used with. */
  orientations: Record<string, MetricOrientation>;
  /** Which rows entered, and how many. */
  rows: RowSet;
  rowCount: number;
  /** How series targets were scored, and which targets were series (per-phase columns). */
  frames: SeriesFrames;
  seriesTargets: string[];
  /** A[i][j], i = source, j = target; NaN where the table has no row of that pair. */
  A: number[][];
  /** Per metric, the z-scored pair means z_m(i, j). */
  z: Record<string, number[][]>;
  /** Mean and population sd of each oriented metric over all rows. */
  stats: Record<string, { mean: number; sd: number }>;
  Ct: number[];
  Cd: number[];
}

/**
 * Default metric columns, from the registry: its paper metrics (psnr, ssim, lpips), a required one
 * always and another when every row has a finite value, else the metric that stands in for it
 * when every row has that (mae for lpips): {psnr, ssim, lpips}, else {psnr, ssim, mae}, else {psnr, ssim}.
 * @param rows - Evaluation rows.
 * @returns The metric columns a ranking uses by default.
 * @example
 * ```ts
 * import { defaultMetrics } from 'mriseq/browser';
 * console.log(defaultMetrics([{ subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9, mae: 0.05 }])); // ['psnr', 'ssim', 'mae']
 * ```
 */
export function defaultMetrics(rows: readonly EvaluationRow[]): string[] {
  const all = (k: string) =>
    rows.length > 0 && rows.every((r) => typeof r[k] === 'number' && Number.isFinite(r[k]));
  const out: string[] = [];
  for (const m of SYNTHESIS_METRICS) {
    if (!m.paper) continue;
    if (m.required || all(m.name)) out.push(m.name);
    else {
      const standIn = SYNTHESIS_METRICS.find((s) => s.standsInFor === m.name && all(s.name));
      if (standIn) out.push(standIn.name);
    }
  }
  return out;
}

/**
 * What a ranking's metric set means against the paper's {PSNR, SSIM, -LPIPS}, in one sentence.
 * @param metrics - The metric names a ranking used.
 * @returns One sentence saying how they relate to the paper's set.
 * @example
 * ```ts
 * import { metricsNote } from 'mriseq';
 * console.log(metricsNote(['psnr', 'ssim', 'mae']));
 * ```
 */
export function metricsNote(metrics: readonly string[]): string {
  if (metrics.includes('lpips')) return "LPIPS as supplied with the table (the paper's metric set)";
  if (metrics.includes('mae'))
    return "MAE stands in for the paper's LPIPS, which needs ImageNet-pretrained backbones that are not available here (supply an lpips column to rank exactly as the paper)";
  return 'without LPIPS or a stand-in for it';
}

/**
 * The rows of a table that enter the ranking under a row set.
 * @param rows - Evaluation rows.
 * @param set - 'cross' (default: source ≠ target) or 'all'.
 * @returns The rows that enter.
 * @throws {@link MriseqError} 'analysis.rows' for another set.
 * @example
 * ```ts
 * import { rowsOf } from 'mriseq/browser';
 * const rows = [
 *   { subject: 'a', source: 't1', target: 't1', psnr: 40, ssim: 0.99 },
 *   { subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9 },
 * ];
 * console.log(rowsOf(rows).length, rowsOf(rows, 'all').length); // 1 2
 * ```
 */
export function rowsOf(rows: readonly EvaluationRow[], set: RowSet = 'cross'): EvaluationRow[] {
  if (!ROW_SETS.includes(set))
    throw new MriseqError('unknown row set', {
      field: 'rows',
      found: String(set),
      expected: ROW_SETS.join(', '),
      code: 'analysis.rows',
    });
  return set === 'all' ? [...rows] : rows.filter((r) => r.source !== r.target);
}

/**
 * A series row scored over its phases after the first: each metric the mean of its per-phase
 * columns 1..n-1. A row without per-phase columns (a 3D target) is returned as it is; a series
 * row missing a metric's per-phase columns is an error, never a silent mix of summaries.
 */
function afterFirstFrame(row: EvaluationRow, metrics: readonly string[], index: number): EvaluationRow {
  const perMetric = metrics.map((m) => frameValues(row, m));
  if (perMetric.every((v) => v.length === 0)) return row;
  const out: EvaluationRow = { ...row };
  metrics.forEach((m, k) => {
    const v = perMetric[k]!;
    if (v.length < 2)
      throw new MriseqError(`metric "${m}" has no per-phase columns for this series row`, {
        field: `row ${index + 1} (${row.subject}: ${row.source} -> ${row.target}): ${m}_f0, ${m}_f1, ...`,
        found: v.length ? '1 phase' : 'none',
        expected: "per-phase columns for every metric (as evaluate writes them), or frames 'all'",
        code: 'analysis.frames',
      });
    out[m] = v.slice(1).reduce((a, b) => a + b, 0) / (v.length - 1);
  });
  return out;
}

function sequencesOf(rows: readonly EvaluationRow[]): string[] {
  const seen: string[] = [];
  for (const r of rows) for (const s of [r.source, r.target]) if (!seen.includes(s)) seen.push(s);
  return seen;
}

/**
 * A, z-scores, C_t and C_d of an evaluation table (see the file comment for the definitions).
 * The paper's contribution analysis: each metric oriented higher-is-better and z-scored over the rows
 * that enter; A(i, j) = Σ_m z_m(i, j); C_t(i) = (1/N) Σ_j A(i, j) (how well source i synthesises the
 * others); C_d(j) = −(1/N) Σ_i A(i, j) (how hard target j is to synthesise: its unique information).
 *
 * @param table - Evaluation rows (subject, source, target, metrics).
 * @param opts - Metric columns, orientations of unknown metrics, which rows enter ('cross' default), sequence order.
 * @returns A, the z-scores, C_t and C_d per sequence.
 * @throws {@link MriseqError} 'analysis.empty' when no row enters, 'analysis.value' for a missing or
 *   non-finite metric value, 'analysis.sequence' for a row naming a sequence outside `opts.sequences`,
 *   or as {@link metricOrientation} for a metric of unknown orientation.
 * @example
 * ```ts
 * import { contributionMatrix, type EvaluationRow } from 'mriseq';
 * const rows: EvaluationRow[] = [
 *   { subject: 'a', source: 't1', target: 't1gd', psnr: 22, ssim: 0.80, mae: 0.09 },
 *   { subject: 'a', source: 't1gd', target: 't1', psnr: 30, ssim: 0.93, mae: 0.03 },
 *   { subject: 'a', source: 't2', target: 't1gd', psnr: 21, ssim: 0.78, mae: 0.10 },
 *   { subject: 'a', source: 't1gd', target: 't2', psnr: 27, ssim: 0.90, mae: 0.05 },
 *   { subject: 'a', source: 't1', target: 't2', psnr: 26, ssim: 0.88, mae: 0.05 },
 *   { subject: 'a', source: 't2', target: 't1', psnr: 28, ssim: 0.91, mae: 0.04 },
 * ];
 * const m = contributionMatrix(rows);
 * console.log(m.sequences, m.Cd.map((c) => c.toFixed(2))); // t1gd has the highest C_d
 * ```
 */
export function contributionMatrix(
  table: readonly EvaluationRow[],
  opts: ContributionOptions = {},
): ContributionMatrix {
  const set = opts.rows ?? 'cross';
  const frames = opts.frames ?? 'all';
  if (!SERIES_FRAMES.includes(frames))
    throw new MriseqError('unknown series summary', {
      field: 'frames',
      found: String(frames),
      expected: SERIES_FRAMES.join(', '),
      code: 'analysis.frames',
    });
  const entered = rowsOf(table, set);
  if (entered.length === 0)
    throw new MriseqError(
      `contribution: the evaluation table has no rows${table.length ? ` with source != target (row set '${set}')` : ''}`,
      { code: 'analysis.empty' },
    );
  const metrics = [...(opts.metrics ?? defaultMetrics(entered))];
  // a row is a series when any of its metrics has per-phase columns
  const seriesTargets = [
    ...new Set(entered.filter((r) => metrics.some((m) => frameValues(r, m).length > 1)).map((r) => r.target)),
  ];
  const rows = frames === 'all' ? entered : entered.map((r, k) => afterFirstFrame(r, metrics, k));
  const orientations: Record<string, MetricOrientation> = {};
  for (const m of metrics) orientations[m] = metricOrientation(m, opts.orientations);
  const sequences = [...(opts.sequences ?? sequencesOf(table))];
  const N = sequences.length;
  const index = new Map(sequences.map((s, k) => [s, k]));
  for (const [r, row] of rows.entries()) {
    for (const f of ['source', 'target'] as const)
      if (!index.has(row[f]))
        throw new MriseqError('contribution: sequence not in the sequence list', {
          field: `row ${r + 1}: ${f}`,
          found: row[f],
          expected: sequences.join(', '),
          code: 'analysis.sequence',
        });
    for (const m of metrics) {
      const v = row[m];
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new MriseqError('contribution: metric value is not a finite number', {
          field: `row ${r + 1}: ${m}`,
          found: String(v),
          expected: 'a finite number',
          code: 'analysis.value',
        });
    }
  }
  const stats: ContributionMatrix['stats'] = {};
  const z: ContributionMatrix['z'] = {};
  const A = sequences.map(() => sequences.map(() => NaN));
  const pairCount = sequences.map(() => sequences.map(() => 0));
  for (const row of rows) pairCount[index.get(row.source)!][index.get(row.target)!]++;
  for (const m of metrics) {
    const sign = orientations[m];
    let mean = 0;
    for (const row of rows) mean += sign * (row[m] as number);
    mean /= rows.length;
    let v = 0;
    for (const row of rows) v += (sign * (row[m] as number) - mean) ** 2;
    const sd = Math.sqrt(v / rows.length);
    stats[m] = { mean, sd };
    const sums = sequences.map(() => sequences.map(() => 0));
    for (const row of rows) sums[index.get(row.source)!][index.get(row.target)!] += sign * (row[m] as number);
    z[m] = sums.map((line, i) =>
      line.map((s, j) => (pairCount[i][j] ? (s / pairCount[i][j] - mean) / (sd + 1e-9) : NaN)),
    );
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++)
        if (pairCount[i][j]) A[i][j] = (Number.isNaN(A[i][j]) ? 0 : A[i][j]) + z[m][i][j];
  }
  const Ct = sequences.map((_, i) => A[i].reduce((s, a) => (Number.isNaN(a) ? s : s + a), 0) / N);
  const Cd = sequences.map(
    (_, j) => -A.reduce((s, line) => (Number.isNaN(line[j]) ? s : s + line[j]), 0) / N,
  );
  return {
    sequences,
    metrics,
    orientations,
    rows: set,
    rowCount: rows.length,
    frames,
    seriesTargets,
    A,
    z,
    stats,
    Ct,
    Cd,
  };
}

/**
 * Small seeded PRNG (src/random's mulberry32): same seed, same bootstrap, on every platform.
 * @param seed - The seed.
 * @returns A function giving uniform numbers in [0, 1).
 * @example
 * ```ts
 * import { seededRandom } from 'mriseq/browser';
 * const rand = seededRandom(1);
 * console.log(rand(), rand());
 * ```
 */
export function seededRandom(seed: number): () => number {
  return mulberry32(seed);
}

/**
 * Subject draws of a bootstrap: `draws[b]` lists the subject indices of resample b.
 * @param nSubjects - Number of subjects.
 * @param resamples - Number of resamples.
 * @param seed - The seed (same seed, same draws).
 * @returns `resamples` lists of `nSubjects` indices drawn with replacement.
 * @example
 * ```ts
 * import { bootstrapDraws } from 'mriseq/browser';
 * console.log(bootstrapDraws(4, 2, 0)); // two resamples of 4 subject indices
 * ```
 */
export function bootstrapDraws(nSubjects: number, resamples: number, seed: number): number[][] {
  const rand = seededRandom(seed);
  const out: number[][] = [];
  for (let b = 0; b < resamples; b++) {
    const d: number[] = [];
    for (let k = 0; k < nSubjects; k++) d.push(Math.floor(rand() * nSubjects));
    out.push(d);
  }
  return out;
}

/**
 * Linear-interpolation percentile (numpy's default), q in [0, 100].
 * Exported by the browser build as `bootstrapPercentile` (the volume module's {@link percentile} keeps the name).
 *
 * @param values - Numbers (NaN ignored).
 * @param q - The percentile, 0 to 100.
 * @returns The percentile, NaN for no values.
 * @example
 * ```ts
 * import { bootstrapPercentile } from 'mriseq/browser';
 * console.log(bootstrapPercentile([3, 1, 2, 4], 50)); // 2.5
 * ```
 */
export function percentile(values: readonly number[], q: number): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const pos = ((v.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

/**
 * Options of {@link rankSequences}.
 *
 * @example
 * ```ts
 * import { type RankingOptions } from 'mriseq';
 * const o: RankingOptions = { metrics: ['psnr', 'ssim', 'mae'], rows: 'cross', resamples: 1000, seed: 0, level: 0.95 };
 * console.log(o.resamples);
 * ```
 */
export interface RankingOptions extends ContributionOptions {
  /** Bootstrap resamples over subjects (0 = no CIs). Default 1000. */
  resamples?: number;
  /** Seed of the bootstrap. Default 0. */
  seed?: number;
  /** Confidence level of the percentile intervals. Default 0.95. */
  level?: number;
  /** Explicit subject draws (indices into the sorted subject list); overrides resamples/seed. */
  draws?: number[][];
}

/**
 * One sequence's line of a {@link SequenceRanking}.
 *
 * @example
 * ```ts
 * import { rankSequences, type SequenceContribution } from 'mriseq';
 * const rows = [
 *   { subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9 },
 *   { subject: 'a', source: 't2', target: 't1', psnr: 27, ssim: 0.92 },
 * ];
 * const first: SequenceContribution = rankSequences(rows, { resamples: 0 }).sequences[0]!;
 * console.log(first.sequence, first.C_d, first.C_d_ci, first.rank, first.p_first);
 * ```
 */
export interface SequenceContribution {
  sequence: string;
  C_t: number;
  C_d: number;
  C_t_ci: [number, number];
  C_d_ci: [number, number];
  /** 1 = highest C_d (most unique information). */
  rank: number;
  /** 1 = highest C_t (most useful as a source). */
  rank_t: number;
  /** Share of bootstrap resamples in which this sequence ranks first by C_d. */
  p_first: number;
}

/**
 * What {@link rankSequences} returns.
 *
 * @example
 * ```ts
 * import { rankSequences, type SequenceRanking } from 'mriseq';
 * const r: SequenceRanking = rankSequences([
 *   { subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9 },
 *   { subject: 'a', source: 't2', target: 't1', psnr: 27, ssim: 0.92 },
 * ], { resamples: 0 });
 * console.log(r.order, r.subjects, r.matrix.metrics);
 * ```
 */
export interface SequenceRanking {
  sequences: SequenceContribution[];
  matrix: ContributionMatrix;
  subjects: number;
  resamples: number;
  seed: number;
  level: number;
  /** Sequence names ordered by C_d, high first. */
  order: string[];
}

function ranksDescending(values: readonly number[]): number[] {
  const idx = values.map((_, k) => k).sort((a, b) => values[b] - values[a] || a - b);
  const r = new Array<number>(values.length);
  idx.forEach((k, pos) => (r[k] = pos + 1));
  return r;
}

/**
 * Ranks sequences by C_d (high first) with percentile bootstrap CIs over subjects for C_t and C_d.
 * Each resample draws subjects with replacement, keeps all their rows (a subject drawn twice
 * counts twice) and recomputes z-scores, A, C_t and C_d.
 * @param table - Evaluation rows of several subjects.
 * @param opts - As {@link contributionMatrix}, plus `resamples` (default 1000; 0 = no CIs), `seed`, `level` (0.95).
 * @returns The ranking: per sequence C_t, C_d, their CIs, ranks and the share of resamples ranking it first.
 * @throws {@link MriseqError} as {@link contributionMatrix}.
 * @example
 * ```ts
 * import { formatRanking, rankSequences, type EvaluationRow } from 'mriseq';
 * const rows: EvaluationRow[] = [];
 * for (const subject of ['a', 'b', 'c'])
 *   for (const source of ['t1', 't1gd', 't2'])
 *     for (const target of ['t1', 't1gd', 't2'])
 *       if (source !== target) {
 *         const hard = target === 't1gd' ? 6 : 0; // t1gd is hard to synthesise
 *         rows.push({ subject, source, target, psnr: 30 - hard + Math.random(), ssim: 0.9 - hard / 60 });
 *       }
 * const ranking = rankSequences(rows, { resamples: 200, seed: 1 });
 * console.log(ranking.order); // ['t1gd', ...]
 * console.log(formatRanking(ranking));
 * ```
 */
export function rankSequences(table: readonly EvaluationRow[], opts: RankingOptions = {}): SequenceRanking {
  const matrix = contributionMatrix(table, opts);
  // Resamples draw subjects of the rows that entered, with the same metrics and orientations.
  const rows = rowsOf(table, matrix.rows);
  const subjects = [...new Set(rows.map((r) => r.subject))].sort();
  const bySubject = new Map<string, EvaluationRow[]>(subjects.map((s) => [s, []]));
  for (const r of rows) bySubject.get(r.subject)!.push(r);
  const seed = opts.seed ?? 0;
  const level = opts.level ?? 0.95;
  const draws = opts.draws ?? bootstrapDraws(subjects.length, opts.resamples ?? 1000, seed);
  const fixed: ContributionOptions = {
    metrics: matrix.metrics,
    orientations: matrix.orientations,
    sequences: matrix.sequences,
    rows: 'all',
    frames: matrix.frames,
  };
  const ct: number[][] = matrix.sequences.map(() => []);
  const cd: number[][] = matrix.sequences.map(() => []);
  const first = matrix.sequences.map(() => 0);
  for (const d of draws) {
    const sample: EvaluationRow[] = [];
    for (const k of d) sample.push(...bySubject.get(subjects[k])!);
    const m = contributionMatrix(sample, fixed);
    m.Ct.forEach((v, i) => ct[i].push(v));
    m.Cd.forEach((v, i) => cd[i].push(v));
    first[ranksDescending(m.Cd).indexOf(1)]++;
  }
  const lo = ((1 - level) / 2) * 100;
  const hi = 100 - lo;
  const rank = ranksDescending(matrix.Cd);
  const rankT = ranksDescending(matrix.Ct);
  const sequences = matrix.sequences.map((s, i) => ({
    sequence: s,
    C_t: matrix.Ct[i],
    C_d: matrix.Cd[i],
    C_t_ci: [percentile(ct[i], lo), percentile(ct[i], hi)] as [number, number],
    C_d_ci: [percentile(cd[i], lo), percentile(cd[i], hi)] as [number, number],
    rank: rank[i],
    rank_t: rankT[i],
    p_first: draws.length ? first[i] / draws.length : NaN,
  }));
  const order = [...sequences].sort((a, b) => a.rank - b.rank).map((s) => s.sequence);
  return { sequences, matrix, subjects: subjects.length, resamples: draws.length, seed, level, order };
}

/**
 * The JSON form of a ranking (ranking.json): per sequence C_t, C_d, their CIs and ranks; the
 * matrix A; which rows entered and which metrics, with their orientation and what they mean
 * against the paper's set.
 * @param r - A ranking from {@link rankSequences}.
 * @returns A plain object ready for JSON.stringify (what ranking.json holds).
 * @example
 * ```ts
 * import { rankingRecord, rankSequences } from 'mriseq';
 * const r = rankSequences([
 *   { subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9 },
 *   { subject: 'a', source: 't2', target: 't1', psnr: 27, ssim: 0.92 },
 * ], { resamples: 0 });
 * console.log(JSON.stringify(rankingRecord(r), null, 2));
 * ```
 */
export function rankingRecord(r: SequenceRanking): Record<string, unknown> {
  return {
    sequences: r.sequences.map((s) => ({
      sequence: s.sequence,
      C_t: s.C_t,
      C_t_ci: s.C_t_ci,
      C_d: s.C_d,
      C_d_ci: s.C_d_ci,
      rank: s.rank,
      rank_t: s.rank_t,
      p_first: s.p_first,
    })),
    order: r.order,
    rows: r.matrix.rows,
    rowsNote:
      r.matrix.rows === 'cross'
        ? "source != target only: the authors' protocol (their contribution table has no self-reconstruction row)"
        : 'every row, self-reconstruction (source = target) included',
    rowCount: r.matrix.rowCount,
    ...(r.matrix.seriesTargets.length
      ? {
          frames: r.matrix.frames,
          framesNote: `series targets (${r.matrix.seriesTargets.join(', ')}) scored by the mean of their metrics over ${
            r.matrix.frames === 'all'
              ? "every phase (frames 'all'; a DCE's pre-contrast phase included)"
              : "the phases after the first (frames 'after-first')"
          }`,
        }
      : {}),
    metrics: r.matrix.metrics,
    orientations: r.matrix.orientations,
    metricsNote: metricsNote(r.matrix.metrics),
    A: {
      rows: 'source',
      columns: 'target',
      sequences: r.matrix.sequences,
      values: r.matrix.A.map((l) => l.map((v) => (Number.isNaN(v) ? null : v))),
    },
    subjects: r.subjects,
    resamples: r.resamples,
    seed: r.seed,
    level: r.level,
  };
}

/**
 * A fixed-width text table of a ranking (what `mriseq rank` prints).
 * @param r - A ranking from {@link rankSequences}.
 * @returns The table as text, one line per sequence.
 * @example
 * ```ts
 * import { formatRanking, rankSequences } from 'mriseq';
 * const rows = ['t1', 't2'].flatMap((source) =>
 *   ['t1', 't2'].filter((t) => t !== source).map((target) => ({ subject: 'a', source, target, psnr: 25, ssim: 0.9 })),
 * );
 * console.log(formatRanking(rankSequences(rows, { resamples: 0 })));
 * ```
 */
export function formatRanking(r: SequenceRanking): string {
  const pct = Math.round(r.level * 100);
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'nan');
  const lines = [
    `rank  sequence   C_d      ${pct}% CI              C_t      ${pct}% CI              P(first)`,
  ];
  for (const s of [...r.sequences].sort((a, b) => a.rank - b.rank))
    lines.push(
      `${String(s.rank).padEnd(6)}${s.sequence.padEnd(11)}${f(s.C_d).padStart(7)}  [${f(s.C_d_ci[0])}, ${f(s.C_d_ci[1])}]`.padEnd(
        48,
      ) +
        `${f(s.C_t).padStart(7)}  [${f(s.C_t_ci[0])}, ${f(s.C_t_ci[1])}]`.padEnd(33) +
        f(s.p_first),
    );
  lines.push(
    `${r.subjects} subjects, rows ${r.matrix.rows === 'cross' ? "source != target (the authors' protocol)" : 'all, self-reconstruction included'}, metrics ${r.matrix.metrics
      .map((m) => (r.matrix.orientations[m] < 0 ? `-${m}` : m))
      .join(', ')}, ${r.resamples} bootstrap resamples (seed ${r.seed})`,
    metricsNote(r.matrix.metrics),
  );
  if (r.matrix.seriesTargets.length)
    lines.push(
      `series ${r.matrix.seriesTargets.join(', ')} scored over ${
        r.matrix.frames === 'all'
          ? 'every phase (the first, pre-contrast one included; --frames after-first leaves it out)'
          : 'the phases after the first (--frames after-first)'
      }`,
    );
  return lines.join('\n');
}
