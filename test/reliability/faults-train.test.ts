/**
 * SIGKILL during a checkpoint write of `mriseq train`: what is on disk is always a complete
 * checkpoint (loadCheckpoint accepts it, checksums included; between the write's two renames
 * RUN/last is missing and the loader takes the complete folder beside it), `--resume` resumes
 * from it and finishes with the same weights as an uninterrupted run, and no temp folder is left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine, loadCheckpoint } from '../../src/index.js';
import { spawnSync } from 'node:child_process';
import { mriseq } from './faults-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-fault-train-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const args = (out: string, ...more: string[]) => [
  'train',
  '--phantom',
  '2',
  '--size',
  '16,16,8',
  '--steps',
  '4',
  '--crop',
  '16',
  '--out',
  out,
  '--json',
  ...more,
];
const swapping = (run: string) => (output: string) => {
  // a later checkpoint: an old one exists, so a bad swap could lose it
  if (!output.includes('"step":2')) return false;
  try {
    return readdirSync(run).some((n) => n.startsWith('last.tmp-') || n.startsWith('last.old-'));
  } catch {
    return false;
  }
};

let killedRun = '';
let leftAfterKill: string[] = [];
test(
  'killed while writing a checkpoint: RUN/last is complete, --resume finishes',
  { timeout: 180_000 },
  async () => {
    await initEngine();
    const ref = join(tmp, 'ref');
    const a = await mriseq(args(ref));
    assert.equal(a.status, 0, a.stderr);
    killedRun = join(tmp, 'killed');
    // poll for the checkpoint's temp folder: the kill lands inside saveCheckpoint
    const k = await mriseq(args(killedRun), swapping(killedRun));
    assert.ok(k.killed, `killed during a checkpoint write (status ${k.status})`);
    leftAfterKill = readdirSync(killedRun);
    const c = loadCheckpoint(killedRun, 'last');
    assert.ok(c.state && c.state.step >= 1, 'a complete checkpoint with its training state');
    const step = c.state.step;
    c.model.dispose();
    if (existsSync(join(killedRun, 'last'))) {
      // the poll rarely lands between the two renames: rewrite last/ and kill the writer exactly
      // there (same files, so the resume point is unchanged), leaving no RUN/last at all
      const k2 = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(__dirname, 'atomic-child.ts'),
          'copy',
          join(killedRun, 'last'),
          join(killedRun, 'last'),
          'moved-old',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(k2.signal, 'SIGKILL', k2.stderr);
    }
    assert.ok(!existsSync(join(killedRun, 'last')), 'RUN/last is missing (killed between the renames)');
    const fallback = loadCheckpoint(killedRun, 'last');
    assert.equal(fallback.state?.step, step, 'the loader finds the complete folder beside it');
    fallback.model.dispose();
    const r = await mriseq(args(killedRun, '--resume'));
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(readFileSync(join(killedRun, 'summary.json'), 'utf8')) as {
      steps: number;
      resumedFrom: number | null;
    };
    assert.equal(summary.steps, 4);
    assert.equal(summary.resumedFrom, step, 'resumed from the checkpoint, not started over');
    const got = loadCheckpoint(join(killedRun, 'last'));
    assert.equal(got.state?.step, 4);
    got.model.dispose();
  },
);

test('after kill + resume: same final weights as an uninterrupted run', { timeout: 60_000 }, () => {
  assert.ok(killedRun, 'the kill test ran');
  assert.ok(
    readFileSync(join(killedRun, 'last', 'weights.bin')).equals(
      readFileSync(join(tmp, 'ref', 'last', 'weights.bin')),
    ),
    'resumed run ends with the weights of the uninterrupted run',
  );
});

test('after kill + resume: no half-swapped checkpoint folders left', () => {
  const left = readdirSync(killedRun).filter((n) => /\.(tmp|old)-/.test(n));
  assert.ok(
    leftAfterKill.some((n) => /\.(tmp|old)-/.test(n)),
    `the kill left temp folders to clean: ${leftAfterKill.join(', ')}`,
  );
  assert.deepEqual(left, [], `left by the killed write (just after the kill: ${leftAfterKill.join(', ')})`);
});

// (with --phantom 2 the last subject validates, so best/ is final before the last checkpoint)
test(
  'killed after the final checkpoint, before summary.json: --resume writes it',
  { timeout: 120_000 },
  async () => {
    const ref = join(tmp, 'ref');
    assert.ok(existsSync(join(ref, 'summary.json')), 'the reference run finished');
    const run = join(tmp, 'killed-at-end');
    cpSync(ref, run, { recursive: true });
    rmSync(join(run, 'summary.json'));
    const r = await mriseq(args(run, '--resume'));
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')) as {
      steps: number;
      resumedFrom: number;
      bestStep: number;
    };
    const want = JSON.parse(readFileSync(join(ref, 'summary.json'), 'utf8')) as { bestStep: number };
    assert.equal(summary.steps, 4);
    assert.equal(summary.resumedFrom, 4);
    assert.equal(summary.bestStep, want.bestStep);
    assert.ok(
      readFileSync(join(run, 'best', 'weights.bin')).equals(readFileSync(join(ref, 'best', 'weights.bin'))),
      'best/ untouched',
    );
  },
);
