/** display(), updating displays, progress bars: what cells call. */
import type { Volume } from '../volume/index.js';
import {
  displayTransport,
  escapeHtml,
  isDisplayable,
  isPlotlyFigure,
  newDisplayId,
  plainText,
  type MimeBundle,
  type RichOutput,
} from './core.js';
import { htmlTable, isDataFrameLike, isRowArray } from './table.js';
import { isTensorLike, tensorBundle } from './tensor.js';
import { volumeView } from './volume.js';

/**
 * The MIME type of plotly figure JSON that JupyterLab renders.
 *
 * @example
 * ```ts
 * import { PLOTLY_MIME, toMimeBundle } from 'mriseq';
 * console.log(PLOTLY_MIME in toMimeBundle({ data: [], layout: {} }).data); // true
 * ```
 */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/**
 * Adds MIME types to bundles (e.g. a JupyterLab extension's own volume MIME type).
 * @example
 * ```ts
 * import { registerMimeProvider, type MimeProvider } from 'mriseq';
 * const markdownNumbers: MimeProvider = (obj, out) => {
 *   if (typeof obj === 'number') out.data['text/markdown'] = `*${obj}*`;
 * };
 * registerMimeProvider(markdownNumbers)();
 * ```
 */
export type MimeProvider = (obj: unknown, out: RichOutput) => void;
const providers: MimeProvider[] = [];

/** Adds an item to a registry; returns the function that removes it again. */
function addTo<T>(list: T[], item: T): () => void {
  list.push(item);
  return () => {
    const i = list.indexOf(item);
    if (i >= 0) list.splice(i, 1);
  };
}

/**
 * Adds a {@link MimeProvider}: every value displayed afterwards passes through it (e.g. to add a
 * JupyterLab extension's own MIME type).
 *
 * @param p - Adds MIME types to a value's bundle (called for every value displayed).
 * @returns A function that removes the provider.
 * @example
 * ```ts
 * import { registerMimeProvider, toMimeBundle } from 'mriseq';
 * const off = registerMimeProvider((obj, out) => {
 *   if (typeof obj === 'number') out.data['text/markdown'] = `**${obj}**`;
 * });
 * console.log(Object.keys(toMimeBundle(3).data));
 * off();
 * ```
 */
export function registerMimeProvider(p: MimeProvider): () => void {
  return addTo(providers, p);
}

function isVolume(x: unknown): x is Volume {
  if (typeof x !== 'object' || x === null) return false;
  const v = x as Partial<Volume>;
  return v.data instanceof Float32Array && Array.isArray(v.shape) && Array.isArray(v.affine);
}

/**
 * A plotly figure as a bundle: JSON for JupyterLab's plotly renderer, plus text.
 * @param fig - A plotly figure (data, layout, optional config).
 * @returns Its bundle ({@link PLOTLY_MIME} and text/plain).
 * @example
 * ```ts
 * import { PLOTLY_MIME, figureBundle } from 'mriseq';
 * const b = figureBundle({ data: [{ type: 'bar', y: [1, 2] }], layout: {} });
 * console.log(PLOTLY_MIME in b.data);
 * ```
 */
export function figureBundle(fig: {
  data: unknown[];
  layout: Record<string, unknown>;
  config?: unknown;
}): RichOutput {
  const title = (fig.layout.title as { text?: string } | string | undefined) ?? '';
  const name = typeof title === 'string' ? title : (title.text ?? '');
  const types = [...new Set(fig.data.map((t) => String((t as { type?: string }).type ?? 'scatter')))];
  return {
    data: {
      [PLOTLY_MIME]: { data: fig.data, layout: fig.layout, ...(fig.config ? { config: fig.config } : {}) },
      'text/plain': `plotly figure${name ? ` "${name}"` : ''}: ${fig.data.length} trace(s) (${types.join(', ')})`,
    },
  };
}

/**
 * The MIME bundle for any value: the dispatch display() and the kernel's last-expression use.
 * @param obj - Any value.
 * @returns Its bundle: rich representations when it has some, always text/plain.
 * @example
 * ```ts
 * import { toMimeBundle, rankingFigure } from 'mriseq';
 * console.log(Object.keys(toMimeBundle(rankingFigure([{ sequence: 't1', C_t: 0, C_d: 0 }])).data));
 * // ['application/vnd.plotly.v1+json', 'text/plain']
 * ```
 */
