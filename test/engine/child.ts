/** A TypeScript snippet run in a fresh Node process (engine choices and malloc settings are per process). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

/** Runs code as an .mts module with the environment given (undefined removes a variable). */
export function runChild(
  code: string,
  env: Record<string, string | undefined>,
): { status: number | null; stdout: string; stderr: string } {
  const e: NodeJS.ProcessEnv = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' };
  for (const [k, v] of Object.entries(env))
    if (v === undefined) delete e[k];
    else e[k] = v;
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-child-'));
  try {
    const file = join(dir, 'child.mts');
    writeFileSync(file, code);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
      cwd: ROOT,
      encoding: 'utf8',
      env: e,
      timeout: 120_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
