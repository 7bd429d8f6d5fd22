import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingPython, runPython } from '../helpers/python.js';
import {
  rocCurve,
  rocAuc,
  multiclassAuc,
  aucWithCi,
  classificationReport,
  evaluateClassifier,
  createRng,
  AucMetric,
} from '../../src/classify/index.js';
import { MriseqError } from '../../src/errors/index.js';

const skip = missingPython('sklearn');

function data(seed: number, n: number, k: number, signal = 0.6) {
  const rng = createRng(seed);
  const y = Array.from({ length: n }, () => Math.floor(rng() * k));
  // Rounded scores make ties, which is where ROC implementations differ.
  const probs = y.map((c) => {
    const raw = Array.from(
      { length: k },
      (_, j) => Math.round((rng() + (j === c ? signal : 0)) * 10) / 10 + 0.01,
    );
    const s = raw.reduce((a, b) => a + b, 0);
    return raw.map((v) => v / s);
  });
  return { y, probs };
}

test('binary ROC curve, AUC and per-class report equal scikit-learn (with ties)', { skip }, () => {
  const { y, probs } = data(3, 80, 2);
  const s = probs.map((p) => p[1]);
  const ref = runPython<{
    auc: number;
    fpr: number[];
    tpr: number[];
    thr: number[];
    fprAll: number[];
    prf: number[][];
    cm: number[][];
  }>(
    `
import json, sys, numpy as np
from sklearn import metrics
d = json.load(sys.stdin)
y, s = np.array(d['y']), np.array(d['s'])
fpr, tpr, thr = metrics.roc_curve(y, s)
fa, ta, _ = metrics.roc_curve(y, s, drop_intermediate=False)
pred = (np.array(d['s']) >= 0.5).astype(int)
p, r, f, sup = metrics.precision_recall_fscore_support(y, pred, labels=[0, 1], zero_division=0)
print(json.dumps(dict(auc=metrics.roc_auc_score(y, s), fpr=fpr.tolist(), tpr=tpr.tolist(),
  thr=[1e308 if not np.isfinite(t) or t > 1e300 else float(t) for t in thr], fprAll=fa.tolist(),
  prf=[p.tolist(), r.tolist(), f.tolist(), sup.tolist()], cm=metrics.confusion_matrix(y, pred).tolist())))
`,
    { y, s },
  );
  assert.ok(Math.abs(rocAuc(y, s) - ref.auc) < 1e-12);
  const c = rocCurve(y, s);
  assert.deepEqual(c.fpr.length, ref.fpr.length);
  c.fpr.forEach((v, i) => assert.ok(Math.abs(v - ref.fpr[i]) < 1e-12));
  c.tpr.forEach((v, i) => assert.ok(Math.abs(v - ref.tpr[i]) < 1e-12));
  // sklearn >= 1.3 starts at +inf; older versions at max + 1: compare the finite ones.
  c.thresholds.slice(1).forEach((v, i) => assert.ok(Math.abs(v - ref.thr[i + 1]) < 1e-12));
  assert.equal(rocCurve(y, s, { dropIntermediate: false }).fpr.length, ref.fprAll.length);
  const rep = classificationReport(
    y,
    s.map((v) => (v >= 0.5 ? 1 : 0)),
    2,
  );
  [rep.precision, rep.recall, rep.f1, rep.support].forEach((row, i) =>
    row.forEach((v, j) => assert.ok(Math.abs(v - ref.prf[i][j]) < 1e-12, `prf ${i},${j}`)),
  );
  assert.deepEqual(rep.confusion, ref.cm);
});

