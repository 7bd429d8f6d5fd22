/**
 * The cohort's simulate, sharded: every shard writes its subjects in place and its own
 * manifest.shard-I-of-N.csv; `mergeRun` must give the single-process folder byte for byte.
 * (No scheduler here: test/scale/slurm.test.ts runs the same through SLURM when the
 * `simulate` command exists.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateToDisk } from '../../src/cohort/node.js';
import { mergeRun } from '../../src/scale/node.js';
import { treeHashes } from '../helpers/tree.js';

test('sharded simulateToDisk + merge is byte-identical to one process (3 shards, 32^3)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-simshard-'));
  try {
    const opts = { subjects: 5, seed: 3, size: [32, 32, 32] as const };
    await simulateToDisk({ ...opts, out: join(dir, 'single') });
    const run = join(dir, 'sharded');
    for (let i = 0; i < 3; i++) await simulateToDisk({ ...opts, out: run, shard: { index: i, count: 3 } });
    assert.ok(readdirSync(run).includes('manifest.shard-2-of-3.csv'));
    const r = mergeRun(run);
    assert.equal(r.commands[0].subjects, 5);
    const merged = treeHashes(run);
    for (const k of Object.keys(merged)) if (/\.shard-\d+-of-\d+\./.test(k)) delete merged[k];
    assert.deepEqual(merged, treeHashes(join(dir, 'single')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
