/** The figure type, validation and small helpers shared by the builders (browser-safe). */

/** One plotly trace; `type` is always set so a spec never depends on plotly's default. */
export interface PlotTrace {
  type: string;
  [key: string]: unknown;
}

/** A plotly figure spec: plain JSON, `layout` always present (JupyterLab's renderer needs it). */
export interface Figure {
  data: PlotTrace[];
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** The trace types our builders emit. */
export const TRACE_TYPES = ['scatter', 'scattergl', 'bar', 'heatmap', 'table', 'contour'] as const;

/**
 * Problems that would make a spec fail to render or to travel as JSON: missing data/layout,
 * unknown trace types, and values JSON cannot carry (NaN, Infinity, typed arrays, functions).
 * Empty when the figure is valid.
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

/** null for values JSON and plotly cannot carry (plotly draws null as a gap). */
export function finiteOrNull(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

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

/** Layout axes for a grid of n panels (cols wide): axis names per panel and the layout entries. */
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
