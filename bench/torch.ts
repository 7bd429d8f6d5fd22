/**
 * Runs a PyTorch baseline script with Debian's /usr/bin/python3 (which has python3-torch), JSON in
 * on stdin, one JSON object out (the last line of stdout). For bench modules' `torch()` hooks.
 */
import { spawnSync } from 'node:child_process';

export const TORCH_PYTHON = process.env.MRISEQ_REF_PYTHON ?? '/usr/bin/python3';

/** Why PyTorch cannot run here, or undefined when it can. */
export function torchMissing(): string | undefined {
  const r = spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${TORCH_PYTHON} cannot import torch (apt-get install python3-torch)`;
}

export function runTorch<T>(scriptPath: string, input: unknown, threads: number): T {
  const r = spawnSync(TORCH_PYTHON, [scriptPath], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) },
  });
  if (r.status !== 0)
    throw new Error(`${scriptPath} failed (${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
