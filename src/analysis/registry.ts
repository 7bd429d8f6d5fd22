/**
 * The synthesis metrics mriseq knows, in one table: their names (the evaluation table's columns),
 * orientation (higher or lower is better), whether mriseq computes them or a user supplies them,
 * and a one-line meaning. The contribution ranking, the evaluation table and its CSV columns read
 * their metric facts here, so a metric is added in one place; a metric that is not here must come
 * with a declared orientation, or it is an error (never silently ranked as higher-is-better).
 * Browser-safe.
 */
import { MriseqError } from '../errors/index.js';

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
  /** true: mriseq computes it for every pair; false: a user supplies it (a column or a function). */
  builtin: boolean;
  description: string;
}

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
export const SYNTHESIS_METRICS: readonly SynthesisMetricSpec[] = [
  {
    name: 'psnr',
    orientation: 1,
    builtin: true,
    description: 'peak signal-to-noise ratio, dB (data range 2)',
  },
  {
    name: 'ssim',
    orientation: 1,
    builtin: true,
    description: 'structural similarity (7-voxel window, data range 2)',
  },
  { name: 'mae', orientation: -1, builtin: true, description: 'mean absolute error (normalised units)' },
  {
    name: 'lpips',
    orientation: -1,
    builtin: false,
    description: 'learned perceptual distance (needs pretrained backbones: user-supplied)',
  },
];

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
