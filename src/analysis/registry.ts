/**
 * The synthesis metrics mriseq knows, in one table: their names (the evaluation table's columns),
 * orientation (higher or lower is better), whether mriseq computes them (and with which function)
 * or a user supplies them, whether every table has them, their part in the default ranking, and a
 * one-line meaning. Everything that lists metrics reads this table: the scores of a pair, a series
 * and a batch (./scores.ts, ./tensor-metrics.ts), the accumulator, the per-frame columns, the
 * evaluation table's CSV columns (./table.ts, ./evaluate.ts), the ranking's default metrics and
 * orientations (./contribution.ts) and the CLI's `rank`. Adding a metric is one entry here (plus
 * its function in ./metrics.ts); a metric that is not here must come with a declared orientation,
 * or it is an error (never silently ranked as higher-is-better). Browser-safe.
 */
import { MriseqError } from '../errors/index.js';
import { meanAbsoluteError, psnr, ssim, type ArrayLike32, type SsimOptions } from './metrics.js';

/**
 * +1: higher is better (PSNR, SSIM); -1: lower is better (distances: MAE, LPIPS).
 * @example
 * ```ts
 * import { type MetricOrientation } from 'mriseq';
 * const orientations: Record<string, MetricOrientation> = { dice: 1, hausdorff: -1 };
 * console.log(orientations);
 * ```
 */
export type MetricOrientation = 1 | -1;

/**
 * One entry of {@link SYNTHESIS_METRICS}: a metric's column name, orientation and who computes it.
 *
 * @example
 * ```ts
 * import { SYNTHESIS_METRICS, type SynthesisMetricSpec } from 'mriseq';
 * const lpips: SynthesisMetricSpec | undefined = SYNTHESIS_METRICS.find((m) => m.name === 'lpips');
 * console.log(lpips?.description);
 * ```
 */
export interface SynthesisMetricSpec {
  /** Column name in the evaluation table (lower case). */
  name: string;
  orientation: MetricOrientation;
  /** true: mriseq computes it for every pair (with `score`); false: a user supplies it (a column or a function). */
  builtin: boolean;
  description: string;
  /** Every evaluation table has this column (a table without it is refused); the others may be absent or empty. */
  required?: boolean;
  /** One of the paper's metrics: a default ranking uses it when every row has it (a required one always). */
  paper?: boolean;
  /** A default ranking uses this metric in place of the named paper metric when the table lacks that one. */
  standsInFor?: string;
  /** How mriseq scores one image pair (builtin metrics); the options carry shape, window, data range and mask. */
  score?: (truth: ArrayLike32, test: ArrayLike32, opts: SsimOptions) => number;
  /** A windowed metric (SSIM): with `slices`, a 3D frame is scored per axial slice and the slices averaged. */
  windowed?: boolean;
  /** Means over pairs skip non-finite values (identical images have PSNR = Infinity); Infinity when none is finite. */
  finiteMean?: boolean;
}

/** The table itself, with literal types (the computed metrics' names type {@link SynthesisScores}). */
const TABLE = [
  {
    name: 'psnr',
    orientation: 1,
    builtin: true,
    required: true,
    paper: true,
    score: psnr,
    finiteMean: true,
    description: 'peak signal-to-noise ratio, dB (data range 2)',
  },
  {
    name: 'ssim',
    orientation: 1,
    builtin: true,
    required: true,
    paper: true,
    score: ssim,
    windowed: true,
    description: 'structural similarity (7-voxel window, data range 2)',
  },
  {
    name: 'mae',
    orientation: -1,
    builtin: true,
    standsInFor: 'lpips',
    score: meanAbsoluteError,
    description: 'mean absolute error (normalised units)',
  },
  {
    name: 'lpips',
    orientation: -1,
    builtin: false,
    paper: true,
    description: 'learned perceptual distance (needs pretrained backbones: user-supplied)',
  },
] as const satisfies readonly SynthesisMetricSpec[];

/**
 * The registry. LPIPS is the paper's third metric; it needs ImageNet-pretrained AlexNet/VGG
 * backbones that no registry here ships, so mriseq never computes it: a lab with the weights adds
 * an `lpips` column (or an `evaluate` metric function) and ranks with it.
 * @example
 * ```ts
 * import { SYNTHESIS_METRICS } from 'mriseq';
 * for (const m of SYNTHESIS_METRICS) console.log(m.name, m.orientation > 0 ? 'higher is better' : 'lower is better', m.builtin);
 * ```
 */
export const SYNTHESIS_METRICS: readonly SynthesisMetricSpec[] = TABLE;

/**
 * The names of the metrics mriseq computes (the table's builtin entries).
 * @example
 * ```ts
 * import { type BuiltinMetricName } from 'mriseq';
 * const name: BuiltinMetricName = 'ssim';
 * console.log(name);
 * ```
 */
export type BuiltinMetricName = Extract<(typeof TABLE)[number], { builtin: true }>['name'];

/**
 * The synthesis metrics of one generated image, one number per metric mriseq computes (PSNR in dB,
 * SSIM, MAE in normalised units: the builtin entries of {@link SYNTHESIS_METRICS}).
 *
 * @example
 * ```ts
 * import { synthesisScores, type SynthesisScores } from 'mriseq';
 * const a = Float32Array.from({ length: 64 }, (_, i) => (i % 8) / 8);
 * const s: SynthesisScores = synthesisScores(a, a.map((v) => v * 0.9), { shape: [8, 8], winSize: 3 });
 * console.log(s.psnr, s.ssim, s.mae);
 * ```
 */
