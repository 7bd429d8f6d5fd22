/**
 * nibabel as the independent reference: loads files and dumps their voxels (float32, x fastest,
 * scaling applied exactly as nibabel applies it) and geometry, or writes files from a recipe.
 */
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { runPython } from '../helpers/python.js';
import type { Volume } from '../../src/volume/index.js';

export interface NibabelInfo {
  path: string;
  shape: number[];
  dtype: string;
  zooms: number[];
  affine: number[][];
  qform: number[][] | null;
  raw: string;
}

const LOAD = `
import json, sys, numpy as np, nibabel as nib
out = []
for item in json.load(sys.stdin):
    img = nib.load(item['path'])
    data = np.asarray(img.dataobj)
    data = np.asarray(data, dtype=np.float64).astype(np.float32)
    data.ravel(order='F').tofile(item['raw'])
    q, qc = img.header.get_qform(coded=True)
    out.append(dict(path=item['path'], shape=[int(s) for s in img.shape], dtype=img.get_data_dtype().name,
                    zooms=[float(z) for z in img.header.get_zooms()], affine=img.affine.tolist(),
                    qform=None if q is None else q.tolist(), raw=item['raw']))
print(json.dumps(out))
`;

/** nibabel's view of each file; voxels land in `<raw>` files. */
export function nibabelLoad(items: { path: string; raw: string }[]): NibabelInfo[] {
  return runPython<NibabelInfo[]>(LOAD, items);
}

export function rawFloats(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Voxel-exact: same float32 value everywhere, NaN where nibabel has NaN. */
export function assertSameVoxels(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: voxel count`);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(a === e || (Number.isNaN(a) && Number.isNaN(e)))) {
      if (first < 0) first = i;
      bad++;
    }
  }
  assert.equal(
    bad,
    0,
    `${what}: ${bad} voxels differ, first at ${first}: ${actual[first]} vs ${expected[first]}`,
  );
}

export function assertMatrixClose(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  tol: number,
  what: string,
) {
  assert.equal(a.length, b.length, what);
  for (let r = 0; r < a.length; r++)
    for (let c = 0; c < a[r].length; c++)
      assert.ok(Math.abs(a[r][c] - b[r][c]) <= tol, `${what}[${r}][${c}]: ${a[r][c]} vs ${b[r][c]}`);
}

/** Volume vs nibabel info: shape, datatype name, zooms, affine, voxels. */
export function assertMatchesNibabel(vol: Volume, ref: NibabelInfo, what: string): void {
  // nibabel keeps trailing dims (4D with nt=1) and drops padded ones for 1D/2D images
  const shape = [...vol.shape];
  while (shape.length > ref.shape.length && shape[shape.length - 1] === 1) shape.pop();
  assert.deepEqual(shape, ref.shape.slice(0, 4), `${what}: shape`);
  assert.equal(vol.datatype, ref.dtype, `${what}: datatype`);
  for (let i = 0; i < Math.min(3, ref.zooms.length); i++)
    assert.ok(
      Math.abs(vol.spacing[i] - ref.zooms[i]) < 1e-6,
      `${what}: spacing[${i}] ${vol.spacing[i]} vs ${ref.zooms[i]}`,
    );
  assertMatrixClose(vol.affine, ref.affine, 1e-9, `${what}: affine`);
  assertSameVoxels(vol.data, rawFloats(ref.raw), what);
}
