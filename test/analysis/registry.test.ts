// The metric registry (src/analysis/registry.ts) is the one list of synthesis metrics: the scores
// of a pair, a series and a batch, the accumulator, the per-frame and CSV columns, the ranking's
// defaults and orientations, and the CLI's `rank` all follow it. Checked against the table itself,
// against the table's own functions, and by adding an entry and watching it flow through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import {
  BUILTIN_METRICS,
  KNOWN_METRICS,
  METRIC_ORIENTATION,
  OPTIONAL_METRIC_COLUMNS,
  REQUIRED_COLUMNS,
  SYNTHESIS_METRICS,
  SynthesisMetrics,
  batchSynthesisScores,
  compareFrames,
  defaultMetrics,
  evaluationColumns,
  evaluationTemplate,
  formatEvaluationCsv,
  frameColumns,
  meanSquaredError,
  metricOrientation,
  parseEvaluationCsv,
  rankSequences,
  seededRandom,
  synthesisScores,
  type EvaluationRow,
  type SynthesisMetricSpec,
} from '../../src/analysis/index.js';
import { initEngine, tf } from '../../src/engine/index.js';
import { MriseqError } from '../../src/errors/index.js';

const rand = seededRandom(27);
const noisy = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
const truth = noisy(8 * 8 * 8);
const test_ = truth.map((v) => v * 0.8 + 0.05 * (rand() - 0.5));
const computed = () => SYNTHESIS_METRICS.filter((m) => m.builtin).map((m) => m.name);

test('the builtin entries are the computed ones: each has its function, the others have none', () => {
  assert.ok(SYNTHESIS_METRICS.length >= 4);
  for (const m of SYNTHESIS_METRICS)
    assert.equal(typeof m.score === 'function', m.builtin, `${m.name}: builtin iff it has a score function`);
  assert.deepEqual(BUILTIN_METRICS, computed());
  assert.deepEqual(
    KNOWN_METRICS,
    SYNTHESIS_METRICS.map((m) => m.name),
  );
  assert.deepEqual(
    METRIC_ORIENTATION,
    Object.fromEntries(SYNTHESIS_METRICS.map((m) => [m.name, m.orientation])),
  );
  // a stand-in names a metric of the table
  for (const m of SYNTHESIS_METRICS)
    if (m.standsInFor)
      assert.ok(KNOWN_METRICS.includes(m.standsInFor), `${m.name} stands in for ${m.standsInFor}`);
});

test('scores, series, accumulator and per-frame columns cover exactly the computed metrics, with the table’s functions', async () => {
  const opts = { shape: [8, 8, 8], winSize: 3 };
  const s = synthesisScores(truth, test_, opts);
  assert.deepEqual(Object.keys(s), computed());
  for (const m of SYNTHESIS_METRICS.filter((q) => q.builtin))
    assert.equal(s[m.name as keyof typeof s], m.score!(truth, test_, opts), m.name);

  const acc = new SynthesisMetrics(opts);
  acc.update(truth, test_);
  acc.update(truth, truth); // identical: PSNR is Infinity and left out of its mean (finiteMean)
  const agg = acc.aggregate();
  assert.deepEqual(Object.keys(agg), [...computed(), 'count']);
  const same = synthesisScores(truth, truth, opts);
  for (const m of SYNTHESIS_METRICS.filter((q) => q.builtin)) {
    const k = m.name as keyof typeof s;
    const want = m.finiteMean && !Number.isFinite(same[k]) ? s[k] : (s[k] + same[k]) / 2;
    assert.equal(agg[k], want, m.name);
  }

  const series = { data: new Float32Array([...truth, ...test_]), shape: [8, 8, 8, 2] };
  const other = { data: new Float32Array([...test_, ...test_]), shape: [8, 8, 8, 2] };
  const f = compareFrames(series, other, { winSize: 3 });
  assert.deepEqual(Object.keys(f), [...computed(), 'frames']);
  for (const fr of f.frames) assert.deepEqual(Object.keys(fr), computed());
  assert.deepEqual(
    Object.keys(frameColumns(f.frames)),
    [0, 1].flatMap((k) => computed().map((m) => `${m}_f${k}`)),
  );
  assert.deepEqual(Object.keys(evaluationTemplate({ dce: 2 })), [
    'subject',
    'source',
    'target',
    ...computed(),
    ...[0, 1].flatMap((k) => computed().map((m) => `${m}_f${k}`)),
  ]);

  await initEngine();
  const [ta, tb] = [tf.tensor4d(truth, [2, 8, 8, 4]), tf.tensor4d(test_, [2, 8, 8, 4])];
  try {
    for (const item of batchSynthesisScores(ta, tb, { winSize: 3 }))
      assert.deepEqual(Object.keys(item), computed());
  } finally {
    tf.dispose([ta, tb]);
  }
});

