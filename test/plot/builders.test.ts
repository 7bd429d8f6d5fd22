import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  contributionMatrixFigure,
  differentiationMapFigure,
  figureProblems,
  flattenHistory,
  gradcamFigure,
  latentScatterFigure,
  pairMetricsFigure,
  project2d,
  rankingFigure,
  rocCurve,
  rocFigure,
  trainingCurvesFigure,
  liveTrainingCurves,
  TRACE_TYPES,
  type Figure,
} from '../../src/plot/index.js';
import { setDisplayTransport, type DisplayMessage } from '../../src/display/index.js';
import { MriseqError } from '../../src/errors/index.js';
import { missingPython, runPython } from '../helpers/python.js';
import { sampleFigures } from './samples.js';

function assertValid(name: string, fig: Figure): void {
  assert.deepEqual(figureProblems(fig), [], name);
  assert.ok(Array.isArray(fig.data) && fig.data.length > 0, `${name}: data`);
  assert.ok(typeof fig.layout === 'object' && !Array.isArray(fig.layout), `${name}: layout`);
  for (const t of fig.data)
    assert.ok((TRACE_TYPES as readonly string[]).includes(t.type), `${name}: ${t.type}`);
  // JSON round trip is lossless: no NaN, typed arrays or class instances hiding in the spec
  assert.deepEqual(JSON.parse(JSON.stringify(fig)), fig, `${name}: JSON round trip`);
}

test('every builder yields a valid, JSON-serialisable plotly spec', () => {
  const figs = sampleFigures(0);
  assert.deepEqual(Object.keys(figs).sort(), [
    'contribution',
    'gradcam',
    'intervals',
    'latent',
    'maps',
    'pairs',
    'ranking',
    'roc',
    'training',
  ]);
  for (const [name, fig] of Object.entries(figs)) assertValid(name, fig);
});

test('figureProblems catches what would break rendering or JSON', () => {
  assert.ok(figureProblems({ data: [{ type: 'scatter', y: [NaN] }], layout: {} }).some((p) => /NaN/.test(p)));
  assert.ok(
    figureProblems({ data: [{ type: 'scatter', y: new Float32Array(2) }], layout: {} }).some((p) =>
      /typed array/.test(p),
    ),
  );
  assert.ok(figureProblems({ data: [{ type: 'pie3d' }], layout: {} }).some((p) => /unknown/.test(p)));
  assert.ok(figureProblems({ data: [] }).some((p) => /layout/.test(p)));
});

test('training curves: nested progress events flatten; validation on the second axis', () => {
  const pts = flattenHistory([
    { step: 1, loss: { total: 2, l1: 1.5 }, lr: 1e-3, subject: 's' },
    { step: 2, loss: { total: 1, l1: 0.7 }, lr: 1e-3, validationPsnr: 21 },
    'garbage',
  ]);
  assert.deepEqual(pts[1], { step: 2, 'loss.total': 1, 'loss.l1': 0.7, lr: 1e-3, validationPsnr: 21 });
  const fig = trainingCurvesFigure(pts);
  const names = fig.data.map((t) => t.name);
  assert.deepEqual(names, ['loss.total', 'loss.l1', 'validationPsnr']);
  assert.equal(fig.data[2].yaxis, 'y2');
  assert.deepEqual(fig.data[2].x, [2]);
  assert.deepEqual(fig.data[0].y, [2, 1]);
});

test('A heatmap: NaN cells become gaps, non-square A is a MriseqError', () => {
  const f = contributionMatrixFigure({
    sequences: ['t1', 't2'],
    A: [
      [NaN, 0.5],
      [-0.25, NaN],
    ],
  });
  assert.deepEqual(f.data[0].z, [
    [null, 0.5],
    [-0.25, null],
  ]);
  assert.deepEqual(f.data[0].text, [
    ['', '0.50'],
    ['-0.25', ''],
  ]);
  assert.throws(() => contributionMatrixFigure({ sequences: ['a', 'b'], A: [[1, 2]] }), MriseqError);
});

