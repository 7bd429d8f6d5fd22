/**
 * Independent references for tests: Debian's python3 packages (nibabel, scikit-image,
 * scikit-learn, PyTorch) belong to /usr/bin/python3, not to the python3 first on PATH.
 */
import { spawnSync } from 'node:child_process';

export const PYTHON = process.env.MRISEQ_REF_PYTHON ?? '/usr/bin/python3';

const availability = new Map<string, string | undefined>();

/**
 * Returns undefined when every module imports, else a message saying what is missing; pass it to
 * `test(..., { skip })` so a skipped reference test says why, never silently.
 */
export function missingPython(...modules: string[]): string | undefined {
  const key = modules.join(',');
  if (!availability.has(key)) {
    const r = spawnSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
    availability.set(
      key,
      r.status === 0
        ? undefined
        : `reference needs ${PYTHON} with ${modules.join(', ')} (apt-get install python3-nibabel python3-skimage python3-sklearn python3-torch)`,
    );
  }
  return availability.get(key);
}

/** Runs a Python script with JSON on stdin and returns the JSON it prints on stdout. */
export function runPython<T = unknown>(script: string, input: unknown = null, args: string[] = []): T {
  const r = spawnSync(PYTHON, ['-c', script, ...args], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, OMP_NUM_THREADS: '2' },
  });
  if (r.status !== 0) throw new Error(`python reference failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