test('the CSV columns and the ranking defaults derive from the table', () => {
  assert.deepEqual(REQUIRED_COLUMNS, [
    'subject',
    'source',
    'target',
    ...SYNTHESIS_METRICS.filter((m) => m.required).map((m) => m.name),
  ]);
  assert.deepEqual(REQUIRED_COLUMNS.slice(3), ['psnr', 'ssim']); // the table as the paper has it
  assert.deepEqual(
    OPTIONAL_METRIC_COLUMNS,
    SYNTHESIS_METRICS.filter((m) => !m.required).map((m) => m.name),
  );
  const full: EvaluationRow = { subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9, zeta: 'x' };
  for (const m of KNOWN_METRICS) full[m] = 0.5;
  assert.deepEqual(evaluationColumns([full]), ['subject', 'source', 'target', ...KNOWN_METRICS, 'zeta']);
  assert.equal(
    formatEvaluationCsv([full]).split('\n')[0],
    ['subject', 'source', 'target', ...KNOWN_METRICS, 'zeta'].join(','),
  );

  // every row has every metric: the paper's metrics; without the paper's optional one: its stand-in
  const paper = SYNTHESIS_METRICS.filter((m) => m.paper);
  assert.deepEqual(
    defaultMetrics([full]),
    paper.map((m) => m.name),
  );
  const optional = paper.find((m) => !m.required)!;
  const standIn = SYNTHESIS_METRICS.find((m) => m.standsInFor === optional.name)!;
  const without: EvaluationRow = { ...full };
  delete without[optional.name];
  assert.deepEqual(
    defaultMetrics([without]),
    paper.map((m) => (m === optional ? standIn.name : m.name)),
  );
  delete without[standIn.name];
  assert.deepEqual(
    defaultMetrics([without]),
    paper.filter((m) => m.required).map((m) => m.name),
  );
  assert.deepEqual(defaultMetrics([without]), ['psnr', 'ssim']);
});

test('a metric added to the table flows through the scores, accumulator, columns, tensor metrics and ranking', async () => {
  const table = SYNTHESIS_METRICS as SynthesisMetricSpec[];
  const rmse: SynthesisMetricSpec = {
    name: 'rmse',
    orientation: -1,
    builtin: true,
    paper: true,
    description: 'root mean squared error (test-only entry)',
    score: (a, b, o) => Math.sqrt(meanSquaredError(a, b, o)),
  };
  table.push(rmse);
  try {
    const opts = { shape: [8, 8, 8], winSize: 3 };
    const s = synthesisScores(truth, test_, opts) as Record<string, number>;
    assert.equal(s.rmse, Math.sqrt(meanSquaredError(truth, test_)));
    const acc = new SynthesisMetrics(opts);
    acc.update(truth, test_);
    assert.equal((acc.aggregate() as unknown as Record<string, number>).rmse, s.rmse);
    const series = { data: new Float32Array([...truth, ...test_]), shape: [8, 8, 8, 2] };
    const f = compareFrames(series, { ...series, data: series.data.map((v) => v * 0.5) }, { winSize: 3 });
    const cols = frameColumns(f.frames);
    assert.ok('rmse_f0' in cols && 'rmse_f1' in cols, Object.keys(cols).join(','));
    assert.ok('rmse_f1' in evaluationTemplate({ dce: 2 }));
    await initEngine();
    const [ta, tb] = [tf.tensor4d(truth, [2, 8, 8, 4]), tf.tensor4d(test_, [2, 8, 8, 4])];
    try {
      assert.ok(batchSynthesisScores(ta, tb, { winSize: 3 }).every((x) => 'rmse' in x));
    } finally {
      tf.dispose([ta, tb]);
    }
    const row: EvaluationRow = {
      subject: 'a',
      source: 't1',
      target: 't2',
      psnr: 25,
      ssim: 0.9,
      rmse: 0.1,
      site: 'A',
    };
    assert.deepEqual(evaluationColumns([row]), [
      'subject',
      'source',
      'target',
      'psnr',
      'ssim',
      'rmse',
      'site',
    ]);
    assert.equal(metricOrientation('rmse'), -1); // ranked with its orientation, no declaration needed
    assert.deepEqual(defaultMetrics([row]), ['psnr', 'ssim', 'rmse']);
  } finally {
    table.splice(table.indexOf(rmse), 1);
  }
  assert.deepEqual(Object.keys(synthesisScores(truth, test_, { shape: [8, 8, 8], winSize: 3 })), computed());
  assert.throws(() => metricOrientation('rmse'), MriseqError);
});

const dir = mkdtempSync(join(tmpdir(), 'mriseq-registry-'));
const rows: EvaluationRow[] = [];
for (let s = 0; s < 3; s++)
  for (const a of ['t1', 't2', 'flair'])
    for (const b of ['t1', 't2', 'flair'])
      rows.push({
        subject: `s${s}`,
        source: a,
        target: b,
        psnr: 25 + rand(),
        ssim: 0.8 + rand() / 10,
        dice: rand(),
      });
const csv = join(dir, 'evaluation.csv');
writeFileSync(csv, formatEvaluationCsv(rows));

test('rank --use with a metric the registry does not know and no declared orientation is an error naming it', async () => {
  assert.equal(parseEvaluationCsv(formatEvaluationCsv(rows))[0]?.dice, rows[0]?.dice);
  const r = await runCli(['rank', csv, '--use', 'psnr,dice', '--resamples', '0']);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.err, /unknown metric "dice"/);
  assert.match(r.err, /--orientation dice=lower/);
  assert.equal(r.out, '', 'nothing ranked');
  // declared, it ranks, with the declared orientation (as the API does)
  const ok = await runCli([
    'rank',
    csv,
    '--use',
    'psnr,dice',
    '--orientation',
    'dice=higher',
    '--resamples',
    '0',
    '--json',
  ]);
  assert.equal(ok.code, 0, ok.err);
  const api = rankSequences(rows, { metrics: ['psnr', 'dice'], orientations: { dice: 1 }, resamples: 0 });
  assert.deepEqual((JSON.parse(ok.out) as { order: string[] }).order, api.order);
  // a column the table lacks is named too
  const missing = await runCli(['rank', csv, '--use', 'psnr,hd95']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.err, /hd95/);
});
