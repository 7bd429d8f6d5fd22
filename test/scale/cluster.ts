/**
 * The real one-node SLURM cluster for scale tests: started by scripts/slurm-start.sh in a before
 * hook, stopped by scripts/slurm-stop.sh in the after hook and, should the test process die
 * first, on process exit. Where it cannot start, `skip` says why (never a silent pass).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
export const SLURM_ROOT = process.env.MRISEQ_SLURM_ROOT ?? '/tmp/mriseq-slurm';
const env = {
  ...process.env,
  MRISEQ_SLURM_ROOT: SLURM_ROOT,
  MRISEQ_SLURM_CPUS: process.env.MRISEQ_SLURM_CPUS ?? '8',
};

export interface Cluster {
  /** Why the cluster is not available, or undefined when it runs. */
  skip?: string;
  stop(): void;
}

let stopped = false;
function stopCluster(): void {
  if (stopped) return;
  stopped = true;
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'slurm-stop.sh')], { env, encoding: 'utf8' });
  if (r.status !== 0) console.error(`slurm-stop.sh failed: ${r.stderr}`);
}

export function startCluster(): Cluster {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'slurm-start.sh')], {
    env,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) {
    // it may have started some daemons before failing
    spawnSync('bash', [join(ROOT, 'scripts', 'slurm-stop.sh')], { env });
    const why =
      r.status === 3 ? 'SLURM cannot be started here' : `scripts/slurm-start.sh failed (exit ${r.status})`;
    return {
      skip: `${why}: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`,
      stop: () => {},
    };
  }
  process.env.SLURM_CONF = join(SLURM_ROOT, 'etc', 'slurm.conf');
  stopped = false;
  process.once('exit', stopCluster);
  // a killed test run (Ctrl-C, CI timeout) must not leave daemons behind either
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      stopCluster();
      process.exit(130);
    });
  }
  return { stop: stopCluster };
}

/** The pid files' daemons that are still alive (not zombies): must be empty after stop. */
export function liveDaemons(): string[] {
  const left: string[] = [];
  for (const [file, comm] of [
    [join(SLURM_ROOT, 'run', 'slurmctld.pid'), 'slurmctld'],
    [join(SLURM_ROOT, 'run', 'slurmd.pid'), 'slurmd'],
  ]) {
    let pid = '';
    try {
      pid = readFileSync(file, 'utf8').trim();
    } catch {
      continue;
    }
    try {
      const c = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      if (c === comm && st !== 'Z') left.push(`${comm} ${pid}`);
    } catch {
      /* gone */
    }
  }
  return left;
}

/** Runs the mriseq CLI from source, as a user would. */
export function mriseq(
  args: string[],
  extraEnv: Record<string, string> = {},
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs'),
      join(ROOT, 'src', 'cli', 'main.ts'),
      ...args,
    ],
    { encoding: 'utf8', env: { ...process.env, ...extraEnv }, timeout: 300_000 },
  );
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

export const RUN_BOOKKEEPING = ['parts', 'slurm', 'slurm.json'];
