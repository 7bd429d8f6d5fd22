/**
 * selectTrainingData, the library call behind `mriseq train`'s data selection. Each case is
 * checked against a reference read independently of it: the phantom's own ids and volumes, the
 * manifest's split column read from the CSV text, the fold hash rule (src/scale's foldOf), and
 * RUN/fold.json as the command line writes it for the same options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Cohort,
  initEngine,
  isMriseqError,
  phantom,
  selectTrainingData,
  trainRun,
  type TrainingData,
  type TrainSubjects,
} from '../../src/index.js';
import { isSubjectStream } from '../../src/train/index.js';
import { foldOf } from '../../src/scale/index.js';
import { cliOk, manifestRows, makePhantomRun, phantomRunPaths, trainArgs } from '../helpers/phantom-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-select-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const { manifest } = phantomRunPaths(tmp);
const SIZE: [number, number, number] = [16, 16, 8];

function fileFold(out: string): { fold: string; train: string[]; validation: string[] } {
  return JSON.parse(readFileSync(join(out, 'fold.json'), 'utf8')) as {
    fold: string;
    train: string[];
    validation: string[];
  };
}

async function loaded(s: TrainSubjects) {
  return isSubjectStream(s) ? Promise.all(s.ids.map((id) => s.load(id))) : [...s];
}

test('phantom: the last `validation` subjects validate, each with only the chosen sequences', async () => {
  const ph = phantom({ subjects: 4, size: SIZE, seed: 3 });
  const d = await selectTrainingData({
    phantom: { subjects: 4, size: SIZE, seed: 3 },
    validation: 1,
    sequences: 'T2, t1',
  });
  assert.deepEqual(d.trainIds, ph.ids().slice(0, 3));
  assert.deepEqual(d.validationIds, ph.ids().slice(3));
  // the data's order, not the list's; a case-insensitive name finds its sequence
  assert.deepEqual(d.sequences, ['t1', 't2']);
  assert.ok(!isSubjectStream(d.train) && !isSubjectStream(d.validation), 'phantom subjects are in memory');
  for (const s of [...(await loaded(d.train)), ...(await loaded(d.validation))]) {
    assert.deepEqual(Object.keys(s.volumes), ['t1', 't2']);
    assert.deepEqual(s.volumes.t1!.data, ph.subject(s.id).volumes.t1!.data);
  }
  // default: one validates, every sequence trains
  const all = await selectTrainingData({ phantom: ph });
  assert.deepEqual(all.validationIds, [ph.ids()[3]]);
  assert.deepEqual(all.sequences, [...ph.sequences]);
});

test('phantom with a fold: fold K validates, the others train, by the hash rule', async () => {
  const ph = phantom({ subjects: 8, size: SIZE });
  const d = await selectTrainingData({ phantom: ph, fold: '1/3' });
  assert.deepEqual(d.fold, { index: 1, count: 3 });
  assert.deepEqual(
    [...d.validationIds].sort(),
    ph.ids().filter((id) => foldOf(id, 3) === 1),
  );
  assert.deepEqual(
    [...d.trainIds].sort(),
    ph.ids().filter((id) => foldOf(id, 3) !== 1),
  );
});

test('bad selections are MriseqErrors naming the option (and the flag for the command line)', async () => {
  const rejects = (p: Promise<unknown>, re: RegExp) =>
    assert.rejects(p, (e: unknown) => isMriseqError(e) && re.test(e.message));
  await rejects(selectTrainingData({}), /manifest: say what to train on/);
  await rejects(
    selectTrainingData({ phantom: { subjects: 3, size: SIZE }, validation: 3 }),
    /validation: bad number of validation subjects; found 3; expected an integer in 0\.\.2/,
  );
  await rejects(
    selectTrainingData({
      phantom: { subjects: 3, size: SIZE },
      validation: 3,
      optionNames: { validation: '--validation', phantom: '--phantom' },
    }),
    /--validation: .*fewer than --phantom/,
  );
  await rejects(
    selectTrainingData({ phantom: { subjects: 2, size: SIZE }, sequences: 'swi' }),
    /sequences: unknown sequence; found swi/,
  );
  await rejects(
    selectTrainingData({ phantom: { subjects: 2, size: SIZE }, sequences: ' , ' }),
    /sequences names no sequence/,
  );
  // 2 subjects in 5 folds: some fold is empty
  const ph = phantom({ subjects: 2, size: SIZE });
  const empty = [0, 1, 2, 3, 4].find((k) => ph.ids().every((id) => foldOf(id, 5) !== k))!;
  await rejects(
    selectTrainingData({ phantom: ph, fold: `${empty}/5` }),
    new RegExp(`fold ${empty}/5 leaves no subject to validate on`),
  );
  await rejects(selectTrainingData({ phantom: ph, manifest: 'x.csv' }), /give one source/);
});

test(
  'manifest: the recorded splits, and a fold, pick the same subjects as mriseq train',
  { timeout: 180_000 },
  async () => {
    await makePhantomRun(tmp, { subjects: 6 });
    const rows = manifestRows(manifest);
    assert.ok(
      rows.some((r) => r.split === 'test'),
      'the manifest holds a test split',
    );

    const bySplit = await selectTrainingData({ manifest, sequences: 't1,t2' });
    assert.deepEqual(
      bySplit.trainIds,
      rows.filter((r) => r.split === 'train').map((r) => r.id),
    );
    assert.deepEqual(
      bySplit.validationIds,
      rows.filter((r) => r.split === 'val').map((r) => r.id),
    );
    assert.ok(isSubjectStream(bySplit.train), 'manifest subjects are read when drawn');
    const [first] = await loaded(bySplit.train);
    assert.deepEqual(Object.keys(first!.volumes), ['t1', 't2']);
    const cohort = await Cohort.fromManifest(manifest);
    assert.deepEqual(first!.volumes.t1!.data, (await cohort.subject(first!.id).load('t1')).data);

    // a fold with subjects on both sides, from the hash rule over the non-test subjects
    const pool = rows.filter((r) => r.split !== 'test').map((r) => r.id);
    const k = [0, 1].find(
      (f) => pool.some((id) => foldOf(id, 2) === f) && pool.some((id) => foldOf(id, 2) !== f),
    )!;
    const out = join(tmp, 'fold');
    await cliOk([...trainArgs(manifest, out), '--fold', `${k}/2`]);
    const cli = fileFold(out);
    for (const d of [
      await selectTrainingData({ manifest, fold: `${k}/2` }),
      await selectTrainingData({ cohort, fold: { index: k, count: 2 } }),
    ]) {
      assert.deepEqual(d.trainIds, cli.train);
      assert.deepEqual(d.validationIds, cli.validation);
      assert.deepEqual(
        d.validationIds,
        pool.filter((id) => foldOf(id, 2) === k),
      );
    }
  },
);

test(
  'phantom with a fold: the same subjects as mriseq train --phantom --fold',
  { timeout: 120_000 },
  async () => {
    const out = join(tmp, 'phantom-fold');
    await cliOk([
      'train',
      '--phantom',
      '5',
      '--size',
      '16,16,8',
      '--steps',
      '1',
      '--crop',
      '16',
      '--fold',
      '0/2',
      '--out',
      out,
      '--json',
    ]);
    const d = await selectTrainingData({ phantom: { subjects: 5, size: SIZE }, fold: '0/2' });
    const cli = fileFold(out);
    assert.deepEqual(d.trainIds, cli.train);
    assert.deepEqual(d.validationIds, cli.validation);
  },
);

test(
  'trainRun records the fold it trained on and a resumed run must keep it',
  { timeout: 120_000 },
  async () => {
    await initEngine();
    const out = join(tmp, 'lib-fold');
    const ph = phantom({ subjects: 5, size: SIZE });
    const d = await selectTrainingData({ phantom: ph, fold: '1/2' });
    const run = (fold: TrainingData | undefined, resume: boolean) =>
      trainRun(d.train, {
        out,
        steps: 1,
        crop: 16,
        validation: d.validation,
        resume,
        fold,
      }).then((r) => r.model.dispose());
    await run(d, false);
    assert.deepEqual(fileFold(out), { fold: '1/2', train: d.trainIds, validation: d.validationIds });
    const other = await selectTrainingData({ phantom: ph, fold: '0/2' });
    for (const f of [other, undefined])
      await assert.rejects(
        run(f, true),
        (e: unknown) => isMriseqError(e) && e.code === 'train.fold' && /another fold/.test(e.message),
      );
    await run(d, true); // the same fold resumes
  },
);
