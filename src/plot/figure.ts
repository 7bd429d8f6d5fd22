/** The figure type, validation and small helpers shared by the builders (browser-safe). */

/**
 * One plotly trace; `type` is always set so a spec never depends on plotly's default.
 * @example
 * ```ts
 * import { type PlotTrace } from 'mriseq';
 * const trace: PlotTrace = { type: 'scatter', mode: 'lines', x: [1, 2, 3], y: [3, 1, 2], name: 'loss' };
 * console.log(trace.type);
 * ```
 */
export interface PlotTrace {
  type: string;
  [key: string]: unknown;
}

/**
 * A plotly figure spec: plain JSON, `layout` always present (JupyterLab's renderer needs it).
 * @example
 * ```ts
 * import { figureProblems, type Figure } from 'mriseq';
 * const fig: Figure = { data: [{ type: 'bar', x: ['t1', 't1gd'], y: [0.2, 0.9] }], layout: { title: { text: 'C_d' } } };
 * console.log(figureProblems(fig)); // []
 * ```
 */
export interface Figure {
  data: PlotTrace[];
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/**
 * The trace types our builders emit.
 * @example
 * ```ts
 * import { TRACE_TYPES } from 'mriseq';
 * console.log(TRACE_TYPES.includes('heatmap')); // true
 * ```
 */
export const TRACE_TYPES = ['scatter', 'scattergl', 'bar', 'heatmap', 'table', 'contour'] as const;

/**
 * Problems that would make a spec fail to render or to travel as JSON: missing data/layout,
 * unknown trace types, and values JSON cannot carry (NaN, Infinity, typed arrays, functions).
 * Empty when the figure is valid.
 * @param fig - Anything claimed to be a figure.
 * @returns One message per problem (empty when valid).
 * @example
 * ```ts
 * import { figureProblems } from 'mriseq';
 * console.log(figureProblems({ data: [{ type: 'scatter', y: [1, NaN] }], layout: {} })); // names the NaN
 * ```
 */
export function figureProblems(fig: unknown): string[] {
  const p: string[] = [];
  if (typeof fig !== 'object' || fig === null) return ['figure is not an object'];
  const f = fig as Partial<Figure>;
  if (!Array.isArray(f.data)) p.push('data is not an array');
  if (typeof f.layout !== 'object' || f.layout === null || Array.isArray(f.layout))
    p.push('layout is not an object');
  for (const [i, t] of (Array.isArray(f.data) ? f.data : []).entries()) {
    if (typeof t !== 'object' || t === null) p.push(`data[${i}] is not an object`);
    else if (!(TRACE_TYPES as readonly string[]).includes(String(t.type)))
      p.push(`data[${i}].type ${String(t.type)} is unknown`);
  }
  const walk = (v: unknown, path: string): void => {
    if (p.length > 20) return;
    if (typeof v === 'number' && !Number.isFinite(v)) p.push(`${path} is ${v} (not JSON)`);
    else if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint')
      p.push(`${path} is a ${typeof v}`);
    else if (ArrayBuffer.isView(v)) p.push(`${path} is a typed array (JSON makes it an object)`);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (typeof v === 'object' && v !== null) {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null)
        p.push(`${path} is a ${proto?.constructor?.name ?? 'class'} instance`);
      for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    }
  };
  walk(fig, 'figure');
  return p;
}

/**
 * null for values JSON and plotly cannot carry (plotly draws null as a gap).
 * @param v - A number (or null/undefined).
 * @returns `v` when finite, else null.
 * @example
 * ```ts
 * import { finiteOrNull } from 'mriseq';
 * console.log([1, NaN, Infinity, undefined].map(finiteOrNull)); // [1, null, null, null]
 * ```
 */
export function finiteOrNull(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * The trace colours of mriseq's figures (plotly's default ten).
 *
 * @example
 * ```ts
 * import { PALETTE } from 'mriseq';
 * console.log(PALETTE[0]); // '#1f77b4'
 * ```
 */
export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

export function title(text: string | undefined): Record<string, unknown> | undefined {
  return text ? { text } : undefined;
}

/**
 * Layout axes for a grid of n panels (cols wide): axis names per panel and the layout entries.
 * @param n - Number of panels.
 * @param cols - Panels per row.
 * @param opts - `gap` between panels (fraction), `square` pixels, `hideTicks`, `reverseY`.
 * @returns Each panel's axis names (for its traces) and the layout entries of the axes.
 * @example
 * ```ts
 * import { gridAxes, type Figure } from 'mriseq';
 * const { axes, layout } = gridAxes(4, 2, { square: true });
 * const fig: Figure = {
 *   data: axes.map((a, i) => ({ type: 'heatmap', z: [[i, 1], [1, i]], xaxis: a.x, yaxis: a.y, showscale: false })),
 *   layout,
 * };
 * console.log(axes[3]); // { x: 'x4', y: 'y4' }
 * void fig;
 * ```
 */
export function gridAxes(
  n: number,
  cols: number,
  opts: { gap?: number; square?: boolean; hideTicks?: boolean; reverseY?: boolean } = {},
): { axes: { x: string; y: string }[]; layout: Record<string, unknown> } {
  const rows = Math.ceil(n / cols);
  const gap = opts.gap ?? 0.02;
  const w = (1 - gap * (cols - 1)) / cols;
  const h = (1 - gap * (rows - 1)) / rows;
  const axes: { x: string; y: string }[] = [];
  const layout: Record<string, unknown> = {};
  for (let k = 0; k < n; k++) {
    const r = Math.floor(k / cols);
    const c = k % cols;
    const s = k === 0 ? '' : String(k + 1);
    axes.push({ x: `x${s}`, y: `y${s}` });
    const hide = opts.hideTicks ? { showticklabels: false, ticks: '', showgrid: false, zeroline: false } : {};
    layout[`xaxis${s}`] = { domain: [c * (w + gap), c * (w + gap) + w], anchor: `y${s}`, ...hide };
    layout[`yaxis${s}`] = {
      domain: [1 - (r + 1) * h - r * gap, 1 - r * h - r * gap],
      anchor: `x${s}`,
      ...(opts.square ? { scaleanchor: `x${s}`, scaleratio: 1 } : {}),
      ...(opts.reverseY ? { autorange: 'reversed' } : {}),
      ...hide,
    };
  }
  return { axes, layout };
}
