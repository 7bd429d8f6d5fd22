/**
 * Longer fuzzing than the test suite's fixed-seed run: `npm run fuzz -- --seconds 60 [--seed S]
 * [--target nifti,pair,manifest,checkpoint,cohort]`. Time is shared equally between targets. Each
 * target runs in a child process that writes every input to a file before trying it, so a hang
 * (a synchronous loop no in-process timer can stop) or a crash (out of memory) still leaves the
 * input behind. Every failing input is kept under test/reliability/regressions/, which the suite
 * replays.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../src/index.js';
import { TARGETS, fuzz, saveRegression } from '../test/reliability/targets.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Child mode: fuzz one target, recording the current input in `current`. */
async function child(name: string, seed: number, timeMs: number, current: string): Promise<number> {
  await initEngine();
  const t = TARGETS.find((x) => x.name === name)!;
  const recorded = {
    ...t,
    run: async (b: Uint8Array) => {
      writeFileSync(current, b);
      await t.run(b);
    },
  };
  const r = await fuzz(recorded, { seed, timeMs });
  if (r.failure) {
    const file = saveRegression(t.name, r.failure.input);
    console.log(`${t.name}: FAIL after ${r.runs} cases (seed ${seed}): ${r.failure.message}\n  kept ${file}`);
    return 1;
  }
  console.log(`${t.name}: ${r.runs} cases in ${(timeMs / 1000).toFixed(0)} s, no finding (seed ${seed})`);
  return 0;
}

function parent(): number {
  const seconds = Number(arg('seconds') ?? 60);
  const seed = Number(arg('seed') ?? Math.floor(Math.random() * 2 ** 31));
  const only = arg('target')?.split(',');
  const targets = TARGETS.filter((t) => !only || only.includes(t.name));
  if (!Number.isFinite(seconds) || seconds <= 0 || !Number.isInteger(seed) || targets.length === 0) {
    console.error(
      'usage: npm run fuzz -- --seconds N [--seed S] [--target nifti,pair,manifest,checkpoint,cohort]',
    );
    return 2;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'mriseq-fuzz-run-'));
  let failed = 0;
  try {
    for (const t of targets) {
      const timeMs = (seconds * 1000) / targets.length;
      const current = join(tmp, `${t.name}.current`);
      // startup (engine) plus the slowest case allowed on top of the target's share
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          __filename,
          '--child',
          t.name,
          '--seed',
          String(seed),
          '--ms',
          String(timeMs),
          '--current',
          current,
        ],
        {
          stdio: ['ignore', 'inherit', 'inherit'],
          timeout: timeMs + 90_000,
          killSignal: 'SIGKILL',
          env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
        },
      );
      if (r.status === 0) continue;
      failed++;
      if (r.status === 1) continue; // the child kept its failing input itself
      if (existsSync(current)) {
        const file = saveRegression(t.name, new Uint8Array(readFileSync(current)));
        const why = r.error ? 'hang (killed after its time)' : `crash (${r.signal ?? `exit ${r.status}`})`;
        console.log(`${t.name}: FAIL: ${why} (seed ${seed})\n  kept ${file}`);
      } else console.log(`${t.name}: child failed before any case (${r.signal ?? r.status})`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

const childTarget = arg('child');
if (childTarget)
  void child(childTarget, Number(arg('seed')), Number(arg('ms')), arg('current')!).then((c) =>
    process.exit(c),
  );
else process.exit(parent());
