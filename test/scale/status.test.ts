/**
 * Status bookkeeping with a scripted scheduler (the real one is in slurm.test.ts): squeue's
 * compressed pending ranges, jobs the controller has forgotten (MinJobAge, no accounting), and
 * which shards retry resubmits. The squeue lines are in the format SLURM 22.05 prints for
 * `-o '%i|%T|%r|%F|%K'` (captured from the test cluster).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { retryRun, runSelftest, runStatus, submitRun, type Exec } from '../../src/scale/node.js';

function fakeScheduler(squeue: Record<string, string>): { exec: Exec; calls: string[][] } {
  const calls: string[][] = [];
  let next = 100;
  const exec: Exec = async (cmd, args) => {
    calls.push([cmd, ...args]);
    if (cmd === 'sbatch') return { code: 0, stdout: `${next++}\n`, stderr: '' };
    if (cmd === 'squeue') {
      const id = args[args.indexOf('-j') + 1];
      return id in squeue
        ? { code: 0, stdout: squeue[id], stderr: '' }
        : { code: 1, stdout: '', stderr: 'slurm_load_jobs error: Invalid job id specified' };
    }
    if (cmd === 'sacct') return { code: 1, stdout: '', stderr: 'Slurm accounting storage is disabled' };
    return { code: 0, stdout: '', stderr: '' };
  };
  return { exec, calls };
}

test('pending ranges expand to their shards; forgotten jobs fall back to the shards’ output', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-status-'));
  try {
    const run = join(dir, 'run');
    const command = ['slurm', 'selftest', '--out', run, '--subjects', '6', '--size', '2'];
    const live = fakeScheduler({
      '100':
        '100_0|RUNNING|None|100|0\n100_1|COMPLETED|None|100|1\n100_[2-5%2]|PENDING|JobArrayTaskLimit|100|2-5%2\n',
      '101': '101|PENDING|Dependency|101|N/A\n',
    });
    await submitRun({ run, shards: 6, maxParallel: 2, command }, live.exec);
    assert.deepEqual(live.calls[0].slice(0, 3), ['sbatch', '--parsable', '--array=0-5%2']);
    assert.deepEqual(live.calls[1].slice(0, 4), [
      'sbatch',
      '--parsable',
      '--dependency=afterok:100',
      '--kill-on-invalid-dep=yes',
    ]);
    const s = await runStatus(run, live.exec);
    assert.deepEqual(
      s.shards.map((x) => x.state),
      ['RUNNING', 'COMPLETED', 'PENDING', 'PENDING', 'PENDING', 'PENDING'],
    );
    assert.equal(s.shards[4].reason, 'JobArrayTaskLimit');
    assert.equal(s.merge?.state, 'PENDING');
    assert.equal(s.done, false);
    await assert.rejects(retryRun(run, live.exec), /still has jobs queued or running/);

    // later: the controller has forgotten everything; shards 0, 2, 3 left finished parts
    for (const i of [0, 2, 3])
      await runSelftest({ out: run, subjects: 6, size: 2, shard: { index: i, count: 6 } });
    const gone = fakeScheduler({});
    const g = await runStatus(run, gone.exec);
    assert.deepEqual(
      g.shards.map((x) => x.state),
      ['COMPLETED', 'UNKNOWN', 'COMPLETED', 'COMPLETED', 'UNKNOWN', 'UNKNOWN'],
    );
    assert.match(g.shards[2].reason ?? '', /forgotten.*selftest-2-of-6/);
    assert.equal(g.done, true);
    const r = await retryRun(run, gone.exec);
    assert.deepEqual(r.resubmitted, [1, 4, 5]);
    assert.ok(
      gone.calls.some((c) => c[0] === 'sbatch' && c.includes('--array=1,4-5%2')),
      JSON.stringify(gone.calls),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
