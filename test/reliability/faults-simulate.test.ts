/**
 * SIGKILL during `mriseq simulate`: the rerun completes, and the folder is byte-for-byte the one an
 * uninterrupted run writes (every NIfTI, the manifest, the recipe), with no temporary file left,
 * also when the kill landed while the recipe or the manifest was being written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countFiles, leftovers, mriseq } from './faults-helpers.js';
import { treeHashes } from '../helpers/tree.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-fault-sim-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const args = (out: string) => [
  'simulate',
  '--out',
  out,
  '--subjects',
  '6',
  '--size',
  '16,16,8',
  '--seed',
  '3',
  '--quiet',
];

test('simulate killed part way, then rerun, equals an uninterrupted run', { timeout: 180_000 }, async () => {
  const ref = join(tmp, 'ref');
  const a = await mriseq(args(ref));
  assert.equal(a.status, 0, a.stderr);
  const want = treeHashes(ref);
  const files = Object.keys(want).length;
  assert.ok(files > 40, `reference run wrote ${files} files`);
  // kill at different points: after the first file, about half way, near the end
  for (const [i, threshold] of [1, Math.floor(files / 2), files - 4].entries()) {
    const out = join(tmp, `killed-${i}`);
    const k = await mriseq(args(out), () => countFiles(out) >= threshold);
    assert.ok(k.killed && k.signal === 'SIGKILL', `run ${i} was killed (status ${k.status})`);
    const partial = countFiles(out);
    assert.ok(partial < files + 1, `run ${i}: killed with ${partial} files`);
    const r = await mriseq(args(out));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(leftovers(out), [], 'no temporary or partial files');
    assert.deepEqual(treeHashes(out), want, `run ${i} (killed at ${partial} files): same files, same bytes`);
  }
});

// The kill above rarely lands inside the short recipe and manifest writes: kill a writer of each
// exactly there (after its temp is written, before the rename), then rerun.
test(
  'killed while writing the recipe and the manifest: the rerun leaves no temp file',
  { timeout: 120_000 },
  async () => {
    const out = join(tmp, 'killed-in-text');
    const first = await mriseq(args(out));
    assert.equal(first.status, 0, first.stderr);
    const want = treeHashes(out);
    rmSync(join(out, '.mriseq-simulate.json'));
    rmSync(join(out, 'manifest.csv'));
    const child = join(__dirname, 'atomic-child.ts');
    for (const name of ['.mriseq-simulate.json', 'manifest.csv']) {
      const k = spawnSync(process.execPath, ['--import', 'tsx', child, 'file', join(out, name), 'half'], {
        encoding: 'utf8',
      });
      assert.equal(k.signal, 'SIGKILL', k.stderr);
    }
    assert.equal(leftovers(out).length, 2, `the killed writers left temps: ${readdirSync(out).join(', ')}`);
    const r = await mriseq(args(out));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(leftovers(out), []);
    assert.deepEqual(treeHashes(out), want);
  },
);
