import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { Cohort } from '../../src/cohort/index.js';
import { LESION_HIERARCHY } from '../../src/phantom/index.js';
import {
  buildDownstreamDataset,
  selectChannels,
  multiclassAuc,
  compareWithMaps,
  runHierarchical,
  downstreamStudy,
  downsampleVolume,
  normalizeForClassifier,
  stackChannels,
  subtractionMapProvider,
  treeFromGroups,
  treeLeaves,
  ResNet3d,
  createRng,
  normal,
  type DownstreamCohort,
} from '../../src/classify/index.js';
import { saveClassifier, loadClassifier, writeGradCamNifti } from '../../src/classify/node.js';
import type { Volume } from '../../src/volume/index.js';
import { MriseqError } from '../../src/errors/index.js';
import { missingPython, runPython } from '../helpers/python.js';

before(async () => {
  setEngineAdapter(nodeEngineAdapter);
  await initEngine();
});

function volume(shape: [number, number, number], seed: number): Volume {
  const rng = createRng(seed);
  const n = shape[0] * shape[1] * shape[2];
  return {
    data: Float32Array.from({ length: n }, () => Math.abs(normal(rng)) * 100),
    shape,
    spacing: [1, 2, 3],
    affine: [
      [1, 0, 0, -10],
      [0, 2, 0, -20],
      [0, 0, 3, -30],
      [0, 0, 0, 1],
    ],
    datatype: 'float32',
  };
}

test(
  'normalisation and downsampling equal numpy; downsampled affine keeps voxel centres',
  { skip: missingPython('numpy') },
  () => {
    const v = volume([6, 4, 4], 1);
    const ref = runPython<{ norm: number[]; down: number[] }>(
      `
import json, sys, numpy as np
d = json.load(sys.stdin)
x = np.array(d['x'], dtype=np.float64)
hi = 2 * np.percentile(x, 99)
n = np.clip(x, 0, hi) / hi * 2 - 1
a = x.reshape(4, 4, 6)  # z, y, x (x fastest)
down = a.reshape(2, 2, 2, 2, 3, 2).mean(axis=(1, 3, 5))
print(json.dumps(dict(norm=n.tolist(), down=down.flatten().tolist())))
`,
      { x: Array.from(v.data) },
    );
    normalizeForClassifier(v).data.forEach((val, i) => assert.ok(Math.abs(val - ref.norm[i]) < 1e-4));
    const d = downsampleVolume(v, 2);
    assert.deepEqual(d.shape, [3, 2, 2]);
    d.data.forEach((val, i) => assert.ok(Math.abs(val - ref.down[i]) < 1e-3, `voxel ${i}`));
    // Pooled voxel (0,0,0) sits at the centre of old voxels 0..1: old index 0.5 on each axis.
    assert.deepEqual(
      d.affine.slice(0, 3).map((r) => r[3]),
      [-10 + 0.5 * 1, -20 + 0.5 * 2, -30 + 0.5 * 3],
    );
    assert.deepEqual(d.spacing, [2, 4, 6]);
    const w = volume([6, 4, 4], 9);
    const s = stackChannels([v, w]);
    assert.equal(s[2 * 5], v.data[5]);
    assert.equal(s[2 * 5 + 1], w.data[5]);
  },
);

test('downstream dataset from a phantom cohort: channels, labels, M_d channel, errors name the problem', async () => {
  const cohort = Cohort.fromPhantom({
    subjects: 8,
    seed: 3,
    size: [16, 16, 8],
  }) as unknown as DownstreamCohort;
  const d = await buildDownstreamDataset(cohort, {
    label: 'highEnhancement',
    sequences: ['t1gd', 'flair'],
    mapTargets: ['t1gd'],
    maps: subtractionMapProvider(),
    downsample: 2,
  });
  assert.deepEqual(d.shape, [4, 8, 8, 3]);
  assert.deepEqual(d.channels, ['t1gd', 'flair', 'md:t1gd']);
  assert.equal(d.inputs.length, 8);
  assert.deepEqual(d.classNames, ['0', '1']);
  for (const x of d.inputs) {
    for (let i = 0; i < x.length; i += 3) assert.ok(x[i] >= -1 && x[i] <= 1);
  }
  await assert.rejects(
    () =>
      buildDownstreamDataset(cohort, { label: 'highEnhancement', sequences: ['t1gd'], mapTargets: ['t1gd'] }),
    (e: unknown) => e instanceof MriseqError && /no map provider/.test(e.message),
  );
  await assert.rejects(
    () => buildDownstreamDataset(cohort, { label: 'nosuch', sequences: ['t1gd'] }),
    (e: unknown) => e instanceof MriseqError && /nosuch/.test(e.message),
  );
  const tree = treeFromGroups('lesion', LESION_HIERARCHY);
  assert.deepEqual(treeLeaves(tree), [...LESION_HIERARCHY.necrotic, ...LESION_HIERARCHY.solid]);
});

