/**
 * The PyTorch side of the bench: one long-lived worker (bench/torch/server.py) run with Debian's
 * /usr/bin/python3 (which has python3-torch), so that the runner can alternate PyTorch's
 * repetitions with mriseq's (bench/index.ts explains why).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { withoutAllocatorEnv } from '../src/engine/malloc-node.js';
import { join } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import { createInterface } from 'node:readline';

/** libgomp's wait policy for PyTorch's threads now (TorchWorker.waitPolicy says why). */
export function torchWaitPolicy(): string {
  return process.env.OMP_WAIT_POLICY ?? (loadavg()[0]! > availableParallelism() ? 'PASSIVE' : 'default');
}

export const TORCH_PYTHON = process.env.MRISEQ_REF_PYTHON ?? '/usr/bin/python3';

/** A PyTorch case: `build(case, args)` of a Python module returns a function running one repetition. */
export interface TorchCase {
  /** Path of the Python module (e.g. join(__dirname, 'torch', 'conv.py')). */
  module: string;
  case: string;
  args?: Record<string, unknown>;
}

/** Why PyTorch cannot run here, or undefined when it can. */
export function torchMissing(): string | undefined {
  const r = spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${TORCH_PYTHON} cannot import torch (apt-get install python3-torch)`;
}

type Reply = { error?: string } & Record<string, unknown>;

export class TorchWorker {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting: ((r: Reply) => void)[] = [];
  private exited: string | undefined;

  /**
   * libgomp's wait policy for PyTorch's threads: its default spin-wait is kept on a machine with
   * cores to spare (the runner pauses between the two sides instead, see switchMs in
   * bench/alternate.ts), PASSIVE when the load exceeds the cores: with other processes on the
   * cores, threads spinning at a barrier wait for a descheduled peer, and a lite generator step
   * took 2-16 s instead of 0.1-0.5 s (2026-12-07, load 13-16 on 2 cores). OMP_WAIT_POLICY wins.
   */
  readonly waitPolicy: string;

  constructor(threads: number) {
    this.waitPolicy = torchWaitPolicy();
    const wait = this.waitPolicy === 'default' ? {} : { OMP_WAIT_POLICY: this.waitPolicy };
    this.proc = spawn(TORCH_PYTHON, [join(__dirname, 'torch', 'server.py'), String(threads)], {
      // the same thread count as the engines
      // PyTorch as its users run it: glibc's malloc, not the jemalloc mriseq preloads for itself
      env: {
        ...withoutAllocatorEnv(process.env),
        OMP_NUM_THREADS: String(threads),
        MKL_NUM_THREADS: String(threads),
        ...wait,
      },
    });
    let err = '';
    this.proc.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let r: Reply;
      try {
        r = JSON.parse(line) as Reply;
      } catch {
        return; // a stray print from an imported module
      }
      this.waiting.shift()?.(r);
    });
    this.proc.on('exit', (code) => {
      this.exited = `PyTorch worker exited (${code}): ${err.trim().split('\n').pop() ?? ''}`;
      for (const w of this.waiting.splice(0)) w({ error: this.exited });
    });
  }

  private request(msg: Record<string, unknown>): Promise<Reply> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.push((r) => (r.error ? reject(new Error(r.error)) : resolve(r)));
      this.proc.stdin.write(JSON.stringify(msg) + '\n');
    });
  }

  info(): Promise<{ torch: string; threads: number; malloc?: string }> {
    return this.request({ cmd: 'info' }) as Promise<
      Reply & { torch: string; threads: number; malloc?: string }
    >;
  }

  /** Builds a case and runs it `warm` times untimed. */
  async setup(c: TorchCase, warm: number): Promise<void> {
    await this.request({ cmd: 'setup', module: c.module, case: c.case, args: c.args ?? {}, warm });
  }

  /** Times `reps` repetitions of the case set up last after `warm` untimed ones (ms each, timed in Python). */
  async time(reps: number, warm = 0): Promise<number[]> {
    const r = await this.request({ cmd: 'time', reps, warm });
    return r.ms as number[];
  }

  close(): void {
    if (!this.exited) this.proc.stdin.end();
  }
}
