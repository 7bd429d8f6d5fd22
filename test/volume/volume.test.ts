/**
 * Volume helpers against independent references: numpy indexing and percentiles, nibabel's
 * slicer and as_closest_canonical, scipy's map_coordinates for resampling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingPython, runPython } from '../helpers/python.js';
import {
  createVolume,
  sliceVolume,
  cropVolume,
  padVolume,
  cropOrPad,
  normalizeIntensity,
  resampleVolume,
  reorientToRAS,
  axisCodes,
  volumeToTensor,
  tensorToVolume,
  percentile,
  type Volume,
} from '../../src/volume/index.js';
import { isMriseqError } from '../../src/errors/index.js';
import { tf, initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { nodeEngineAdapter } from '../../src/engine/node.js';

setEngineAdapter(nodeEngineAdapter);

const skip = missingPython('nibabel', 'numpy', 'scipy');

function ramp(shape: number[], seed = 1): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return Math.fround((s / 2147483647) * 1000 - 100);
  });
}

/** An oblique, permuted, flipped affine: voxel x runs mostly P->A, y mostly S->I, z mostly R->L. */
const OBLIQUE = [
  [0.1, 0.05, -2.5, 30],
  [1.5, 0.1, 0.2, -20],
  [0.05, -0.9, 0.1, 15],
  [0, 0, 0, 1],
];

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++)
    assert.ok(
      Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])),
      `${what}[${i}]: ${a[i]} vs ${b[i]}`,
    );
}

function assertAffine(a: Volume['affine'], b: number[][], what: string): void {
  for (let r = 0; r < 4; r++)
    for (let c = 0; c < 4; c++)
      assert.ok(Math.abs(a[r][c] - b[r][c]) < 1e-9, `${what}[${r}][${c}]: ${a[r][c]} vs ${b[r][c]}`);
}

test('createVolume validates shape, data length, spacing, affine and datatype', () => {
  const v = createVolume(new Float32Array(24), [2, 3, 4], { spacing: [1, 2, 3] });
  assert.deepEqual(v.affine[1], [0, 2, 0, 0]);
  assert.deepEqual(v.spacing, [1, 2, 3]);
  const bad: [() => unknown, string][] = [
    [() => createVolume(new Float32Array(6), [2, 3]), 'shape'],
    [() => createVolume(new Float32Array(5), [1, 2, 3]), 'data'],
    [() => createVolume(new Float32Array(6), [1, 2, 3], { spacing: [1, 0, 1] }), 'spacing[1]'],
    [() => createVolume(new Float32Array(6), [1, 2, 3], { affine: [[1, 0, 0, 0]] }), 'affine'],
    [() => createVolume(new Float32Array(6), [1, 2, 3], { datatype: 'float16' as 'float32' }), 'datatype'],
    [() => createVolume(new Float32Array(6), [1, 2.5, 3]), 'shape[1]'],
  ];
  for (const [f, field] of bad)
    assert.throws(f, (e) => isMriseqError(e) && e.field === field && e.expected !== undefined, field);
});

const REF = `
import json, sys, numpy as np, nibabel as nib
from scipy.ndimage import map_coordinates
q = json.load(sys.stdin)
shape = q['shape']
arr = np.array(q['data'], dtype=np.float32).reshape(shape, order='F')
A = np.array(q['affine'])
img = nib.Nifti1Image(arr, A)
out = {}
out['slices'] = {str(ax): np.take(arr, q['sliceIndex'][ax], axis=ax).T.ravel().tolist() for ax in range(3)}
sl = img.slicer[1:4, 2:5, 0:3]
out['crop'] = dict(data=np.asarray(sl.dataobj).ravel(order='F').tolist(), affine=sl.affine.tolist())
padded = np.pad(arr, ((2, 1), (0, 3), (1, 1)), constant_values=-7)
out['pad'] = padded.ravel(order='F').tolist()
can = nib.as_closest_canonical(img)
out['canonical'] = dict(data=np.asarray(can.dataobj).ravel(order='F').tolist(), affine=can.affine.tolist(), shape=list(can.shape),
                        codes=list(nib.aff2axcodes(A)))
out['p99'] = float(np.percentile(arr, 99))
out['p37'] = float(np.percentile(arr, 37.5))
p = np.percentile(arr, 99)
out['norm'] = (np.clip(arr, 0, 2 * p) / (2 * p) * 2 - 1).ravel(order='F').tolist()
res = []
for r in q['resample']:
    B = np.array(r['affine'])
    grid = np.indices(r['shape']).reshape(3, -1)
    ijk = (np.linalg.inv(A) @ B @ np.vstack([grid, np.ones(grid.shape[1])]))[:3]
    vals = map_coordinates(arr.astype(np.float64), ijk, order=r['order'], mode='nearest')
    res.append(vals.reshape(r['shape']).ravel(order='F').tolist())
out['resample'] = res
print(json.dumps(out))
`;

