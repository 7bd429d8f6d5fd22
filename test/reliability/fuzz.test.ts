/**
 * Fixed-seed short fuzzing of every reader that meets untrusted bytes (see ./targets.ts), and a
 * replay of every crasher kept under ./regressions. `npm run fuzz -- --seconds N` runs longer with
 * a random seed and keeps what it finds there.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { initEngine } from '../../src/index.js';
import { REGRESSIONS, TARGETS, fuzz, regressionFiles } from './targets.js';

// a few seconds per target on this machine; the run count keeps it deterministic
const RUNS: Record<string, number> = { nifti: 600, pair: 200, manifest: 800, checkpoint: 60, cohort: 150 };
const SEED = 20261125;

test('engine', async () => {
  await initEngine();
});

for (const target of TARGETS) {
  test(
    `fuzz ${target.name}: value or MriseqError, never another exception or a hang`,
    { timeout: 120_000 },
    async () => {
      const r = await fuzz(target, { seed: SEED, numRuns: RUNS[target.name] ?? 100 });
      if (r.failure)
        assert.fail(
          `${target.name} (seed ${SEED}): ${r.failure.message}\ninput (base64): ${Buffer.from(r.failure.input).toString('base64').slice(0, 2000)}`,
        );
      assert.ok(r.runs >= (RUNS[target.name] ?? 100), `ran ${r.runs} cases`);
    },
  );
}

const kept = regressionFiles();
test(`replay ${kept.length} kept crasher files`, { timeout: 120_000 }, async () => {
  for (const { target, file } of kept) {
    await target.run(new Uint8Array(readFileSync(file)));
  }
});

test('the harness itself fails on a non-MriseqError (so a green run means something)', async () => {
  const thrower = {
    name: 'thrower',
    arbitrary: () => fc.uint8Array({ maxLength: 4 }) as fc.Arbitrary<Uint8Array>,
    run: async (b: Uint8Array) => {
      if (b.length > 2) throw new Error('boom');
    },
  };
  const r = await fuzz(thrower, { seed: 1, numRuns: 200 });
  assert.ok(r.failure, 'a throwing target must fail');
  assert.ok(r.failure.input.length > 2);
  const nifti = TARGETS.find((t) => t.name === 'nifti')!;
  // a clean file must pass through the real target without a finding
  await nifti.run(new Uint8Array(readFileSync(`${__dirname}/seeds/n1-int16.nii`)));
});

// Crashers whose fix belongs to a module still being finished: each replays in its own process
// with a time limit and is reported as todo until its owner fixes it (then move it up a folder).
const OPEN = join(REGRESSIONS, 'open');
// (git keeps no empty folder: none open means no folder)
for (const name of (existsSync(OPEN) ? readdirSync(OPEN) : []).filter((n) => n.endsWith('.bin'))) {
  test(`open crasher ${name}`, { todo: 'open bug, see the reliability report', timeout: 120_000 }, () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(__dirname, 'replay-child.ts'), join(OPEN, name)],
      {
        encoding: 'utf8',
        timeout: 15_000,
        killSignal: 'SIGKILL',
        env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
      },
    );
    assert.equal(r.status, 0, r.error ? 'hang: killed after 15 s' : r.stdout + r.stderr);
  });
}