test('multiclass one-vs-rest macro AUC and per-class metrics equal scikit-learn', { skip }, () => {
  const { y, probs } = data(7, 90, 4);
  const ref = runPython<{ macro: number; per: number[]; prf: number[][]; cm: number[][] }>(
    `
import json, sys, numpy as np
from sklearn import metrics
d = json.load(sys.stdin)
y, P = np.array(d['y']), np.array(d['P'])
pred = P.argmax(1)
p, r, f, sup = metrics.precision_recall_fscore_support(y, pred, labels=range(4), zero_division=0)
print(json.dumps(dict(macro=metrics.roc_auc_score(y, P, multi_class='ovr', average='macro'),
  per=[metrics.roc_auc_score(y == c, P[:, c]) for c in range(4)],
  prf=[p.tolist(), r.tolist(), f.tolist(), sup.tolist()], cm=metrics.confusion_matrix(y, pred, labels=range(4)).tolist())))
`,
    { y, P: probs },
  );
  const m = multiclassAuc(y, probs);
  assert.ok(Math.abs(m.macro - ref.macro) < 1e-12);
  m.perClass.forEach((v, i) => assert.ok(Math.abs(v - ref.per[i]) < 1e-12));
  const ev = evaluateClassifier(y, probs, { resamples: 200, seed: 1 });
  assert.ok(Math.abs(ev.auc - ref.macro) < 1e-12);
  assert.deepEqual(ev.report.confusion, ref.cm);
  ev.report.f1.forEach((v, i) => assert.ok(Math.abs(v - ref.prf[2][i]) < 1e-12));
  assert.equal(ev.roc.length, 4);
});

test('bootstrap CI is seeded, brackets the AUC and narrows with more subjects', () => {
  const small = data(11, 40, 2, 0.2);
  const big = data(11, 400, 2, 0.2);
  const a = aucWithCi(
    small.y,
    small.probs.map((p) => p[1]),
    { resamples: 300, seed: 5 },
  );
  const b = aucWithCi(
    small.y,
    small.probs.map((p) => p[1]),
    { resamples: 300, seed: 5 },
  );
  assert.deepEqual(a, b);
  assert.ok(a.ci95[0] <= a.auc && a.auc <= a.ci95[1]);
  assert.ok(a.ci95[0] < a.ci95[1]);
  const c = aucWithCi(
    big.y,
    big.probs.map((p) => p[1]),
    { resamples: 300, seed: 5 },
  );
  assert.ok(c.ci95[1] - c.ci95[0] < a.ci95[1] - a.ci95[0]);
});

test('bootstrap percentiles equal numpy on the same resampled AUCs', { skip }, () => {
  // The resampling is ours (seeded); the percentile convention must be numpy's so users can
  // recompute the interval from the same indices.
  const { y, probs } = data(13, 30, 2);
  const s = probs.map((p) => p[1]);
  const rng = createRng(9);
  const idxs: number[][] = [];
  while (idxs.length < 50) {
    const idx = Array.from({ length: y.length }, () => Math.floor(rng() * y.length));
    if (new Set(idx.map((i) => y[i])).size < 2) continue;
    idxs.push(idx);
  }
  const ref = runPython<number[]>(
    `
import json, sys, numpy as np
from sklearn import metrics
d = json.load(sys.stdin)
y, s = np.array(d['y']), np.array(d['s'])
a = [metrics.roc_auc_score(y[i], s[i]) for i in d['idx']]
print(json.dumps(np.percentile(a, [2.5, 97.5]).tolist()))
`,
    { y, s, idx: idxs },
  );
  const ours = aucWithCi(y, s, { resamples: 50, seed: 9 });
  assert.ok(Math.abs(ours.ci95[0] - ref[0]) < 1e-12);
  assert.ok(Math.abs(ours.ci95[1] - ref[1]) < 1e-12);
});

test('AUC with one class present is a MriseqError naming the problem', () => {
  assert.throws(
    () => rocAuc([1, 1, 1], [0.1, 0.2, 0.3]),
    (e: unknown) => e instanceof MriseqError && /only one class/.test(e.message),
  );
  assert.throws(() => rocAuc([0, 2], [0.1, 0.2]), MriseqError);
});

test('AucMetric accumulates batches and aggregates once, equal to evaluating all rows together', () => {
  const { y, probs } = data(17, 30, 3);
  const m = new AucMetric();
  m.update(y.slice(0, 12), probs.slice(0, 12));
  m.update(y.slice(12), probs.slice(12));
  const all = evaluateClassifier(y, probs, { resamples: 100, seed: 2 });
  assert.deepEqual(m.aggregate({ resamples: 100, seed: 2 }), all);
  m.reset();
  m.update(y.slice(0, 12), probs.slice(0, 12));
  assert.deepEqual(
    m.aggregate({ resamples: 50 }),
    evaluateClassifier(y.slice(0, 12), probs.slice(0, 12), { resamples: 50 }),
  );
});