test(
  'slices, crop, pad, canonical orientation, percentiles and normalisation match numpy/nibabel',
  { skip },
  async () => {
    const shape = [7, 6, 5];
    const data = ramp(shape);
    const vol = createVolume(data, shape, { affine: OBLIQUE, datatype: 'int16' });
    // resample targets computed by mriseq; the reference samples the original at the same world points
    const targets = [
      { opts: { spacing: [1.0, 0.55, 1.6] }, order: 1 },
      { opts: { shape: [4, 9, 3] }, order: 1 },
      { opts: { shape: [11, 4, 6], interpolation: 'nearest' as const }, order: 0 },
    ];
    const resampled = targets.map((t) => resampleVolume(vol, t.opts));
    const ref = runPython<{
      slices: Record<string, number[]>;
      crop: { data: number[]; affine: number[][] };
      pad: number[];
      canonical: { data: number[]; affine: number[][]; shape: number[]; codes: string[] };
      p99: number;
      p37: number;
      norm: number[];
      resample: number[][];
    }>(REF, {
      shape,
      data: Array.from(data),
      affine: OBLIQUE,
      sliceIndex: [3, 1, 4],
      resample: resampled.map((r, i) => ({ affine: r.affine, shape: r.shape, order: targets[i].order })),
    });

    for (const axis of [0, 1, 2]) {
      const s = sliceVolume(vol, axis, [3, 1, 4][axis]);
      assert.deepEqual(Array.from(s.data), ref.slices[String(axis)], `slice axis ${axis}`);
      assert.equal(s.width * s.height, s.data.length);
    }
    const axial = sliceVolume(vol, 2, 4);
    assert.equal(axial.width, 7); // W = nx
    assert.equal(axial.height, 6); // H = ny

    const crop = cropVolume(vol, [1, 2, 0], [3, 3, 3]);
    assert.deepEqual(Array.from(crop.data), ref.crop.data);
    assertAffine(crop.affine, ref.crop.affine, 'crop affine');

    const pad = padVolume(vol, [2, 0, 1], [1, 3, 1], -7);
    assert.deepEqual(pad.shape, [10, 9, 7]);
    assert.deepEqual(Array.from(pad.data), ref.pad);
    // cropOrPad back to the original grid undoes the padding exactly, geometry included
    const back = cropVolume(pad, [2, 0, 1], shape);
    assert.deepEqual(Array.from(back.data), Array.from(data));
    assertAffine(back.affine, OBLIQUE, 'pad then crop');
    const cp = cropOrPad(vol, [5, 8, 5]);
    assert.deepEqual(cp.shape, [5, 8, 5]);
    assert.equal(cp.data[(1 * 8 + 1) * 5 + 0], data[(1 * 6 + 0) * 7 + 1]); // x shifted by 1, y by -1
    // odd differences: the extra voxel is cropped from / padded at the end
    const odd = cropOrPad(vol, [4, 9, 5]);
    assert.deepEqual(odd.shape, [4, 9, 5]);
    assert.equal(odd.data[(0 * 9 + 1) * 4 + 0], data[(0 * 6 + 0) * 7 + 1]); // x crop 1 first, y pad 1 first
    assert.equal(odd.data[(0 * 9 + 0) * 4 + 0], 0);
    assert.equal(odd.data[(0 * 9 + 7) * 4 + 0], 0);
    assert.equal(odd.data[(0 * 9 + 6) * 4 + 0], data[(0 * 6 + 5) * 7 + 1]);

    assert.deepEqual(axisCodes(vol), ref.canonical.codes);
    const can = reorientToRAS(vol);
    assert.deepEqual(can.shape, ref.canonical.shape);
    assert.deepEqual(Array.from(can.data), ref.canonical.data);
    assertAffine(can.affine, ref.canonical.affine, 'canonical affine');
    assert.deepEqual(axisCodes(can), ['R', 'A', 'S']);

    assert.ok(Math.abs(percentile(data, 99) - ref.p99) < 1e-9 * Math.abs(ref.p99));
    assert.ok(Math.abs(percentile(data, 37.5) - ref.p37) < 1e-9 * Math.abs(ref.p37));
    const norm = normalizeIntensity(vol);
    assertClose(norm.data, ref.norm, 1e-6, 'normalised');
    assert.ok(norm.data.every((v) => v >= -1 && v <= 1));

    resampled.forEach((r, i) => assertClose(r.data, ref.resample[i], 2e-5, `resample ${i}`));
    // same field of view: extent = shape x spacing is kept
    const r0 = resampled[0];
    for (let a = 0; a < 3; a++)
      assert.ok(Math.abs(r0.shape[a] * r0.spacing[a] - shape[a] * vol.spacing[a]) <= r0.spacing[a]);
  },
);

