import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { adjustedRandIndex } from '../../src/cluster/index.js';

test('mriseq cluster on a tiny phantom writes clusters and scores them against the label column', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-cluster-cli-'));
  const log = console.log;
  const write = process.stderr.write.bind(process.stderr);
  let out = '';
  console.log = (...a: unknown[]) => void (out += a.join(' ') + '\n');
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    const code = await main([
      'node',
      'mriseq',
      'cluster',
      '--phantom',
      '12',
      '--label',
      'lesionGroup',
      '--k',
      '2',
      '--epochs',
      '2',
      '--downsample',
      '4',
      '--out',
      dir,
    ]);
    assert.equal(code, 0);
    const rows = readFileSync(join(dir, 'clusters.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    assert.equal(rows.length, 12);
    const summary = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as {
      k: number;
      evaluation: { ari: number };
    };
    assert.equal(summary.k, 2);
    // The reported ARI is the one of the written assignment.
    assert.ok(
      Math.abs(
        summary.evaluation.ari -
          adjustedRandIndex(
            rows.map((r) => r[2]),
            rows.map((r) => r[1]),
          ),
      ) < 1e-12,
    );
    assert.match(out, /NMI/);
  } finally {
    console.log = log;
    process.stderr.write = write;
    rmSync(dir, { recursive: true, force: true });
  }
});
