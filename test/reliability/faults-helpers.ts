/** Running the CLI as a child process and killing it part way, for the fault-injection tests. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const main = join(__dirname, '..', '..', 'src', 'cli', 'main.ts');
const root = join(__dirname, '..', '..');

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when killWhen fired and the child was SIGKILLed. */
  killed: boolean;
}

/** Runs `mriseq args`; when killWhen(output so far) turns true (polled every 10 ms) the child gets SIGKILL. */
export function mriseq(args: string[], killWhen?: (output: string) => boolean): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      cwd: root,
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = killWhen
      ? setInterval(() => {
          let fire = false;
          try {
            fire = killWhen(stdout + stderr);
          } catch {
            fire = false;
          }
          if (fire && !killed) {
            killed = true;
            p.kill('SIGKILL');
          }
        }, 10)
      : undefined;
    p.on('close', (status, signal) => {
      if (timer) clearInterval(timer);
      resolve({ status, signal, stdout, stderr, killed });
    });
  });
}

/** Every file under dir (relative path -> sha256), hidden ones included. */
export function treeHashes(dir: string, skip: (rel: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  (function walk(d: string) {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (skip(rel)) continue;
      if (statSync(p).isDirectory()) walk(p);
      else out.set(rel, createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  })(dir);
  return out;
}

/** Files a tidy writer never leaves behind: temp files, half-swapped folders. */
export function leftovers(dir: string): string[] {
  return [...treeHashes(dir).keys()].filter((f) => /\.tmp\b|\.tmp-|\.old-|\.partial/.test(f));
}

/** Number of files under dir (0 if it does not exist). */
export function countFiles(dir: string): number {
  try {
    return treeHashes(dir).size;
  } catch {
    return 0;
  }
}
