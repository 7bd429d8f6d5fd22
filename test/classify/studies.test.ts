import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { Cohort } from '../../src/cohort/index.js';
import { LESION, LESION_HIERARCHY } from '../../src/phantom/index.js';
import {
  buildDownstreamDataset,
  channelStatistics,
  standardizeChannels,
  standardizeChoice as runStandardizeChoice,
  ROBUST_CLIP,
  maskBoxCentre,
  normalizeForClassifier,
  subtractionMapProvider,
  mapsStudy,
  topKStudy,
  originStudy,
  treeFromGroups,
  createRng,
  normal,
  type DownstreamCohort,
  type DownstreamDataset,
} from '../../src/classify/index.js';
import { MriseqError } from '../../src/errors/index.js';
import { missingPython, runPython } from '../helpers/python.js';

before(async () => {
  setEngineAdapter(nodeEngineAdapter);
  await initEngine();
});

test(
  'region of interest: a box centred on the lesion, cut after normalisation, outside voxels background; affine as nibabel slicer',
  { skip: missingPython('nibabel', 'numpy') },
  async () => {
    const cohort = Cohort.fromPhantom({ subjects: 4, seed: 5, size: [32, 32, 16] });
    const size: [number, number, number] = [12, 10, 6];
    const d = await buildDownstreamDataset(cohort, {
      label: 'lesionGroup',
      sequences: ['t2', 'flair'],
      extraMaps: [{ name: '|t1gd-t1|', map: (s) => subtractionMapProvider()(s, 't1gd') }],
      roi: { mask: 'lesion', size, maskOutside: true },
    });
    assert.deepEqual(d.shape, [6, 10, 12, 3]);
    assert.deepEqual(d.channels, ['t2', 'flair', '|t1gd-t1|']);
    assert.equal(d.roiOrigins?.length, 4);
    let comparedAffines = 0;
    for (const [j, id] of d.ids.entries()) {
      const s = cohort.subject(id);
      const lesion = await s.mask('lesion');
      const t2 = normalizeForClassifier(await s.load('t2'));
      const [nx, ny] = lesion.shape;
      const o = d.roiOrigins![j];
      const c = maskBoxCentre(lesion)!;
      // The box's centre is the lesion's bounding-box centre (to half a voxel).
      for (let a = 0; a < 3; a++) assert.ok(Math.abs(o[a] + (size[a] - 1) / 2 - c[a]) <= 0.5, `axis ${a}`);
      let inside = 0;
      for (let z = 0; z < size[2]; z++)
        for (let y = 0; y < size[1]; y++)
          for (let x = 0; x < size[0]; x++) {
            const X: number = x + o[0];
            const Y: number = y + o[1];
            const Z: number = z + o[2];
            const src: number = X + nx * (Y + ny * Z);
            const dst = (x + size[0] * (y + size[1] * z)) * 3;
            const inVolume = X >= 0 && Y >= 0 && Z >= 0 && X < nx && Y < ny && Z < lesion.shape[2];
            const isIn = inVolume && lesion.data[src] > 0;
            assert.equal(d.regionMasks![j][dst / 3], isIn ? 1 : 0, 'the region mask marks the lesion');
            if (isIn) {
              inside++;
              assert.equal(d.inputs[j][dst], t2.data[src]);
              assert.ok(d.inputs[j][dst + 2] >= 0);
            } else {
              assert.equal(d.inputs[j][dst], -1, 'sequences are background outside the lesion');
              assert.equal(d.inputs[j][dst + 2], 0, 'maps are 0 outside the lesion');
            }
          }
      assert.ok(inside > 20, `the lesion is in the box (${inside} voxels)`);
      // The box's affine (the Grad-CAM NIfTI's) is nibabel's for the same slice when it lies inside.
      if (o.every((v: number, a: number) => v >= 0 && v + size[a] <= lesion.shape[a])) {
        const ref = runPython<number[][]>(
          `
import json, sys, numpy as np, nibabel as nib
d = json.load(sys.stdin)
img = nib.Nifti1Image(np.zeros(d['shape'], dtype=np.float32), np.array(d['affine']))
o, s = d['origin'], d['size']
print(json.dumps(img.slicer[o[0]:o[0]+s[0], o[1]:o[1]+s[1], o[2]:o[2]+s[2]].affine.tolist()))
`,
          { shape: lesion.shape, affine: lesion.affine, origin: o, size },
        );
        d.references[j].affine.forEach((row, r) =>
          row.forEach((v, k) => assert.ok(Math.abs(v - ref[r][k]) < 1e-9, `affine[${r}][${k}]`)),
        );
        comparedAffines++;
      }
    }
    assert.ok(comparedAffines > 0, 'at least one box lies inside its volume');

    // Without maskOutside the surroundings stay.
    const open = await buildDownstreamDataset(cohort, {
      label: 'lesionGroup',
      sequences: ['t2'],
      roi: { mask: 'lesion', size },
    });
    assert.ok(
      open.inputs.some((x, j) => x.some((v, i) => v !== d.inputs[j][i * 3])),
      'the open box differs from the masked one',
    );
  },
);

