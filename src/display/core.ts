/**
 * Rich display, browser-safe: any result turns into a MIME bundle (several representations at
 * once: text for terminals, HTML for classic views and exported notebooks, plotly JSON for
 * JupyterLab, PNG for static exports), and a transport delivers it. In the mriseq kernel the
 * transport is installed by kernel/launcher.js (one display_data message per bundle, JSON MIME
 * types as JSON objects); elsewhere there is none and display() only returns the bundle.
 */

/** MIME type -> value. JSON MIME types hold objects; binary images hold base64 strings. */
export type MimeBundle = Record<string, unknown>;

export interface RichOutput {
  data: MimeBundle;
  metadata?: Record<string, unknown>;
}

/** Anything that knows how to show itself. */
export interface Displayable {
  toMimeBundle(): MimeBundle | RichOutput;
}

export interface DisplayMessage {
  data: MimeBundle;
  metadata?: Record<string, unknown>;
  /** Jupyter display_id: later updates with the same id replace this output in place. */
  displayId?: string;
  /** true: update_display_data for an earlier displayId. */
  update?: boolean;
}

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
 */
export function setDisplayTransport(t: DisplayTransport | null | undefined): void {
  explicitTransport = t;
}

export function displayTransport(): DisplayTransport | null {
  if (explicitTransport !== undefined) return explicitTransport;
  const g = (globalThis as Record<symbol, unknown>)[TRANSPORT_KEY];
  if (g && typeof g === 'object' && typeof (g as DisplayTransport).send === 'function')
    return g as DisplayTransport;
  return null;
}

/** True inside the mriseq kernel (or when a transport was set). */
export function inNotebook(): boolean {
  return displayTransport() !== null;
}

/** A transport printing text/plain to the console: for scripts that want display() to print. */
export const consoleTransport: DisplayTransport = {
  kind: 'console',
  send(msg) {
    if (msg.update) return true;
    const text = msg.data['text/plain'];
    console.log(typeof text === 'string' ? text : JSON.stringify(text));
    return true;
  },
};

export function isDisplayable(x: unknown): x is Displayable {
  return typeof x === 'object' && x !== null && typeof (x as Displayable).toMimeBundle === 'function';
}

/** A plotly figure: `data` (traces) and `layout` (required by JupyterLab's plotly renderer). */
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

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

let idCounter = 0;
/** A fresh display id (unique within this process, and across kernels thanks to the time part). */
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