test('selectChannels keeps the named channels in the given order; unknown names are a MriseqError', () => {
  // 2 voxels x 3 channels, value = 10 * voxel + channel.
  const d = {
    shape: [1, 1, 2, 3] as [number, number, number, number],
    inputs: [Float32Array.from([0, 1, 2, 10, 11, 12]), Float32Array.from([100, 101, 102, 110, 111, 112])],
    labels: [0, 1],
    ids: ['s1', 's2'],
    classNames: ['n', 'p'],
    channels: ['t1', 't1gd', 'flair'],
    references: [],
  };
  const s = selectChannels(d, ['flair', 't1']);
  assert.deepEqual(s.shape, [1, 1, 2, 2]);
  assert.deepEqual(s.channels, ['flair', 't1']);
  assert.deepEqual([...s.inputs[0]], [2, 0, 12, 10]);
  assert.deepEqual([...s.inputs[1]], [102, 100, 112, 110]);
  assert.deepEqual(s.labels, d.labels);
  assert.deepEqual(s.ids, d.ids);
  assert.throws(
    () => selectChannels(d, ['t2']),
    (e: unknown) => e instanceof MriseqError && e.found === 't2' && /t1gd/.test(e.expected ?? ''),
  );
  assert.throws(() => selectChannels(d, []), MriseqError);
});

test('MRI vs MRI + map comparison runs on the same held-out subjects', async () => {
  const cohort = Cohort.fromPhantom({
    subjects: 12,
    seed: 4,
    size: [16, 16, 8],
  }) as unknown as DownstreamCohort;
  const r = await compareWithMaps(cohort, {
    label: 'highEnhancement',
    sequences: ['t1gd'],
    mapTargets: ['t1gd'],
    maps: subtractionMapProvider(),
    downsample: 2,
    model: { baseWidth: 2, attention: false },
    train: { epochs: 1 },
    bootstrap: 50,
  });
  assert.deepEqual(r.mri.testIds, r.mriWithMaps.testIds);
  assert.deepEqual(r.mri.channels, ['t1gd']);
  assert.deepEqual(r.mriWithMaps.channels, ['t1gd', 'md:t1gd']);
  for (const run of [r.mri, r.mriWithMaps]) {
    assert.ok(run.evaluation.auc >= 0 && run.evaluation.auc <= 1);
    run.model.dispose();
  }
  assert.ok(Math.abs(r.aucGain - (r.mriWithMaps.evaluation.auc - r.mri.evaluation.auc)) < 1e-12);
});

