import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingPython, runPython } from '../helpers/python.js';
import {
  voxelAuc,
  delong,
  aucNonInferiority,
  aucDifferenceTest,
  normalCdf,
  seededRandom,
  compareTopK,
  rankSequences,
} from '../../src/analysis/index.js';
import { MriseqError } from '../../src/errors/index.js';

const SKLEARN = `
import json, sys, numpy as np
from sklearn.metrics import roc_auc_score
d = json.load(sys.stdin)
s, y, reg = np.array(d['score']), np.array(d['truth']), np.array(d['region'], dtype=bool)
print(json.dumps({'all': roc_auc_score(y, s), 'region': roc_auc_score(y[reg], s[reg])}))
`;

test(
  'voxel-wise AUC equals sklearn roc_auc_score, with many ties and restricted to a region',
  { skip: missingPython('sklearn') },
  () => {
    const rand = seededRandom(11);
    const n = 3000;
    const truth = Array.from({ length: n }, () => (rand() < 0.2 ? 1 : 0));
    // Quantised scores: many ties, which the mid-rank handling must count as 1/2.
    const score = truth.map((t) => Math.round((rand() + 0.4 * t) * 8) / 8);
    const region = truth.map((_, i) => (i % 4 === 0 ? 0 : 1));
    const ref = runPython<{ all: number; region: number }>(SKLEARN, { score, truth, region });
    assert.ok(Math.abs(voxelAuc(score, truth) - ref.all) < 1e-12);
    assert.ok(Math.abs(voxelAuc(score, truth, { region }) - ref.region) < 1e-12);
    assert.ok(ref.all > 0.6, 'the scores were built to be informative');
  },
);

test('AUC closed forms, and one-class truth is an error', () => {
  assert.equal(voxelAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(voxelAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  assert.equal(voxelAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
  assert.throws(
    () => voxelAuc([1, 2], [1, 1]),
    (e: unknown) => e instanceof MriseqError && e.code === 'auc.oneclass',
  );
});

// DeLong by its definition (O(mn) kernel), independent of our mid-rank algorithm.
const DELONG = `
import json, sys, numpy as np
d = json.load(sys.stdin)
y = np.array(d['labels'], dtype=bool)
S = [np.array(s) for s in d['scores']]
V10, V01, aucs = [], [], []
for s in S:
    x, z = s[y], s[~y]
    psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    aucs.append(psi.mean()); V10.append(psi.mean(axis=1)); V01.append(psi.mean(axis=0))
cov = np.cov(np.array(V10)) / y.sum() + np.cov(np.array(V01)) / (~y).sum()
print(json.dumps({'auc': aucs, 'cov': cov.tolist()}))
`;

test(
  'DeLong AUCs and covariance equal a direct numpy implementation of the definition',
  { skip: missingPython('numpy') },
  () => {
    const rand = seededRandom(4);
    const labels = Array.from({ length: 80 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const a = labels.map((l) => Math.round((rand() + 0.6 * l) * 10) / 10);
    const b = labels.map((l, i) => a[i] * 0.5 + (rand() + 0.3 * l) * 0.5);
    const ours = delong([a, b], labels);
    const ref = runPython<{ auc: number[]; cov: number[][] }>(DELONG, { labels, scores: [a, b] });
    for (let i = 0; i < 2; i++) {
      assert.ok(Math.abs(ours.auc[i] - ref.auc[i]) < 1e-12);
      for (let j = 0; j < 2; j++) assert.ok(Math.abs(ours.cov[i][j] - ref.cov[i][j]) < 1e-12);
    }
  },
);

test(
  'paired DeLong difference test equals numpy + scipy from the definition; identical scores give p = 1',
  { skip: missingPython('numpy', 'scipy') },
  () => {
    const rand = seededRandom(11);
    const labels = Array.from({ length: 90 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const a = labels.map((l) => rand() + 0.4 * l);
    const b = labels.map((l, i) => 0.5 * a[i] + 0.5 * (rand() + 1.2 * l));
    const ours = aucDifferenceTest(labels, a, b);
    const ref = runPython<{ diff: number; se: number; p2: number; p1: number }>(
      DELONG.replace(
        "print(json.dumps({'auc': aucs, 'cov': cov.tolist()}))",
        `from scipy.stats import norm
diff = aucs[1] - aucs[0]
se = float(np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]))
print(json.dumps({'diff': diff, 'se': se, 'p2': float(2 * norm.sf(abs(diff / se))), 'p1': float(norm.sf(diff / se))}))`,
      ),
      { labels, scores: [a, b] },
    );
    assert.ok(Math.abs(ours.difference - ref.diff) < 1e-12);
    assert.ok(Math.abs(ours.se - ref.se) < 1e-12);
    assert.ok(Math.abs(ours.pTwoSided - ref.p2) < 1e-6, `${ours.pTwoSided} vs ${ref.p2}`);
    assert.ok(Math.abs(ours.pBGreater - ref.p1) < 1e-6);
    assert.ok(ours.difference > 0 && ours.pBGreater < 0.05, 'the stronger score is detected');
    assert.ok(Math.abs(ours.ci95[0] - (ref.diff - 1.959964 * ref.se)) < 1e-5);
    const same = aucDifferenceTest(labels, a, a);
    assert.equal(same.difference, 0);
    assert.ok(same.pTwoSided > 0.99999);
  },
);

test('normal CDF matches known values', () => {
  assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7);
  assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-6);
  assert.ok(Math.abs(normalCdf(-1.644854) - 0.05) < 1e-6);
});

test('non-inferiority: the same classifier is non-inferior, a useless one is not (DeLong and bootstrap)', () => {
  const rand = seededRandom(9);
  const labels = Array.from({ length: 200 }, (_, i) => i % 2);
  const good = labels.map((l) => rand() + 0.8 * l);
  const nearlySame = good.map((v) => v + (rand() - 0.5) * 0.05);
  const useless = labels.map(() => rand());
  for (const method of ['delong', 'bootstrap'] as const) {
    const same = aucNonInferiority(labels, good, nearlySame, { margin: 0.05, method, resamples: 300 });
    assert.ok(same.nonInferior, `${method}: near-identical scores must be non-inferior`);
    assert.ok(same.lowerBound > -0.05);
    const bad = aucNonInferiority(labels, good, useless, { margin: 0.05, method, resamples: 300 });
    assert.ok(!bad.nonInferior, `${method}: chance-level scores must fail`);
    if (method === 'delong') assert.ok(same.p < 0.05 && bad.p > 0.5);
  }
});

test('compareTopK runs the downstream task on the full set and the top-k by C_d', async () => {
  const rows = ['a', 'b', 'c'].flatMap((s, i) =>
    ['a', 'b', 'c'].map((t, j) => ({ subject: 'x', source: s, target: t, psnr: 30 - 5 * j + i, ssim: 0.9 })),
  );
  const ranking = rankSequences(rows, { metrics: ['psnr'], resamples: 0 });
  assert.deepEqual(ranking.order, ['c', 'b', 'a']);
  const seen: string[][] = [];
  const labels = Array.from({ length: 60 }, (_, i) => i % 2);
  const rand = seededRandom(2);
  const r = await compareTopK(
    ranking,
    async (seqs) => {
      seen.push([...seqs]);
      return { labels, scores: labels.map((l) => l + rand() * (seqs.includes('c') ? 0.9 : 3)) };
    },
    { k: 1, margin: 0.05 },
  );
  assert.deepEqual(seen, [['c', 'b', 'a'], ['c']]);
  assert.deepEqual(r.topK, ['c']);
  assert.ok(r.nonInferior);
});
