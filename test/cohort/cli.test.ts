/**
 * The cohort commands end to end, in process: simulate -> manifest check passes; a broken
 * manifest fails with exit status 2 after listing every problem; scan rebuilds the manifest.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as run } from '../helpers/cli.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mriseq-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('simulate, check, scan; a broken manifest exits 2 listing each problem', async () => {
  const out = join(dir, 'sim');
  const sim = await run([
    'simulate',
    '--out',
    out,
    '--subjects',
    '2',
    '--seed',
    '4',
    '--size',
    '16,16,8',
    '--quiet',
  ]);
  assert.equal(sim.code, 0, sim.err);
  const ok = await run(['manifest', 'check', join(out, 'manifest.csv')]);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, /2 subjects, \d+ files, 0 problems/);
  const csv = await readFile(join(out, 'manifest.csv'), 'utf8');
  const lines = csv.trim().split('\n');
  await writeFile(
    join(out, 'bad.csv'),
    [lines[0], lines[1], lines[1]!.replace('sim-00000_t2', 'sim-00000_t9')].join('\n') + '\n',
  );
  const bad = await run(['manifest', 'check', join(out, 'bad.csv')]);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /row 2, column id: duplicate id/);
  assert.match(bad.out, /row 2, column t2: file not found/);
  assert.match(bad.err, /2 problems found/);
  const scan = await run(['manifest', 'scan', out, '--layout', 'brats', '--out', join(out, 'scanned.csv')]);
  assert.equal(scan.code, 0, scan.err);
  assert.match(scan.out, /2 subjects, sequences t1, t1gd, t2, flair/);
  const wrong = await run(['simulate', '--out', out, '--size', '4,4']);
  assert.equal(wrong.code, 2);
  assert.match(wrong.err, /--size/);
});
