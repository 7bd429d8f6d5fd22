/**
 * The pipelines the commands run, called as library functions (what a notebook does): each writes
 * exactly what its command writes. The reference is the command's own output on the same inputs
 * (run in this process through the CLI), compared file by file by hash; each comparison also checks
 * that there was something to compare (the subjects' files, the figures).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  classifyCohort,
  generateCohort,
  isMriseqError,
  runDemo,
  writeCohortMaps,
  writeRunFigures,
} from '../../src/index.js';
import {
  cliOk,
  evaluateArgs,
  makePhantomRun,
  manifestRows,
  phantomRunPaths,
} from '../helpers/phantom-run.js';
import { treeHashes } from '../helpers/tree.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-pipelines-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const { manifest, model } = phantomRunPaths(tmp);
const SUBJECTS = 4;
// the run folder the figures are drawn from: the command's maps and evaluation table
const run = join(tmp, 'run');

test('setup: a 4-subject phantom and a 1-step generator', { timeout: 120_000 }, async () => {
  await makePhantomRun(tmp, { subjects: SUBJECTS });
});

test(
  'writeCohortMaps writes what `mriseq maps` writes, whole and per shard',
  { timeout: 120_000 },
  async () => {
    const args = (out: string, extra: string[] = []) => [
      'maps',
      '--run',
      model,
      '--manifest',
      manifest,
      '--out',
      out,
      '--split',
      'all',
      '--targets',
      't1gd,flair',
      ...extra,
    ];
    const cli = join(run, 'maps');
    await cliOk(args(cli));
    const seen: string[] = [];
    const lib = join(tmp, 'maps-lib');
    const r = await writeCohortMaps({
      run: model,
      manifest,
      out: lib,
      split: 'all',
      targets: 't1gd,flair',
      onSubject: (e) => seen.push(e.subject),
    });
    const reference = treeHashes(cli);
    assert.equal(Object.keys(reference).filter((k) => k.endsWith('md_flair.nii.gz')).length, SUBJECTS);
    assert.deepEqual(treeHashes(lib), reference);
    assert.deepEqual(r.subjects, seen);
    assert.deepEqual(
      [...r.subjects].sort(),
      manifestRows(manifest)
        .map((x) => x.id)
        .sort(),
    );

    const shard = { index: 1, count: 2 };
    await cliOk(args(join(tmp, 'maps-cli-shard'), ['--shard', '1/2']));
    const part = await writeCohortMaps({
      run: model,
      manifest,
      out: join(tmp, 'maps-lib-shard'),
      split: 'all',
      targets: 't1gd,flair',
      shard,
    });
    assert.match(part.dir, /parts[/\\]maps-1-of-2$/);
    assert.deepEqual(treeHashes(join(tmp, 'maps-lib-shard')), treeHashes(join(tmp, 'maps-cli-shard')));
  },
);

test('generateCohort writes what `mriseq generate` writes over a cohort', { timeout: 120_000 }, async () => {
  const cli = join(tmp, 'gen-cli');
  await cliOk([
    'generate',
    '--run',
    model,
    '--manifest',
    manifest,
    '--target',
    't2',
    '--sources',
    't1,flair',
    '--out',
    cli,
  ]);
  const r = await generateCohort({
    run: model,
    manifest,
    target: 't2',
    sources: ['t1', 'flair'],
    out: join(tmp, 'gen-lib'),
  });
  const reference = treeHashes(cli);
  assert.equal(Object.keys(reference).filter((k) => k.endsWith('t2.nii.gz')).length, SUBJECTS);
  assert.deepEqual(treeHashes(join(tmp, 'gen-lib')), reference);
  assert.equal(readFileSync(r.table, 'utf8'), readFileSync(join(cli, 'generated.csv'), 'utf8'));
  // the phantom instead of a manifest, with a series length given
  const ph = ['--phantom', '2', '--size', '16,16,8', '--seed', '3'];
  const cliPh = join(tmp, 'gen-cli-ph');
  await cliOk(['generate', '--run', model, ...ph, '--target', 't1gd', '--time-points', '1', '--out', cliPh]);
  await generateCohort({
    run: model,
    phantom: { subjects: 2, size: [16, 16, 8], seed: 3, dwi: false, dce: false },
    target: 't1gd',
    timePoints: 1,
    out: join(tmp, 'gen-lib-ph'),
  });
  const refPh = treeHashes(cliPh);
  assert.equal(Object.keys(refPh).filter((k) => k.endsWith('t1gd.nii.gz')).length, 2);
  assert.deepEqual(treeHashes(join(tmp, 'gen-lib-ph')), refPh);
});

test('writeRunFigures writes what `mriseq figures` writes', { timeout: 120_000 }, async () => {
  await cliOk(evaluateArgs(model, manifest, join(run, 'evaluation.csv')));
  const cli = join(tmp, 'fig-cli');
  await cliOk(['figures', '--run', run, '--out', cli, '--no-static']);
  const r = await writeRunFigures(run, join(tmp, 'fig-lib'), { formats: [] });
  const names = r.written.map((w) => w.name);
  assert.ok(names.includes('ranking') && names.includes('pair-metrics'), names.join(', '));
  assert.equal(names.filter((n) => n.startsWith('md-')).length, SUBJECTS * 2);
  assert.deepEqual(treeHashes(join(tmp, 'fig-lib')), treeHashes(cli));
});

test('classifyCohort writes what `mriseq classify` writes', { timeout: 300_000 }, async () => {
  const cli = join(tmp, 'classify-cli');
  await cliOk([
    'classify',
    '--phantom',
    '12',
    '--label',
    'highEnhancement',
    '--sequences',
    't1gd,flair',
    '--epochs',
    '1',
    '--width',
    '2',
    '--downsample',
    '4',
    '--no-attention',
    '--gradcam',
    '--out',
    cli,
  ]);
  const lib = join(tmp, 'classify-lib');
  const r = await classifyCohort({
    phantom: { subjects: 12 },
    label: 'highEnhancement',
    sequences: 't1gd,flair',
    epochs: 1,
    width: 2,
    downsample: 4,
    attention: false,
    gradcam: true,
    out: lib,
  });
  const reference = treeHashes(cli);
  assert.ok(
    Object.keys(reference).some((k) => k.startsWith('gradcam')),
    Object.keys(reference).join(', '),
  );
  assert.deepEqual(treeHashes(lib), reference);
  assert.equal(readFileSync(r.metrics, 'utf8'), readFileSync(join(cli, 'metrics.json'), 'utf8'));
  assert.deepEqual(
    r.runs.map((x) => x.name),
    ['MRI'],
  );
  // an unknown label column is named by the library's option name
  await assert.rejects(
    classifyCohort({ phantom: { subjects: 4 }, label: 'nosuch', out: join(tmp, 'classify-bad') }),
    (e: unknown) => isMriseqError(e) && e.field === 'label' && /nosuch/.test(e.message),
  );
});

test(
  'runDemo writes RUN/figures/ only when asked: what writeRunFigures writes from its run folder',
  { timeout: 300_000 },
  async () => {
    const out = join(tmp, 'demo');
    const r = await runDemo({ out, test: 2, resamples: 20, figures: { formats: [] } });
    assert.equal(r.stopped, false);
    assert.ok(r.figures, 'figures written');
    assert.equal(r.files.figures, join(out, 'figures', 'index.html'));
    assert.ok(
      r.figures.written.some((w) => /^md-.*-t1gd$/.test(w.name)),
      r.figures.written.map((w) => w.name).join(', '),
    );
    // the same figures as the library call on the finished run folder (the index names the run
    // folder relative to itself: '..' from RUN/figures, '../demo' from a sibling folder)
    const other = join(tmp, 'demo-figures');
    await writeRunFigures(out, other, { formats: [] });
    const mine = treeHashes(join(out, 'figures'), ['index.html']);
    assert.ok(Object.keys(mine).length > 3);
    assert.deepEqual(mine, treeHashes(other, ['index.html']));
    assert.equal(
      readFileSync(join(out, 'figures', 'index.html'), 'utf8'),
      readFileSync(join(other, 'index.html'), 'utf8').replace('(../demo from here)', '(.. from here)'),
    );
    // by default (as before) the demo writes no figures
    const plain = await runDemo({ out: join(tmp, 'demo-plain'), test: 2, resamples: 20 });
    assert.equal(plain.figures, undefined);
    assert.equal(existsSync(join(tmp, 'demo-plain', 'figures')), false);
  },
);
