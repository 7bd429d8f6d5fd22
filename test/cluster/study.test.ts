/**
 * The seed-3 study function (clusterStudy) on a separable synthetic set and a small phantom, its
 * scores against scikit-learn, and the Student-t interval over seeds against scipy.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { clusterStudy, clusterStudyFigure, CLUSTER_STUDY_METHODS } from '../../src/cluster/index.js';
import { seedInterval, studentTCdf, studentTQuantile } from '../../src/analysis/index.js';
import {
  buildDownstreamDataset,
  createRng,
  normal,
  type DownstreamDataset,
} from '../../src/classify/index.js';
import { Cohort } from '../../src/cohort/index.js';
import { MriseqError } from '../../src/errors/index.js';
import { figureProblems } from '../../src/plot/index.js';
import { missingPython, runPython } from '../helpers/python.js';

before(async () => {
  setEngineAdapter(nodeEngineAdapter);
  const r = await initEngine();
  assert.equal(r.backend, 'tensorflow', r.summary);
});

/** Two classes of 4x8x8x2 images: a bright or a dark 2x4x4 block at the centre, noise SD 0.1. */
function separable(perClass: number, seed: number): DownstreamDataset {
  const rng = createRng(seed);
  const [D, H, W, C] = [4, 8, 8, 2];
  const inputs: Float32Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 2 * perClass; i++) {
    const c = i % 2;
    const x = new Float32Array(D * H * W * C);
    for (let z = 0; z < D; z++)
      for (let y = 0; y < H; y++)
        for (let w = 0; w < W; w++)
          for (let ch = 0; ch < C; ch++) {
            const centre = z >= 1 && z < 3 && y >= 2 && y < 6 && w >= 2 && w < 6;
            x[((z * H + y) * W + w) * C + ch] = (centre ? (c ? -1 : 1) : 0) + 0.1 * normal(rng);
          }
    inputs.push(x);
    labels.push(c);
  }
  return {
    shape: [D, H, W, C],
    inputs,
    labels,
    ids: labels.map((_, i) => `s${i}`),
    classNames: ['bright', 'dark'],
    channels: ['a', 'b'],
    references: [],
  };
}

test(
  'clusterStudy on a separable set: raw k-means accuracy, NMI and ARI 1 on every seed, scores equal scikit-learn on the same clusters',
  { skip: missingPython('sklearn') },
  async () => {
    const d = separable(12, 1);
    const before = tf.memory().numTensors;
    const r = await clusterStudy(d, {
      seeds: [0, 1, 2],
      train: { epochs: 3, batchSize: 8 },
      resnet: false,
      explain: { parity: d.labels.map((l) => (l ? 'odd' : 'even')) },
    });
    assert.deepEqual(r.seeds, [0, 1, 2]);
    assert.equal(r.k, 2);
    assert.deepEqual(r.shape, [4, 8, 8, 2]);
    for (const run of r.runs) {
      assert.equal(run.scores.raw.accuracy, 1, `seed ${run.seed}: raw accuracy ${run.scores.raw.accuracy}`);
      assert.ok(Math.abs(run.scores.raw.nmi - 1) < 1e-9 && Math.abs(run.scores.raw.ari - 1) < 1e-9);
      // the explain variable is the label itself: its NMI with the raw clusters is the raw NMI
      assert.ok(Math.abs(run.explained.parity.raw! - run.scores.raw.nmi) < 1e-12);
      assert.equal(run.scores.resnet, undefined);
      // stratified: 30% of each class of 12 held out
      assert.equal(run.scores.logistic.subjects, 2 * Math.round(0.3 * 12));
    }
    const rawAcc = r.summary.find((s) => s.method === 'raw' && s.metric === 'accuracy')!;
    assert.deepEqual(rawAcc.interval.ci95, [1, 1]);
    assert.equal(rawAcc.interval.n, 3);
    assert.deepEqual(
      [...new Set(r.summary.map((s) => s.method))],
      ['autoencoder', 'raw', 'logistic'],
      'no ResNet or ablation row when they were not run',
    );
    // the study's autoencoder scores against scikit-learn on the first seed's clusters
    const ref = runPython<{ nmi: number; ari: number; acc: number }>(
      `
import json, sys
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import normalized_mutual_info_score, adjusted_rand_score, confusion_matrix
d = json.load(sys.stdin)
y, c = np.array(d['y']), np.array(d['c'])
m = confusion_matrix(y, c)
r, k = linear_sum_assignment(-m)
print(json.dumps(dict(nmi=normalized_mutual_info_score(y, c), ari=adjusted_rand_score(y, c), acc=m[r, k].sum() / len(y))))
`,
      { y: d.labels, c: r.example.clusters },
    );
    const ae = r.runs[0].scores.autoencoder;
    assert.ok(Math.abs(ae.nmi - ref.nmi) < 1e-9, `NMI ${ae.nmi} vs ${ref.nmi}`);
    assert.ok(Math.abs(ae.ari - ref.ari) < 1e-9, `ARI ${ae.ari} vs ${ref.ari}`);
    assert.ok(Math.abs(ae.accuracy - ref.acc) < 1e-12, `accuracy ${ae.accuracy} vs ${ref.acc}`);
    r.example.autoencoder.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    const fig = clusterStudyFigure(r.summary, { chance: 0.5 });
    assert.deepEqual(figureProblems(fig), []);
  },
);