test('4D volumes: slices per frame, crop keeps frames, resample each frame alike', () => {
  const shape = [3, 4, 2, 5];
  const data = ramp(shape, 7);
  const vol = createVolume(data, shape, { spacing: [1, 1, 2, 3] });
  const s = sliceVolume(vol, 2, 1, 4);
  assert.equal(s.data[0], data[4 * 24 + 1 * 12]);
  const c = cropVolume(vol, [1, 1, 0], [2, 2, 2]);
  assert.deepEqual(c.shape, [2, 2, 2, 5]);
  assert.equal(c.spacing[3], 3);
  const r = resampleVolume(vol, { shape: [3, 4, 2] });
  assert.deepEqual(r.shape, [3, 4, 2, 5]);
  assert.deepEqual(Array.from(r.data), Array.from(data)); // identity grid is identity
});

test('volumes convert to [D, H, W] tensors and back without moving data or leaking tensors', async () => {
  await initEngine();
  const shape = [4, 3, 2];
  const data = ramp(shape, 3);
  const vol = createVolume(data, shape, { affine: OBLIQUE });
  const before = tf.memory().numTensors;
  const t = volumeToTensor(vol);
  assert.deepEqual(t.shape, [2, 3, 4]);
  const arr = t.arraySync() as number[][][];
  assert.equal(arr[1][2][3], data[(1 * 3 + 2) * 4 + 3]);
  const batched = tf.tidy(() => t.expandDims(0).expandDims(-1));
  const back = tensorToVolume(batched, vol);
  assert.deepEqual(Array.from(back.data), Array.from(data));
  assert.deepEqual(back.affine, vol.affine);
  const flat = t.reshape([6, 4]);
  assert.throws(
    () => tensorToVolume(flat, vol),
    (e) => isMriseqError(e) && e.field === 'tensor',
  );
  tf.dispose([t, batched, flat]);
  assert.equal(tf.memory().numTensors, before);
});

test('normalisation of a volume without signal is -1 everywhere, NaN stays NaN', () => {
  const v = normalizeIntensity(createVolume(Float32Array.from([0, 0, -3, NaN, 0, 0, 0, 0]), [2, 2, 2]));
  assert.deepEqual(
    Array.from(v.data).map((x) => (Number.isNaN(x) ? 'nan' : x)),
    [-1, -1, -1, 'nan', -1, -1, -1, -1],
  );
});
