/**
 * `--shard I/N` on the per-subject commands (evaluate, maps, generate over a cohort) and
 * `train --fold K/F`, run in this process through the CLI. The reference for every sharded run is
 * the single-process output of the same command: the merge of its parts must equal it byte for
 * byte, also when the shards read a manifest whose rows are in another order. Fold membership is
 * checked against the manifest's own split column and the hash rule, read independently of the CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { foldOf, mergeRun, shardOf } from '../../src/scale/node.js';
import { isMriseqError } from '../../src/errors/index.js';
import { runCli } from '../helpers/cli.js';
import {
  cliOk,
  manifestRows,
  evaluateArgs,
  makePhantomRun,
  phantomRunPaths,
  trainArgs,
} from '../helpers/phantom-run.js';
import { treeHashes } from '../helpers/tree.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-shardcmd-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const { data, manifest, model } = phantomRunPaths(tmp);
// the same cohort, rows reversed: shards must select and order subjects by id, not by row
const reversed = join(data, 'manifest-reversed.csv');
const SUBJECTS = 6;

test(
  'setup: a 6-subject phantom with a split column and a 1-step generator',
  { timeout: 120_000 },
  async () => {
    await makePhantomRun(tmp, { subjects: SUBJECTS });
    const [head, ...rows] = readFileSync(manifest, 'utf8').trim().split('\n');
    writeFileSync(reversed, [head, ...rows.reverse()].join('\n') + '\n');
  },
);

test(
  'evaluate: 3 shards + merge equal the single-process table byte for byte',
  { timeout: 120_000 },
  async () => {
    const single = join(tmp, 'eval-single', 'evaluation.csv');
    // the single process reads the reversed rows: its table must still be in canonical order
    await cliOk(evaluateArgs(model, reversed, single));
    const reference = readFileSync(single, 'utf8');
    assert.equal(reference.trim().split('\n').length, 1 + SUBJECTS * 9, 'header + 6 subjects x 3 x 3 pairs');

    const run = join(tmp, 'eval-sharded');
    const headers = new Set<string>();
    for (let i = 0; i < 3; i++) {
      await cliOk([
        ...evaluateArgs(model, i === 1 ? reversed : manifest, join(run, 'evaluation.csv')),
        '--shard',
        `${i}/3`,
      ]);
      const part = readFileSync(join(run, 'parts', `evaluate-${i}-of-3`, 'evaluation.csv'), 'utf8');
      headers.add(part.split('\n')[0]);
      const ids = new Set(
        part
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(',')[0]),
      );
      for (const id of ids) assert.equal(shardOf(id, 3), i, `${id} belongs to shard ${i}`);
    }
    assert.equal(headers.size, 1, 'every part has the same header');
    assert.ok(!existsSync(join(run, 'evaluation.csv')), 'nothing but parts before the merge');
    const r = mergeRun(run);
    assert.equal(r.commands.find((c) => c.command === 'evaluate')?.subjects, SUBJECTS);
    assert.ok(r.commands.find((c) => c.command === 'evaluate')?.completenessChecked);
    assert.equal(readFileSync(join(run, 'evaluation.csv'), 'utf8'), reference);
  },
);

test('evaluate: a shard without subjects writes the header of the others', { timeout: 60_000 }, async () => {
  const ids = manifestRows(manifest).map((x) => x.id);
  const n = 16;
  const empty = [...Array(n).keys()].find((i) => ids.every((id) => shardOf(id, n) !== i));
  assert.notEqual(empty, undefined, 'some shard of 16 holds none of 6 subjects');
  const run = join(tmp, 'eval-empty');
  await cliOk([...evaluateArgs(model, manifest, join(run, 'evaluation.csv')), '--shard', `${empty}/${n}`]);
  const part = readFileSync(join(run, 'parts', `evaluate-${empty}-of-${n}`, 'evaluation.csv'), 'utf8');
  const reference = readFileSync(join(tmp, 'eval-single', 'evaluation.csv'), 'utf8');
  assert.equal(part, reference.split('\n')[0] + '\n');
});

test(
  'merge names a missing shard, the subjects nobody wrote and duplicated subjects',
  { timeout: 60_000 },
  () => {
    const run = join(tmp, 'eval-sharded');
    const marker = (i: number) => join(run, 'parts', `evaluate-${i}-of-3`, '_shard.json');
    const m1 = JSON.parse(readFileSync(marker(1), 'utf8')) as { subjects: string[] };
    const m2 = JSON.parse(readFileSync(marker(2), 'utf8')) as { subjects: string[] };
    const lonely = m2.subjects[0];
    assert.ok(lonely, 'shard 2 of 3 holds a subject');
    // shard 1 claims a subject of shard 2 as well
    writeFileSync(marker(1), JSON.stringify({ ...m1, subjects: [...m1.subjects, lonely] }));
    assert.throws(
      () => mergeRun(run, { command: 'evaluate' }),
      (e: unknown) =>
        isMriseqError(e) && e.message.includes(`subjects in more than one shard: ${lonely} (shards 1, 2)`),
    );
    writeFileSync(marker(1), JSON.stringify(m1));
    rmSync(join(run, 'parts', 'evaluate-2-of-3'), { recursive: true });
    assert.throws(
      () => mergeRun(run, { command: 'evaluate' }),
      (e: unknown) =>
        isMriseqError(e) &&
        e.message.includes('missing shards 2/3') &&
        e.message.includes(`subjects missing from every shard: ${m2.subjects.join(', ')}`),
    );
  },
);

test(
  'maps: 2 shards + merge equal the single-process maps folder byte for byte',
  { timeout: 120_000 },
  async () => {
    const args = (m: string, out: string) => [
      'maps',
      '--run',
      model,
      '--manifest',
      m,
      '--out',
      out,
      '--split',
      'all',
      '--targets',
      't1gd,flair',
    ];
    const single = join(tmp, 'maps-single');
    await cliOk(args(manifest, single));
    const run = join(tmp, 'maps-sharded');
    for (let i = 0; i < 2; i++) await cliOk([...args(i ? reversed : manifest, run), '--shard', `${i}/2`]);
    mergeRun(run);
    const reference = treeHashes(single);
    assert.equal(Object.keys(reference).filter((k) => k.endsWith('md_flair.nii.gz')).length, SUBJECTS);
    assert.deepEqual(treeHashes(run, ['parts']), reference);
  },
);

test('generate over a cohort: 2 shards + merge equal one process', { timeout: 120_000 }, async () => {
  const args = (m: string, out: string) => [
    'generate',
    '--run',
    model,
    '--manifest',
    m,
    '--target',
    't2',
    '--sources',
    't1,flair',
    '--out',
    out,
  ];
  const single = join(tmp, 'gen-single');
  await cliOk(args(reversed, single));
  const table = readFileSync(join(single, 'generated.csv'), 'utf8').trim().split('\n');
  assert.equal(table[0], 'subject,target,sources,file');
  assert.deepEqual(
    table.slice(1).map((l) => l.split(',')[0]),
    manifestRows(manifest).map((x) => x.id),
  );
  const run = join(tmp, 'gen-sharded');
  for (let i = 0; i < 2; i++) await cliOk([...args(i ? reversed : manifest, run), '--shard', `${i}/2`]);
  mergeRun(run);
  assert.deepEqual(treeHashes(run, ['parts']), treeHashes(single));
  // --shard picks subjects of a cohort: with one --subject it is an error, not ignored
  const r = await runCli([
    ...args(manifest, join(tmp, 'x.nii.gz')),
    '--subject',
    table[1].split(',')[0],
    '--shard',
    '0/2',
  ]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--shard/);
});

test(
  'train --fold K/F trains on the other folds, validates on fold K, outside the test split',
  { timeout: 120_000 },
  async () => {
    const rows = manifestRows(manifest);
    const pool = rows.filter((x) => x.split !== 'test').map((x) => x.id);
    assert.ok(
      rows.some((x) => x.split === 'test'),
      'the manifest holds a test split',
    );
    // 2 folds of the non-test subjects; pick a fold that has both training and validation subjects
    const k = [0, 1].find(
      (f) => pool.some((id) => foldOf(id, 2) === f) && pool.some((id) => foldOf(id, 2) !== f),
    );
    assert.notEqual(k, undefined);
    const out = join(tmp, `fold-${k}`);
    await cliOk([...trainArgs(reversed, out), '--fold', `${k}/2`]);
    const fold = JSON.parse(readFileSync(join(out, 'fold.json'), 'utf8')) as {
      fold: string;
      train: string[];
      validation: string[];
    };
    assert.equal(fold.fold, `${k}/2`);
    assert.deepEqual(
      fold.validation,
      pool.filter((id) => foldOf(id, 2) === k),
    );
    assert.deepEqual(
      fold.train,
      pool.filter((id) => foldOf(id, 2) !== k),
    );
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      bestPsnr: number | null;
    };
    assert.equal(typeof summary.bestPsnr, 'number', 'validated on fold K');

    // evaluate --fold evaluates exactly the held-out fold
    const table = join(tmp, `fold-${k}-eval`, 'evaluation.csv');
    await cliOk([
      'evaluate',
      '--run',
      out,
      '--manifest',
      manifest,
      '--out',
      table,
      '--fold',
      `${k}/2`,
      '--sequences',
      't1,t2',
    ]);
    const ids = [
      ...new Set(
        readFileSync(table, 'utf8')
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(',')[0]),
      ),
    ];
    assert.deepEqual(ids, fold.validation);

    // a resumed run must keep its fold
    const r = await runCli([...trainArgs(manifest, out), '--fold', `${1 - (k as number)}/2`, '--resume']);
    assert.equal(r.code, 2);
    assert.match(r.err, /another fold/);
    assert.ok(readdirSync(out).includes('best'));
  },
);
