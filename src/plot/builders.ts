/**
 * Figure builders: plain plotly specs for every mriseq analysis (browser-safe). Inputs are small
 * plain types so that results from the analysis, training and classification modules (or from
 * files in a run folder) map onto them directly.
 */
import { MriseqError } from '../errors/index.js';
import { finiteOrNull, gridAxes, PALETTE, title, type Figure, type PlotTrace } from './figure.js';

// ---------------------------------------------------------------------------------------------
// Training curves

/**
 * One logged training step: `step` plus any numeric series (loss terms, lr, validation PSNR).
 * @example
 * ```ts
 * import { trainingCurvesFigure, type TrainingPoint } from 'mriseq';
 * const points: TrainingPoint[] = [{ step: 1, 'loss.total': 2 }, { step: 2, 'loss.total': 1.7, validationPsnr: 20 }];
 * trainingCurvesFigure(points);
 * ```
 */
export interface TrainingPoint {
  step: number;
  [series: string]: number | undefined;
}

/**
 * Flattens training records such as `{ step, loss: { total, l1 }, lr, validationPsnr }` (the
 * training loop's progress events, one per line of history.jsonl) into TrainingPoints with
 * dotted names ('loss.total'); non-numeric fields are dropped.
 * @param records - Objects with a numeric `step` (e.g. {@link TrainProgress} events or history.jsonl lines).
 * @returns One {@link TrainingPoint} per record that has a step.
 * @example
 * ```ts
 * import { flattenHistory } from 'mriseq';
 * console.log(flattenHistory([{ step: 1, loss: { total: 2.1, cycle: 0.3 }, lr: 2e-4, subject: 'sim-00001' }]));
 * // [{ step: 1, 'loss.total': 2.1, 'loss.cycle': 0.3, lr: 0.0002 }]
 * ```
 */
export function flattenHistory(records: readonly unknown[]): TrainingPoint[] {
  const out: TrainingPoint[] = [];
  for (const r of records) {
    if (typeof r !== 'object' || r === null) continue;
    const p: TrainingPoint = { step: NaN };
    const walk = (o: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        const name = prefix ? `${prefix}.${k}` : k;
        if (typeof v === 'number') p[name] = v;
        else if (typeof v === 'object' && v !== null && !Array.isArray(v))
          walk(v as Record<string, unknown>, name);
      }
    };
    walk(r as Record<string, unknown>, '');
    if (Number.isFinite(p.step)) out.push(p);
  }
  return out;
}

/**
 * Options of {@link trainingCurvesFigure} (and live curves).
 *
 * @example
 * ```ts
 * import { type TrainingCurvesOptions } from 'mriseq';
 * const o: TrainingCurvesOptions = { series: ['loss.total', 'validationPsnr'], secondary: ['validationPsnr'], logY: true, title: 'lite' };
 * console.log(o.series);
 * ```
 */
export interface TrainingCurvesOptions {
  /** Series to plot; default every numeric series except step bookkeeping. */
  series?: string[];
  /** Series drawn on a second y axis (default: names containing psnr, ssim or validation). */
  secondary?: string[];
  /** Log-scale the primary y axis (losses). */
  logY?: boolean;
  title?: string;
}

const BOOKKEEPING = new Set(['step', 'steps', 'stepMs', 'epoch', 'time', 'elapsedMs']);

/**
 * Loss terms per step, validation metrics on a second axis.
 * @param history - Training points (see {@link flattenHistory}).
 * @param opts - Series to draw, which go on the second axis, log y, title.
 * @returns A plotly figure.
 * @example
 * ```ts
 * import { flattenHistory, trainingCurvesFigure } from 'mriseq';
 * const history = flattenHistory([
 *   { step: 1, loss: { total: 2.0 } },
 *   { step: 2, loss: { total: 1.4 }, validationPsnr: 21.5 },
 * ]);
 * console.log(trainingCurvesFigure(history, { logY: true }).data.length);
 * ```
 */
