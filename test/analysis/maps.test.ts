import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingPython, runPython } from '../helpers/python.js';
import {
  differentiationMap,
  differentiationMaps,
  regionStatistics,
  voxelAuc,
  subtractionMap,
  seededRandom,
  prepareVolume,
} from '../../src/analysis/index.js';
import type { Volume } from '../../src/volume/index.js';
import { writeDifferentiationMaps } from '../../src/analysis/node.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MriseqError } from '../../src/errors/index.js';

const shape = [6, 5, 4];
const n = 120;
function vol(f: (i: number) => number): Volume {
  return {
    data: Float32Array.from({ length: n }, (_, i) => f(i)),
    shape,
    spacing: [1, 1, 2],
    affine: [
      [1, 0, 0, -3],
      [0, 1, 0, -2],
      [0, 0, 2, -4],
      [0, 0, 0, 1],
    ],
    datatype: 'int16',
  };
}

test('M_d(t) = (1/N) sum_s |G(x_s, t) - x_t| over every source, the target included', async () => {
  const rand = seededRandom(1);
  // Already in the generator's normalised range [-1, 1] (background-like negatives included).
  const seqs: Record<string, Volume> = {
    t1: vol(() => rand() * 2 - 1),
    t1gd: vol(() => rand() * 2 - 1),
    t2: vol(() => rand() * 2 - 1),
  };
  // A "generator" that copies its source: then M_d(t) is the mean absolute difference to each source.
  const calls: string[] = [];
  const copy = async (
    src: Readonly<Record<string, Volume>>,
    target: string,
    like?: Volume,
  ): Promise<Float32Array> => {
    const [name] = Object.keys(src);
    // the target's real volume is offered for its grid and time points only
    assert.equal(like, seqs[target]);
    calls.push(`${name}->${target}`);
    return src[name].data;
  };
  const progress: number[] = [];
  const m = await differentiationMap(seqs, 't1gd', copy, { onProgress: (e) => progress.push(e.done) });
  assert.deepEqual(calls, ['t1->t1gd', 't1gd->t1gd', 't2->t1gd']);
  assert.deepEqual(progress, [1, 2, 3]);
  for (const i of [0, 17, 119]) {
    const x = seqs.t1gd.data[i];
    const want = (Math.abs(seqs.t1.data[i] - x) + 0 + Math.abs(seqs.t2.data[i] - x)) / 3;
    assert.ok(Math.abs(m.data[i] - want) < 1e-6);
  }
  // Subject space: same grid and affine as the target, float32.
  assert.deepEqual(m.shape, shape);
  assert.deepEqual(m.affine, seqs.t1gd.affine);
  assert.equal(m.datatype, 'float32');
  const all = await differentiationMaps(seqs, copy);
  assert.deepEqual(Object.keys(all), ['t1', 't1gd', 't2']);
  await assert.rejects(
    differentiationMap(seqs, 'flair', copy),
    (e: unknown) => e instanceof MriseqError && e.field === 'target',
  );
});

test('raw scans are normalised before M_d is taken: raw and normalised inputs give the same map', async () => {
  const rand = seededRandom(4);
  // raw intensities (a scanner's range), and what the spec's normalisation makes of them
  const raw: Record<string, Volume> = { t1: vol(() => 800 * rand()), t2: vol(() => 2000 * rand()) };
  const norm: Record<string, Volume> = {
    t1: prepareVolume(raw.t1, true),
    t2: prepareVolume(raw.t2, true),
  };
  const seen: number[] = [];
  // the generator receives normalised volumes whichever form came in
  const copy = async (src: Readonly<Record<string, Volume>>): Promise<Float32Array> => {
    const v = Object.values(src)[0];
    seen.push(Math.max(...v.data));
    return v.data;
  };
  const a = await differentiationMap(raw, 't2', copy);
  const b = await differentiationMap(norm, 't2', copy);
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  assert.ok(
    seen.every((m) => m <= 1),
    `generator saw values up to ${Math.max(...seen)}`,
  );
  assert.ok(Math.max(...a.data) <= 2);
  // A raw scan already scaled to [0, 1] lies inside [-1, 1] but is not normalised (no background
  // at -1): it must be normalised too, not passed through.
  const unit: Record<string, Volume> = {
    t1: { ...raw.t1, data: raw.t1.data.map((x) => x / 800) },
    t2: { ...raw.t2, data: raw.t2.data.map((x) => x / 2000) },
  };
  const c = await differentiationMap(unit, 't2', copy);
  const want = await differentiationMap(
    { t1: prepareVolume(unit.t1, true), t2: prepareVolume(unit.t2, true) },
    't2',
    copy,
  );
  assert.deepEqual(Array.from(c.data), Array.from(want.data));
  assert.ok(Math.min(...seen) > 0, 'the generator saw normalised volumes (their max above 0)');
});

