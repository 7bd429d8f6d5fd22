/**
 * Ambient cancellation: the AbortSignal a long-running call uses when its caller passed none.
 * The mriseq Jupyter kernel installs one per cell (kernel/kernel.js), so an interrupt stops
 * training, evaluation, maps, classification, clustering and simulation at their next step; in
 * scripts and the CLI there is none and nothing changes. Browser-safe.
 */

/** Where a host (the kernel) puts a function returning the current ambient signal. */
export const AMBIENT_SIGNAL_KEY: unique symbol = Symbol.for('mriseq.abort.ambientSignal') as never;

type Provider = () => AbortSignal | undefined;

/** The ambient signal, if a host installed one (the mriseq kernel does). */
export function ambientSignal(): AbortSignal | undefined {
  const p = (globalThis as Record<symbol, unknown>)[AMBIENT_SIGNAL_KEY];
  return typeof p === 'function' ? ((p as Provider)() ?? undefined) : undefined;
}

/** The caller's signal, else the ambient one: what every long-running call checks between steps. */
export function signalOrAmbient(signal?: AbortSignal): AbortSignal | undefined {
  return signal ?? ambientSignal();
}

/**
 * Installs (or with undefined removes) the ambient signal provider, for hosts other than the
 * kernel (e.g. a UI with a stop button, or a test).
 */
export function setAmbientSignal(provider: Provider | undefined): void {
  const g = globalThis as Record<symbol, unknown>;
  if (provider) g[AMBIENT_SIGNAL_KEY] = provider;
  else delete g[AMBIENT_SIGNAL_KEY];
}
