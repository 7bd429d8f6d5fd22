/**
 * The kernel object JupyterLite talks to, on the page: it relays Jupyter requests to the web
 * worker that runs the cells (../worker/main.ts) and the worker's outputs back to the cell that
 * asked, and forwards interrupts (see ./index.ts for how the stop button reaches it).
 */
import type { KernelMessage } from '@jupyterlab/services';
import { BaseKernel, type IKernel } from '@jupyterlite/services';
import type {
  CompleteReply,
  ExecuteReply,
  InspectReply,
  IsCompleteReply,
  WorkerMessage,
  WorkerRequest,
} from '../worker/protocol';

type Header = KernelMessage.IHeader<KernelMessage.MessageType>;

/** Webpack's run-time public path: this extension's static folder, where the worker lives. */
declare const __webpack_public_path__: string;

/** Names the worker script and its files (set by the build, scripts/build-lite.mjs). */
export const WORKER_FILE = 'mriseq-kernel-worker.js';

// Distributes Omit over the request union, so each variant keeps its own fields.
type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class MriseqLiteKernel extends BaseKernel {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, (content: unknown) => void>();
  /** Execution request id -> the header its outputs answer. */
  private readonly parents = new Map<number, Header | undefined>();
  private readonly started: Promise<void>;

  constructor(options: IKernel.IOptions) {
    super(options);
    // The page's query string goes along: `?backend=cpu` reaches mriseq's engine choice.
    this.worker = new Worker(`${__webpack_public_path__}${WORKER_FILE}${window.location.search}`);
    this.started = new Promise((resolve, reject) => {
      this.worker.onerror = (e) =>
        reject(new Error(`the mriseq kernel worker failed to start: ${e.message}`));
      this.worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
        if (e.data.type === 'ready') resolve();
        this.onWorkerMessage(e.data);
      };
    });
  }

  override get ready(): Promise<void> {
    return this.started;
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.worker.terminate();
    super.dispose();
  }

  /** The stop button: the worker stops the cell at its next await or training step. */
  interrupt(): void {
    this.post({ type: 'interrupt' });
  }

  private post(m: WorkerRequest): void {
    this.worker.postMessage(m);
  }

  private request<T>(m: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      this.pending.set(id, resolve as (c: unknown) => void);
      this.post({ ...m, id } as WorkerRequest);
    });
  }

  private onWorkerMessage(m: WorkerMessage): void {
    if (m.type === 'reply') {
      this.pending.get(m.id)?.(m.content);
      this.pending.delete(m.id);
      return;
    }
    if (m.type === 'log') {
      console.warn(`mriseq kernel: ${m.text}`);
      return;
    }
    if (m.type !== 'output') return;
    const parent = this.parents.get(m.id) ?? this.parentHeader;
    const c = m.content as never;
    switch (m.kind) {
      case 'stream':
        return this.stream(c, parent);
      case 'display_data':
        return this.displayData(c, parent);
      case 'update_display_data':
        return this.updateDisplayData(c, parent);
      case 'clear_output':
        return this.clearOutput(c, parent);
      case 'execute_result':
        return this.publishExecuteResult(
          { ...(c as object), execution_count: this.executionCount } as never,
          parent,
        );
      case 'error':
        return this.publishExecuteError(c, parent);
    }
  }

  async kernelInfoRequest(): Promise<KernelMessage.IInfoReplyMsg['content']> {
    return {
      status: 'ok',
      protocol_version: '5.3',
      implementation: 'mriseq-lite',
      implementation_version: '0.1.0',
      language_info: {
        name: 'typescript',
        version: '5',
        mimetype: 'text/typescript',
        file_extension: '.ts',
        codemirror_mode: { name: 'javascript', typescript: true },
        nbconvert_exporter: 'script',
        pygments_lexer: 'typescript',
      },
      banner: 'mriseq TypeScript kernel: cells run in a web worker of this browser tab',
      help_links: [
        { text: 'mriseq teaching site', url: 'https://github.com/mriseq/mriseq/blob/main/docs/teaching.md' },
      ],
    };
  }

  async executeRequest(
    content: KernelMessage.IExecuteRequestMsg['content'],
  ): Promise<KernelMessage.IExecuteReplyMsg['content']> {
    const id = this.nextId;
    this.parents.set(id, this.parentHeader);
    // Keep the last few parents: output of a finished cell (e.g. a late console line) still finds it.
    for (const k of this.parents.keys()) if (k < id - 20) this.parents.delete(k);
    const cellId = (this.parent?.metadata as { cellId?: string } | undefined)?.cellId;
    const reply = await this.request<ExecuteReply>({
      type: 'execute',
      code: content.code,
      executionCount: this.executionCount,
      cellId,
    });
    return { ...reply, execution_count: this.executionCount, user_expressions: {} } as never;
  }

  async completeRequest(
    content: KernelMessage.ICompleteRequestMsg['content'],
  ): Promise<KernelMessage.ICompleteReplyMsg['content']> {
    const cellId = (this.parent?.metadata as { cellId?: string } | undefined)?.cellId;
    return this.request<CompleteReply>({
      type: 'complete',
      code: content.code,
      cursorPos: content.cursor_pos,
      cellId,
    }) as never;
  }

  async inspectRequest(
    content: KernelMessage.IInspectRequestMsg['content'],
  ): Promise<KernelMessage.IInspectReplyMsg['content']> {
    const cellId = (this.parent?.metadata as { cellId?: string } | undefined)?.cellId;
    return this.request<InspectReply>({
      type: 'inspect',
      code: content.code,
      cursorPos: content.cursor_pos,
      detailLevel: content.detail_level,
      cellId,
    }) as never;
  }

  async isCompleteRequest(
    content: KernelMessage.IIsCompleteRequestMsg['content'],
  ): Promise<KernelMessage.IIsCompleteReplyMsg['content']> {
    return this.request<IsCompleteReply>({ type: 'is_complete', code: content.code }) as never;
  }

  async commInfoRequest(): Promise<KernelMessage.ICommInfoReplyMsg['content']> {
    return { status: 'ok', comms: {} };
  }

  inputReply(): void {
    // No stdin: cells cannot ask for input (a worker has no prompt()).
  }

  // No comms (no widgets): messages for comms are ignored.
  async commOpen(): Promise<void> {}
  async commMsg(): Promise<void> {}
  async commClose(): Promise<void> {}
}