test(
  'channel standardisation equals numpy over the region voxels of the training subjects; outside becomes 0',
  { skip: missingPython('numpy') },
  () => {
    const rng = createRng(7);
    const n = 5 * 4 * 3;
    const inputs = Array.from({ length: 4 }, () =>
      Float32Array.from({ length: n * 2 }, () => normal(rng) * 3 + 1),
    );
    const regionMasks = inputs.map(() => Uint8Array.from({ length: n }, () => (rng() < 0.4 ? 1 : 0)));
    const d: DownstreamDataset = {
      shape: [3, 4, 5, 2],
      inputs,
      labels: [0, 1, 0, 1],
      ids: ['a', 'b', 'c', 'd'],
      classNames: ['n', 'p'],
      channels: ['t1', 'md:t1gd'],
      references: [],
      regionMasks,
    };
    const stats = channelStatistics(d);
    const ref = runPython<{ mean: number[]; sd: number[] }>(
      `
import json, sys, numpy as np
d = json.load(sys.stdin)
x = np.array(d['x']).reshape(4, -1, 2)
m = np.array(d['m']).reshape(4, -1).astype(bool)
v = x[m]
print(json.dumps({'mean': v.mean(axis=0).tolist(), 'sd': v.std(axis=0).tolist()}))
`,
      { x: inputs.flatMap((a) => Array.from(a)), m: regionMasks.flatMap((a) => Array.from(a)) },
    );
    for (let c = 0; c < 2; c++) {
      assert.ok(Math.abs(stats.mean[c] - ref.mean[c]) < 1e-5);
      assert.ok(Math.abs(stats.sd[c] - ref.sd[c]) < 1e-5);
    }
    const z = standardizeChannels(d, stats);
    z.inputs.forEach((x, j) =>
      regionMasks[j].forEach((inside, v) => {
        for (let c = 0; c < 2; c++) {
          const want = inside ? (inputs[j][v * 2 + c] - stats.mean[c]) / stats.sd[c] : 0;
          assert.ok(Math.abs(x[v * 2 + c] - want) < 1e-5);
        }
      }),
    );
    assert.throws(
      () => standardizeChannels({ ...d, channels: ['t1', 't2'] }, stats),
      (e: unknown) => e instanceof MriseqError && e.code === 'classify.standardize',
    );
  },
);