test('ranking bars: ordered by C_d, asymmetric CI whiskers', () => {
  const f = rankingFigure([
    { sequence: 't1', C_t: 0.1, C_d: -0.2, C_t_ci: [0, 0.3], C_d_ci: [-0.5, 0] },
    { sequence: 'flair', C_t: 0.4, C_d: 0.6, C_t_ci: [0.2, 0.5], C_d_ci: [0.5, 0.9] },
  ]);
  assert.deepEqual(f.data[1].x, ['flair', 't1']);
  const e = f.data[1].error_y as { array: number[]; arrayminus: number[] };
  assert.ok(Math.abs(e.array[0] - 0.3) < 1e-12 && Math.abs(e.arrayminus[0] - 0.1) < 1e-12);
  assert.ok(Math.abs(e.array[1] - 0.2) < 1e-12 && Math.abs(e.arrayminus[1] - 0.3) < 1e-12);
});

test('M_d grid: anatomy + masked overlay per slice, slices inside the map extent, anterior up', () => {
  const [nx, ny, nz] = [4, 3, 10];
  const anat = { data: Float32Array.from({ length: nx * ny * nz }, (_, i) => i), shape: [nx, ny, nz] };
  const md = new Float32Array(nx * ny * nz);
  md[1 + nx * (2 + ny * 5)] = 2; // x=1, y=2, z=5
  md[2 + nx * (0 + ny * 6)] = 0.1; // under 10% of max: masked
  const f = differentiationMapFigure(anat, { data: md, shape: [nx, ny, nz] }, { count: 4 });
  assert.equal(f.data.length, 4); // slices 5 and 6 only (map extent), 2 traces each
  const z5 = f.data[1].z as (number | null)[][];
  // plotly draws row 0 at the bottom: row r is y = r, so anterior (+y) is up
  assert.deepEqual(z5[2], [null, 2, null, null]);
  assert.deepEqual(z5[0], [null, null, null, null]);
  assert.ok((f.data[3].z as (number | null)[][]).flat().every((v) => v === null));
  assert.equal((f.data[0].z as number[][])[0][0], nx * ny * 5);
  assert.equal((f.data[0].z as number[][])[2][3], 3 + nx * (2 + ny * 5));
  assert.equal(f.data[2].xaxis, 'x2');
  assert.throws(() => differentiationMapFigure(anat, { data: md, shape: [nx, ny, 9] }), MriseqError);
  assert.throws(
    () => differentiationMapFigure(anat, { data: md, shape: [nx, ny, nz] }, { slices: [10] }),
    MriseqError,
  );
});

test('M_d grid: the truth outline on every panel and the anatomical edge labels from axis codes', () => {
  const [nx, ny, nz] = [6, 5, 3];
  const n = nx * ny * nz;
  const anat = { data: new Float32Array(n).fill(1), shape: [nx, ny, nz] };
  const md = { data: Float32Array.from({ length: n }, (_, i) => i % 7), shape: [nx, ny, nz] };
  const truth = {
    data: Float32Array.from({ length: n }, (_, i) => (i % nx >= 3 ? 1 : 0)),
    shape: [nx, ny, nz],
  };
  const f = differentiationMapFigure(anat, md, { slices: [0, 2], truth, orientation: { x: 'L', y: 'P' } });
  const contours = f.data.filter((t) => t.type === 'contour');
  assert.equal(contours.length, 2);
  assert.deepEqual((contours[0].z as number[][])[0], [0, 0, 0, 1, 1, 1]);
  assert.equal(contours[1].xaxis, 'x2');
  // +x points left (L) and +y posterior (P): the left edge is R, the top edge is P
  const labels = (f.layout.annotations as { text: string; x: number; y: number }[]).map((a) => [
    a.text.replace(/<\/?b>/g, ''),
    a.x,
    a.y,
  ]);
  assert.deepEqual(labels, [
    ['R', 0.04, 0.5],
    ['L', 0.96, 0.5],
    ['A', 0.5, 0.04],
    ['P', 0.5, 0.96],
  ]);
  assert.throws(() => differentiationMapFigure(anat, md, { orientation: { x: 'Q', y: 'A' } }), MriseqError);
  assert.throws(
    () => differentiationMapFigure(anat, md, { truth: { data: truth.data, shape: [nx, ny, 2] } }),
    MriseqError,
  );
});

test('pair metrics: mean ± sample sd per source -> target', () => {
  const f = pairMetricsFigure([
    { subject: 'a', source: 't1', target: 't2', psnr: 10, ssim: 0.5 },
    { subject: 'b', source: 't1', target: 't2', psnr: 20, ssim: 0.7 },
    { subject: 'a', source: 't2', target: 't1', psnr: 30, ssim: 0.9 },
  ]);
  const cells = (f.data[0].cells as { values: string[][] }).values;
  assert.deepEqual(cells[0], ['t1', 't2']);
  assert.deepEqual(cells[2], ['2', '1']);
  assert.deepEqual(cells[3], [`15.000 ± ${Math.sqrt(50).toFixed(3)}`, '30.000']);
  assert.deepEqual((f.data[0].header as { values: string[] }).values, [
    'source',
    'target',
    'n',
    'psnr',
    'ssim',
  ]);
});