export type SynthesisScores = { [K in BuiltinMetricName]: number };

/** A computed metric's entry: one with a scoring function. */
export type ComputedMetricSpec = SynthesisMetricSpec & {
  score: NonNullable<SynthesisMetricSpec['score']>;
};

/**
 * The entries mriseq computes, in table order. Read from the table when called (not a snapshot),
 * so the scores, the accumulator, the tensor metrics and the per-frame columns follow the table.
 * @returns The builtin entries with their scoring functions.
 */
export function computedMetrics(): ComputedMetricSpec[] {
  return SYNTHESIS_METRICS.filter((m): m is ComputedMetricSpec => m.builtin && typeof m.score === 'function');
}

/**
 * One value for every computed metric, in table order (e.g. 0 to start sums).
 * @param value - The value of each.
 * @returns Metric name -> value.
 */
export function eachComputedMetric(value: number): SynthesisScores {
  return Object.fromEntries(computedMetrics().map((m) => [m.name, value])) as SynthesisScores;
}

/**
 * The metric columns every evaluation row has.
 * @example
 * ```ts
 * import { BUILTIN_METRICS } from 'mriseq/browser';
 * console.log(BUILTIN_METRICS); // ['psnr', 'ssim', 'mae']
 * ```
 */
export const BUILTIN_METRICS: readonly string[] = SYNTHESIS_METRICS.filter((m) => m.builtin).map(
  (m) => m.name,
);

/**
 * The metric names the registry knows.
 * @example
 * ```ts
 * import { KNOWN_METRICS } from 'mriseq/browser';
 * console.log(KNOWN_METRICS.includes('lpips')); // true
 * ```
 */
export const KNOWN_METRICS: readonly string[] = SYNTHESIS_METRICS.map((m) => m.name);

/**
 * Metric name -> orientation, for names declared by the caller (user metrics).
 * @example
 * ```ts
 * import { rankSequences, type MetricOrientations } from 'mriseq/browser';
 * const orientations: MetricOrientations = { dice: 1 };
 * console.log(rankSequences([
 *   { subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9, dice: 0.7 },
 *   { subject: 'a', source: 't2', target: 't1', psnr: 26, ssim: 0.9, dice: 0.8 },
 * ], { metrics: ['psnr', 'dice'], orientations, resamples: 0 }).order);
 * ```
 */
export type MetricOrientations = Readonly<Record<string, MetricOrientation>>;

/**
 * The orientation of a metric: a declared one first, then the registry's; an unknown metric
 * without a declaration is an error naming how to declare it.
 * @param name - A metric (column) name.
 * @param declared - Orientations the caller declares (win over the registry).
 * @returns +1 (higher is better) or −1 (lower is better).
 * @throws {@link MriseqError} for an unknown metric without a declaration, or a declaration other than ±1.
 * @example
 * ```ts
 * import { metricOrientation } from 'mriseq';
 * console.log(metricOrientation('mae'), metricOrientation('dice', { dice: 1 })); // -1 1
 * ```
 */
export function metricOrientation(name: string, declared?: MetricOrientations): MetricOrientation {
  const d = declared && Object.hasOwn(declared, name) ? declared[name] : undefined;
  if (d !== undefined) {
    if (d !== 1 && d !== -1)
      throw new MriseqError('a metric orientation is +1 (higher is better) or -1 (lower is better)', {
        field: `orientation of ${name}`,
        found: String(d),
        expected: '1 or -1',
        code: 'analysis.metric',
      });
    return d;
  }
  const spec = SYNTHESIS_METRICS.find((m) => m.name === name);
  if (!spec)
    throw new MriseqError(`unknown metric "${name}": say whether higher or lower is better`, {
      field: 'metrics',
      found: name,
      expected: `one of ${KNOWN_METRICS.join(', ')}, or declared (API: orientations: { ${name}: -1 }; CLI: --orientation ${name}=lower)`,
      code: 'analysis.metric',
    });
  return spec.orientation;
}

/**
 * Parses 'name=higher|lower' (or +1/-1) declarations, as the CLI takes them.
 * @param text - Declarations such as 'dice=higher', 'hd95=lower', 'x=+1'.
 * @returns Metric name (lower case) → orientation.
 * @throws {@link MriseqError} 'cli.option' for a malformed declaration.
 * @example
 * ```ts
 * import { parseOrientations } from 'mriseq/browser';
 * console.log(parseOrientations(['Dice=higher', 'hd95=lower'])); // { dice: 1, hd95: -1 }
 * ```
 */
export function parseOrientations(text: readonly string[]): Record<string, MetricOrientation> {
  const out: Record<string, MetricOrientation> = Object.create(null) as Record<string, MetricOrientation>;
  for (const item of text) {
    const m = /^\s*([^=\s]+)\s*=\s*(higher|lower|\+?1|-1)\s*$/i.exec(item);
    if (!m)
      throw new MriseqError('bad metric orientation', {
        field: '--orientation',
        found: item,
        expected: 'NAME=higher or NAME=lower (e.g. lpips=lower)',
        code: 'cli.option',
      });
    const v = m[2].toLowerCase();
    out[m[1].toLowerCase()] = v === 'higher' || v === '1' || v === '+1' ? 1 : -1;
  }
  return out;
}
