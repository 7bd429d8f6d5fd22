/** Running the CLI as a child process and killing it part way, for the fault-injection tests. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { treeHashes } from '../helpers/tree.js';

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

/** Files a tidy writer never leaves behind: temp files, half-swapped folders. */
export function leftovers(dir: string): string[] {
  return Object.keys(treeHashes(dir)).filter((f) => /\.tmp\b|\.tmp-|\.old-|\.partial/.test(f));
}

/** Number of files under dir (0 if it does not exist). */
export function countFiles(dir: string): number {
  try {
    return Object.keys(treeHashes(dir)).length;
  } catch {
    return 0;
  }
}
