/**
 * Writing: what mriseq writes, nibabel reads back voxel-exact with the same affine (sform) and a
 * matching qform; a file read and rewritten keeps datatype, scaling and geometry.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingPython, runPython } from '../helpers/python.js';
import { readNifti, writeNifti, convertNifti } from '../../src/io/index.js';
import { createVolume, type NiftiDatatypeName } from '../../src/volume/index.js';
import { isMriseqError } from '../../src/errors/index.js';
import {
  assertMatchesNibabel,
  assertMatrixClose,
  assertSameVoxels,
  nibabelLoad,
  rawFloats,
} from './reference.js';

const skip = missingPython('nibabel', 'numpy');
const NIB_DATA = '/usr/lib/python3/dist-packages/nibabel/tests/data';
let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mriseq-nifti-write-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A rotated, anisotropic affine with an improper (left-handed) part, so qfac matters. */
function rotatedAffine(): number[][] {
  const a = 0.3;
  const b = -0.2;
  const R = [
    [Math.cos(a), -Math.sin(a) * Math.cos(b), Math.sin(a) * Math.sin(b)],
    [Math.sin(a), Math.cos(a) * Math.cos(b), -Math.cos(a) * Math.sin(b)],
    [0, Math.sin(b), Math.cos(b)],
  ];
  const z = [-1.25, 0.8, 2.5]; // negative x zoom: radiological storage
  return [
    [R[0][0] * z[0], R[0][1] * z[1], R[0][2] * z[2], -91.5],
    [R[1][0] * z[0], R[1][1] * z[1], R[1][2] * z[2], 12.25],
    [R[2][0] * z[0], R[2][1] * z[1], R[2][2] * z[2], 40],
    [0, 0, 0, 1],
  ];
}

const RANGES: Record<string, [number, number]> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-(2 ** 40), 2 ** 40],
  uint64: [0, 2 ** 40],
  float32: [-1e6, 1e6],
  float64: [-1e6, 1e6],
};

function sampleData(dtype: string, n: number): Float32Array {
  const [lo, hi] = RANGES[dtype];
  const out = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const u = s / 2147483648;
    const v = lo + u * (hi - lo);
    out[i] = dtype.startsWith('float') ? v : Math.fround(Math.round(v));
  }
  out[0] = lo;
  out[1] = Math.fround(hi) > hi ? Math.fround(hi - 256) : hi; // uint32 max is not a float32
  return out;
}

test(
  'mriseq writes every datatype (.nii and .nii.gz) that nibabel reads back voxel-exact',
  { skip },
  async () => {
    const shape = [6, 5, 4];
    const affine = rotatedAffine();
    const items: { path: string; raw: string; expect: Float32Array }[] = [];
    for (const dtype of Object.keys(RANGES))
      for (const ext of ['.nii', '.nii.gz']) {
        const data = sampleData(dtype, 120);
        const vol = createVolume(data, shape, { affine, datatype: dtype as NiftiDatatypeName });
        const path = join(dir, `w-${dtype}${ext}`);
        await writeNifti(path, vol);
        items.push({ path, raw: `${path}.f32`, expect: data });
      }
    const refs = nibabelLoad(items.map(({ path, raw }) => ({ path, raw })));
    refs.forEach((ref, i) => {
      const dtype = Object.keys(RANGES)[Math.floor(i / 2)];
      assert.equal(ref.dtype, dtype, `${ref.path}: datatype on disk`);
      assert.deepEqual(ref.shape, shape);
      // the sform holds the affine rounded to float32; the qform encodes the same rotation/zooms
      assertMatrixClose(
        ref.affine,
        affine.map((r) => r.map(Math.fround)),
        0,
        `${ref.path}: sform`,
      );
      assertMatrixClose(ref.qform!, affine, 2e-5, `${ref.path}: qform`);
      assertSameVoxels(rawFloats(ref.raw), items[i].expect, ref.path);
    });
    // no temporary files left behind by the atomic writes
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
  },
);

test('4D volumes keep their frames and time step through nibabel', { skip }, async () => {
  const shape = [3, 4, 5, 6];
  const data = sampleData('float32', 360);
  const vol = createVolume(data, shape, { affine: rotatedAffine(), spacing: [1.25, 0.8, 2.5, 2.1] });
  const path = join(dir, 'w-4d.nii.gz');
  await writeNifti(path, vol);
  const [ref] = nibabelLoad([{ path, raw: `${path}.f32` }]);
  assert.deepEqual(ref.shape, shape);
  assert.ok(Math.abs(ref.zooms[3] - 2.1) < 1e-6);
  assertMatchesNibabel(await readNifti(path), ref, path);
});

test(
  'read -> write -> nibabel keeps voxels, datatype, scaling and affine of files other tools wrote',
  { skip },
  async () => {
    const names = ['anatomical.nii', 'functional.nii', 'example4d.nii.gz', 'example_nifti2.nii.gz'];
    const items = [];
    for (const name of names) {
      const src = join(NIB_DATA, name);
      if (!existsSync(src)) continue;
      const out = join(dir, `rt-${name.replace(/\.nii(\.gz)?$/, '')}.nii.gz`);
      await convertNifti(src, out);
      items.push({ src, out });
    }
    const refsIn = nibabelLoad(items.map((it, i) => ({ path: it.src, raw: join(dir, `in${i}.f32`) })));
    const refsOut = nibabelLoad(items.map((it, i) => ({ path: it.out, raw: join(dir, `out${i}.f32`) })));
    refsIn.forEach((a, i) => {
      const b = refsOut[i];
      assert.equal(b.dtype, a.dtype, `${a.path}: datatype kept`);
      assert.deepEqual(b.shape, a.shape);
      assertMatrixClose(b.affine, a.affine, 1e-4, `${a.path}: affine kept`);
      assertSameVoxels(rawFloats(b.raw), rawFloats(a.raw), `${a.path}: voxels after round trip`);
    });
  },
);