export function toMimeBundle(obj: unknown): RichOutput {
  let out: RichOutput;
  if (isDisplayable(obj)) {
    const b = obj.toMimeBundle();
    out =
      'data' in b && typeof b.data === 'object' && b.data !== null
        ? { data: { ...(b.data as MimeBundle) }, metadata: { ...((b as RichOutput).metadata ?? {}) } }
        : { data: { ...(b as MimeBundle) } };
  } else if (isPlotlyFigure(obj)) out = figureBundle(obj);
  else if (isDataFrameLike(obj) || isRowArray(obj)) out = htmlTable(obj).toMimeBundle();
  else if (isVolume(obj)) out = volumeView(obj).toMimeBundle();
  else if (isTensorLike(obj)) out = tensorBundle(obj);
  else out = { data: { 'text/plain': plainText(obj) } };
  if (!('text/plain' in out.data)) out.data['text/plain'] = plainText(obj);
  for (const p of providers) p(obj, out);
  return out;
}

/**
 * The rich bundle of a value, or null when it has nothing richer than text.
 * @param obj - Any value.
 * @returns The rich bundle, or null for plain values.
 * @example
 * ```ts
 * import { htmlTable, richMimeBundle } from 'mriseq';
 * console.log(richMimeBundle(42), richMimeBundle(htmlTable([{ a: 1 }])) !== null); // null true
 * ```
 */
export function richMimeBundle(obj: unknown): RichOutput | null {
  if (
    isDisplayable(obj) ||
    isPlotlyFigure(obj) ||
    isDataFrameLike(obj) ||
    isRowArray(obj) ||
    isVolume(obj) ||
    isTensorLike(obj)
  )
    return toMimeBundle(obj);
  return null;
}

// The kernel shows a cell's last expression with this (kernel/kernel.js looks it up by symbol,
// so the kernel needs no import of mriseq and a notebook without mriseq still works).
(globalThis as Record<symbol, unknown>)[Symbol.for('mriseq.display.richMimeBundle')] = richMimeBundle;

/**
 * Adds representations that take time to make (a plotly figure's static PNG, rendered by headless
 * Chromium in Node: src/plot/node.ts registers it) to a bundle, in place.
 *
 * @example
 * ```ts
 * import { type BundleFinisher } from 'mriseq';
 * const caption: BundleFinisher = async (obj, out) => {
 *   if (typeof obj === 'number') out.data['text/markdown'] = `value **${obj}**`;
 * };
 * ```
 */
export type BundleFinisher = (obj: unknown, out: RichOutput) => Promise<void> | void;
const finishers: BundleFinisher[] = [];

/**
 * Adds a {@link BundleFinisher}: display() shows a figure at once and updates it when the
 * finishers are done; the kernel finishes a cell's result before showing it.
 *
 * @param f - Adds slow representations to a bundle, in place.
 * @returns A function that removes the finisher.
 * @example
 * ```ts
 * import { finishBundle, registerBundleFinisher, toMimeBundle } from 'mriseq';
 * const off = registerBundleFinisher((obj, out) => {
 *   if (typeof obj === 'number') out.data['text/markdown'] = `**${obj}**`;
 * });
 * const b = toMimeBundle(3);
 * await finishBundle(3, b);
 * console.log(b.data['text/markdown']); // **3**
 * off();
 * ```
 */
export function registerBundleFinisher(f: BundleFinisher): () => void {
  return addTo(finishers, f);
}

/**
 * Runs every finisher on a bundle (a failing one is skipped: the bundle keeps what it has).
 *
 * @param obj - The value the bundle shows.
 * @param out - Its bundle, completed in place.
 * @example
 * ```ts
 * import { finishBundle, toMimeBundle } from 'mriseq';
 * const fig = { data: [{ type: 'bar', y: [1, 2] }], layout: {} };
 * const b = toMimeBundle(fig);
 * await finishBundle(fig, b); // in Node with mriseq's plot module loaded: adds image/png
 * console.log(Object.keys(b.data));
 * ```
 */
export async function finishBundle(obj: unknown, out: RichOutput): Promise<void> {
  for (const f of [...finishers]) {
    try {
      await f(obj, out);
    } catch {
      // a fallback representation is a bonus, never a reason to lose the output
    }
  }
}

/** Whether a bundle would gain from the finishers (so display() sends an update later). */
function wantsFinishing(out: RichOutput): boolean {
  return finishers.length > 0 && PLOTLY_MIME in out.data && !('image/png' in out.data);
}

// The kernel finishes a cell's last expression with this before it shows it.
(globalThis as Record<symbol, unknown>)[Symbol.for('mriseq.display.finishBundle')] = finishBundle;

