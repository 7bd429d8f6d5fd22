/**
 * Estimates with confidence intervals as a dot-and-whisker chart (browser-safe): AUCs per input
 * set, AUC differences against a non-inferiority margin, clustering scores over seeds. One row per
 * estimate, grouped by colour; vertical reference lines (chance, 0, -margin) are labelled.
 */
import { finiteOrNull, PALETTE, type Figure, type PlotTrace } from './figure.js';

/**
 * One estimate of an {@link intervalFigure}: a row label, the value and its interval.
 * @example
 * ```ts
 * import { type IntervalRow } from 'mriseq';
 * const row: IntervalRow = { label: 'MRI + M_d', value: 0.82, lo: 0.7, hi: 0.93, group: 'AUC', note: 'p = 0.03' };
 * console.log(row.label, row.value);
 * ```
 */
export interface IntervalRow {
  /** Row label (y axis), e.g. the input set. */
  label: string;
  value: number;
  /** Interval bounds; a one-sided interval gives only one of them. */
  lo?: number;
  hi?: number;
  /** Series (colour and legend entry), e.g. 'group AUC' or the method. */
  group?: string;
  /** Hover text beyond the numbers (p-value, n). */
  note?: string;
}

/**
 * Title, axis title, reference lines and x range of an {@link intervalFigure}.
 * @example
 * ```ts
 * import { type IntervalFigureOptions } from 'mriseq';
 * const opts: IntervalFigureOptions = { title: 'Test AUC', xTitle: 'AUC', refs: [{ x: 0.5, label: 'chance' }], range: [0, 1] };
 * console.log(opts.refs?.length);
 * ```
 */
export interface IntervalFigureOptions {
  title?: string;
  xTitle?: string;
  /** Vertical reference lines, e.g. [{ x: 0.5, label: 'chance' }]. */
  refs?: { x: number; label: string }[];
  /** x-axis range (default: fitted by plotly). */
  range?: [number, number];
}

/**
 * A dot-and-whisker chart of estimates with their confidence intervals (plotly spec): one row per
 * label, one colour per group, dashed vertical reference lines (chance, 0, -margin). Hover text
 * gives the value, the interval and the row's note (p-value, n).
 * @param rows - The estimates; rows sharing a label and differing in group sit side by side.
 * @param opts - Title, x-axis title, reference lines, x range.
 * @returns A plotly figure spec (display it in a notebook, or write it with writeFigure).
 * @example
 * ```ts
 * import { intervalFigure, display } from 'mriseq';
 * display(
 *   intervalFigure(
 *     [
 *       { label: 'MRI', value: 0.71, lo: 0.58, hi: 0.84 },
 *       { label: 'MRI + M_d', value: 0.83, lo: 0.72, hi: 0.94, note: 'DeLong p = 0.04' },
 *     ],
 *     { title: 'Test AUC, 95% CI', xTitle: 'AUC', refs: [{ x: 0.5, label: 'chance' }], range: [0, 1] },
 *   ),
 * );
 * ```
 */
export function intervalFigure(rows: readonly IntervalRow[], opts: IntervalFigureOptions = {}): Figure {
  const groups = [...new Set(rows.map((r) => r.group ?? ''))];
  const labels = [...new Set(rows.map((r) => r.label))];
  const data: PlotTrace[] = groups.map((g, gi) => {
    const rs = rows.filter((r) => (r.group ?? '') === g);
    return {
      type: 'scatter',
      mode: 'markers',
      name: g || 'estimate',
      showlegend: groups.length > 1,
      x: rs.map((r) => finiteOrNull(r.value)),
      y: rs.map((r) => r.label),
      // Several series on one row sit side by side instead of on top of each other.
      offsetgroup: g,
      marker: { size: 10, color: PALETTE[gi % PALETTE.length] },
      error_x: {
        type: 'data',
        symmetric: false,
        array: rs.map((r) => (r.hi === undefined ? 0 : finiteOrNull(r.hi - r.value))),
        arrayminus: rs.map((r) => (r.lo === undefined ? 0 : finiteOrNull(r.value - r.lo))),
        visible: true,
      },
      text: rs.map(
        (r) =>
          `${r.label}${g ? ` (${g})` : ''}: ${r.value.toFixed(3)}` +
          (r.lo !== undefined || r.hi !== undefined
            ? ` [${r.lo === undefined ? '-' : r.lo.toFixed(3)}, ${r.hi === undefined ? '-' : r.hi.toFixed(3)}]`
            : '') +
          (r.note ? `<br>${r.note}` : ''),
      ),
      hoverinfo: 'text',
    };
  });
  const refs = opts.refs ?? [];
  return {
    data,
    layout: {
      title: { text: opts.title ?? '' },
      xaxis: {
        title: { text: opts.xTitle ?? '' },
        zeroline: false,
        ...(opts.range ? { range: opts.range } : {}),
      },
      yaxis: { automargin: true, categoryorder: 'array', categoryarray: [...labels].reverse() },
      shapes: refs.map((r) => ({
        type: 'line',
        x0: r.x,
        x1: r.x,
        yref: 'paper',
        y0: 0,
        y1: 1,
        line: { dash: 'dash', color: '#777' },
      })),
      annotations: refs.map((r) => ({
        x: r.x,
        yref: 'paper',
        y: 1,
        yanchor: 'bottom',
        text: r.label,
        showarrow: false,
      })),
      height: Math.max(260, 60 + 34 * labels.length * Math.max(1, Math.min(groups.length, 3))),
      legend: { orientation: 'h', y: -0.2 },
      scattermode: groups.length > 1 ? 'group' : 'overlay',
    },
  };
}
