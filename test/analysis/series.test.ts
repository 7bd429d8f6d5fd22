/**
 * 4D series in the analysis (issue 30): frame extraction and summaries over time against numpy,
 * per-frame AUC against scikit-learn, the DCE subtraction in closed form, per-frame metrics with a
 * per-frame or shared mask, the evaluation table's series columns, and phantomAcceptance on a 4D
 * unique sequence with a generator that knows the answer (the real series, or the truth-blind
 * mean of the other sequences).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingPython, runPython } from '../helpers/python.js';
import {
  compareFrames,
  compareVolumes,
  evaluationColumns,
  evaluationTemplate,
  frameAucs,
  frameColumns,
  frameValues,
  phantomAcceptance,
  rankSequences,
  formatAcceptance,
  acceptanceRecord,
  psnr,
  seededRandom,
  seriesSubtractionMap,
  summarizeMap,
  synthesisScores,
  type GenerateFn,
} from '../../src/analysis/index.js';
import { frameCount, reduceFrames, volumeFrame, type Volume } from '../../src/volume/index.js';
import { isMriseqError } from '../../src/errors/index.js';

const shape3 = [8, 7, 7];
const n = 392;
const affine = [
  [1, 0, 0, -3],
  [0, 1, 0, -2],
  [0, 0, 2, -4],
  [0, 0, 0, 1],
];
function series(nt: number, f: (i: number, t: number) => number): Volume {
  return {
    data: Float32Array.from({ length: n * nt }, (_, k) => f(k % n, Math.floor(k / n))),
    shape: nt > 1 ? [...shape3, nt] : shape3,
    spacing: nt > 1 ? [1, 1, 2, 60] : [1, 1, 2],
    affine,
    datatype: 'float32',
  };
}

test(
  'frames and summaries over time equal numpy (x fastest, time slowest), and AUC per frame equals scikit-learn',
  { skip: missingPython('sklearn') },
  () => {
    const r = seededRandom(4);
    const v = series(5, () => r());
    const truth = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const region = Array.from({ length: n }, (_, i) => (i < 300 ? 1 : 0));
    const ref = runPython<{
      frame3: number[];
      mean: number[];
      max: number[];
      auc: number[];
      meanAfterFirst: number[];
      maxAfterFirst: number[];
    }>(
      `
import json, sys, numpy as np
from sklearn.metrics import roc_auc_score
d = json.load(sys.stdin)
a = np.asarray(d['data'], dtype=np.float32).reshape(d['shape'][::-1])   # [t, z, y, x]
t = np.asarray(d['truth']); r = np.asarray(d['region']) > 0
print(json.dumps({'frame3': a[3].ravel().tolist(), 'mean': a.mean(axis=0, dtype=np.float64).ravel().tolist(),
  'meanAfterFirst': a[1:].mean(axis=0, dtype=np.float64).ravel().tolist(), 'maxAfterFirst': a[1:].max(axis=0).ravel().tolist(),
  'max': a.max(axis=0).ravel().tolist(),
  'auc': [float(roc_auc_score(t[r], a[k].ravel()[r])) for k in range(a.shape[0])]}))
`,
      { data: Array.from(v.data), shape: v.shape, truth, region },
    );
    assert.equal(frameCount(v), 5);
    const f3 = volumeFrame(v, 3);
    assert.deepEqual(f3.shape, shape3);
    assert.deepEqual(f3.spacing, [1, 1, 2]);
    assert.deepEqual(f3.affine, affine);
    assert.deepEqual(Array.from(f3.data), ref.frame3);
    const mean = summarizeMap(v);
    mean.data.forEach((x, i) => assert.ok(Math.abs(x - ref.mean[i]) < 1e-6));
    assert.deepEqual(Array.from(reduceFrames(v, 'max').data), ref.max);
    // the post-contrast summary (a DCE's phases after the first), as the 4D acceptance scores it
    summarizeMap(v, 'mean', 'after-first').data.forEach((x, i) =>
      assert.ok(Math.abs(x - ref.meanAfterFirst[i]) < 1e-6),
    );
    assert.deepEqual(Array.from(reduceFrames(v, 'max', 1).data), ref.maxAfterFirst);
    assert.throws(() => reduceFrames(v, 'mean', 5), /first frame 5 of a series of 5 frames/);
    frameAucs(v, truth, { region }).forEach((a, k) =>
      assert.ok(Math.abs(a - ref.auc[k]) < 1e-12, `frame ${k}`),
    );
    // a 3D volume is its own summary and its only frame
    const three = volumeFrame(v, 0);
    assert.equal(summarizeMap(three), three);
    assert.equal(frameCount(three), 1);
    assert.throws(
      () => volumeFrame(v, 5),
      (e: unknown) => isMriseqError(e) && /0\.\.4/.test(String(e)),
    );
  },
);

test('the DCE subtraction is max over time points of |x_k - x_0| (closed form), and needs a series', () => {
  const v = series(4, (i, t) => (i % 7) * 0.1 + (t === 0 ? 0 : i % 2 ? -0.05 * t : 0.02 * t));
  const s = seriesSubtractionMap(v);
  assert.deepEqual(s.shape, shape3);
  s.data.forEach((x, i) => {
    const expected = i % 2 ? 0.15 : 0.06;
    assert.ok(Math.abs(x - expected) < 1e-6, `voxel ${i}: ${x}`);
  });
  assert.throws(() => seriesSubtractionMap(volumeFrame(v, 0)), /at least two time points/);
});

test('compareFrames: each frame scored alone, the series metrics their mean; a shared or per-frame mask', () => {
  const r = seededRandom(9);
  const a = series(3, () => r() * 2 - 1);
  const b = series(3, (i, t) => a.data[t * n + i] + 0.1 * (t + 1) * (r() - 0.5));
  const s = compareFrames(a, b);
  assert.equal(s.frames.length, 3);
  s.frames.forEach((f, t) => {
    const one = synthesisScores(volumeFrame(a, t).data, volumeFrame(b, t).data, { shape: shape3 });
    assert.ok(
      Math.abs(f.psnr - one.psnr) < 1e-9 &&
        Math.abs(f.ssim - one.ssim) < 1e-9 &&
        Math.abs(f.mae - one.mae) < 1e-9,
    );
  });
  assert.ok(Math.abs(s.psnr - (s.frames[0].psnr + s.frames[1].psnr + s.frames[2].psnr) / 3) < 1e-12);
  // the series' PSNR is the mean of the phases', not the PSNR of the pooled error
  assert.notEqual(s.psnr.toFixed(6), psnr(a.data, b.data).toFixed(6));
  assert.deepEqual(compareVolumes(a, b), { psnr: s.psnr, ssim: s.ssim, mae: s.mae });
  const mask = Array.from({ length: n }, (_, i) => (i % 2 ? 1 : 0));
  const shared = compareFrames(a, b, { mask });
  const whole = compareFrames(a, b, { mask: [...mask, ...mask, ...mask] });
  assert.deepEqual(shared, whole);
  assert.throws(() => compareFrames(a, b, { mask: mask.slice(1) }), /mask size/);
  // a 3D volume: one frame
  const one = compareFrames(volumeFrame(a, 0), volumeFrame(b, 0));
  assert.deepEqual(one.frames, [{ psnr: one.psnr, ssim: one.ssim, mae: one.mae }]);
});

test('series columns: psnr_f0.., their values read back, and a header fixed before any row', () => {
  const frames = [
    { psnr: 20, ssim: 0.5, mae: 0.1 },
    { psnr: 22, ssim: 0.6, mae: 0.2 },
  ];
  const row = {
    subject: 's',
    source: 't1',
    target: 'dce',
    psnr: 21,
    ssim: 0.55,
    mae: 0.15,
    ...frameColumns(frames),
  };
  assert.deepEqual(frameValues(row, 'psnr'), [20, 22]);
  assert.deepEqual(frameValues(row, 'mae'), [0.1, 0.2]);
  assert.deepEqual(frameColumns([frames[0]]), {});
  assert.deepEqual(evaluationColumns([evaluationTemplate({ dce: 2 })]), evaluationColumns([row]));
  assert.deepEqual(evaluationColumns([evaluationTemplate({ dce: 6 }, ['t1', 't2'])]), [
    'subject',
    'source',
    'target',
    'psnr',
    'ssim',
    'mae',
  ]);
});

test('phantomAcceptance on a series: M_d scored by its mean over time, per time point, and against the series subtraction', async () => {
  // Truth: voxels i % 4 === 0 enhance after time point 0 (the DCE's unique signal); the lesion is i < 260.
  const unique = series(1, (i) => (i % 4 === 0 ? 1 : 0));
  const lesion = series(1, (i) => (i < 260 ? 1 : 0));
  const subjects = [0, 1].map((k) => {
    const r = seededRandom(20 + k);
    const base = Array.from({ length: n }, () => r() * 0.8 - 0.6);
    return {
      id: `s${k}`,
      sequences: {
        t1: series(1, (i) => base[i]),
        t2: series(1, (i) => -base[i] * 0.9),
        dce: series(4, (i, t) => base[i] + (t > 0 && i % 4 === 0 ? 0.3 : 0)),
      },
      unique,
      lesion,
    };
  });
  // A generator that reproduces everything a source can know: the pre-contrast anatomy, never the
  // enhancement (so M_d(dce) is the enhancement itself).
  const gen: GenerateFn = async (src, target, like) => {
    const [name] = Object.keys(src);
    const x = src[name];
    const anatomy = name === 't2' ? x.data.map((v) => -v / 0.9) : x.data.slice(0, n);
    const nt = like && like.shape.length > 3 ? like.shape[3] : 1;
    const out = new Float32Array(n * nt);
    for (let t = 0; t < nt; t++)
      for (let i = 0; i < n; i++)
        // a small error everywhere (a perfect copy has an infinite PSNR, which C_d refuses)
        out[t * n + i] = (target === 't2' ? -anatomy[i] * 0.9 : anatomy[i]) + 0.01 * Math.sin(i);
    return out;
  };
  const r = await phantomAcceptance(subjects, gen, {
    uniqueSequence: 'dce',
    lastSequence: 't1',
    resamples: 10,
  });
  assert.equal(r.lesionAuc.dce.mean, 1);
  assert.deepEqual(r.frameAuc.dce.slice(1), [1, 1, 1]);
  assert.ok(
    Math.abs(r.frameAuc.dce[0] - 0.5) < 0.1,
    `the pre-contrast time point holds no unique signal: ${r.frameAuc.dce[0]}`,
  );
  assert.equal(r.frameAuc.t1, undefined);
  assert.equal(r.subtraction, 'max_k |dce_k - dce_0|');
  assert.equal(r.subtractionAuc, 1);
  assert.ok(r.checks.aucAtLeast && r.checks.specific);
  const dceRow = r.rows.find((x) => x.source === 't1' && x.target === 'dce')!;
  assert.equal(frameValues(dceRow, 'psnr').length, 4);
  const p = frameValues(dceRow, 'psnr');
  assert.ok(
    p.slice(1).every((x) => x < p[0] - 10),
    `time point 0 is reproduced, the others miss the enhancement: ${p}`,
  );
  assert.equal(r.frames, 'all');
  assert.equal(r.ranking.matrix.frames, 'all');
  // Scored over the post-contrast phases (the 4D acceptance's choice): the same generations, the
  // ranking and the M_d summary leave phase 0 out, and the report says so.
  const after = await phantomAcceptance(subjects, gen, {
    uniqueSequence: 'dce',
    lastSequence: 't1',
    resamples: 10,
    frames: 'after-first',
  });
  assert.deepEqual(after.rows, r.rows);
  assert.equal(after.frames, 'after-first');
  assert.equal(after.ranking.matrix.frames, 'after-first');
  // the ranking is the table's, ranked over phases 1-3 (the DCE's psnr/ssim/mae read from them)
  const direct = rankSequences(r.rows, { resamples: 10, seed: 0, frames: 'after-first' });
  assert.deepEqual(
    after.ranking.sequences.map((e) => e.C_d),
    direct.sequences.map((e) => e.C_d),
  );
  assert.notDeepEqual(after.ranking.matrix.stats, r.ranking.matrix.stats);
  assert.equal(after.lesionAuc.dce.mean, 1);
  // ... and M_d's summary too: a generator that misses phase 0 off the unique voxels blurs the
  // mean over every phase, not the mean over the phases after the first
  const missesPhase0: GenerateFn = async (src, target, like) => {
    const out = (await gen(src, target, like)) as Float32Array;
    if (target === 'dce') for (let i = 0; i < n; i++) if (i % 4 !== 0) out[i] += 1.5;
    return out;
  };
  const blurred = await phantomAcceptance(subjects, missesPhase0, {
    uniqueSequence: 'dce',
    lastSequence: 't1',
    resamples: 0,
  });
  const sharp = await phantomAcceptance(subjects, missesPhase0, {
    uniqueSequence: 'dce',
    lastSequence: 't1',
    resamples: 0,
    frames: 'after-first',
  });
  assert.ok(blurred.lesionAuc.dce.mean < 0.9, `every phase: ${blurred.lesionAuc.dce.mean}`);
  assert.equal(sharp.lesionAuc.dce.mean, 1);
  assert.match(
    formatAcceptance(after, 'dce'),
    /Series \(dce\) scored over the phases after the first \(frames 'after-first'\)/,
  );
  assert.match(formatAcceptance(r, 'dce'), /Series \(dce\) scored over every phase \(frames 'all'\)/);
  assert.equal(acceptanceRecord(after, 'dce', 't1').frames, 'after-first');
});