/**
 * Options of {@link display}.
 *
 * @example
 * ```ts
 * import { display, type DisplayOptions } from 'mriseq';
 * const o: DisplayOptions = { displayId: 'ranking', metadata: { isolated: true } };
 * display({ toMimeBundle: () => ({ 'text/plain': 'ranking' }) }, o);
 * ```
 */
export interface DisplayOptions {
  /** Reuse a display id (to target an existing output). */
  displayId?: string;
  metadata?: Record<string, unknown>;
}

/**
 * Marks values the kernel does not echo as a cell's result: `display(x)` as the last line of a
 * cell shows x once, like Python's display() returning None.
 * @example
 * ```ts
 * import { SILENT_RESULT, display } from 'mriseq';
 * console.log(display('x')[SILENT_RESULT]); // true: the kernel does not echo the handle
 * ```
 */
export const SILENT_RESULT: unique symbol = Symbol.for('mriseq.display.silent') as never;

/**
 * A shown output that can be replaced in place (Jupyter update_display_data).
 * Returned by {@link display}; outside a notebook `shown` is false and `bundle` still holds the output.
 *
 * @example
 * ```ts
 * import { DisplayHandle } from 'mriseq';
 * const h = new DisplayHandle({ toMimeBundle: () => ({ 'text/plain': 'loading' }) });
 * h.update({ toMimeBundle: () => ({ 'text/plain': 'done' }) });
 * console.log(h.displayId, h.shown, h.bundle.data['text/plain']);
 * ```
 */
export class DisplayHandle {
  readonly [SILENT_RESULT] = true;
  readonly displayId: string;
  /** The bundle last shown (also when no notebook is attached). */
  bundle: RichOutput;
  /** false when there was no notebook to show it in. */
  readonly shown: boolean;

  private finishing: Promise<void> | null = null;
  private latest: unknown;

  constructor(obj: unknown, opts: DisplayOptions = {}) {
    this.displayId = opts.displayId ?? newDisplayId();
    this.bundle = toMimeBundle(obj);
    const t = displayTransport();
    this.shown = t
      ? t.send({
          data: this.bundle.data,
          metadata: { ...this.bundle.metadata, ...opts.metadata },
          displayId: this.displayId,
        })
      : false;
    if (this.shown) this.finishLater(obj);
    // Objects that update themselves in place (the live volume viewer) learn where they are shown.
    const shownHook = (obj as Record<symbol, unknown> | null)?.[Symbol.for('mriseq.display.shown')];
    if (this.shown && typeof shownHook === 'function')
      (shownHook as (h: DisplayHandle) => void).call(obj, this);
  }

  /**
   * Shows the output at once and replaces it when the slow representations (a figure's PNG) are
   * ready. Updates that arrive meanwhile coalesce: only the latest value is finished. The kernel
   * waits for this before it answers the cell, so saved notebooks hold the finished output.
   */
  private finishLater(obj: unknown): void {
    this.latest = obj;
    if (!wantsFinishing(this.bundle) || this.finishing) return;
    const t = displayTransport();
    const run = async () => {
      for (;;) {
        const value = this.latest;
        const out = toMimeBundle(value);
        await finishBundle(value, out);
        if (this.latest !== value) continue;
        if ('image/png' in out.data) {
          this.bundle = out;
          displayTransport()?.send({
            data: out.data,
            metadata: out.metadata,
            displayId: this.displayId,
            update: true,
          });
        }
        return;
      }
    };
    const p = run().finally(() => (this.finishing = null));
    this.finishing = p;
    t?.track?.(p);
  }

  /** Short form for console.log / util.inspect (the bundle can hold megabytes of images). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `DisplayHandle(${this.displayId})`;
  }

  /** Replaces the output with a new value. */
  update(obj: unknown): void {
    this.bundle = toMimeBundle(obj);
    const sent = displayTransport()?.send({
      data: this.bundle.data,
      metadata: this.bundle.metadata,
      displayId: this.displayId,
      update: true,
    });
    if (sent) this.finishLater(obj);
  }
}

/**
 * Shows a value in the notebook with every representation it has (plotly JSON, HTML, PNG, text).
 * Outside a notebook it shows nothing (see setDisplayTransport / consoleTransport) and the returned
 * handle still carries the bundle.
 * @param obj - Anything: a {@link Displayable}, a plotly figure, a Volume, a table, a value.
 * @param opts - `displayId` to reuse, extra `metadata`.
 * @returns A {@link DisplayHandle} whose `update()` replaces the output in place.
 * @example
 * ```ts
 * import { display, rocCurve, rocFigure } from 'mriseq';
 * const handle = display(rocFigure([rocCurve([0.9, 0.1, 0.6], [1, 0, 0], 'epoch 1')]));
 * handle.update(rocFigure([rocCurve([0.9, 0.1, 0.3], [1, 0, 0], 'epoch 2')]));
 * ```
 */
