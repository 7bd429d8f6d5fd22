/**
 * The notebook side: `await submit({...})` returns a handle whose status()/wait()/cancel()/retry()
 * talk to SLURM and whose toMimeBundle() shows per-shard progress (text and HTML).
 */
import { display } from '../display/index.js';
import {
  cancelRun,
  execSlurm,
  failureError,
  formatStatus,
  readRecord,
  retryRun,
  runStatus,
  submitRun,
  waitRun,
  type Exec,
  type RunStatus,
  type SlurmRecord,
  type SubmitOptions,
  type WaitOptions,
} from './slurm.js';

export interface MimeBundle {
  'text/plain': string;
  'text/html': string;
}

const COLOURS: Record<string, string> = {
  COMPLETED: '#2e7d32',
  RUNNING: '#1565c0',
  PENDING: '#9e9e9e',
  FAILED: '#c62828',
  CANCELLED: '#6d4c41',
  TIMEOUT: '#ef6c00',
  OUT_OF_MEMORY: '#ad1457',
};

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Per-shard progress as a plain-text and HTML bundle (one coloured cell per shard). */
export function statusMimeBundle(s: RunStatus): MimeBundle {
  const done = s.shards.filter((x) => x.state === 'COMPLETED').length;
  const cells = s.shards
    .map((x) => {
      const c = COLOURS[x.state] ?? '#757575';
      const title = esc(`shard ${x.shard}: ${x.state}${x.reason ? ` (${x.reason})` : ''} - log ${x.log}`);
      return `<span title="${title}" style="display:inline-block;width:14px;height:14px;margin:1px;background:${c}"></span>`;
    })
    .join('');
  const failed = s.failed.length
    ? `<ul>${s.failed.map((f) => `<li>shard ${f.shard} ${esc(f.state)}: <code>${esc(f.log)}</code></li>`).join('')}</ul>`
    : '';
  const merge = s.merge
    ? `<div>merge: <b>${esc(s.merge.state)}</b>${s.merge.reason ? ` (${esc(s.merge.reason)})` : ''}</div>`
    : '';
  const html =
    `<div class="mriseq-slurm"><div><b>mriseq ${esc(s.command.join(' '))}</b> - ${done}/${s.shards.length} shards completed` +
    `${s.done ? (s.ok ? ' - done' : ' - finished with failures') : ''}</div><div>${cells}</div>${failed}${merge}</div>`;
  return { 'text/plain': formatStatus(s), 'text/html': html };
}

/**
 * A handle on a submitted SLURM run (see {@link submit}); in a notebook it displays as a live
 * per-shard progress table.
 *
 * @example
 * ```ts
 * import { SlurmRun } from 'mriseq';
 * const run = new SlurmRun('runs/sim');
 * const s = await run.wait({ interval: 30 });
 * console.log(s.ok);
 * ```
 */
export class SlurmRun {
  /** The last status seen (what toMimeBundle shows). */
  last?: RunStatus;

  constructor(
    readonly run: string,
    private readonly exec: Exec = execSlurm,
  ) {}

  get record(): SlurmRecord {
    return readRecord(this.run);
  }

  async status(): Promise<RunStatus> {
    this.last = await runStatus(this.run, this.exec);
    return this.last;
  }

  /**
   * Waits for every job; rejects with an error naming failed shards and their logs. In a notebook
   * the cell shows the per-shard progress and updates it in place at every poll.
   */
  async wait(opts: WaitOptions & { live?: boolean } = {}): Promise<RunStatus> {
    const shown = opts.live === false ? undefined : display(this);
    const s = await waitRun(
      this.run,
      {
        ...opts,
        onProgress: (x) => {
          this.last = x;
          shown?.update(this);
          opts.onProgress?.(x);
        },
      },
      this.exec,
    );
    this.last = s;
    if (!s.ok) throw failureError(s);
    return s;
  }

  async cancel(): Promise<RunStatus> {
    this.last = await cancelRun(this.run, this.exec);
    return this.last;
  }

  /** Resubmits the failed shards and the merge; returns the shard indices resubmitted. */
  async retry(): Promise<number[]> {
    return (await retryRun(this.run, this.exec)).resubmitted;
  }

  toMimeBundle(): MimeBundle {
    if (!this.last)
      return {
        'text/plain': `SLURM run ${this.run} (call status())`,
        'text/html': `<div>SLURM run <code>${esc(this.run)}</code></div>`,
      };
    return statusMimeBundle(this.last);
  }
}

/**
 * Submits a sharded command as a SLURM array plus merge; the handle follows it from a cell.
 * Needs SLURM's sbatch/squeue/sacct on PATH (or an `exec` that runs them).
 *
 * @param opts - {@link SubmitOptions} (run folder, mriseq command, shards, resources) and optionally
 *   `exec`, the runner of SLURM commands.
 * @returns A {@link SlurmRun} handle: `status()`, `wait()`, `cancel()`, `retry()`; a notebook shows it.
 * @throws {@link MriseqError} when the run still has jobs queued or running, or sbatch fails.
 * @example
 * ```ts
 * import { submit } from 'mriseq';
 * const run = await submit({ run: 'runs/sim', command: ['simulate', '--out', 'runs/sim', '--subjects', '1000'], shards: 10, dryRun: true });
 * console.log(run.record);
 * ```
 */
export async function submit(opts: SubmitOptions & { exec?: Exec }): Promise<SlurmRun> {
  const exec = opts.exec ?? execSlurm;
  await submitRun(opts, exec);
  const h = new SlurmRun(opts.run, exec);
  await h.status();
  return h;
}

/**
 * A handle on a run submitted earlier (e.g. from the command line).
 * @param run - The run folder (holds slurm.json).
 * @param exec - Runner of SLURM commands (default: the real ones).
 * @returns A {@link SlurmRun} handle on it.
 * @example
 * ```ts
 * import { attach } from 'mriseq';
 * const status = await attach('runs/sim').status();
 * console.log(status.counts, status.done);
 * ```
 */
export function attach(run: string, exec: Exec = execSlurm): SlurmRun {
  return new SlurmRun(run, exec);
}
