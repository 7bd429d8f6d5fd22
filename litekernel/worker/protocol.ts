/**
 * Messages between the kernel object on the page (litekernel/src/kernel.ts) and its web worker
 * (./main.ts). Requests carry an id; the worker answers each with one `reply` of that id, and
 * tags every output of an execution with the execution's id, so output that arrives late still
 * finds its cell.
 */

/** The Jupyter iopub messages an execution produces. */
export type OutputKind =
  'stream' | 'display_data' | 'update_display_data' | 'clear_output' | 'execute_result' | 'error';

export type ExecuteReply =
  { status: 'ok' } | { status: 'error'; ename: string; evalue: string; traceback: string[] };

export interface CompleteReply {
  status: 'ok';
  matches: string[];
  cursor_start: number;
  cursor_end: number;
  metadata: Record<string, unknown>;
}

export interface InspectReply {
  status: 'ok';
  found: boolean;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface IsCompleteReply {
  status: 'complete' | 'incomplete' | 'invalid' | 'unknown';
  indent?: string;
}

/** Page -> worker. */
export type WorkerRequest =
  | { type: 'execute'; id: number; code: string; executionCount: number; cellId?: string }
  | { type: 'complete'; id: number; code: string; cursorPos: number; cellId?: string }
  | { type: 'inspect'; id: number; code: string; cursorPos: number; detailLevel: number; cellId?: string }
  | { type: 'is_complete'; id: number; code: string }
  /** No reply: stops the running cell at its next await or training step. */
  | { type: 'interrupt' };

/** Worker -> page. */
export type WorkerMessage =
  | { type: 'ready'; banner: string }
  | { type: 'output'; id: number; kind: OutputKind; content: Record<string, unknown> }
  | { type: 'reply'; id: number; content: ExecuteReply | CompleteReply | InspectReply | IsCompleteReply }
  /** Output with no execution to attach to (e.g. a console line while idle). */
  | { type: 'log'; text: string };
