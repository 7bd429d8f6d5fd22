/**
 * SIGKILL during `mriseq simulate`: the rerun completes, and the folder is byte-for-byte the one an
 * uninterrupted run writes (every NIfTI, the manifest, the recipe), with no temporary file left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countFiles, leftovers, mriseq, treeHashes } from './faults-helpers.js';

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

// temp files of the cohort module's writeTextAtomic (recipe, manifest): a rerun does not remove
// those of a killed writer yet (reported; see the todo test below)
const cohortTemp = (f: string) =>
  /^(\.mriseq-simulate\.json|manifest[^/]*\.csv)\.\d+\.[0-9a-f]+\.tmp$/.test(f);
const cohortLeft: string[] = [];

test('simulate killed part way, then rerun, equals an uninterrupted run', { timeout: 180_000 }, async () => {
  const ref = join(tmp, 'ref');
  const a = await mriseq(args(ref));
  assert.equal(a.status, 0, a.stderr);
  const want = treeHashes(ref);
  assert.ok(want.size > 40, `reference run wrote ${want.size} files`);
  // kill at different points: after the first file, about half way, near the end
  for (const [i, threshold] of [1, Math.floor(want.size / 2), want.size - 4].entries()) {
    const out = join(tmp, `killed-${i}`);
    const k = await mriseq(args(out), () => countFiles(out) >= threshold);
    assert.ok(k.killed && k.signal === 'SIGKILL', `run ${i} was killed (status ${k.status})`);
    const partial = countFiles(out);
    assert.ok(partial < want.size + 1, `run ${i}: killed with ${partial} files`);
    const r = await mriseq(args(out));
    assert.equal(r.status, 0, r.stderr);
    const left = leftovers(out);
    cohortLeft.push(...left.filter(cohortTemp));
    assert.deepEqual(
      left.filter((f) => !cohortTemp(f)),
      [],
      'no temporary or partial NIfTI files',
    );
    assert.deepEqual(
      treeHashes(out, cohortTemp),
      want,
      `run ${i} (killed at ${partial} files): same files, same bytes`,
    );
  }
});

test(
  'no temp file of the recipe or manifest left after kill + rerun',
  { todo: 'src/cohort writeTextAtomic: a rerun does not remove <file>.<pid>.<hex>.tmp of a killed writer' },
  () => {
    assert.deepEqual(cohortLeft, []);
  },
);
