/**
 * The host's interrupt: the stop button of a notebook kernel. mriseq's long-running loops
 * (training, evaluation, maps, the phantom acceptance) stop between their steps when the host
 * raises it, exactly as when their own `signal` option aborts. Browser-safe.
 *
 * A kernel installs the AbortSignal of the cell now running with setInterruptSignal() and aborts
 * it on an interrupt; library loops ask stopRequested(options.signal) between steps, after
 * yieldToHost() has let the host's interrupt message in. The signal lives on globalThis under a
 * registered symbol (like the display transport) so a kernel can install it without importing
 * mriseq, and a browser bundle and the kernel share it.
 */
const SIGNAL_KEY = Symbol.for('mriseq.interrupt.signal');

/** Installs (or, with undefined, removes) the host's interrupt signal. */
export function setInterruptSignal(signal: AbortSignal | undefined): void {
  (globalThis as Record<symbol, unknown>)[SIGNAL_KEY] = signal;
}

/** The host's interrupt signal, when a host installed one. */
export function interruptSignal(): AbortSignal | undefined {
  const s = (globalThis as Record<symbol, unknown>)[SIGNAL_KEY];
  return s && typeof s === 'object' && typeof (s as AbortSignal).aborted === 'boolean'
    ? (s as AbortSignal)
    : undefined;
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