export function trainingCurvesFigure(
  history: readonly TrainingPoint[],
  opts: TrainingCurvesOptions = {},
): Figure {
  const names =
    opts.series ??
    [...new Set(history.flatMap((p) => Object.keys(p)))].filter((k) => !BOOKKEEPING.has(k) && k !== 'lr');
  const isSecondary = (n: string) =>
    opts.secondary ? opts.secondary.includes(n) : /psnr|ssim|validation/i.test(n);
  const data: PlotTrace[] = names.map((name, i) => {
    const pts = history.filter((p) => typeof p[name] === 'number' && Number.isFinite(p[name]));
    const sec = isSecondary(name);
    return {
      type: 'scatter',
      mode: pts.length < 30 || sec ? 'lines+markers' : 'lines',
      name,
      x: pts.map((p) => p.step),
      y: pts.map((p) => p[name] as number),
      line: { color: PALETTE[i % PALETTE.length], ...(sec ? { dash: 'dot' } : {}) },
      ...(sec ? { yaxis: 'y2' } : {}),
    };
  });
  const anySecondary = names.some(isSecondary);
  return {
    data,
    layout: {
      title: title(opts.title ?? 'Training'),
      xaxis: { title: { text: 'step' } },
      yaxis: { title: { text: 'loss' }, ...(opts.logY ? { type: 'log' } : {}) },
      ...(anySecondary ? { yaxis2: { title: { text: 'validation' }, overlaying: 'y', side: 'right' } } : {}),
      legend: { orientation: 'h', y: -0.2 },
      margin: { t: 50, r: 60 },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Contribution matrix and ranking

/**
 * The A matrix: A[i][j] for source i -> target j (NaN or null where no pair was measured).
 * @example
 * ```ts
 * import { contributionMatrixFigure, type ContributionMatrixInput } from 'mriseq';
 * const m: ContributionMatrixInput = { sequences: ['t1', 't2'], A: [[null, 0.4], [-0.4, null]] };
 * contributionMatrixFigure(m);
 * ```
 */
export interface ContributionMatrixInput {
  sequences: readonly string[];
  A: readonly (readonly (number | null)[])[];
}

function checkSquare(m: ContributionMatrixInput): void {
  const n = m.sequences.length;
  if (m.A.length !== n || m.A.some((r) => r.length !== n))
    throw new MriseqError('A is not a square matrix over the sequences', {
      field: 'A',
      found: `${m.A.length} rows of lengths ${[...new Set(m.A.map((r) => r.length))].join('/')}`,
      expected: `${n}x${n} (one row and column per sequence)`,
    });
}

/**
 * Heatmap of A with the values written in the cells.
 * @param m - The sequences and A (source i → target j), e.g. a ranking's `matrix`.
 * @param opts - `title`.
 * @returns A plotly heatmap figure.
 * @example
 * ```ts
 * import { contributionMatrixFigure } from 'mriseq';
 * const fig = contributionMatrixFigure({ sequences: ['t1', 't1gd'], A: [[null, -1.2], [0.8, null]] });
 * console.log(fig.data[0]?.type); // 'heatmap'
 * ```
 */
export function contributionMatrixFigure(m: ContributionMatrixInput, opts: { title?: string } = {}): Figure {
  checkSquare(m);
  const z = m.A.map((r) => r.map((v) => finiteOrNull(v)));
  const text = z.map((r) => r.map((v) => (v === null ? '' : v.toFixed(2))));
  const seqs = [...m.sequences];
  return {
    data: [
      {
        type: 'heatmap',
        x: seqs,
        y: seqs,
        z,
        text,
        texttemplate: '%{text}',
        colorscale: 'RdBu',
        zmid: 0,
        colorbar: { title: { text: 'A' } },
        hovertemplate: 'source %{y} -> target %{x}<br>A = %{z:.3f}<extra></extra>',
      },
    ],
    layout: {
      title: title(opts.title ?? 'Contribution matrix A (source -> target)'),
      xaxis: { title: { text: 'target' }, side: 'bottom' },
      yaxis: { title: { text: 'source' }, autorange: 'reversed', scaleanchor: 'x' },
      margin: { t: 60 },
    },
  };
}

/**
 * One sequence's contributions with confidence intervals (the analysis module's ranking rows).
 * @example
 * ```ts
 * import { rankingFigure, type ContributionRow } from 'mriseq';
 * const row: ContributionRow = { sequence: 'flair', C_t: 0.1, C_d: 0.3, C_t_ci: [0, 0.2], C_d_ci: [0.1, 0.5] };
 * rankingFigure([row]);
 * ```
 */
export interface ContributionRow {
  sequence: string;
  C_t: number;
  C_d: number;
  C_t_ci?: readonly [number, number];
  C_d_ci?: readonly [number, number];
}

/**
 * C_t and C_d per sequence as grouped bars with CI whiskers, ordered by C_d (high first).
 * @param rows - Per sequence C_t, C_d and optional CIs (a {@link SequenceRanking}'s `sequences`).
 * @param opts - `title`, and the CI `level` named in the legend.
 * @returns A plotly bar figure.
 * @example
 * ```ts
 * import { rankingFigure } from 'mriseq';
 * const fig = rankingFigure([
 *   { sequence: 't1gd', C_t: -0.3, C_d: 1.1, C_d_ci: [0.8, 1.4] },
 *   { sequence: 't1', C_t: 0.5, C_d: -0.9, C_d_ci: [-1.2, -0.6] },
 * ]);
 * console.log(fig.data.map((t) => t.name));
 * ```
 */
export function rankingFigure(
  rows: readonly ContributionRow[],
  opts: { title?: string; level?: number } = {},
): Figure {
  const sorted = [...rows].sort((a, b) => b.C_d - a.C_d);
  const x = sorted.map((r) => r.sequence);
  const bar = (key: 'C_t' | 'C_d', color: string): PlotTrace => {
    const ci = sorted.map((r) => r[`${key}_ci`]);
    const has = ci.every((c) => c !== undefined);
    return {
      type: 'bar',
      name: key,
      x,
      y: sorted.map((r) => finiteOrNull(r[key])),
      marker: { color },
      ...(has
        ? {
            error_y: {
              type: 'data',
              symmetric: false,
              array: sorted.map((r, i) => finiteOrNull((ci[i] as [number, number])[1] - r[key])),
              arrayminus: sorted.map((r, i) => finiteOrNull(r[key] - (ci[i] as [number, number])[0])),
              visible: true,
            },
          }
        : {}),
    };
  };
  const lvl = Math.round(100 * (opts.level ?? 0.95));
  return {
    data: [bar('C_t', PALETTE[0]), bar('C_d', PALETTE[1])],
    layout: {
      title: title(opts.title ?? `Sequence contributions (${lvl}% CI)`),
      barmode: 'group',
      xaxis: { title: { text: 'sequence (ranked by C_d)' } },
      yaxis: { title: { text: 'contribution' }, zeroline: true },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Maps over anatomy

/**
 * A 3D grid, x fastest (a Volume qualifies).
 * @example
 * ```ts
 * import { axialSlice, type Grid3D } from 'mriseq';
 * const g: Grid3D = { data: new Float32Array(4 * 4 * 2), shape: [4, 4, 2] };
 * console.log(axialSlice(g, 1));
 * ```
 */
export interface Grid3D {
  data: ArrayLike<number>;
  shape: readonly number[];
}

/**
 * Axial slice z as rows in y order, subsampled by stride. Plotly draws row 0 of a heatmap at the
 * bottom, so posterior is down and anterior (+y) up, as in radiology viewers.
 * @param g - A 3D grid (a Volume qualifies).
 * @param z - The slice index.
 * @param stride - Keep every stride-th row and column (default 1).
 * @returns Rows of values (null where not finite), ready as a heatmap's z.
 * @example
 * ```ts
 * import { axialSlice, phantom } from 'mriseq';
 * const rows = axialSlice(phantom({ size: [32, 32, 16] }).subject(0).volumes.flair!, 8, 2);
 * console.log(rows.length, rows[0]?.length); // 16 16
 * ```
 */
export function axialSlice(g: Grid3D, z: number, stride = 1): (number | null)[][] {
  const [nx, ny] = g.shape;
  const rows: (number | null)[][] = [];
  for (let y = 0; y < ny; y += stride) {
    const row: (number | null)[] = [];
    for (let x = 0; x < nx; x += stride) row.push(finiteOrNull(g.data[x + nx * (y + ny * z)]));
    rows.push(row);
  }
  return rows;
}

/** Dark red to yellow: every level stays distinct from grey anatomy (plotly's 'Hot' starts at black). */
export const HOT_OVERLAY: [number, string][] = [
  [0, 'rgb(150,0,0)'],
  [0.5, 'rgb(255,80,0)'],
  [1, 'rgb(255,255,0)'],
];

/**
 * Options of {@link differentiationMapFigure}.
 *
 * @example
 * ```ts
 * import { type MapOverlayOptions } from 'mriseq';
 * const o: MapOverlayOptions = { slices: [10, 14, 18], cols: 3, threshold: 0.2, colorscale: 'Hot', colorbarTitle: 'M_d (normalised units)' };
 * console.log(o.slices);
 * ```
 */
export interface MapOverlayOptions {
  /** Axial slices to show; default `count` evenly spaced slices through the overlay's extent. */
  slices?: number[];
  count?: number;
  cols?: number;
  /** |overlay| below this fraction of its maximum is transparent (default 0.1). */
  threshold?: number;
  opacity?: number;
  colorscale?: string;
  /** In-plane size limit: larger slices are subsampled (default 96). */
  maxSize?: number;
  title?: string;
  overlayName?: string;
  /** What the colour bar measures (default: overlayName). */
  colorbarTitle?: string;
  /** A mask (non-zero = inside) drawn as an outline on every panel: e.g. the true unique region. */
  truth?: Grid3D;
  /** Legend text of the outline (default 'truth'). */
  truthName?: string;
  /**
   * Where +x and +y point in the patient (axis codes, e.g. from axisCodes(volume): 'R' and 'A'):
   * the first panel's edges get the anatomical labels (L/R, P/A, I/S).
   */
  orientation?: { x: string; y: string };
}

const OPPOSITE: Readonly<Record<string, string>> = { R: 'L', L: 'R', A: 'P', P: 'A', S: 'I', I: 'S' };

/** The four edge labels of an axial panel whose +x and +y point along the given axis codes. */
export function orientationLabels(
  o: { x: string; y: string },
  axes: { x: string; y: string },
): Record<string, unknown>[] {
  const x = o.x.toUpperCase();
  const y = o.y.toUpperCase();
  for (const [field, c] of [
    ['orientation.x', x],
    ['orientation.y', y],
  ] as const)
    if (!OPPOSITE[c])
      throw new MriseqError('orientation is an axis code', {
        field,
        found: c,
        expected: 'one of R, L, A, P, S, I',
      });
  const at = (text: string, px: number, py: number) => ({
    text: `<b>${text}</b>`,
    showarrow: false,
    xref: `${axes.x} domain`,
    yref: `${axes.y} domain`,
    x: px,
    y: py,
    font: { color: 'white', size: 13 },
  });
  // plotly draws heatmap row 0 at the bottom: +y points up, +x to the right
  return [at(OPPOSITE[x], 0.04, 0.5), at(x, 0.96, 0.5), at(OPPOSITE[y], 0.5, 0.04), at(y, 0.5, 0.96)];
}

function checkSameGrid(a: Grid3D, b: Grid3D, field: string): void {
  const n = (g: Grid3D) => g.shape[0] * g.shape[1] * (g.shape[2] ?? 1);
  if (
    a.shape[0] !== b.shape[0] ||
    a.shape[1] !== b.shape[1] ||
    (a.shape[2] ?? 1) !== (b.shape[2] ?? 1) ||
    b.data.length < n(b)
  )
    throw new MriseqError('overlay grid differs from the anatomy', {
      field,
      found: `[${b.shape.join(', ')}]`,
      expected: `[${a.shape.slice(0, 3).join(', ')}]`,
    });
}

/** Slices through the overlay's non-zero extent (where a map has something to show). */
function defaultSlices(overlay: Grid3D, count: number): number[] {
  const [nx, ny, nz = 1] = overlay.shape;
  let lo = nz;
  let hi = -1;
  for (let z = 0; z < nz; z++)
    for (let i = 0; i < nx * ny; i++)
      if (overlay.data[i + nx * ny * z] !== 0 && Number.isFinite(overlay.data[i + nx * ny * z])) {
        if (z < lo) lo = z;
        hi = z;
        break;
      }
  if (hi < 0) [lo, hi] = [0, nz - 1];
  const n = Math.min(count, hi - lo + 1);
  return [
    ...new Set(Array.from({ length: n }, (_, k) => Math.round(lo + ((k + 0.5) * (hi - lo + 1)) / n - 0.5))),
  ];
}

/**
 * M_d (or any map) over anatomy on a grid of axial slices.
 * @param anatomy - The background (e.g. the normalised T1Gd), a 3D grid.
 * @param overlay - The map (e.g. M_d(T1Gd)) on the same grid.
 * @param opts - Slices or count, columns, threshold, opacity, colour scale, titles, truth outline, orientation labels.
 * @returns A plotly figure with one panel per slice.
 * @throws {@link MriseqError} when a requested slice is out of range.
 * @example
 * ```ts
 * import { axisCodes, differentiationMapFigure, phantom, subtractionMap } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16] }).subject(0);
 * const [x, y] = axisCodes(s.volumes.t1gd!);
 * const fig = differentiationMapFigure(s.volumes.t1gd!, subtractionMap(s.volumes.t1gd!, s.volumes.t1!), {
 *   count: 4,
 *   truth: s.truth.unique.t1gd,
 *   overlayName: '|T1Gd - T1|',
 *   orientation: { x: x!, y: y! },
 * });
 * console.log(fig.data.length);
 * ```
 */
export function differentiationMapFigure(
  anatomy: Grid3D,
  overlay: Grid3D,
  opts: MapOverlayOptions = {},
): Figure {
  checkSameGrid(anatomy, overlay, 'overlay');
  if (opts.truth) checkSameGrid(anatomy, opts.truth, 'truth');
  const nz = anatomy.shape[2] ?? 1;
  const slices = opts.slices ?? defaultSlices(overlay, opts.count ?? 6);
  for (const z of slices)
    if (!(Number.isInteger(z) && z >= 0 && z < nz))
      throw new MriseqError('slice index out of range', {
        field: 'slices',
        found: String(z),
        expected: `0..${nz - 1}`,
      });
  const stride = Math.max(1, Math.ceil(Math.max(anatomy.shape[0], anatomy.shape[1]) / (opts.maxSize ?? 96)));
  let omax = 0;
  let signed = false;
  for (let i = 0; i < overlay.data.length; i++) {
    const v = overlay.data[i];
    if (Number.isFinite(v)) {
      omax = Math.max(omax, Math.abs(v));
      if (v < 0) signed = true;
    }
  }
  const thr = (opts.threshold ?? 0.1) * omax;
  const cols = opts.cols ?? Math.min(3, slices.length);
  const grid = gridAxes(slices.length, cols, { square: true, hideTicks: true });
  const data: PlotTrace[] = [];
  slices.forEach((z, k) => {
    const ax = grid.axes[k];
    data.push({
      type: 'heatmap',
      z: axialSlice(anatomy, z, stride),
      colorscale: 'Greys',
      showscale: false,
      hoverinfo: 'skip',
      xaxis: ax.x,
      yaxis: ax.y,
      name: `anatomy z=${z}`,
    });
    const o = axialSlice(overlay, z, stride).map((r) =>
      r.map((v) => (v !== null && Math.abs(v) >= thr && v !== 0 ? v : null)),
    );
    data.push({
      type: 'heatmap',
      z: o,
      // 'RdBu' runs blue (low) to red (high); HOT_OVERLAY stays visible over grey anatomy.
      colorscale: opts.colorscale ?? (signed ? 'RdBu' : HOT_OVERLAY),
      ...(signed ? { zmid: 0 } : {}),
      zmin: signed ? -omax : 0,
      zmax: omax || 1,
      opacity: opts.opacity ?? 0.7,
      showscale: k === 0,
      ...(k === 0 ? { colorbar: { title: { text: opts.colorbarTitle ?? opts.overlayName ?? 'M_d' } } } : {}),
      xaxis: ax.x,
      yaxis: ax.y,
      name: `${opts.overlayName ?? 'M_d'} z=${z}`,
      hovertemplate: `z=${z}<br>%{z:.3f}<extra></extra>`,
    });
    if (opts.truth)
      data.push({
        type: 'contour',
        z: axialSlice(opts.truth, z, stride).map((r) => r.map((v) => (v ? 1 : 0))),
        contours: { start: 0.5, end: 0.5, size: 1, coloring: 'lines' },
        // with coloring 'lines' plotly colours a contour from its colorscale (line.color is unused)
        colorscale: [
          [0, 'rgb(0,220,255)'],
          [1, 'rgb(0,220,255)'],
        ],
        line: { width: 1.5 },
        showscale: false,
        showlegend: k === 0,
        hoverinfo: 'skip',
        xaxis: ax.x,
        yaxis: ax.y,
        name: opts.truthName ?? 'truth',
      });
  });
  const rows = Math.ceil(slices.length / cols);
  const annotations = opts.orientation ? orientationLabels(opts.orientation, grid.axes[0]) : [];
  return {
    data,
    layout: {
      title: title(
        opts.title ?? `${opts.overlayName ?? 'M_d'} over anatomy (axial z = ${slices.join(', ')})`,
      ),
      ...grid.layout,
      ...(annotations.length ? { annotations } : {}),
      ...(opts.truth ? { legend: { orientation: 'h', x: 0, y: -0.02 } } : {}),
      width: 260 * cols + 120,
      height: 260 * rows + 80,
      margin: { t: 50, l: 20, r: 20, b: 20 },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Metric table per pair

/**
 * One evaluation row (subject, source, target and metric columns), as in the analysis CSV.
 * @example
 * ```ts
 * import { pairMetricsFigure, type PairMetricRow } from 'mriseq';
 * const row: PairMetricRow = { source: 't2', target: 'flair', psnr: 25.1, ssim: 0.87 };
 * pairMetricsFigure([row]);
 * ```
 */
export interface PairMetricRow {
  source: string;
  target: string;
  [metric: string]: string | number | undefined;
}

/**
 * Mean ± sd of each metric per source -> target pair, as a plotly table.
 * @param rows - Evaluation rows (source, target, metric columns).
 * @param opts - `metrics` (default: every numeric column), `title`, `digits`.
 * @returns A plotly table figure.
 * @example
 * ```ts
 * import { pairMetricsFigure } from 'mriseq';
 * const fig = pairMetricsFigure([
 *   { subject: 'a', source: 't1', target: 't1gd', psnr: 22, ssim: 0.8 },
 *   { subject: 'b', source: 't1', target: 't1gd', psnr: 24, ssim: 0.82 },
 * ]);
 * console.log(fig.data[0]?.type); // 'table'
 * ```
 */
export function pairMetricsFigure(
  rows: readonly PairMetricRow[],
  opts: { metrics?: string[]; title?: string; digits?: number } = {},
): Figure {
  const metrics =
    opts.metrics ??
    [...new Set(rows.flatMap((r) => Object.keys(r)))].filter(
      (k) => !['source', 'target', 'subject'].includes(k) && rows.some((r) => typeof r[k] === 'number'),
    );
  const groups = new Map<string, PairMetricRow[]>();
  for (const r of rows) {
    const k = `${r.source}\u0000${r.target}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const keys = [...groups.keys()].sort();
  const d = opts.digits ?? 3;
  const cell = (vals: number[]) => {
    if (vals.length === 0) return '';
    const m = vals.reduce((s, v) => s + v, 0) / vals.length;
    const sd = Math.sqrt(vals.reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, vals.length - 1));
    return vals.length > 1 ? `${m.toFixed(d)} ± ${sd.toFixed(d)}` : m.toFixed(d);
  };
  const columns: string[][] = [
    keys.map((k) => k.split('\u0000')[0]),
    keys.map((k) => k.split('\u0000')[1]),
    keys.map((k) => String(groups.get(k)!.length)),
    ...metrics.map((m) =>
      keys.map((k) =>
        cell(
          groups
            .get(k)!
            .map((r) => r[m])
            .filter((v): v is number => typeof v === 'number' && Number.isFinite(v)),
        ),
      ),
    ),
  ];
  return {
    data: [
      {
        type: 'table',
        header: { values: ['source', 'target', 'n', ...metrics], align: 'left', fill: { color: '#dde6f3' } },
        cells: { values: columns, align: 'left' },
      },
    ],
    layout: {
      title: title(opts.title ?? 'Synthesis metrics per pair (mean ± sd)'),
      margin: { t: 50 },
      height: 120 + 28 * keys.length,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ROC

/**
 * A named ROC curve for {@link rocFigure} (see {@link rocCurve}).
 *
 * @example
 * ```ts
 * import { rocFigure, type RocCurve } from 'mriseq';
 * const c: RocCurve = { name: 'MRI', fpr: [0, 0.5, 1], tpr: [0, 0.8, 1], auc: 0.65, aucCi: [0.5, 0.8] };
 * rocFigure([c]);
 * ```
 */
export interface RocCurve {
  name: string;
  fpr: readonly number[];
  tpr: readonly number[];
  auc?: number;
  aucCi?: readonly [number, number];
}

/**
 * The empirical ROC of scores against binary labels (1 = positive), ties handled as one step.
 * The plot module's ROC (for {@link rocFigure}); {@link classifierRocCurve} is sklearn's roc_curve.
 *
 * @param scores - One score per case.
 * @param labels - 1/true = positive.
 * @param name - The curve's legend name (default 'ROC').
 * @returns The curve with its AUC.
 * @throws {@link MriseqError} when lengths differ or a class is absent.
 * @example
 * ```ts
 * import { rocCurve } from 'mriseq';
 * const c = rocCurve([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], 'T1Gd');
 * console.log(c.auc); // 0.75
 * ```
 */
export function rocCurve(
  scores: readonly number[],
  labels: readonly (0 | 1 | boolean)[],
  name = 'ROC',
): RocCurve {
  if (scores.length !== labels.length)
    throw new MriseqError('scores and labels differ in length', {
      field: 'labels',
      found: String(labels.length),
      expected: String(scores.length),
    });
  const idx = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const P = labels.filter((l) => Number(l) === 1).length;
  const N = labels.length - P;
  if (P === 0 || N === 0)
    throw new MriseqError('ROC needs both classes', {
      field: 'labels',
      found: `${P} positive, ${N} negative`,
      expected: 'at least one of each',
    });
  const fpr = [0];
  const tpr = [0];
  let tp = 0;
  let fp = 0;
  let auc = 0;
  for (let k = 0; k < idx.length; k++) {
    if (Number(labels[idx[k]]) === 1) tp++;
    else fp++;
    if (k === idx.length - 1 || scores[idx[k + 1]] !== scores[idx[k]]) {
      const x = fp / N;
      const y = tp / P;
      auc += ((x - fpr[fpr.length - 1]) * (y + tpr[tpr.length - 1])) / 2;
      fpr.push(x);
      tpr.push(y);
    }
  }
  return { name, fpr, tpr, auc };
}

/**
 * ROC curves in one figure, AUC (and its CI when given) in the legend, with the chance diagonal.
 *
 * @param curves - ROC curves (e.g. from {@link rocCurve}).
 * @param opts - `title`.
 * @returns A plotly figure with the chance diagonal.
 * @example
 * ```ts
 * import { rocCurve, rocFigure } from 'mriseq';
 * const fig = rocFigure([rocCurve([0.9, 0.4, 0.6], [1, 0, 1], 'MRI'), rocCurve([0.9, 0.2, 0.8], [1, 0, 1], 'MRI + M_d')]);
 * console.log(fig.data.length);
 * ```
 */
export function rocFigure(curves: readonly RocCurve[], opts: { title?: string } = {}): Figure {
  const data: PlotTrace[] = curves.map((c, i) => ({
    type: 'scatter',
    mode: 'lines',
    name:
      c.auc === undefined
        ? c.name
        : `${c.name} (AUC ${c.auc.toFixed(3)}${c.aucCi ? `, ${c.aucCi[0].toFixed(2)}-${c.aucCi[1].toFixed(2)}` : ''})`,
    x: c.fpr.map(finiteOrNull),
    y: c.tpr.map(finiteOrNull),
    line: { color: PALETTE[i % PALETTE.length], shape: 'hv' },
  }));
  data.push({
    type: 'scatter',
    mode: 'lines',
    name: 'chance',
    x: [0, 1],
    y: [0, 1],
    line: { color: '#999', dash: 'dash' },
    showlegend: false,
  });
  return {
    data,
    layout: {
      title: title(opts.title ?? 'ROC'),
      xaxis: { title: { text: 'false positive rate' }, range: [0, 1], constrain: 'domain' },
      yaxis: { title: { text: 'true positive rate' }, range: [0, 1.02], scaleanchor: 'x' },
      legend: { x: 0.45, y: 0.05 },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Latent space

/**
 * First two principal components (centred, by power iteration with deflation).
 * @param points - One row per sample (rows of 2 or fewer dimensions are returned as they are).
 * @returns Each sample's coordinates on the first two principal axes.
 * @example
 * ```ts
 * import { project2d } from 'mriseq';
 * console.log(project2d([[1, 2, 3], [2, 4, 6], [3, 6, 9.5]]));
 * ```
 */
export function project2d(points: readonly (readonly number[])[]): number[][] {
  const n = points.length;
  const d = points[0]?.length ?? 0;
  if (d <= 2) return points.map((p) => [p[0] ?? 0, p[1] ?? 0]);
  const mean = new Array<number>(d).fill(0);
  for (const p of points) for (let j = 0; j < d; j++) mean[j] += p[j] / n;
  const X = points.map((p) => p.map((v, j) => v - mean[j]));
  const comps: number[][] = [];
  for (let c = 0; c < 2; c++) {
    let v = Array.from({ length: d }, (_, j) => Math.cos(j + c + 1));
    for (let it = 0; it < 200; it++) {
      const w = new Array<number>(d).fill(0);
      for (const x of X) {
        const s = x.reduce((a, xi, j) => a + xi * v[j], 0);
        for (let j = 0; j < d; j++) w[j] += s * x[j];
      }
      for (const u of comps) {
        const s = w.reduce((a, wi, j) => a + wi * u[j], 0);
        for (let j = 0; j < d; j++) w[j] -= s * u[j];
      }
      const norm = Math.hypot(...w) || 1;
      v = w.map((x) => x / norm);
    }
    comps.push(v);
  }
  return X.map((x) => comps.map((u) => x.reduce((a, xi, j) => a + xi * u[j], 0)));
}

/**
 * What {@link latentScatterFigure} draws.
 *
 * @example
 * ```ts
 * import { latentScatterFigure, type LatentScatterInput } from 'mriseq';
 * const input: LatentScatterInput = { points: [[0, 1], [1, 0]], labels: [0, 1], names: ['sim-00000', 'sim-00001'] };
 * latentScatterFigure(input);
 * ```
 */
export interface LatentScatterInput {
  /** One embedding per sample (2 or more dimensions; more are projected on 2 principal axes). */
  points: readonly (readonly number[])[];
  /** Colour groups (true labels or clusters). */
  labels?: readonly (string | number)[];
  /** Hover text per point (e.g. subject ids). */
  names?: readonly string[];
}

/**
 * Latent vectors as a 2D scatter (first two principal axes when longer), one colour per label:
 * the clustering study's picture.
 *
 * @param input - Points (projected on 2 principal axes when longer), colour labels and hover names.
 * @param opts - `title`.
 * @returns A plotly scatter figure, one trace per label.
 * @throws {@link MriseqError} when labels and points differ in length.
 * @example
 * ```ts
 * import { latentScatterFigure } from 'mriseq';
 * const fig = latentScatterFigure({ points: [[0, 1, 2], [1, 0, 2], [5, 5, 5]], labels: ['solid', 'solid', 'necrotic'] });
 * console.log(fig.data.map((t) => t.name));
 * ```
 */
export function latentScatterFigure(input: LatentScatterInput, opts: { title?: string } = {}): Figure {
  const { points, labels, names } = input;
  if (labels && labels.length !== points.length)
    throw new MriseqError('labels and points differ in length', {
      field: 'labels',
      found: String(labels.length),
      expected: String(points.length),
    });
  const xy = project2d(points);
  const projected = (points[0]?.length ?? 0) > 2;
  const groups = labels ? [...new Set(labels.map(String))] : ['samples'];
  const data: PlotTrace[] = groups.map((g, i) => {
    const idx = xy.map((_, k) => k).filter((k) => !labels || String(labels[k]) === g);
    return {
      type: 'scatter',
      mode: 'markers',
      name: g,
      x: idx.map((k) => finiteOrNull(xy[k][0])),
      y: idx.map((k) => finiteOrNull(xy[k][1])),
      ...(names ? { text: idx.map((k) => names[k]) } : {}),
      marker: { color: PALETTE[i % PALETTE.length], size: 8, opacity: 0.85 },
    };
  });
  return {
    data,
    layout: {
      title: title(opts.title ?? 'Latent space'),
      xaxis: { title: { text: projected ? 'PC 1' : 'z1' } },
      yaxis: { title: { text: projected ? 'PC 2' : 'z2' } },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Grad-CAM

/**
 * A 2D image, row-major, row 0 at the top.
 * @example
 * ```ts
 * import { type Image2D } from 'mriseq';
 * const img: Image2D = { data: new Float32Array(8 * 4), width: 8, height: 4 };
 * console.log(img.data[2 * img.width + 3]); // row 2, column 3
 * ```
 */
export interface Image2D {
  data: ArrayLike<number>;
  width: number;
  height: number;
}

/**
 * One panel of {@link gradcamFigure}.
 *
 * @example
 * ```ts
 * import { type GradcamPanel } from 'mriseq';
 * const blank = { data: new Float32Array(64), width: 8, height: 8 };
 * const panel: GradcamPanel = { image: blank, cam: blank, label: 'high enhancement' };
 * console.log(panel.label);
 * ```
 */
export interface GradcamPanel {
  /** The input slice (e.g. one sequence). */
  image: Image2D;
  /** The class activation map on the same grid (non-negative; upsample before if needed). */
  cam: Image2D;
  label?: string;
}

function maxFinite(a: ArrayLike<number>): number {
  let m = 1e-12;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]) && a[i] > m) m = a[i];
  return m;
}

function rows2d(im: Image2D): (number | null)[][] {
  return Array.from({ length: im.height }, (_, r) =>
    Array.from({ length: im.width }, (_, c) => finiteOrNull(im.data[r * im.width + c])),
  );
}

/**
 * Grad-CAM heatmaps over their input images, one panel per sequence or class.
 * @param panels - Images with their CAMs (same size) and labels.
 * @param opts - `title`, CAM `opacity`, `cols`.
 * @returns A plotly figure, one panel per entry.
 * @throws {@link MriseqError} without panels, or when a CAM and its image differ in size.
 * @example
 * ```ts
 * import { gradcamFigure } from 'mriseq';
 * const image = { data: new Float32Array(16 * 16), width: 16, height: 16 };
 * const cam = { data: Float32Array.from({ length: 256 }, (_, i) => (i % 16) / 16), width: 16, height: 16 };
 * console.log(gradcamFigure([{ image, cam, label: 'T1Gd' }]).data.length);
 * ```
 */
export function gradcamFigure(
  panels: readonly GradcamPanel[],
  opts: { title?: string; opacity?: number; cols?: number } = {},
): Figure {
  if (panels.length === 0)
    throw new MriseqError('no Grad-CAM panels', { field: 'panels', expected: 'at least one {image, cam}' });
  const cols = opts.cols ?? Math.min(4, panels.length);
  // Image2D rows run top to bottom; plotly's y axis runs bottom to top unless reversed.
  const grid = gridAxes(panels.length, cols, { square: true, hideTicks: true, reverseY: true });
  const data: PlotTrace[] = [];
  panels.forEach((p, k) => {
    if (p.image.width !== p.cam.width || p.image.height !== p.cam.height)
      throw new MriseqError('Grad-CAM map and image differ in size', {
        field: `panels[${k}].cam`,
        found: `${p.cam.width}x${p.cam.height}`,
        expected: `${p.image.width}x${p.image.height}`,
      });
    const ax = grid.axes[k];
    data.push({
      type: 'heatmap',
      z: rows2d(p.image),
      colorscale: 'Greys',
      showscale: false,
      hoverinfo: 'skip',
      xaxis: ax.x,
      yaxis: ax.y,
      name: p.label ?? `panel ${k + 1}`,
    });
    data.push({
      type: 'heatmap',
      z: rows2d(p.cam),
      colorscale: 'Jet',
      opacity: opts.opacity ?? 0.45,
      // both bounds, or plotly ignores zmin (autoscale)
      zmin: 0,
      zmax: maxFinite(p.cam.data),
      showscale: k === 0,
      ...(k === 0 ? { colorbar: { title: { text: 'Grad-CAM' } } } : {}),
      xaxis: ax.x,
      yaxis: ax.y,
      name: `${p.label ?? `panel ${k + 1}`} Grad-CAM`,
    });
  });
  const annotations = panels.map((p, k) => {
    const s = k === 0 ? '' : String(k + 1);
    return {
      text: p.label ?? `panel ${k + 1}`,
      showarrow: false,
      xref: `x${s} domain`,
      yref: `y${s} domain`,
      x: 0.5,
      y: 1.08,
    };
  });
  const rows = Math.ceil(panels.length / cols);
  return {
    data,
    layout: {
      title: title(opts.title ?? 'Grad-CAM'),
      ...grid.layout,
      annotations,
      width: 240 * cols + 120,
      height: 250 * rows + 80,
      margin: { t: 70, l: 20, r: 20, b: 20 },
    },
  };
}
