/**
 * The host's interrupt: the stop button of a notebook kernel. mriseq's long-running calls
 * (training, evaluation, maps, classification, clustering, simulation) stop at their next step
 * when the host raises it, exactly as when their own `signal` option aborts. In scripts and the
 * CLI there is no host and nothing changes. Browser-safe.
 *
 * A kernel installs the AbortSignal of the cell now running with setInterruptSignal() (the
 * signal itself, or a function returning it, so a kernel can tell whether any work took it) and
 * aborts it on an interrupt. A long-running call takes signalOrInterrupt(options.signal) once at
 * its start and checks that signal between steps, after yieldToHost() has let the host's
 * interrupt message in: work a cell left running (a training started without await) stays tied to
 * the cell that started it, not to whichever cell runs later. The signal lives on globalThis under
 * a registered symbol (like the display transport) so a kernel sets it without importing mriseq,
 * and a browser bundle and the kernel share it. Both mriseq kernels (kernel/ for Jupyter,
 * litekernel/ for the teaching site) install it this way.
 */
const SIGNAL_KEY = Symbol.for('mriseq.interrupt.signal');

/** What a host installs: the running cell's signal, or a function that returns it when asked. */
export type InterruptSource = AbortSignal | (() => AbortSignal | undefined);

function isSignal(s: unknown): s is AbortSignal {
  return typeof s === 'object' && s !== null && typeof (s as AbortSignal).aborted === 'boolean';
}

/** Installs (or, with undefined, removes) the host's interrupt signal. */
export function setInterruptSignal(source: InterruptSource | undefined): void {
  const g = globalThis as Record<symbol, unknown>;
  if (source === undefined) delete g[SIGNAL_KEY];
  else g[SIGNAL_KEY] = source;
}

/** The host's interrupt signal, when a host installed one. */
export function interruptSignal(): AbortSignal | undefined {
  const s = (globalThis as Record<symbol, unknown>)[SIGNAL_KEY];
  const signal = typeof s === 'function' ? (s as () => unknown)() : s;
  return isSignal(signal) ? signal : undefined;
}

/**
 * The caller's signal, else the host's interrupt signal now: what a long-running call takes once
 * at its start and checks between its steps.
 */
export function signalOrInterrupt(signal?: AbortSignal): AbortSignal | undefined {
  return signal ?? interruptSignal();
}

/** True when the caller's own signal or the host's interrupt asks to stop. */
export function stopRequested(signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted || interruptSignal()?.aborted);
}

/**
 * Lets the host's event loop run (one macrotask): a kernel's interrupt arrives as a message,
 * which a loop of promises that resolve at once would never let in.
 */
export function yieldToHost(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
