/**
 * Node adapter for figures: static PNG/SVG export with Debian's headless Chromium (driven by
 * playwright-core, plotly.js loaded from node_modules, no network), interactive HTML files, and
 * showFigure() for notebooks (plotly JSON + PNG + inline SVG in one output).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  display,
  escapeHtml,
  figureBundle,
  isPlotlyFigure,
  PLOTLY_MIME,
  registerBundleFinisher,
  type DisplayHandle,
} from '../display/index.js';
import { MriseqError } from '../errors/index.js';
import { writeFileAtomicSync } from '../reliability/node.js';
import { figureProblems, type Figure } from './figure.js';

/**
 * The static image formats of {@link exportFigure} and {@link writeFigure}.
 *
 * @example
 * ```ts
 * import { type ImageFormat } from 'mriseq';
 * const formats: ImageFormat[] = ['png', 'svg'];
 * console.log(formats);
 * ```
 */
export type ImageFormat = 'png' | 'svg';

/**
 * Options of the static exports.
 *
 * @example
 * ```ts
 * import { type ExportOptions } from 'mriseq';
 * const print: ExportOptions = { width: 1200, height: 800, scale: 2 };
 * console.log(print);
 * ```
 */
export interface ExportOptions {
  /** Pixels; default layout.width or 800. */
  width?: number;
  /** Pixels; default layout.height or 500. */
  height?: number;
  /** PNG pixel ratio (default 1). */
  scale?: number;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumPath(): string {
  return process.env.MRISEQ_CHROMIUM ?? '/usr/bin/chromium';
}

export function plotlyScriptPath(): string {
  return require.resolve('plotly.js-dist-min/plotly.min.js');
}

/** Minimal view of the playwright-core objects we use (its types are not a dependency of ours). */
interface PwPage {
  setContent(html: string): Promise<void>;
  addScriptTag(o: { path: string }): Promise<unknown>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  close(): Promise<void>;
}
interface PwContext {
  newPage(): Promise<PwPage>;
  close(): Promise<void>;
  on(event: 'close', cb: () => void): void;
}

/**
 * One headless Chromium with plotly.js loaded, reused across exports.
 * Needs Chromium (Debian package `chromium`, or MRISEQ_CHROMIUM=<path>); `launch()` throws a
 * {@link MriseqError} naming the path when it is missing or does not start. Close it when done.
 *
 * @example
 * ```ts
 * import { FigureExporter, rocFigure, rocCurve } from 'mriseq';
 * const ex = await FigureExporter.launch();
 * try {
 *   const fig = rocFigure([rocCurve([0.9, 0.2, 0.7, 0.4], [1, 0, 1, 0])]);
 *   console.log(await ex.validate(fig)); // [] when plotly knows every attribute
 *   const svg = await ex.toImage(fig, 'svg', { width: 400, height: 400 });
 *   console.log(svg.length);
 * } finally {
 *   await ex.close();
 * }
 * ```
 */
export class FigureExporter {
  /** The browser went away (closed, or killed: a Jupyter interrupt signals the kernel's process group). */
  closed = false;

  private constructor(
    private readonly context: PwContext,
    private readonly page: PwPage,
    private readonly profile: string,
  ) {
    context.on('close', () => (this.closed = true));
  }

