/**
 * Rich display, browser-safe: any result turns into a MIME bundle (several representations at
 * once: text for terminals, HTML for classic views and exported notebooks, plotly JSON for
 * JupyterLab, PNG for static exports), and a transport delivers it. In the mriseq kernel the
 * transport is installed by kernel/launcher.js (one display_data message per bundle, JSON MIME
 * types as JSON objects); elsewhere there is none and display() only returns the bundle.
 */

/**
 * MIME type -> value. JSON MIME types hold objects; binary images hold base64 strings.
 * @example
 * ```ts
 * import { display, type MimeBundle } from 'mriseq';
 * const bundle: MimeBundle = { 'text/plain': 'C_d order: t1gd > flair', 'text/html': '<b>t1gd</b> &gt; flair' };
 * display({ toMimeBundle: () => bundle });
 * ```
 */
export type MimeBundle = Record<string, unknown>;

/**
 * A MIME bundle with its metadata (e.g. image sizes).
 *
 * @example
 * ```ts
 * import { toMimeBundle, type RichOutput } from 'mriseq';
 * const out: RichOutput = toMimeBundle({ a: 1 });
 * console.log(Object.keys(out.data));
 * ```
 */
export interface RichOutput {
  data: MimeBundle;
  metadata?: Record<string, unknown>;
}

/**
 * Anything that knows how to show itself.
 * @example
 * ```ts
 * import { display, escapeHtml, type Displayable } from 'mriseq';
 * class Note implements Displayable {
 *   constructor(readonly text: string) {}
 *   toMimeBundle() {
 *     return { 'text/plain': this.text, 'text/html': `<i>${escapeHtml(this.text)}</i>` };
 *   }
 * }
 * display(new Note('M_d marks the unique region'));
 * ```
 */
export interface Displayable {
  toMimeBundle(): MimeBundle | RichOutput;
}

/**
 * One message a {@link DisplayTransport} delivers (Jupyter's display_data / update_display_data).
 *
 * @example
 * ```ts
 * import { type DisplayMessage } from 'mriseq';
 * const msg: DisplayMessage = { data: { 'text/plain': '50%' }, displayId: 'progress-1', update: true };
 * console.log(msg.update);
 * ```
 */
export interface DisplayMessage {
  data: MimeBundle;
  metadata?: Record<string, unknown>;
  /** Jupyter display_id: later updates with the same id replace this output in place. */
  displayId?: string;
  /** true: update_display_data for an earlier displayId. */
  update?: boolean;
}

/**
 * Where display() delivers messages: the kernel's, the console's, or your own.
 *
 * @example
 * ```ts
 * import { display, setDisplayTransport, type DisplayMessage, type DisplayTransport } from 'mriseq';
 * const seen: DisplayMessage[] = [];
 * const collect: DisplayTransport = { kind: 'collect', send: (m) => (seen.push(m), true) };
 * setDisplayTransport(collect);
 * display({ toMimeBundle: () => ({ 'text/plain': 'x' }) });
 * setDisplayTransport(undefined);
 * console.log(seen.length); // 1
 * ```
 */
export interface DisplayTransport {
  readonly kind: string;
  /** Delivers one message; false when there is nowhere to deliver it. */
  send(msg: DisplayMessage): boolean;
  /** clear_output (wait: clear when the next output arrives). */
  clear?(wait: boolean): void;
  /** Output work still under way (a figure's PNG being rendered): the kernel's reply waits for it. */
  track?(work: Promise<unknown>): void;
}

const TRANSPORT_KEY = Symbol.for('mriseq.display.transport');
let explicitTransport: DisplayTransport | null | undefined;

/**
 * Sets where display() sends bundles: a transport, null for "nowhere" (display only returns
 * bundles), or undefined to go back to automatic (the kernel's transport when running in the
 * mriseq kernel).
 * @param t - The transport, null, or undefined.
 * @example
 * ```ts
 * import { consoleTransport, display, setDisplayTransport } from 'mriseq';
 * setDisplayTransport(consoleTransport); // a script: display() prints text/plain
 * display({ toMimeBundle: () => ({ 'text/plain': 'hello' }) });
 * setDisplayTransport(undefined);
 * ```
 */
export function setDisplayTransport(t: DisplayTransport | null | undefined): void {
  explicitTransport = t;
}

/**
 * The transport display() sends to now.
 *
 * @returns The transport in use, or null when there is none (outside a notebook).
 * @example
 * ```ts
 * import { displayTransport } from 'mriseq';
 * console.log(displayTransport()?.kind ?? 'no notebook');
 * ```
 */
