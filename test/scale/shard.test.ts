/**
 * Shard and fold selection, the canonical subject order, the merge's checks and the generated
 * sbatch scripts, without a scheduler. References: published FNV-1a test vectors, Python's own
 * implementation of the same hash and natural sort (/usr/bin/python3), bash running the script.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  arraySpec,
  buildScripts,
  compareSubjectIds,
  configArgs,
  foldOf,
  readSweepFile,
  sweepPoints,
  foldSplit,
  mergeSweep,
  writeSweepPlan,
  mergeRun,
  parseShard,
  runSelftest,
  selectShard,
  shardOf,
  stableHash,
} from '../../src/scale/node.js';
import { isMriseqError } from '../../src/errors/index.js';
import { runPython } from '../helpers/python.js';
import { treeHashes } from '../helpers/tree.js';

test('stableHash is 32-bit FNV-1a (published vectors and a Python implementation)', () => {
  assert.equal(stableHash(''), 0x811c9dc5);
  assert.equal(stableHash('a'), 0xe40c292c);
  assert.equal(stableHash('foobar'), 0xbf9cf968);
  const ids = ['sub-1', 'BraTS20_Training_001', 'süb-ä', 'x'.repeat(300)];
  const ref = runPython<number[]>(
    `import json,sys
def fnv(s):
    h=0x811c9dc5
    for b in s.encode('utf-8'):
        h^=b; h=(h*0x01000193)&0xffffffff
    return h
print(json.dumps([fnv(s) for s in json.load(sys.stdin)]))`,
    ids,
  );
  assert.deepEqual(ids.map(stableHash), ref);
});

test('shards partition the subjects, independent of row order', () => {
  const ids = Array.from({ length: 500 }, (_, i) => `sub-${i}`);
  const n = 7;
  const parts = [...Array(n).keys()].map((i) => selectShard(ids, { index: i, count: n }));
  assert.equal(parts.flat().length, ids.length);
  assert.deepEqual([...parts.flat()].sort(), [...ids].sort());
  for (const p of parts) assert.ok(p.length > 40 && p.length < 110, `balanced enough: ${p.length}`);
  const shuffled = [...ids].reverse();
  for (let i = 0; i < n; i++) {
    assert.deepEqual(new Set(selectShard(shuffled, { index: i, count: n })), new Set(parts[i]));
  }
  for (const id of parts[3]) assert.equal(shardOf(id, n), 3);
});

test('folds are an independent split: every subject validates exactly once', () => {
  const ids = Array.from({ length: 200 }, (_, i) => `sub-${i}`);
  const seen = new Map<string, number>();
  for (let k = 0; k < 5; k++) {
    const { train, validation } = foldSplit(ids, { index: k, count: 5 });
    assert.equal(train.length + validation.length, ids.length);
    for (const id of validation) seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  assert.ok([...seen.values()].every((c) => c === 1) && seen.size === ids.length);
  const same = ids.filter((id) => foldOf(id, 5) === shardOf(id, 5)).length;
  assert.ok(same < 80, `fold and shard of the same count are not the same split (${same}/200 agree)`);
});

test('parseShard accepts I/N and names the option otherwise', () => {
  assert.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
  for (const bad of ['4/4', '1', '-1/3', 'a/b', '0/0']) {
    assert.throws(
      () => parseShard(bad),
      (e) => isMriseqError(e) && e.field === '--shard' && e.message.includes(bad),
    );
  }
});

test('compareSubjectIds is natural order (Python reference)', () => {
  const ids = [
    'sub-10',
    'sub-2',
    'sub-1',
    'sub-01',
    'a',
    'sub-002b',
    'sub-2a',
    'BraTS-100',
    'BraTS-9',
    'sub-1',
  ];
  const ref = runPython<string[]>(
    `import json,sys,re
ids=json.load(sys.stdin)
# digit runs numerically, other runs by code point, ties by the whole string
def k(s):
    out=[]
    for t in re.findall(r'\\d+|\\D+',s):
        out.append((0,int(t)) if t.isdigit() else (1,t))
    return out
import functools
def c(a,b):
    ka,kb=k(a),k(b)
    for x,y in zip(ka,kb):
        if x[0]==0 and y[0]==0:
            if x[1]!=y[1]: return -1 if x[1]<y[1] else 1
        elif x!=y:
            xs=x[1] if x[0]==1 else str(x[1]); ys=y[1] if y[0]==1 else str(y[1])
            return -1 if xs<ys else 1
    if len(ka)!=len(kb): return len(ka)-len(kb)
    return (a>b)-(a<b)
print(json.dumps(sorted(ids,key=functools.cmp_to_key(c))))`,
    ids,
  );
  assert.deepEqual([...ids].sort(compareSubjectIds), ref);
  assert.deepEqual(['sub-10', 'sub-9', 'sub-1'].sort(compareSubjectIds), ['sub-1', 'sub-9', 'sub-10']);
});

test('sweep files: options become flags, bad entries are named', () => {
  assert.deepEqual(
    configArgs({ name: 'a', lr: 0.001, amp: true, cpu: false, skip: null, seq: ['t1', 't2'] }),
    ['--lr', '0.001', '--amp', '--seq', 't1', '--seq', 't2'],
  );
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-sweep-'));
  try {
    const f = join(dir, 's.json');
    writeFileSync(f, '[{"lr": 0.1}, {"lr": {"nested": 1}}]');
    assert.throws(
      () => readSweepFile(f),
      (e) => isMriseqError(e) && e.field === '[1].lr' && e.file === f,
    );
    writeFileSync(f, '{"lr": 1}');
    assert.throws(
      () => readSweepFile(f),
      (e) => isMriseqError(e) && /not a sweep file/.test(e.message),
    );
    const pts = sweepPoints({
      run: dir,
      command: ['train'],
      configs: [{ name: 'a', lr: 1 }, { lr: 2 }],
      folds: 2,
    });
    assert.deepEqual(
      pts.map((p) => p.label),
      ['a-fold-0-of-2', 'a-fold-1-of-2', 'config-1-fold-0-of-2', 'config-1-fold-1-of-2'],
    );
    assert.deepEqual(pts[3].args, [
      'train',
      '--lr',
      '2',
      '--fold',
      '1/2',
      '--out',
      join(dir, 'points', 'config-1-fold-1-of-2'),
      // a retried point continues its own run
      '--resume',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('arraySpec compresses shard lists into SLURM array syntax', () => {
  assert.equal(arraySpec([5, 0, 1, 2, 7, 8]), '0-2,5,7-8');
  assert.equal(arraySpec([3]), '3');
});

test('merge names missing shards, duplicated and missing subjects, and conflicting files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-merge-'));
  try {
    const single = join(dir, 'single');
    await runSelftest({ out: single, subjects: 10, size: 4 });
    const run = join(dir, 'run');
    for (let i = 0; i < 3; i++)
      await runSelftest({ out: run, subjects: 10, size: 4, shard: { index: i, count: 3 } });
    mergeRun(run);
    assert.deepEqual(treeHashes(run, ['parts']), treeHashes(single));

    // a missing part
    const partial = join(dir, 'partial');
    for (const i of [0, 2])
      await runSelftest({ out: partial, subjects: 10, size: 4, shard: { index: i, count: 3 } });
    assert.throws(
      () => mergeRun(partial),
      (e) =>
        isMriseqError(e) &&
        /missing shards 1\/3/.test(e.message) &&
        /subjects missing from every shard: sub-/.test(e.message),
    );

    // a subject written by two shards, and a shard-dependent parameter file
    const dup = join(dir, 'dup');
    for (let i = 0; i < 2; i++)
      await runSelftest({ out: dup, subjects: 6, size: 4, shard: { index: i, count: 2 } });
    const p1 = join(dup, 'parts', 'selftest-1-of-2');
    const row0 = readFileSync(join(dup, 'parts', 'selftest-0-of-2', 'manifest.csv'), 'utf8').split('\n')[1];
    writeFileSync(join(p1, 'manifest.csv'), readFileSync(join(p1, 'manifest.csv'), 'utf8') + row0 + '\n');
    writeFileSync(join(p1, 'selftest.json'), '{"shard":1}\n');
    const marker = JSON.parse(readFileSync(join(p1, '_shard.json'), 'utf8')) as { subjects: string[] };
    marker.subjects.push(row0.split(',')[0]);
    writeFileSync(join(p1, '_shard.json'), JSON.stringify(marker));
    assert.throws(
      () => mergeRun(dup),
      (e) =>
        isMriseqError(e) &&
        e.message.includes(`subjects in more than one shard: ${row0.split(',')[0]} (shards 0, 1)`) &&
        e.message.includes('selftest.json differs between shards 0/2 and 1/2'),
    );
    assert.throws(
      () => mergeRun(join(dir, 'nothing')),
      (e) => isMriseqError(e) && e.code === 'scale.merge.empty',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('merge keeps quoted multi-line fields and CRLF tables intact', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-merge-'));
  try {
    const a = join(dir, 'parts', 'x-0-of-2');
    const b = join(dir, 'parts', 'x-1-of-2');
    mkdirSync(a, { recursive: true });
    mkdirSync(b, { recursive: true });
    writeFileSync(join(a, 't.csv'), 'id,note\r\nsub-10,"two\r\nlines, comma"\r\n');
    writeFileSync(join(b, 't.csv'), 'id,note\r\nsub-9,plain\r\n');
    mergeRun(dir);
    assert.equal(
      readFileSync(join(dir, 't.csv'), 'utf8'),
      'id,note\r\nsub-9,plain\r\nsub-10,"two\r\nlines, comma"\r\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the generated array script sets up the environment and runs its shard (run by bash, no SLURM)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-script-'));
  try {
    const run = join(dir, 'run dir');
    const s = buildScripts({
      run,
      shards: 4,
      maxParallel: 2,
      mem: '2G',
      time: '00:10:00',
      cpus: 2,
      sbatchArgs: ['--qos=short'],
      command: ['slurm', 'selftest', '--out', run, '--subjects', '8', '--size', '4'],
    });
    for (const line of [
      '#SBATCH --array=0-3%2',
      '#SBATCH --mem=2G',
      '#SBATCH --time=00:10:00',
      '#SBATCH --cpus-per-task=2',
      '#SBATCH --qos=short',
    ]) {
      assert.ok(s.taskText.includes(line), line);
    }
    assert.match(s.mergeText ?? '', /merge '.*run dir' --command selftest --shards 4/);
    mkdirSync(join(run, 'slurm'), { recursive: true });
    writeFileSync(s.taskScript, s.taskText);
    const r = spawnSync('bash', [s.taskScript], {
      encoding: 'utf8',
      env: { ...process.env, SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_JOB_ID: '42', SLURM_CPUS_PER_TASK: '2' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /shard 1\/4 of selftest/);
    const marker = JSON.parse(readFileSync(join(run, 'parts', 'selftest-1-of-4', '_shard.json'), 'utf8')) as {
      subjects: string[];
    };
    assert.deepEqual(
      marker.subjects,
      selectShard(
        Array.from({ length: 8 }, (_, i) => `sub-${i + 1}`),
        { index: 1, count: 4 },
      ),
    );
    assert.throws(
      () => buildScripts({ run, command: ['simulate', '--out', join(dir, 'elsewhere')] }),
      (e) => isMriseqError(e) && e.field === '--out',
    );
    assert.throws(
      () => buildScripts({ run, command: ['simulate', '--shard', '0/2'] }),
      (e) => isMriseqError(e) && /--shard/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the sweep merge picks the best configuration by its fold mean, then its best fold run', () => {
  const run = mkdtempSync(join(tmpdir(), 'mriseq-sweepmerge-'));
  try {
    writeSweepPlan({
      format: 'mriseq-sweep/1',
      run,
      command: ['train'],
      configs: [{ name: 'a' }, { name: 'b' }],
      folds: 3,
      metricFile: 'summary.json',
      metric: 'bestPsnr',
      mode: 'max',
    });
    // a has the single best fold (40) but b the better mean: b wins, and b's best fold is fold 1
    const values: Record<string, number[]> = { a: [40, 10, 10], b: [25, 27, 26] };
    for (const [name, v] of Object.entries(values)) {
      v.forEach((x, k) => {
        const dir = join(run, 'points', `${name}-fold-${k}-of-3`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'summary.json'), JSON.stringify({ bestPsnr: x }));
      });
    }
    const r = mergeSweep(run);
    assert.equal(r.best.name, 'b');
    assert.equal(r.best.mean, 26);
    assert.deepEqual(
      { label: r.bestRun.label, fold: r.bestRun.fold, value: r.bestRun.value },
      { label: 'b-fold-1-of-3', fold: 1, value: 27 },
    );
    assert.equal(r.bestRun.dir, join(run, 'points', 'b-fold-1-of-3'));
    const best = JSON.parse(readFileSync(join(run, 'best.json'), 'utf8')) as { bestRun: { label: string } };
    assert.equal(best.bestRun.label, 'b-fold-1-of-3');
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});
