/**
 * Jupyter comms from cell code: the mriseq kernel (kernel/comm.js) implements comm_open, comm_msg,
 * comm_close and comm_info both ways and puts its manager at a global symbol; this module gives it
 * a type. Outside the kernel there are no comms (kernelComms() is null) and callers fall back to
 * plain outputs. Browser-safe.
 *
 * ```ts
 * const comms = kernelComms();
 * comms?.registerTarget('my.target', (comm, open) => comm.onMsg((m) => comm.send({ echo: m.data })));
 * const c = comms?.open('jupyter.widget', { state: {...} });   // a front-end target
 * ```
 */

/**
 * What a comm message carries (JSON data, metadata, optional binary buffers).
 *
 * @example
 * ```ts
 * import { type CommMessage } from 'mriseq';
 * const m: CommMessage = { data: { voxel: [1, 2, 3] }, metadata: {}, buffers: [] };
 * console.log(m.data.voxel);
 * ```
 */
export interface CommMessage {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  buffers: Uint8Array[];
}

/**
 * One open comm.
 *
 * @example
 * ```ts
 * import { kernelComms, type KernelComm } from 'mriseq';
 * const c: KernelComm | undefined = kernelComms()?.open('my.frontend.target', { hello: 1 });
 * c?.onMsg((m) => console.log(m.data)).onClose(() => console.log('closed'));
 * c?.send({ more: 2 });
 * ```
 */
export interface KernelComm {
  readonly id: string;
  readonly target: string;
  readonly isOpen: boolean;
  send(data: Record<string, unknown>, metadata?: Record<string, unknown>, buffers?: Uint8Array[]): void;
  close(data?: Record<string, unknown>): void;
  onMsg(cb: (msg: CommMessage) => void): KernelComm;
  onClose(cb: (msg: CommMessage) => void): KernelComm;
}

/**
 * The kernel's comm manager.
 *
 * @example
 * ```ts
 * import { kernelComms, type KernelComms } from 'mriseq';
 * const comms: KernelComms | null = kernelComms();
 * const off = comms?.registerTarget('echo', (comm) => comm.onMsg((m) => comm.send({ echo: m.data })));
 * console.log(comms?.list('echo').length ?? 'not in the mriseq kernel');
 * off?.();
 * ```
 */
export interface KernelComms {
  /** Handles comms the front end opens to `name`; returns a function that unregisters it. */
  registerTarget(name: string, handler: (comm: KernelComm, open: CommMessage) => void): () => void;
  /** Opens a comm to a front-end target. */
  open(
    target: string,
    data?: Record<string, unknown>,
    metadata?: Record<string, unknown>,
    buffers?: Uint8Array[],
  ): KernelComm;
  /** The open comms (of one target). */
  list(target?: string): KernelComm[];
}

const COMMS_KEY = Symbol.for('mriseq.kernel.comms');

/**
 * The kernel's comms, or null outside the mriseq kernel.
 *
 * @example
 * ```ts
 * import { kernelComms } from 'mriseq';
 * console.log(kernelComms() === null ? 'no kernel: show a static output' : 'live');
 * ```
 */
export function kernelComms(): KernelComms | null {
  const c = (globalThis as Record<symbol, unknown>)[COMMS_KEY];
  return c && typeof c === 'object' && typeof (c as KernelComms).open === 'function'
    ? (c as KernelComms)
    : null;
}
