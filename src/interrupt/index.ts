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

/**
 * What a host installs: the running cell's signal, or a function that returns it when asked.
 *
 * @example
 * ```ts
 * import { setInterruptSignal, type InterruptSource } from 'mriseq';
 * const cell = new AbortController();
 * const source: InterruptSource = () => cell.signal; // called when work takes the signal
 * setInterruptSignal(source);
 * ```
 */
export type InterruptSource = AbortSignal | (() => AbortSignal | undefined);

function isSignal(s: unknown): s is AbortSignal {
  return typeof s === 'object' && s !== null && typeof (s as AbortSignal).aborted === 'boolean';
}

/**
 * Installs (or, with undefined, removes) the host's interrupt signal. A kernel calls it for each
 * cell and aborts the signal on an interrupt; scripts never need it.
 *
 * @param source - The running cell's AbortSignal, or a function returning it; undefined removes it.
 * @example
 * ```ts
 * import { setInterruptSignal, stopRequested } from 'mriseq';
 * const stopButton = new AbortController();
 * setInterruptSignal(stopButton.signal); // a UI's stop button reaches mriseq's loops
 * stopButton.abort();
 * console.log(stopRequested()); // true
 * setInterruptSignal(undefined);
 * ```
 */
export function setInterruptSignal(source: InterruptSource | undefined): void {
  const g = globalThis as Record<symbol, unknown>;
  if (source === undefined) delete g[SIGNAL_KEY];
  else g[SIGNAL_KEY] = source;
}

/**
 * The host's interrupt signal, when a host installed one.
 *
 * @example
 * ```ts
 * import { interruptSignal } from 'mriseq';
 * console.log(interruptSignal()?.aborted ?? 'no host'); // in a script: 'no host'
 * ```
 */
export function interruptSignal(): AbortSignal | undefined {
  const s = (globalThis as Record<symbol, unknown>)[SIGNAL_KEY];
  const signal = typeof s === 'function' ? (s as () => unknown)() : s;
  return isSignal(signal) ? signal : undefined;
}

/**
 * The caller's signal, else the host's interrupt signal now: what a long-running call takes once
 * at its start and checks between its steps.
 *
 * @param signal - The caller's own signal (an options.signal), which wins when given.
 * @example
 * ```ts
 * import { MriseqError, signalOrInterrupt, yieldToHost } from 'mriseq';
 * async function longWork(steps: number, opts: { signal?: AbortSignal } = {}) {
 *   const signal = signalOrInterrupt(opts.signal);
 *   for (let i = 0; i < steps; i++) {
 *     await yieldToHost();
 *     if (signal?.aborted) throw new MriseqError('interrupted', { code: 'work.aborted' });
 *   }
 * }
 * await longWork(3);
 * ```
 */
export function signalOrInterrupt(signal?: AbortSignal): AbortSignal | undefined {
  return signal ?? interruptSignal();
}

/**
 * True when the caller's own signal or the host's interrupt asks to stop.
 *
 * @param signal - The caller's own signal, if any.
 * @example
 * ```ts
 * import { stopRequested } from 'mriseq';
 * const mine = new AbortController();
 * mine.abort();
 * console.log(stopRequested(mine.signal), stopRequested()); // true false (in a script)
 * ```
 */
export function stopRequested(signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted || interruptSignal()?.aborted);
}

/**
 * Lets the host's event loop run (one macrotask): a kernel's interrupt arrives as a message,
 * which a loop of promises that resolve at once would never let in.
 *
 * @example
 * ```ts
 * import { yieldToHost } from 'mriseq';
 * for (let step = 0; step < 3; step++) await yieldToHost(); // an interrupt can get in here
 * ```
 */
export function yieldToHost(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