export function display(obj: unknown, opts: DisplayOptions = {}): DisplayHandle {
  return new DisplayHandle(obj, opts);
}

/**
 * Clears the current cell's output (wait: when the next output arrives, avoiding flicker).
 * @param wait - Clear only when the next output arrives (default true).
 * @example
 * ```ts
 * import { clearOutput, display } from 'mriseq';
 * for (const step of [1, 2, 3]) {
 *   clearOutput();
 *   display({ toMimeBundle: () => ({ 'text/plain': `step ${step}` }) });
 * }
 * ```
 */
export function clearOutput(wait = true): void {
  displayTransport()?.clear?.(wait);
}

/**
 * Options of {@link progressBar}.
 *
 * @example
 * ```ts
 * import { ProgressBar, type ProgressOptions } from 'mriseq';
 * const o: ProgressOptions = { label: 'maps', throttleMs: 500 };
 * new ProgressBar(10, o).done();
 * ```
 */
export interface ProgressOptions {
  label?: string;
  /** Minimum milliseconds between two updates sent to the notebook (default 150). */
  throttleMs?: number;
}

/**
 * An updating progress bar (one output replaced in place).
 * Shown in a notebook (an HTML bar with the percentage, count and message); outside one it only keeps its state.
 *
 * @example
 * ```ts
 * import { ProgressBar } from 'mriseq';
 * const bar = new ProgressBar(3, { label: 'subjects' });
 * for (const id of ['a', 'b', 'c']) bar.tick(1, id);
 * bar.done('all evaluated');
 * console.log(bar.fraction()); // 1
 * ```
 */
export class ProgressBar {
  readonly total: number;
  value = 0;
  message = '';
  private readonly label: string;
  private readonly throttleMs: number;
  private readonly started = Date.now();
  private last = 0;
  private handle?: DisplayHandle;

  constructor(total: number, opts: ProgressOptions = {}) {
    this.total = Math.max(0, total);
    this.label = opts.label ?? '';
    this.throttleMs = opts.throttleMs ?? 150;
    if (displayTransport()) this.handle = display(this);
  }

  /** Sets the progress (and an optional message such as the current loss). */
  update(value: number, message?: string): void {
    this.value = Math.min(this.total, Math.max(0, value));
    if (message !== undefined) this.message = message;
    const now = Date.now();
    if (this.handle && (now - this.last >= this.throttleMs || this.value >= this.total)) {
      this.last = now;
      this.handle.update(this);
    }
  }

  tick(n = 1, message?: string): void {
    this.update(this.value + n, message);
  }

  done(message?: string): void {
    this.last = 0;
    this.update(this.total, message);
  }

  fraction(): number {
    return this.total > 0 ? this.value / this.total : 1;
  }

  toText(): string {
    const width = 30;
    const f = this.fraction();
    const filled = Math.round(f * width);
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = f > 0 && f < 1 ? ` eta ${Math.round((elapsed * (1 - f)) / f)}s` : '';
    return `${this.label ? this.label + ' ' : ''}[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(100 * f)}% ${this.value}/${this.total}${eta}${this.message ? ' ' + this.message : ''}`;
  }

  toMimeBundle(): RichOutput {
    const pct = (100 * this.fraction()).toFixed(1);
    const html =
      `<div style="font:12px sans-serif">${escapeHtml(this.label)} ` +
      `<span style="display:inline-block;width:240px;height:10px;background:#ddd;vertical-align:middle">` +
      `<span style="display:block;height:10px;width:${pct}%;background:#3b7dd8"></span></span> ` +
      `${escapeHtml(`${Math.round(Number(pct))}% ${this.value}/${this.total} ${this.message}`)}</div>`;
    return { data: { 'text/plain': this.toText(), 'text/html': html } };
  }
}

/**
 * A {@link ProgressBar} that updates one output in place.
 *
 * @param total - The number of steps.
 * @param opts - `label`, `throttleMs` (default 150).
 * @returns A {@link ProgressBar}.
 * @example
 * ```ts
 * import { progressBar } from 'mriseq';
 * const bar = progressBar(100, { label: 'training' });
 * bar.update(40, 'loss 0.42');
 * bar.done();
 * ```
 */
export function progressBar(total: number, opts: ProgressOptions = {}): ProgressBar {
  return new ProgressBar(total, opts);
}