test(
  'rocCurve equals scikit-learn roc_curve / roc_auc_score, ties included',
  { skip: missingPython('sklearn') },
  () => {
    const scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.55, 0.55, 0.05];
    const labels = [0, 0, 1, 1, 1, 1, 0, 0, 1, 0] as (0 | 1)[];
    const r = rocCurve(scores, labels, 'm');
    const ref = runPython<{ fpr: number[]; tpr: number[]; auc: number }>(
      `import sys, json
from sklearn.metrics import roc_curve, roc_auc_score
d = json.load(sys.stdin)
fpr, tpr, _ = roc_curve(d["l"], d["s"], drop_intermediate=False)
print(json.dumps({"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": roc_auc_score(d["l"], d["s"])}))`,
      { s: scores, l: labels },
    );
    assert.deepEqual(
      r.fpr.map((v) => +v.toFixed(12)),
      ref.fpr.map((v) => +v.toFixed(12)),
    );
    assert.deepEqual(
      r.tpr.map((v) => +v.toFixed(12)),
      ref.tpr.map((v) => +v.toFixed(12)),
    );
    assert.ok(Math.abs((r.auc ?? 0) - ref.auc) < 1e-12);
    assert.match(String(rocFigure([r]).data[0].name), /AUC 0\.\d{3}/);
    assert.throws(() => rocCurve([1, 2], [1, 1]), MriseqError);
  },
);

test(
  'project2d spans the same plane as scikit-learn PCA (up to sign)',
  { skip: missingPython('sklearn') },
  () => {
    const pts = Array.from({ length: 30 }, (_, i) => [
      Math.sin(i) * 3,
      Math.cos(i * 0.7) * 2,
      i * 0.1,
      Math.sin(i * 1.3) * 0.5,
    ]);
    const ours = project2d(pts);
    const ref = runPython<number[][]>(
      `import sys, json
from sklearn.decomposition import PCA
print(json.dumps(PCA(n_components=2).fit_transform(json.load(sys.stdin)).tolist()))`,
      pts,
    );
    for (const c of [0, 1]) {
      const sign = Math.sign(ours[0][c] * ref[0][c]) || 1;
      for (let i = 0; i < pts.length; i++)
        assert.ok(Math.abs(ours[i][c] - sign * ref[i][c]) < 1e-6, `component ${c} point ${i}`);
    }
    const f = latentScatterFigure({ points: pts, labels: pts.map((_, i) => (i % 2 ? 'a' : 'b')) });
    assert.deepEqual(
      f.data.map((t) => t.name),
      ['b', 'a'],
    );
    assert.equal((f.data[0].x as number[]).length, 15);
  },
);

test('Grad-CAM: one image + heatmap pair per panel; size mismatch is a MriseqError', () => {
  const im = { width: 3, height: 2, data: [1, 2, 3, 4, 5, 6] };
  const f = gradcamFigure([{ image: im, cam: { ...im, data: [0, 0, 1, 0, 0, 0] }, label: 't1' }]);
  assert.deepEqual(f.data[0].z, [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.deepEqual(f.data[1].z, [
    [0, 0, 1],
    [0, 0, 0],
  ]);
  assert.throws(
    () => gradcamFigure([{ image: im, cam: { width: 2, height: 2, data: [0, 0, 0, 0] } }]),
    MriseqError,
  );
});

test('live training curves: one display, updated with the growing history', () => {
  const msgs: DisplayMessage[] = [];
  setDisplayTransport({ kind: 'test', send: (m) => (msgs.push(structuredClone(m)), true) });
  try {
    const live = liveTrainingCurves({ throttleMs: 0 });
    for (let s = 1; s <= 3; s++) live.push({ step: s, loss: { total: 1 / s } });
    live.done();
    assert.equal(new Set(msgs.map((m) => m.displayId)).size, 1);
    const last = msgs[msgs.length - 1].data['application/vnd.plotly.v1+json'] as Figure;
    assert.deepEqual(last.data[0].x, [1, 2, 3]);
    assert.deepEqual(last.data[0].y, [1, 0.5, 1 / 3]);
  } finally {
    setDisplayTransport(undefined);
  }
});