test(
  "robust standardisation: median and scipy's normal-scaled MAD over the region voxels, a window that saturates, the SD path unchanged",
  { skip: missingPython('numpy', 'scipy') },
  () => {
    const rng = createRng(11);
    const n = 6 * 5 * 4;
    // A channel like T1Gd in a lesion: native tissue near 0, a bright minority (25%) far above it.
    const inputs = Array.from({ length: 3 }, () =>
      Float32Array.from({ length: n * 2 }, (_, k) =>
        k % 2 === 0 ? normal(rng) * 0.05 + (rng() < 0.25 ? 1 : 0) : normal(rng) * 2 - 1,
      ),
    );
    const regionMasks = inputs.map(() => Uint8Array.from({ length: n }, () => (rng() < 0.7 ? 1 : 0)));
    const d: DownstreamDataset = {
      shape: [4, 5, 6, 2],
      inputs,
      labels: [0, 1, 0],
      ids: ['a', 'b', 'c'],
      classNames: ['n', 'p'],
      channels: ['t1gd', 't2'],
      references: [],
      regionMasks,
    };
    const stats = channelStatistics(d, { method: 'robust', clip: ROBUST_CLIP });
    const ref = runPython<{ median: number[]; mad: number[] }>(
      `
import json, sys, numpy as np
from scipy.stats import median_abs_deviation
d = json.load(sys.stdin)
x = np.array(d['x'], dtype=np.float32).astype(np.float64).reshape(3, -1, 2)
m = np.array(d['m']).reshape(3, -1).astype(bool)
v = x[m]
print(json.dumps({'median': np.median(v, axis=0).tolist(), 'mad': median_abs_deviation(v, axis=0, scale='normal').tolist()}))
`,
      { x: inputs.flatMap((a) => Array.from(a)), m: regionMasks.flatMap((a) => Array.from(a)) },
    );
    assert.equal(stats.method, 'robust');
    assert.equal(stats.clip, 2);
    for (let c = 0; c < 2; c++) {
      assert.ok(
        Math.abs(stats.mean[c] - ref.median[c]) < 1e-6,
        `median ${c}: ${stats.mean[c]} vs ${ref.median[c]}`,
      );
      // scipy's 'normal' scale is 1 / Phi^-1(3/4) = 1.482602..., ours 1.4826
      assert.ok(Math.abs(stats.sd[c] / ref.mad[c] - 1) < 1e-5, `MAD ${c}: ${stats.sd[c]} vs ${ref.mad[c]}`);
    }
    // The bright minority does not set the scale: the MAD follows the native tissue (about 0.05-0.07),
    // while the SD is several times larger.
    const sdStats = channelStatistics(d);
    assert.ok(stats.sd[0] < 0.1 && sdStats.sd[0] > 0.3, `robust ${stats.sd[0]}, SD ${sdStats.sd[0]}`);
    const z = standardizeChannels(d, stats);
    let saturated = 0;
    z.inputs.forEach((x, j) =>
      regionMasks[j].forEach((inside, v) => {
        for (let c = 0; c < 2; c++) {
          const raw = (inputs[j][v * 2 + c] - stats.mean[c]) / stats.sd[c];
          const want = inside ? Math.max(-2, Math.min(2, raw)) : 0;
          assert.ok(Math.abs(x[v * 2 + c] - want) < 1e-5);
          if (inside && c === 0 && raw > 2) saturated++;
        }
      }),
    );
    assert.ok(saturated > 0.15 * regionMasks.flat().length, 'the bright minority saturates at the window');
    assert.throws(
      () => runStandardizeChoice({ method: 'robust', clip: 0 }),
      (e: unknown) =>
        e instanceof MriseqError && e.code === 'classify.standardize' && /standardize\.clip/.test(e.message),
    );
    assert.throws(
      () => runStandardizeChoice('mad' as never),
      (e: unknown) => e instanceof MriseqError && e.code === 'classify.standardize',
    );
    assert.deepEqual(runStandardizeChoice('robust'), { method: 'robust', clip: ROBUST_CLIP });
    assert.deepEqual(runStandardizeChoice(true), { method: 'sd' });
    assert.equal(runStandardizeChoice(false), undefined);
  },
);