  static async launch(): Promise<FigureExporter> {
    const exe = chromiumPath();
    if (!existsSync(exe))
      throw new MriseqError('headless Chromium not found', {
        file: exe,
        expected: 'Debian package chromium (apt-get install chromium) or MRISEQ_CHROMIUM=<path>',
      });
    const { chromium } = require('playwright-core') as {
      chromium: {
        launchPersistentContext(dir: string, o: Record<string, unknown>): Promise<PwContext>;
      };
    };
    // A fresh profile per exporter: no state leaks between runs, nothing to sync or update.
    const profile = mkdtempSync(join(tmpdir(), 'mriseq-chromium-'));
    let context: PwContext;
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: exe,
        headless: true,
        args: CHROMIUM_ARGS,
        timeout: 60_000,
        // playwright's default Ctrl-C handler exits the whole process: in the Jupyter kernel a
        // SIGINT is an interrupt and must not kill the kernel.
        handleSIGINT: false,
      });
    } catch (e) {
      rmSync(profile, { recursive: true, force: true });
      throw new MriseqError('could not start headless Chromium', {
        file: exe,
        found: e instanceof Error ? e.message.split('\n')[0] : String(e),
        cause: e,
      });
    }
    // Profiles are removed by close(); this covers a process that exits without calling it.
    process.once('exit', () => rmSync(profile, { recursive: true, force: true }));
    const page = await context.newPage();
    await page.setContent('<!doctype html><html><body><div id="fig"></div></body></html>');
    await page.addScriptTag({ path: plotlyScriptPath() });
    return new FigureExporter(context, page, profile);
  }

  /** PNG bytes or SVG text, rendered by plotly.js itself. */
  async toImage(fig: Figure, format: 'png', opts?: ExportOptions): Promise<Buffer>;
  async toImage(fig: Figure, format: 'svg', opts?: ExportOptions): Promise<string>;
  async toImage(fig: Figure, format: ImageFormat, opts: ExportOptions = {}): Promise<Buffer | string> {
    const problems = figureProblems(fig);
    if (problems.length)
      throw new MriseqError('invalid figure spec', {
        field: 'figure',
        found: problems.slice(0, 3).join('; '),
        expected: 'a plotly spec with data and layout',
      });
    const width = opts.width ?? (typeof fig.layout.width === 'number' ? fig.layout.width : 800);
    const height = opts.height ?? (typeof fig.layout.height === 'number' ? fig.layout.height : 500);
    const url = await this.page.evaluate(
      async (a: { fig: Figure; format: ImageFormat; width: number; height: number; scale: number }) => {
        const P = (globalThis as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } })
          .Plotly;
        return P.toImage(
          { data: a.fig.data, layout: a.fig.layout },
          { format: a.format, width: a.width, height: a.height, scale: a.scale },
        );
      },
      { fig, format, width, height, scale: opts.scale ?? 1 },
    );
    const comma = url.indexOf(',');
    const head = url.slice(0, comma);
    const body = url.slice(comma + 1);
    if (format === 'png') return Buffer.from(body, 'base64');
    return head.endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
  }

  /** plotly.js's own schema check (Plotly.validate): [] when every attribute is known. */
  async validate(fig: Figure): Promise<{ code: string; path: string; msg: string }[]> {
    return this.page.evaluate((f: Figure) => {
      const P = (globalThis as unknown as { Plotly: { validate(d: unknown, l: unknown): unknown } }).Plotly;
      const r = P.validate(f.data, f.layout) as
        { code: string; astr?: string; path?: unknown; msg: string }[] | undefined;
      return (r ?? []).map((e) => ({ code: e.code, path: String(e.astr ?? e.path ?? ''), msg: e.msg }));
    }, fig);
  }

  async close(): Promise<void> {
    try {
      await this.context.close();
    } finally {
      rmSync(this.profile, { recursive: true, force: true });
    }
  }
}

let shared: Promise<FigureExporter> | null = null;

/**
 * Renders a figure to PNG (Buffer) or SVG (string) with a shared headless Chromium.
 * The Chromium is started on first use and kept for later exports; {@link closeFigureExporter} ends it.
 *
 * @param fig - A plotly figure spec.
 * @param format - 'png' (a Buffer) or 'svg' (a string).
 * @param opts - Width and height in pixels, PNG scale.
 * @returns The image.
 * @throws {@link MriseqError} when Chromium is missing or fails to render.
 * @example
 * ```ts
 * import { closeFigureExporter, exportFigure, rankingFigure } from 'mriseq';
 * import { writeFileSync } from 'node:fs';
 * const fig = rankingFigure([{ sequence: 't1gd', C_t: -0.2, C_d: 0.9 }, { sequence: 't1', C_t: 0.4, C_d: -0.5 }]);
 * writeFileSync('/tmp/ranking.png', await exportFigure(fig, 'png', { scale: 2 }));
 * await closeFigureExporter();
 * ```
 */
