import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingPython, runPython } from '../helpers/python.js';
import {
  hungarian,
  clusteringAccuracy,
  normalizedMutualInfo,
  adjustedRandIndex,
  silhouetteScore,
  kMeans,
  chooseK,
} from '../../src/cluster/index.js';
import { createRng, normal } from '../../src/classify/index.js';

const skip = missingPython('sklearn', 'scipy');

test(
  'Hungarian assignment reaches scipy linear_sum_assignment optimum (square and rectangular)',
  { skip },
  () => {
    const rng = createRng(1);
    const mats = [
      [6, 6],
      [7, 4],
      [3, 8],
      [1, 1],
    ].map(([r, c]) =>
      Array.from({ length: r }, () => Array.from({ length: c }, () => Math.round(rng() * 20))),
    );
    const ref = runPython<number[]>(
      `
import json, sys, numpy as np
from scipy.optimize import linear_sum_assignment
out = []
for m in json.load(sys.stdin):
    m = np.array(m, dtype=float); r, c = linear_sum_assignment(m); out.append(float(m[r, c].sum()))
print(json.dumps(out))
`,
      mats,
    );
    mats.forEach((m, i) => {
      const h = hungarian(m);
      assert.equal(h.total, ref[i]);
      const cols = h.rowToCol.filter((c) => c >= 0);
      assert.equal(new Set(cols).size, cols.length);
      assert.equal(cols.length, Math.min(m.length, m[0].length));
    });
  },
);

test('clustering accuracy, NMI and ARI equal scikit-learn / scipy on the same labels', { skip }, () => {
  const rng = createRng(2);
  const cases = [
    [60, 3, 4],
    [50, 4, 2],
    [40, 2, 5],
  ].map(([n, kt, kp]) => {
    const y = Array.from({ length: n }, () => Math.floor(rng() * kt));
    // Mostly a permutation of y, plus noise: the matching has to be found.
    const c = y.map((v) => (rng() < 0.7 ? (v * 3 + 1) % kp : Math.floor(rng() * kp)));
    return { y, c };
  });
  cases.push({ y: [0, 0, 0, 0], c: [1, 1, 1, 1] }, { y: [0, 0, 1, 1], c: [0, 1, 2, 3] });
  const ref = runPython<{ acc: number; nmi: number; ari: number }[]>(
    `
import json, sys, numpy as np
from sklearn import metrics
from scipy.optimize import linear_sum_assignment
out = []
for d in json.load(sys.stdin):
    y, c = np.array(d['y']), np.array(d['c'])
    m = metrics.cluster.contingency_matrix(c, y)
    r, k = linear_sum_assignment(-m)
    out.append(dict(acc=m[r, k].sum() / len(y), nmi=metrics.normalized_mutual_info_score(y, c),
                    ari=metrics.adjusted_rand_score(y, c)))
print(json.dumps(out))
`,
    cases,
  );
  cases.forEach(({ y, c }, i) => {
    assert.ok(Math.abs(clusteringAccuracy(y, c).accuracy - ref[i].acc) < 1e-12, `acc ${i}`);
    assert.ok(Math.abs(normalizedMutualInfo(y, c) - ref[i].nmi) < 1e-10, `nmi ${i}`);
    assert.ok(Math.abs(adjustedRandIndex(y, c) - ref[i].ari) < 1e-10, `ari ${i}`);
  });
});

function blobs(seed: number, perCluster: number, centres: number[][], sd: number) {
  const rng = createRng(seed);
  const points: number[][] = [];
  const labels: number[] = [];
  centres.forEach((c, k) => {
    for (let i = 0; i < perCluster; i++) {
      points.push(c.map((v) => v + sd * normal(rng)));
      labels.push(k);
    }
  });
  return { points, labels };
}

test('silhouette equals scikit-learn', { skip }, () => {
  const { points, labels } = blobs(
    3,
    12,
    [
      [0, 0, 0],
      [3, 0, 1],
      [0, 4, 0],
    ],
    1,
  );
  const ref = runPython<number>(
    `
import json, sys
from sklearn.metrics import silhouette_score
d = json.load(sys.stdin)
print(json.dumps(float(silhouette_score(d['x'], d['l']))))
`,
    { x: points, l: labels },
  );
  assert.ok(Math.abs(silhouetteScore(points, labels) - ref) < 1e-10);
});

test('k-means recovers well-separated clusters (ARI > 0.9), is seeded, and silhouette picks k', () => {
  const centres = [
    [0, 0, 0, 0],
    [6, 0, 0, 0],
    [0, 6, 0, 0],
    [0, 0, 6, 6],
  ];
  const { points, labels } = blobs(4, 25, centres, 0.7);
  const r = kMeans(points, 4, { seed: 3 });
  assert.ok(adjustedRandIndex(labels, r.labels) > 0.9);
  assert.deepEqual(kMeans(points, 4, { seed: 3 }).labels, r.labels);
  const chosen = chooseK(points, { kMin: 2, kMax: 6, seed: 1 });
  assert.equal(chosen.best.k, 4);
  assert.equal(chosen.silhouettes.length, 5);
});

test(
  'k-means inertia is within 1% of scikit-learn KMeans on the same data (both are local optima)',
  { skip },
  () => {
    const { points } = blobs(
      5,
      20,
      [
        [0, 0],
        [2, 2],
        [4, 0],
      ],
      1,
    );
    const ref = runPython<number>(
      `
import json, sys
from sklearn.cluster import KMeans
x = json.load(sys.stdin)
print(json.dumps(float(KMeans(3, n_init=10, random_state=0).fit(x).inertia_)))
`,
      points,
    );
    const ours = kMeans(points, 3, { seed: 0, restarts: 10 }).inertia;
    assert.ok(ours <= ref * 1.01, `ours ${ours} vs sklearn ${ref}`);
  },
);