test('region of interest errors name the subject, the field and what was expected', async () => {
  const cohort = Cohort.fromPhantom({ subjects: 4, seed: 1, size: [16, 16, 8] });
  const noMask: DownstreamCohort = {
    ids: cohort.ids,
    subject: (id) => {
      const s = cohort.subject(id);
      return { id, available: s.available, labels: s.labels, load: (q) => s.load(q) };
    },
  };
  await assert.rejects(
    () =>
      buildDownstreamDataset(noMask, {
        label: 'lesionGroup',
        sequences: ['t2'],
        roi: { mask: 'lesion', size: [8, 8, 4] },
      }),
    (e: unknown) => e instanceof MriseqError && e.code === 'classify.roi' && e.file === cohort.ids[0],
  );
  await assert.rejects(
    () =>
      buildDownstreamDataset(cohort, {
        label: 'lesionGroup',
        sequences: ['t2'],
        roi: { mask: 'nosuch', size: [8, 8, 4] },
      }),
    (e: unknown) => e instanceof MriseqError && e.code === 'classify.roi' && /nosuch/.test(e.message),
  );
  await assert.rejects(
    () =>
      buildDownstreamDataset(cohort, {
        label: 'lesionGroup',
        sequences: ['t2'],
        roi: { mask: 'lesion', size: [8, 0, 4] },
      }),
    (e: unknown) => e instanceof MriseqError && e.field === 'roi.size',
  );
  const empty: DownstreamCohort = {
    ids: cohort.ids,
    subject: (id) => {
      const s = cohort.subject(id);
      return {
        id,
        available: s.available,
        labels: s.labels,
        load: (q) => s.load(q),
        mask: async (k) => {
          const m = await s.mask(k);
          return { ...m, data: new Float32Array(m.data.length) };
        },
      };
    },
  };
  await assert.rejects(
    () =>
      buildDownstreamDataset(empty, {
        label: 'lesionGroup',
        sequences: ['t2'],
        roi: { mask: 'lesion', size: [8, 8, 4] },
      }),
    (e: unknown) => e instanceof MriseqError && /empty/.test(e.message),
  );
  await assert.rejects(
    () =>
      buildDownstreamDataset(cohort, {
        label: 'lesionGroup',
        sequences: ['t2'],
        extraMaps: [{ name: 't2', map: (s) => s.load('t2') }],
      }),
    (e: unknown) => e instanceof MriseqError && e.field === 'extraMaps',
  );
});

/**
 * A synthetic binary dataset whose label lives only in channel 'signal' (a bright cube in the
 * positives), with two noise channels: what each study must find is known.
 */
function cubeDataset(n: number, seed: number): DownstreamDataset {
  const rng = createRng(seed);
  const [D, H, W] = [4, 8, 8];
  const channels = ['signal', 'noise1', 'noise2'];
  const C = channels.length;
  const inputs: Float32Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = i % 2;
    const x = new Float32Array(D * H * W * C);
    for (let v = 0; v < D * H * W; v++) {
      const z = Math.floor(v / (H * W));
      const yy = Math.floor(v / W) % H;
      const xx = v % W;
      const cube = y === 1 && z >= 1 && z < 3 && yy >= 2 && yy < 5 && xx >= 3 && xx < 6;
      x[v * C] = (cube ? 1.5 : 0) + 0.3 * normal(rng);
      x[v * C + 1] = 0.3 * normal(rng);
      x[v * C + 2] = 0.3 * normal(rng);
    }
    inputs.push(x);
    labels.push(y);
  }
  return {
    shape: [D, H, W, C],
    inputs,
    labels,
    ids: labels.map((_, i) => `s${i}`),
    classNames: ['neg', 'pos'],
    channels,
    references: [],
  };
}