export async function exportFigure(fig: Figure, format: 'png', opts?: ExportOptions): Promise<Buffer>;
export async function exportFigure(fig: Figure, format: 'svg', opts?: ExportOptions): Promise<string>;
export async function exportFigure(
  fig: Figure,
  format: ImageFormat,
  opts: ExportOptions = {},
): Promise<Buffer | string> {
  // A browser that died (a Jupyter interrupt reaches its process group too) is started again.
  if (shared && (await shared.catch(() => null))?.closed) shared = null;
  if (!shared) {
    shared = FigureExporter.launch();
    shared.catch(() => (shared = null));
  }
  const ex = await shared;
  return format === 'png' ? ex.toImage(fig, 'png', opts) : ex.toImage(fig, 'svg', opts);
}

/**
 * Closes the shared Chromium (scripts should call this before exiting).
 * @example
 * ```ts
 * import { closeFigureExporter, exportFigure, rocCurve, rocFigure } from 'mriseq';
 * const svg = await exportFigure(rocFigure([rocCurve([0.8, 0.3], [1, 0])]), 'svg');
 * await closeFigureExporter();
 * console.log(svg.startsWith('<svg'));
 * ```
 */
export async function closeFigureExporter(): Promise<void> {
  const s = shared;
  shared = null;
  if (s) await (await s).close();
}

/**
 * A standalone interactive HTML page for a figure. plotly.js comes from `plotlySrc` (a relative
 * path next to the page, e.g. 'plotly.min.js') or, by default, is inlined (~4.8 MB) so the file
 * works alone and offline; never from a CDN.
 * @param fig - A plotly figure spec.
 * @param opts - `plotlySrc` (a relative script path; default: inline plotly.js), page `title`.
 * @returns The HTML page.
 * @example
 * ```ts
 * import { figureHtml, rocCurve, rocFigure } from 'mriseq';
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('/tmp/roc.html', figureHtml(rocFigure([rocCurve([0.8, 0.3], [1, 0])]), { title: 'ROC' }));
 * ```
 */
export function figureHtml(fig: Figure, opts: { plotlySrc?: string; title?: string } = {}): string {
  const t = opts.title ?? ((fig.layout.title as { text?: string } | undefined)?.text || 'mriseq figure');
  const script = opts.plotlySrc
    ? `<script src="${escapeHtml(opts.plotlySrc)}"></script>`
    : `<script>${readFileSync(plotlyScriptPath(), 'utf8').replace(/<\/script/gi, '<\\/script')}</script>`;
  const json = JSON.stringify({
    data: fig.data,
    layout: fig.layout,
    config: { responsive: true, ...(fig.config ?? {}) },
  }).replace(/</g, '\\u003c');
  return (
    `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(t)}</title>${script}</head>` +
    `<body><div id="fig" style="width:100%;height:90vh"></div><script>var f=${json};` +
    `Plotly.newPlot('fig',f.data,f.layout,f.config);</script></body></html>\n`
  );
}

/**
 * The files {@link writeFigure} wrote.
 *
 * @example
 * ```ts
 * import { type WrittenFigure } from 'mriseq';
 * declare const w: WrittenFigure; // from writeFigure
 * console.log(w.name, w.png, w.svg, w.html);
 * ```
 */
export interface WrittenFigure {
  name: string;
  png?: string;
  svg?: string;
  html: string;
}

