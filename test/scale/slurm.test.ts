/**
 * mriseq slurm against a real one-node SLURM (Debian slurmctld/slurmd/munge on loopback, started
 * by scripts/slurm-start.sh). The references are the single-process output of the same command
 * (byte for byte) and the scheduler's own view of the jobs (squeue).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cancelRun,
  readRecord,
  retryRun,
  runStatus,
  submit,
  submitRun,
  waitRun,
} from '../../src/scale/node.js';
import { evaluateArgs, makePhantomRun } from '../helpers/phantom-run.js';
import { treeHashes } from '../helpers/tree.js';
import { RUN_BOOKKEEPING, liveDaemons, mriseq, startCluster, type Cluster } from './cluster.js';

const cluster: Cluster = startCluster();
const skip = cluster.skip;
if (skip) console.log(`# SKIP scale/slurm tests: ${skip}`);
const work = mkdtempSync(join(tmpdir(), 'mriseq-slurm-test-'));

after(() => {
  cluster.stop();
  if (!skip) assert.deepEqual(liveDaemons(), [], 'slurm-stop.sh left daemons running');
  rmSync(work, { recursive: true, force: true });
});

/** `mriseq slurm selftest` over `subjects` subjects (seed 7) into `out`. */
const selftest = (out: string, subjects: number, ...extra: string[]): string[] => [
  'slurm',
  'selftest',
  '--out',
  out,
  '--subjects',
  String(subjects),
  '--seed',
  '7',
  ...extra,
];

/** `mriseq slurm submit OPTIONS --run RUN --wait -- COMMAND`, polling the scheduler every 0.3 s. */
const submitWait = (run: string, options: string[], command: string[]): string[] => [
  'slurm',
  'submit',
  ...options,
  '--run',
  run,
  '--wait',
  '--interval',
  '0.3',
  '--',
  ...command,
];

/** The same selftest run in one process: the reference every sharded run must equal. */
function singleProcess(name: string, subjects: number): Record<string, string> {
  const dir = join(work, name);
  const r = mriseq(selftest(dir, subjects));
  assert.equal(r.code, 0, r.stderr);
  return treeHashes(dir);
}

/** Each shard of the run's first array ran as its own task: its log says which, its part holds `file`. */
function assertShardsRan(run: string, command: string, shards: number, file: string): void {
  const rec = readRecord(run);
  for (let i = 0; i < shards; i++) {
    const log = readFileSync(
      join(run, 'slurm', 'logs', `${command}-${i}.${rec.submissions[0].arrayJobId}.log`),
      'utf8',
    );
    assert.match(log, new RegExp(`shard ${i}/${shards} of ${command}`));
    assert.ok(existsSync(join(run, 'parts', `${command}-${i}-of-${shards}`, file)));
  }
}

function activeJobs(ids: string[]): string {
  // default squeue states: only pending and running jobs
  const r = spawnSync('squeue', ['-h', '-o', '%i %T', '-j', ids.join(',')], { encoding: 'utf8' });
  return r.stdout.trim();
}