test('mapsStudy: the channel that carries the label beats noise alone, by DeLong on the same subjects', async () => {
  const data = cubeDataset(48, 3);
  const r = await mapsStudy(data, {
    sequences: ['noise1'],
    mapChannel: 'signal',
    baselineChannel: 'noise2',
    seed: 1,
    bootstrap: 100,
    testFraction: 0.4,
    model: { baseWidth: 4, attention: false, pooling: 'avgmax' },
    train: { epochs: 25, patience: 25, learningRate: 3e-3 },
  });
  assert.deepEqual(
    r.runs.map((x) => x.channels),
    [['noise1'], ['noise1', 'signal'], ['noise1', 'noise2']],
  );
  assert.equal(r.labels.length, r.testIds.length);
  assert.ok(r.withMap.evaluation.auc > 0.9, `with the signal: ${r.withMap.evaluation.auc}`);
  assert.ok(r.tests.mapVsMri.difference > 0.2 && r.tests.mapVsMri.pBGreater < 0.05);
  assert.ok(Math.abs(r.tests.mapVsMri.aucB - r.withMap.evaluation.auc) < 1e-12);
  assert.ok(r.tests.mapVsBaseline!.pBGreater < 0.05);
});

test('topKStudy: top-k holding the signal is non-inferior, bottom-k without it is inferior', async () => {
  const data = cubeDataset(48, 4);
  const r = await topKStudy(data, {
    order: ['signal', 'noise1', 'noise2'],
    k: 1,
    margin: 0.1,
    seed: 2,
    bootstrap: 100,
    testFraction: 0.4,
    model: { baseWidth: 4, attention: false, pooling: 'avgmax' },
    train: { epochs: 25, patience: 25, learningRate: 3e-3 },
  });
  assert.deepEqual(r.top.channels, ['signal']);
  assert.deepEqual(r.bottom.channels, ['noise2']);
  assert.ok(r.topTest.nonInferior, `top-1 lower bound ${r.topTest.lowerBound}`);
  assert.ok(!r.bottomTest.nonInferior);
  assert.ok(r.bottomInferior, `bottom-1 vs full p ${1 - r.bottomVsFull.pBGreater}`);
  await assert.rejects(
    () => topKStudy(data, { order: ['signal', 'noise1'], k: 2, margin: 0.1 }),
    MriseqError,
  );
});

test('originStudy: per input set, and Grad-CAM shares measured in named regions of the box', async () => {
  const cohort = Cohort.fromPhantom({ subjects: 16, seed: 2, size: [32, 32, 16] });
  const size: [number, number, number] = [16, 16, 8];
  const data = await buildDownstreamDataset(cohort, {
    label: 'lesionType',
    sequences: ['t2', 'flair'],
    roi: { mask: 'lesion', size, maskOutside: true },
  });
  const r = await originStudy(data, treeFromGroups('lesion', LESION_HIERARCHY), {
    inputs: [['t2'], ['t2', 'flair']],
    seed: 0,
    bootstrap: 50,
    testFraction: 0.5,
    model: { baseWidth: 2, attention: false },
    train: { epochs: 1 },
    roiSize: size,
    examples: 1,
    regions: async (id) => {
      const les = await cohort.subject(id).mask('lesion');
      return {
        lesion: les,
        'necrotic core': {
          ...les,
          data: Float32Array.from(les.data, (v) => (v === LESION.necroticCore ? 1 : 0)),
        },
      };
    },
  });
  assert.deepEqual(
    r.runs.map((x) => x.input),
    ['t2', 't2+flair'],
  );
  const g = r.gradcam!;
  assert.equal(g.input, 't2+flair');
  const lesion = g.regions.find((x) => x.region === 'lesion')!;
  assert.equal(lesion.subjects, r.runs[1].run.testIds.length);
  // Every share is a fraction; the lesion fills the masked box only partly.
  for (const e of g.regions)
    e.shares.forEach((s, i) =>
      assert.ok(s >= 0 && s <= 1 + 1e-9 && e.volumeShares[i] > 0 && e.volumeShares[i] <= 1),
    );
  assert.ok(lesion.meanVolumeShare < 1);
  // The necrotic core is reported only for subjects that have one.
  const nec = g.regions.find((x) => x.region === 'necrotic core');
  for (const id of nec?.ids ?? []) assert.equal(cohort.subject(id).labels.lesionGroup, 'necrotic');
  assert.equal(g.examples.length, 1);
  assert.equal(g.examples[0].map.length, 16 * 16 * 8);
  for (const x of r.runs) x.run.classifier.dispose();
});