/**
 * Writes <dir>/<name>.png, .svg and .html (the HTML loads plotly.min.js copied next to it).
 * Each file is written atomically.
 *
 * @param fig - A plotly figure spec.
 * @param dir - The output folder (created).
 * @param name - The files' base name.
 * @param opts - Export options and `formats` (default png and svg; html is always written).
 * @returns The paths written.
 * @throws {@link MriseqError} when Chromium is missing or a file cannot be written.
 * @example
 * ```ts
 * import { closeFigureExporter, rocCurve, rocFigure, writeFigure } from 'mriseq';
 * const files = await writeFigure(rocFigure([rocCurve([0.8, 0.3, 0.6], [1, 0, 1])]), '/tmp/figures', 'roc', { formats: ['svg'] });
 * console.log(files.svg, files.html);
 * await closeFigureExporter();
 * ```
 */
export async function writeFigure(
  fig: Figure,
  dir: string,
  name: string,
  opts: ExportOptions & { formats?: ImageFormat[] } = {},
): Promise<WrittenFigure> {
  mkdirSync(dir, { recursive: true });
  const plotlyCopy = join(dir, 'plotly.min.js');
  if (!existsSync(plotlyCopy)) writeFileAtomicSync(plotlyCopy, readFileSync(plotlyScriptPath()));
  const out: WrittenFigure = { name, html: join(dir, `${name}.html`) };
  for (const format of opts.formats ?? ['png', 'svg']) {
    const file = join(dir, `${name}.${format}`);
    writeFileAtomicSync(
      file,
      format === 'png' ? await exportFigure(fig, 'png', opts) : await exportFigure(fig, 'svg', opts),
    );
    out[format] = file;
  }
  writeFileAtomicSync(out.html, figureHtml(fig, { plotlySrc: 'plotly.min.js' }));
  return out;
}

/**
 * The static fallback of every plotly figure shown in a notebook (display(fig), a figure as a
 * cell's result, live training curves): PNG for GitHub and other static views, and the SVG as
 * HTML for nbviewer and exported HTML, rendered by plotly.js in headless Chromium. Without
 * Chromium the figure keeps its plotly JSON and text, and the kernel log says why once.
 */
let fallbackWarned = false;
registerBundleFinisher(async (obj, out) => {
  const spec = out.data[PLOTLY_MIME];
  if (!isPlotlyFigure(spec) || 'image/png' in out.data) return;
  const fig = spec as Figure;
  try {
    const png = await exportFigure(fig, 'png');
    const svg = await exportFigure(fig, 'svg');
    out.data['image/png'] = png.toString('base64');
    if (!('text/html' in out.data)) out.data['text/html'] = `<div class="mriseq-figure">${svg}</div>`;
  } catch (e) {
    if (!fallbackWarned) {
      fallbackWarned = true;
      console.error(
        `mriseq: figures are shown without a static PNG fallback (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
      );
    }
  }
  void obj;
});

/**
 * Shows a figure in the notebook with every representation: plotly JSON (interactive in
 * JupyterLab), PNG (static views), inline SVG as HTML (classic views and exported HTML) and text.
 * @param fig - A plotly figure spec.
 * @param opts - Size of the static PNG/SVG views.
 * @returns The display handle (update it to redraw in place).
 * @throws {@link MriseqError} when Chromium is missing (the static views need it).
 * @example
 * ```ts
 * import { showFigure, trainingCurvesFigure } from 'mriseq';
 * await showFigure(trainingCurvesFigure([{ step: 1, 'loss.total': 2 }, { step: 2, 'loss.total': 1.5 }]));
 * ```
 */
export async function showFigure(fig: Figure, opts: ExportOptions = {}): Promise<DisplayHandle> {
  const bundle = figureBundle(fig);
  const [png, svg] = [await exportFigure(fig, 'png', opts), await exportFigure(fig, 'svg', opts)];
  bundle.data['image/png'] = png.toString('base64');
  bundle.data['text/html'] = `<div class="mriseq-figure">${svg}</div>`;
  return display({ toMimeBundle: () => bundle });
}