describe('mriseq slurm on a real one-node cluster', { skip }, () => {
  before(() => assert.ok(process.env.SLURM_CONF));

  test('sharded selftest + merge is byte-identical to the single-process output', () => {
    const reference = singleProcess('single-a', 11);
    const run = join(work, 'sharded-a');
    const r = mriseq(submitWait(run, ['--shards', '4', '--max-parallel', '4'], selftest(run, 11)));
    assert.equal(r.code, 0, r.stderr);
    const merged = treeHashes(run, RUN_BOOKKEEPING);
    assert.deepEqual(merged, reference);
    // every shard really ran as its own array task, with its own log
    assert.equal(readRecord(run).submissions.length, 1);
    assertShardsRan(run, 'selftest', 4, '_shard.json');
  });

  test('sharded `mriseq simulate` through SLURM + merge is byte-identical to one process', () => {
    const single = join(work, 'sim-single');
    const common = ['--subjects', '4', '--size', '32,32,32', '--seed', '3', '--quiet'];
    const one = mriseq(['simulate', '--out', single, ...common]);
    assert.equal(one.code, 0, one.stderr);
    const run = join(work, 'sim-sharded');
    const r = mriseq(submitWait(run, ['--shards', '3'], ['simulate', '--out', run, ...common]));
    assert.equal(r.code, 0, r.stderr);
    const merged = treeHashes(run, RUN_BOOKKEEPING);
    for (const k of Object.keys(merged)) if (/^manifest\.shard-\d-of-3\.csv$/.test(k)) delete merged[k];
    assert.deepEqual(merged, treeHashes(single));
  });

  test('sharded `mriseq evaluate` through SLURM + merge equals the single-process table', async () => {
    const { manifest, model } = await makePhantomRun(join(work, 'eval'), { subjects: 4 });
    const args = (out: string) => evaluateArgs(model, manifest, out, ['t1', 't2']);
    const single = join(work, 'eval-single.csv');
    const one = mriseq(args(single));
    assert.equal(one.code, 0, one.stderr);
    const reference = readFileSync(single, 'utf8');
    assert.equal(reference.trim().split('\n').length, 1 + 4 * 4, 'header + 4 subjects x 2 x 2 pairs');
    const run = join(work, 'eval-sharded');
    const r = mriseq(submitWait(run, ['--shards', '2'], args(join(run, 'evaluation.csv'))));
    assert.equal(r.code, 0, r.stderr);
    assertShardsRan(run, 'evaluate', 2, 'evaluation.csv');
    assert.equal(readFileSync(join(run, 'evaluation.csv'), 'utf8'), reference);
  });

  test('a failing shard: --wait exits non-zero naming it and its log, the merge is cancelled; retry completes the run', async () => {
    const reference = singleProcess('single-b', 9);
    const run = join(work, 'sharded-b');
    const trigger = join(work, 'fail-b');
    writeFileSync(trigger, 'shard 2 fails while this file exists\n');
    const r = mriseq(
      submitWait(run, ['--shards', '3'], selftest(run, 9, '--fail-while', trigger, '--fail-shards', '2')),
    );
    assert.notEqual(r.code, 0);
    const rec = readRecord(run);
    const arrayId = rec.submissions[0].arrayJobId;
    const log = join(run, 'slurm', 'logs', `selftest-2.${arrayId}.log`);
    assert.match(r.stderr, /1 of 3 shard\(s\) failed: shard 2 FAILED/);
    assert.ok(r.stderr.includes(log), `the error names the log ${log}:\n${r.stderr}`);
    assert.match(readFileSync(log, 'utf8'), /selftest shard told to fail/);
    assert.doesNotMatch(r.stderr, /shard [01] FAILED/);

    const s = await runStatus(run);
    assert.deepEqual(
      s.shards.map((x) => x.state),
      ['COMPLETED', 'COMPLETED', 'FAILED'],
    );
    assert.equal(s.merge?.state, 'CANCELLED', 'the merge must be cancelled, not left pending');
    assert.equal(activeJobs([arrayId, rec.submissions[0].mergeJobId as string]), '');
    assert.ok(!existsSync(join(run, 'manifest.csv')), 'no merge happened');

    rmSync(trigger);
    const retried = await retryRun(run);
    assert.deepEqual(retried.resubmitted, [2], 'only the failed shard is resubmitted');
    const done = await waitRun(run, { interval: 0.3 });
    assert.ok(done.ok, JSON.stringify(done));
    assert.deepEqual(treeHashes(run, RUN_BOOKKEEPING), reference);
    // the completed shards were not run again: their part folders still come from the first array
    assert.equal(readRecord(run).submissions.length, 2);
    assert.deepEqual(readRecord(run).submissions[1].shards, [2]);
  });

  test('cancel leaves no job of the run pending or running', async () => {
    const run = join(work, 'sharded-c');
    const h = await submit({
      run,
      shards: 3,
      maxParallel: 1,
      command: ['slurm', 'selftest', '--out', run, '--subjects', '6', '--sleep', '120'],
    });
    const ids = h.record.submissions.flatMap((x) => [x.arrayJobId, x.mergeJobId as string]);
    assert.notEqual(activeJobs(ids), '', 'jobs are queued before the cancel');
    const s = await h.cancel();
    assert.ok(s.done);
    assert.equal(activeJobs(ids), '');
    assert.ok(
      s.shards.every((x) => x.state === 'CANCELLED'),
      JSON.stringify(s.shards),
    );
    assert.equal(s.merge?.state, 'CANCELLED');
    const bundle = h.toMimeBundle();
    assert.match(bundle['text/plain'], /3 cancelled/);
    assert.match(bundle['text/html'], /0\/3 shards completed/);
  });

  test('--fail-fast cancels the remaining shards at the first failure', async () => {
    const run = join(work, 'sharded-d');
    const trigger = join(work, 'fail-d');
    writeFileSync(trigger, 'x');
    await submitRun({
      run,
      shards: 3,
      maxParallel: 1,
      command: [
        'slurm',
        'selftest',
        '--out',
        run,
        '--subjects',
        '6',
        '--fail-while',
        trigger,
        '--fail-shards',
        '0',
        '--sleep',
        '0',
      ],
    });
    // shards 1 and 2 would run after shard 0 (maxParallel 1); fail-fast must not let them
    const s = await waitRun(run, { interval: 0.2, failFast: true });
    assert.equal(s.shards[0].state, 'FAILED');
    assert.ok(s.shards.slice(1).every((x) => x.state === 'CANCELLED' || x.state === 'COMPLETED'));
    assert.ok(
      s.shards.slice(1).some((x) => x.state === 'CANCELLED'),
      JSON.stringify(s.shards),
    );
    assert.equal(s.merge?.state, 'CANCELLED');
    const rec = readRecord(run);
    assert.equal(activeJobs([rec.submissions[0].arrayJobId]), '');
    await cancelRun(run);
  });

  test('a sweep x folds runs one task per point and the merge picks the best configuration', () => {
    const run = join(work, 'sweep');
    const file = join(work, 'sweep.json');
    writeFileSync(file, JSON.stringify([{ name: 'low', x: 0 }, { x: 2 }]));
    const r = mriseq(
      submitWait(run, ['--sweep', file, '--folds', '2'], ['slurm', 'selftest-fit', '--subjects', '20']),
    );
    assert.equal(r.code, 0, r.stderr);
    // closed form: the 2 validation folds hold all 20 subjects, so the fold mean is 30 - (x-2)^2 + 1/2
    const best = JSON.parse(readFileSync(join(run, 'best.json'), 'utf8')) as {
      best: { name: string; mean: number; values: number[] };
    };
    assert.equal(best.best.name, 'config-1');
    assert.ok(Math.abs(best.best.mean - (30 + 1 / 2)) < 1e-12, String(best.best.mean));
    assert.equal(best.best.values.length, 2);
    const csv = readFileSync(join(run, 'sweep-results.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'config,name,args,fold_0,fold_1,mean');
    const means = csv.slice(1).map((l) => Number(l.split(',').at(-1)));
    assert.equal(means.length, 2);
    for (const [i, x] of [0, 2].entries())
      assert.ok(Math.abs(means[i] - (30 - (x - 2) ** 2 + 1 / 2)) < 1e-12);
    for (let k = 0; k < 2; k++) {
      const summary = JSON.parse(
        readFileSync(join(run, 'points', `config-1-fold-${k}-of-2`, 'summary.json'), 'utf8'),
      ) as { fold: string };
      assert.equal(summary.fold, `${k}/2`);
    }
  });
});