test('M_d marks what the other sequences cannot explain: AUC against the unique mask, lesion-restricted', async () => {
  // Truth: t1gd = t1 plus enhancement on a unique mask; a generator that reproduces everything
  // except the enhancement leaves exactly that region in M_d(t1gd).
  const rand = seededRandom(2);
  // in the generator's normalised range [-1, 1], as a prepared subject is
  const base = Float32Array.from({ length: n }, () => rand() * 0.5 - 0.5);
  const lesion = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const unique = lesion.map((l, i) => (l && i % 3 === 0 ? 1 : 0));
  const seqs: Record<string, Volume> = {
    t1: vol((i) => base[i]),
    t1gd: vol((i) => base[i] + 0.5 * unique[i]),
  };
  const gen = async (src: Readonly<Record<string, Volume>>, target: string): Promise<Float32Array> =>
    't1gd' in src && target === 't1gd'
      ? src.t1gd.data
      : Float32Array.from(base, (v) => v + (rand() - 0.5) * 0.1);
  const m = await differentiationMap(seqs, 't1gd', gen);
  assert.ok(voxelAuc(m.data, unique, { region: lesion }) > 0.95);
  assert.equal(voxelAuc(subtractionMap(seqs.t1gd, seqs.t1).data, unique, { region: lesion }), 1);
});

test('region statistics per label equal numpy', { skip: missingPython('numpy') }, () => {
  const rand = seededRandom(3);
  const map = Array.from({ length: 500 }, () => rand());
  const labels = map.map((_, i) => i % 4);
  const ours = regionStatistics(map, labels, { names: { 1: 'oedema' } });
  const ref = runPython<
    { label: number; mean: number; sd: number; median: number; p95: number; n: number }[]
  >(
    `
import json, sys, numpy as np
d = json.load(sys.stdin); m, l = np.array(d['map']), np.array(d['labels'])
print(json.dumps([{'label': int(k), 'n': int((l == k).sum()), 'mean': m[l == k].mean(), 'sd': m[l == k].std(),
  'median': float(np.median(m[l == k])), 'p95': float(np.percentile(m[l == k], 95))} for k in (1, 2, 3)]))
`,
    { map, labels },
  );
  assert.deepEqual(
    ours.map((r) => r.label),
    [1, 2, 3],
  );
  assert.equal(ours[0].name, 'oedema');
  ours.forEach((r, k) => {
    assert.equal(r.voxels, ref[k].n);
    for (const f of ['mean', 'sd', 'median', 'p95'] as const)
      assert.ok(Math.abs(r[f] - ref[k][f]) < 1e-12, f);
  });
});

test(
  'M_d maps are written as float32 NIfTI in the subject space (nibabel reads the same values and affine)',
  { skip: missingPython('nibabel') },
  async () => {
    const rand = seededRandom(5);
    const m = vol(() => rand());
    const labels = vol((i) => i % 3);
    const dir = mkdtempSync(join(tmpdir(), 'mriseq-maps-'));
    const w = await writeDifferentiationMaps(dir, 'sub-1', { t1gd: m }, { labels, names: { 1: 'lesion' } });
    assert.equal(w.files.t1gd, join(dir, 'sub-1', 'md_t1gd.nii.gz'));
    const ref = runPython<{ data: number[]; affine: number[][]; dtype: string }>(
      `
import json, sys, numpy as np, nibabel as nib
img = nib.load(json.load(sys.stdin))
print(json.dumps({'data': np.asarray(img.dataobj).flatten(order='F').tolist(), 'affine': img.affine.tolist(), 'dtype': str(img.get_data_dtype())}))
`,
      w.files.t1gd,
    );
    assert.equal(ref.dtype, 'float32');
    assert.deepEqual(ref.affine, m.affine);
    assert.ok(ref.data.every((v, i) => v === m.data[i]));
    const regions = JSON.parse(readFileSync(join(dir, 'sub-1', 'md_regions.json'), 'utf8')) as {
      regions: { t1gd: { label: number; name?: string }[] };
    };
    assert.deepEqual(
      regions.regions.t1gd.map((r) => r.label),
      [1, 2],
    );
    assert.equal(regions.regions.t1gd[0].name, 'lesion');
  },
);