test('clusterStudy on a small phantom: every method over two seeds, intervals around their means, the ablation and the ResNet', async () => {
  const cohort = Cohort.fromPhantom({ subjects: 16, size: [32, 32, 16], seed: 0 });
  const d = await buildDownstreamDataset(cohort, {
    label: 'lesionGroup',
    sequences: ['t1', 't2'],
    roi: { mask: 'lesion', size: [8, 8, 4], maskOutside: true },
  });
  const stages: string[] = [];
  const r = await clusterStudy(d, {
    seeds: [3, 4],
    train: { epochs: 2, batchSize: 8 },
    ablation: true,
    resnet: { model: { depth: 6, baseWidth: 4 }, train: { epochs: 1 } },
    samplesPerCluster: 1,
    onStage: (p) => stages.push(p.stage),
  });
  assert.deepEqual(
    [...new Set(r.summary.map((s) => s.method))],
    Object.keys(CLUSTER_STUDY_METHODS),
    'all five methods summarised',
  );
  assert.equal(r.summary.length, 15);
  for (const s of r.summary) {
    assert.equal(s.interval.n, 2, `${s.label} ${s.metric}`);
    assert.ok(s.interval.ci95[0] <= s.interval.mean && s.interval.mean <= s.interval.ci95[1]);
    for (const v of s.interval.values) {
      assert.ok(Number.isFinite(v), `${s.label} ${s.metric}: ${v}`);
      assert.ok(v <= 1 + 1e-12 && v >= (s.metric === 'ari' ? -1 : 0), `${s.label} ${s.metric}: ${v}`);
    }
  }
  for (const run of r.runs) {
    assert.ok(run.scores.resnet!.auc! >= 0 && run.scores.resnet!.auc! <= 1);
    assert.equal(run.scores.autoencoder.subjects, 16);
    // Each part's wall-clock time is recorded (not judged: speed belongs in the bench); the
    // logistic regression is timed with the autoencoder whose latents it reads.
    assert.deepEqual(Object.keys(run.seconds).sort(), ['autoencoder', 'raw', 'reconstruction', 'resnet']);
    for (const [m, sec] of Object.entries(run.seconds))
      assert.ok(Number.isFinite(sec) && sec! >= 0, `${m}: ${sec}`);
  }
  assert.equal(r.example.samples.length, r.k);
  assert.equal(stages.at(-1), 'done');
  r.example.autoencoder.dispose();
});

test('clusterStudy rejects a one-class label, no seeds and an explain variable of the wrong length', async () => {
  const d = separable(4, 2);
  await assert.rejects(
    () => clusterStudy({ ...d, classNames: ['only'], labels: d.labels.map(() => 0) }, { resnet: false }),
    (e: unknown) => e instanceof MriseqError && /two classes/.test(e.message),
  );
  await assert.rejects(
    () => clusterStudy(d, { seeds: [], resnet: false }),
    (e: unknown) => e instanceof MriseqError && e.field === 'seeds',
  );
  await assert.rejects(
    () => clusterStudy(d, { seeds: [0], resnet: false, explain: { size: [1, 2] } }),
    (e: unknown) => e instanceof MriseqError && e.field === 'explain.size',
  );
});

test(
  'Student t CDF, quantile and the interval over seeds equal scipy.stats',
  { skip: missingPython('scipy') },
  () => {
    const values = [0.71, 0.75, 0.69, 0.8, 0.74];
    const dfs = [1, 2, 3, 4, 5, 9, 10, 29, 30];
    const ref = runPython<{ q: number[]; cdf: number[]; ci: number[] }>(
      `
import json, sys
import numpy as np
from scipy import stats
d = json.load(sys.stdin)
v = np.array(d['values'])
ci = stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
print(json.dumps(dict(q=[stats.t.ppf(0.975, k) for k in d['dfs']], cdf=[stats.t.cdf(t, k) for k in d['dfs'] for t in (-2.5, 0.3, 1.7)], ci=list(ci))))
`,
      { values, dfs },
    );
    dfs.forEach((df, i) => {
      const q = studentTQuantile(0.975, df);
      assert.ok(Math.abs(q - ref.q[i]) < 1e-8, `df ${df}: ${q} vs ${ref.q[i]}`);
      [-2.5, 0.3, 1.7].forEach((t, j) => {
        const c = studentTCdf(t, df);
        assert.ok(
          Math.abs(c - ref.cdf[3 * i + j]) < 1e-10,
          `cdf(${t}, ${df}): ${c} vs ${ref.cdf[3 * i + j]}`,
        );
      });
    });
    const s = seedInterval(values);
    assert.ok(
      Math.abs(s.ci95[0] - ref.ci[0]) < 1e-9 && Math.abs(s.ci95[1] - ref.ci[1]) < 1e-9,
      `${s.ci95} vs ${ref.ci}`,
    );
    assert.deepEqual(seedInterval([0.5]).ci95, [0.5, 0.5]);
    assert.equal(seedInterval([1, NaN, 3]).n, 2);
    assert.throws(() => seedInterval([NaN]), MriseqError);
    assert.throws(() => studentTQuantile(1, 3), MriseqError);
    assert.throws(() => studentTCdf(1, 2.5), MriseqError);
  },
);

test('clusterStudy stopped by its signal keeps only the seeds that finished', async () => {
  const d = separable(6, 3);
  const ac = new AbortController();
  const r = await clusterStudy(d, {
    seeds: [0, 1, 2],
    train: { epochs: 2, batchSize: 4 },
    resnet: false,
    signal: ac.signal,
    onStage: (p) => {
      if (p.stage.startsWith('seed 1:')) ac.abort();
    },
  });
  assert.deepEqual(r.seeds, [0]);
  assert.equal(r.summary[0].interval.n, 1);
  r.example.autoencoder.dispose();
  const stopped = new AbortController();
  stopped.abort();
  await assert.rejects(
    () => clusterStudy(d, { seeds: [0], resnet: false, signal: stopped.signal }),
    (e: unknown) => e instanceof MriseqError && e.field === 'signal',
  );
});
