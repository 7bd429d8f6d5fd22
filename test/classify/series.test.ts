/**
 * A DCE series as classifier channels (src/classify/series.ts): a series view of a phantom cohort
 * with DWI and DCE offers the study's sequences with the DCE split into its phases, each phase the
 * series' own time point (checked against the 4D volume's data read directly), an M_d of the series
 * made once per subject and given out phase by phase, and a downstream dataset built over it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cohort } from '../../src/cohort/index.js';
import {
  buildDownstreamDataset,
  normalizeForClassifier,
  seriesChannels,
  seriesMapProvider,
  seriesView,
  type DownstreamSubject,
} from '../../src/classify/index.js';
import { isMriseqError } from '../../src/errors/index.js';
import type { Volume } from '../../src/volume/index.js';

const cohort = Cohort.fromPhantom({ subjects: 6, size: [16, 16, 8], seed: 2, dwi: true, dce: { phases: 3 } });
const STUDY = ['t1', 't2', 'dwi', 'dce'];

test('a series view lists the study sequences with the DCE split into its phases, each the series time point', async () => {
  const view = seriesView(cohort, { sequences: STUDY, series: { dce: 3 } });
  const s = view.subject(cohort.ids[0]);
  assert.deepEqual(s.available, ['t1', 't2', 'dwi', 'dce@0', 'dce@1', 'dce@2']);
  assert.deepEqual(seriesChannels(STUDY, { dce: 3 }), s.available);
  const dce = await cohort.subject(cohort.ids[0]).load('dce');
  assert.deepEqual(dce.shape, [16, 16, 8, 3]);
  const n = 16 * 16 * 8;
  for (const t of [0, 2]) {
    const f = await s.load(`dce@${t}`);
    assert.deepEqual(f.shape, [16, 16, 8]);
    assert.deepEqual(f.affine, dce.affine);
    for (let i = 0; i < n; i += 37) assert.equal(f.data[i], dce.data[t * n + i]);
  }
  assert.deepEqual((await s.load('t2')).data, (await cohort.subject(cohort.ids[0]).load('t2')).data);
  // normalised as a whole: each time point keeps its intensity relative to the others
  const joint = seriesView(cohort, {
    sequences: STUDY,
    series: { dce: 3 },
    normalize: normalizeForClassifier,
  });
  const whole = normalizeForClassifier(dce);
  const late = await joint.subject(cohort.ids[0]).load('dce@2');
  for (let i = 0; i < n; i += 37) assert.equal(late.data[i], whole.data[2 * n + i]);
  await assert.rejects(s.load('t1gd'), (e: unknown) => isMriseqError(e) && /no such channel/.test(e.message));
  const wrong = seriesView(cohort, { sequences: STUDY, series: { dce: 4 } }).subject(cohort.ids[0]);
  await assert.rejects(
    wrong.load('dce@1'),
    (e: unknown) => isMriseqError(e) && /3 time points/.test(String(e)),
  );
  assert.throws(() => seriesView(cohort, { sequences: ['t1'], series: { dce: 3 } }), /series/);
});

test('seriesMapProvider: one series map per subject (from the study sequences whole), given out time point by time point; a downstream dataset over the view', async () => {
  const view = seriesView(cohort, { sequences: STUDY, series: { dce: 3 } });
  const calls: { id: string; target: string; available: readonly string[] }[] = [];
  // a stand-in M_d: the series itself, scaled, so each time point is recognisable
  const inner = async (s: DownstreamSubject, target: string): Promise<Volume> => {
    calls.push({ id: s.id, target, available: s.available });
    const v = normalizeForClassifier(await s.load(target));
    return { ...v, data: v.data.map((x) => 10 * x) };
  };
  const maps = seriesMapProvider(inner);
  const data = await buildDownstreamDataset(view, {
    label: 'washout',
    sequences: ['t1', 'dce@0', 'dce@2'],
    mapTargets: ['dce@0', 'dce@1', 'dce@2'],
    maps,
  });
  assert.deepEqual(data.channels, ['t1', 'dce@0', 'dce@2', 'md:dce@0', 'md:dce@1', 'md:dce@2']);
  assert.equal(data.ids.length, 6);
  assert.equal(calls.length, 6, 'one series map per subject');
  assert.ok(calls.every((c) => c.target === 'dce' && c.available.join() === STUDY.join()));
  // the inner provider loads raw volumes even when the view normalises its own channels
  const rawSeen: Volume[] = [];
  const joint = seriesView(cohort, {
    sequences: STUDY,
    series: { dce: 3 },
    normalize: normalizeForClassifier,
  });
  await seriesMapProvider(async (s2, t) => {
    const v = await s2.load(t);
    rawSeen.push(v);
    return v;
  })(joint.subject(cohort.ids[0]), 'dce@1');
  assert.deepEqual(
    rawSeen[0].data,
    (await cohort.subject(cohort.ids[0]).load('dce')).data,
    'raw volumes reach the inner provider',
  );
  assert.deepEqual(data.classNames, ['0', '1']);
  // channel md:dce@2 of subject 0 = 10 x the normalised series at time point 2 (x fastest -> [z][y][x][c])
  const series = normalizeForClassifier(await cohort.subject(data.ids[0]).load('dce'));
  const n = 16 * 16 * 8;
  const C = data.channels.length;
  for (let i = 0; i < n; i += 41) {
    assert.ok(Math.abs(data.inputs[0][i * C + 5] - 10 * series.data[2 * n + i]) < 1e-5);
    // the MRI channel dce@2 is normalised as a volume of its own
    assert.ok(data.inputs[0][i * C + 2] >= -1 && data.inputs[0][i * C + 2] <= 1);
  }
});