test(
  'classifier checkpoint reloads in a fresh model; Grad-CAM NIfTI reads back in nibabel with the subject affine',
  { skip: missingPython('nibabel') },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mriseq-classify-'));
    try {
      const m = new ResNet3d({ inputChannels: ['t1gd'], classNames: ['a', 'b'], baseWidth: 2 });
      saveClassifier(m, join(dir, 'model.json'));
      const back = loadClassifier(join(dir, 'model.json'));
      const x = tf.randomNormal([1, 4, 4, 4, 1]);
      const a = tf.tidy(() => m.forward(x).arraySync());
      const b = tf.tidy(() => back.forward(x).arraySync());
      a[0].forEach((v, i) => assert.ok(Math.abs(v - b[0][i]) < 1e-6));
      x.dispose();
      m.dispose();
      back.dispose();
      assert.throws(() => loadClassifier(join(dir, 'missing.json')), MriseqError);

      const ref = volume([5, 4, 3], 2);
      const map = Float32Array.from({ length: 60 }, (_, i) => i / 59);
      await writeGradCamNifti(map, ref, join(dir, 'cam', 's1_gradcam.nii.gz'));
      const nib = runPython<{ shape: number[]; affine: number[][]; first: number[] }>(
        `
import json, sys, nibabel as nib, numpy as np
im = nib.load(sys.argv[1])
a = im.get_fdata()
print(json.dumps(dict(shape=list(a.shape), affine=im.affine.tolist(), first=[a[1, 0, 0], a[0, 1, 0], a[0, 0, 1]])))
`,
        null,
        [join(dir, 'cam', 's1_gradcam.nii.gz')],
      );
      assert.deepEqual(nib.shape, [5, 4, 3]);
      assert.deepEqual(nib.affine, ref.affine);
      // x fastest: (1,0,0) is element 1, (0,1,0) element 5, (0,0,1) element 20.
      [1, 5, 20].forEach((idx, k) => assert.ok(Math.abs(nib.first[k] - map[idx]) < 1e-6));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('hierarchical run recovers a separable two-level task with classes given out of leaf order', async () => {
  const rng = createRng(1);
  const classNames = ['b1', 'a2', 'a1', 'b2'];
  const inputs: Float32Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 32; i++) {
    const l = i % 4;
    // Channel 0 carries the group (a/b), channel 1 the subtype (1/2).
    const g = classNames[l][0] === 'a' ? 1 : -1;
    const s = classNames[l][1] === '1' ? 1 : -1;
    inputs.push(
      Float32Array.from({ length: 8 * 8 * 8 * 2 }, (_, k) => (k % 2 === 0 ? g : s) * 0.8 + normal(rng)),
    );
    labels.push(l);
  }
  const data = {
    shape: [8, 8, 8, 2] as [number, number, number, number],
    inputs,
    labels,
    ids: inputs.map((_, i) => `s${i}`),
    classNames,
    channels: ['c1', 'c2'],
    references: [],
  };
  const h = await runHierarchical(data, treeFromGroups('root', { a: ['a1', 'a2'], b: ['b1', 'b2'] }), {
    model: { baseWidth: 2, attention: false },
    train: { epochs: 10, learningRate: 5e-3 },
    bootstrap: 100,
  });
  assert.deepEqual(h.leaves, ['a1', 'a2', 'b1', 'b2']);
  assert.ok(h.groupAuc.auc > 0.9, `group AUC ${h.groupAuc.auc}`);
  assert.ok(h.leafAuc.auc > 0.9, `leaf AUC ${h.leafAuc.auc}`);
  // The returned test probabilities and leaf labels are those the AUCs were computed from.
  assert.equal(h.probabilities.length, h.testIds.length);
  h.testIds.forEach((id, i) => {
    assert.equal(h.leaves[h.testLabels[i]], classNames[labels[data.ids.indexOf(id)]]);
    assert.ok(Math.abs(h.probabilities[i].reduce((a, b) => a + b, 0) - 1) < 1e-5);
  });
  assert.ok(Math.abs(multiclassAuc(h.testLabels, h.probabilities).macro - h.leafAuc.auc) < 1e-12);
  h.classifier.dispose();
});

test('downstreamStudy on a tiny phantom: MRI, MRI + map and the hierarchical origin rows, all measured', async () => {
  const cohort = Cohort.fromPhantom({
    subjects: 16,
    seed: 5,
    size: [16, 16, 8],
  }) as unknown as DownstreamCohort;
  const stages: string[] = [];
  const r = await downstreamStudy(cohort, {
    sequences: ['t1gd', 'flair'],
    maps: subtractionMapProvider(),
    downsample: 2,
    model: { baseWidth: 2, attention: false },
    train: { epochs: 1 },
    testFraction: 0.4,
    bootstrap: 20,
    onStage: (s) => stages.push(s),
  });
  assert.deepEqual(
    r.rows.map((x) => [x.task, x.input]),
    [
      ['highEnhancement', 't1gd+flair'],
      ['highEnhancement', 't1gd+flair+md:t1gd'],
      ['lesionType (subtypes, hierarchical)', 't1gd+flair'],
      ['lesionType (group level)', 't1gd+flair'],
    ],
  );
  for (const row of r.rows) assert.ok(row.auc >= 0 && row.auc <= 1 && row.ci95[0] <= row.ci95[1]);
  assert.equal(stages.length, 2);
  r.hierarchical.classifier.dispose();
});