export function displayTransport(): DisplayTransport | null {
  if (explicitTransport !== undefined) return explicitTransport;
  const g = (globalThis as Record<symbol, unknown>)[TRANSPORT_KEY];
  if (g && typeof g === 'object' && typeof (g as DisplayTransport).send === 'function')
    return g as DisplayTransport;
  return null;
}

/**
 * True inside the mriseq kernel (or when a transport was set).
 * @returns Whether display() has somewhere to send output.
 * @example
 * ```ts
 * import { display, inNotebook, rankingFigure } from 'mriseq';
 * const fig = rankingFigure([{ sequence: 't1gd', C_t: 0, C_d: 1 }]);
 * if (inNotebook()) display(fig);
 * else console.log(JSON.stringify(fig).length, 'bytes of plotly JSON');
 * ```
 */
export function inNotebook(): boolean {
  return displayTransport() !== null;
}

/**
 * A transport printing text/plain to the console: for scripts that want display() to print.
 * @example
 * ```ts
 * import { consoleTransport, htmlTable, display, setDisplayTransport } from 'mriseq';
 * setDisplayTransport(consoleTransport);
 * display(htmlTable([{ sequence: 't1gd', C_d: 0.91 }])); // prints the text form
 * ```
 */
export const consoleTransport: DisplayTransport = {
  kind: 'console',
  send(msg) {
    if (msg.update) return true;
    const text = msg.data['text/plain'];
    console.log(typeof text === 'string' ? text : JSON.stringify(text));
    return true;
  },
};

/**
 * Whether a value has a `toMimeBundle()` method (shows itself).
 *
 * @param x - Any value.
 * @returns True for a {@link Displayable}.
 * @example
 * ```ts
 * import { htmlTable, isDisplayable } from 'mriseq';
 * console.log(isDisplayable(htmlTable([{ a: 1 }])), isDisplayable({ a: 1 })); // true false
 * ```
 */
export function isDisplayable(x: unknown): x is Displayable {
  return typeof x === 'object' && x !== null && typeof (x as Displayable).toMimeBundle === 'function';
}

/**
 * A plotly figure: `data` (traces) and `layout` (required by JupyterLab's plotly renderer).
 * @param x - Any value.
 * @returns True when `x` has a `data` array of objects and a `layout` object.
 * @example
 * ```ts
 * import { isPlotlyFigure } from 'mriseq';
 * console.log(isPlotlyFigure({ data: [{ type: 'bar' }], layout: {} }), isPlotlyFigure({ data: [] })); // true false
 * ```
 */
export function isPlotlyFigure(x: unknown): x is { data: unknown[]; layout: Record<string, unknown> } {
  if (typeof x !== 'object' || x === null) return false;
  const f = x as { data?: unknown; layout?: unknown };
  return (
    Array.isArray(f.data) &&
    f.data.every((t) => typeof t === 'object' && t !== null) &&
    typeof f.layout === 'object' &&
    f.layout !== null
  );
}

/**
 * Escapes &, <, >, " and ' for HTML text and attributes.
 *
 * @param s - Any text.
 * @returns The escaped text.
 * @example
 * ```ts
 * import { escapeHtml } from 'mriseq';
 * console.log(escapeHtml('<b>"T1" & T2</b>')); // &lt;b&gt;&quot;T1&quot; &amp; T2&lt;/b&gt;
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

let idCounter = 0;
/**
 * A fresh display id (unique within this process, and across kernels thanks to the time part).
 * @returns A new id.
 * @example
 * ```ts
 * import { display, newDisplayId } from 'mriseq';
 * const id = newDisplayId();
 * display({ toMimeBundle: () => ({ 'text/plain': 'step 1' }) }, { displayId: id });
 * ```
 */
export function newDisplayId(): string {
  idCounter += 1;
  return `mriseq-${Date.now().toString(36)}-${idCounter.toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}

/** Plain text of any value, readable and bounded. */
export function plainText(x: unknown): string {
  if (typeof x === 'string') return x;
  if (typeof x === 'number' || typeof x === 'boolean' || x === null || x === undefined) return String(x);
  try {
    const s = JSON.stringify(
      x,
      (_k, v: unknown) =>
        ArrayBuffer.isView(v) && !(v instanceof DataView)
          ? `[${v.constructor.name} ${(v as Float32Array).length}]`
          : v,
      2,
    );
    return s.length > 4000 ? s.slice(0, 4000) + '\n...' : s;
  } catch {
    return Object.prototype.toString.call(x);
  }
}