test('convert refuses to overwrite its input and leaves it intact', async () => {
  const src = join(dir, 'keep.nii');
  await writeNifti(src, createVolume(sampleData('int16', 24), [2, 3, 4], { datatype: 'int16' }));
  const before = readFileSync(src);
  await assert.rejects(convertNifti(src, src), (e) => isMriseqError(e) && e.code === 'io.overwrite');
  await assert.rejects(
    convertNifti(src, join(dir, '.', 'keep.nii')),
    (e) => isMriseqError(e) && e.code === 'io.overwrite',
  );
  assert.deepEqual(readFileSync(src), before);
  await assert.rejects(
    writeNifti(join(dir, 'x.mgz'), createVolume(new Float32Array(8), [2, 2, 2])),
    (e) => isMriseqError(e) && e.file!.endsWith('x.mgz') && e.code === 'io.extension',
  );
});

test(
  'values an integer datatype cannot hold are stored with a slope/intercept that nibabel applies',
  { skip },
  async () => {
    const data = Float32Array.from({ length: 60 }, (_, i) => i * 0.37 - 5);
    const path = join(dir, 'w-scaled.nii');
    await writeNifti(path, createVolume(data, [5, 4, 3], { datatype: 'int16' }));
    const [ref] = nibabelLoad([{ path, raw: `${path}.f32` }]);
    const back = rawFloats(ref.raw);
    const step = (data[59] - data[0]) / 65535;
    back.forEach((v, i) => assert.ok(Math.abs(v - data[i]) <= step, `voxel ${i}: ${v} vs ${data[i]}`));
    // and mriseq reads what nibabel reads
    assertSameVoxels((await readNifti(path)).data, back, path);
  },
);

test('rgb24: nibabel-written colour reads as three planes, and mriseq writes it back', { skip }, async () => {
  const path = join(dir, 'rgb-nib.nii.gz');
  const out = join(dir, 'rgb-mriseq.nii');
  const script = `
import json, sys, numpy as np, nibabel as nib
q = json.load(sys.stdin)
if q['write']:
    rng = np.random.default_rng(5)
    rgb = np.zeros((4, 3, 2), dtype=[('R', 'u1'), ('G', 'u1'), ('B', 'u1')])
    for c in 'RGB':
        rgb[c] = rng.integers(0, 256, (4, 3, 2))
    nib.save(nib.Nifti1Image(rgb, np.diag([2, 3, 4, 1])), q['path'])
img = nib.load(q['path'])
a = np.asanyarray(img.dataobj)
print(json.dumps(dict(dtype=str(img.get_data_dtype()), planes=[a[c].ravel(order='F').tolist() for c in 'RGB'], affine=img.affine.tolist())))
`;
  const ref = runPython<{ planes: number[][]; affine: number[][] }>(script, { write: true, path });
  const vol = await readNifti(path);
  assert.equal(vol.datatype, 'rgb24');
  assert.deepEqual(vol.shape, [4, 3, 2, 3]);
  assert.deepEqual(Array.from(vol.data), ref.planes.flat());
  await writeNifti(out, vol);
  const back = runPython<{ dtype: string; planes: number[][]; affine: number[][] }>(script, {
    write: false,
    path: out,
  });
  assert.deepEqual(back.planes, ref.planes);
  assert.deepEqual(back.affine, ref.affine);
});

test(
  'a qform that differs from the sform survives read -> write; a changed affine replaces both',
  { skip },
  async () => {
    const script = `
import json, sys, numpy as np, nibabel as nib
q = json.load(sys.stdin)
if q.get('write'):
    A = np.diag([2.0, 2.0, 3.0, 1.0]); A[:3, 3] = [-10, 20, 5]
    B = A.copy(); B[:3, 3] += [4, -6, 8]
    img = nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), A)
    img.header.set_sform(A, code=2); img.header.set_qform(B, code=1)
    nib.save(img, q['path'])
out = []
for p in q['paths']:
    h = nib.load(p).header
    out.append(dict(sform=h.get_sform().tolist(), qform=h.get_qform().tolist(), codes=[int(h['sform_code']), int(h['qform_code'])]))
print(json.dumps(out))
`;
    const src = join(dir, 'two-forms.nii');
    runPython(script, { write: true, path: src, paths: [] });
    const vol = await readNifti(src);
    const kept = join(dir, 'two-forms-kept.nii');
    await writeNifti(kept, vol);
    const moved = join(dir, 'two-forms-moved.nii');
    const shifted = vol.affine.map((r, i) => (i < 3 ? [r[0], r[1], r[2], r[3] + 1] : [...r]));
    await writeNifti(moved, { ...vol, affine: shifted });
    const [a, b, c] = runPython<{ sform: number[][]; qform: number[][]; codes: number[] }[]>(script, {
      paths: [src, kept, moved],
    });
    assert.deepEqual(b.codes, a.codes);
    assertMatrixClose(b.sform, a.sform, 1e-6, 'sform kept');
    assertMatrixClose(b.qform, a.qform, 1e-5, 'qform kept');
    assertMatrixClose(c.sform, shifted, 1e-6, 'new sform');
    assertMatrixClose(c.qform, shifted, 1e-5, 'new qform follows the new affine');
  },
);
