// The volume MIME payload the JupyterLab viewer reads: base64 checked against Node's Buffer
// (an independent encoder), quantised voxels against the originals within half a step, the
// subsampled grid against direct indexing, and bad input against MriseqError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VOLUME_MIME,
  base64ToBytes,
  bytesToBase64,
  toMimeBundle,
  volumeMimePayload,
  volumeViewer,
  type VolumeLayerPayload,
} from '../../src/display/index.js';
import { MriseqError } from '../../src/errors/index.js';
import { createVolume, type Volume } from '../../src/volume/index.js';

function vol(nx: number, ny: number, nz: number, f: (x: number, y: number, z: number) => number): Volume {
  const d = new Float32Array(nx * ny * nz);
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) d[x + nx * (y + ny * z)] = f(x, y, z);
  return createVolume(d, [nx, ny, nz], {
    spacing: [1, 2, 3],
    affine: [
      [1, 0, 0, -10],
      [0, 2, 0, -20],
      [0, 0, 3, -30],
      [0, 0, 0, 1],
    ],
  });
}

function decoded(l: VolumeLayerPayload): Float64Array {
  const b = base64ToBytes(l.data);
  const copy = new Uint8Array(b); // aligned copy for the typed views
  const q =
    l.dtype === 'uint8'
      ? copy
      : l.dtype === 'uint16'
        ? new Uint16Array(copy.buffer)
        : new Float32Array(copy.buffer);
  return Float64Array.from(q, (v) => l.offset + l.scale * v);
}

test('bytesToBase64 without Buffer equals Buffer, and decodes back, for every tail length', () => {
  const g = globalThis as { Buffer?: unknown };
  const saved = g.Buffer;
  for (const n of [0, 1, 2, 3, 4, 5, 100_000, 3 * 16384 + 1]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 7919 + (i >> 3)) & 255);
    const want = Buffer.from(bytes).toString('base64');
    g.Buffer = undefined;
    try {
      const got = bytesToBase64(bytes);
      assert.equal(got, want, `length ${n}`);
      assert.deepEqual(base64ToBytes(got), bytes);
    } finally {
      g.Buffer = saved;
    }
    assert.equal(bytesToBase64(bytes), want);
  }
});

test('quantised layers decode within half a step; float32 is exact', () => {
  const v = vol(7, 5, 4, (x, y, z) => Math.sin(x) * 100 + y * z - 3.25);
  for (const dtype of ['uint8', 'uint16', 'float32'] as const) {
    const p = volumeMimePayload(v, { dtype });
    const l = p.layers[0];
    const got = decoded(l);
    assert.equal(got.length, v.data.length);
    const tol = dtype === 'float32' ? 0 : l.scale / 2 + 1e-9 * Math.abs(l.max);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - v.data[i]));
    assert.ok(worst <= tol, `${dtype}: error ${worst} > ${tol}`);
    assert.equal(l.min, Math.min(...v.data));
    assert.equal(l.max, Math.max(...v.data));
  }
});

test('maxSize subsamples by one integer step and scales spacing and affine', () => {
  const f = (x: number, y: number, z: number) => x + 100 * y + 10000 * z;
  const v = vol(9, 6, 5, f);
  const p = volumeMimePayload(v, { maxSize: 4, dtype: 'float32' });
  assert.equal(p.step, 3);
  assert.deepEqual(p.shape, [3, 2, 2]);
  assert.deepEqual(p.sourceShape, [9, 6, 5]);
  assert.deepEqual(p.spacing, [3, 6, 9]);
  assert.deepEqual(p.affine[0], [3, 0, 0, -10]);
  assert.deepEqual(p.affine[2], [0, 0, 9, -30]);
  const got = decoded(p.layers[0]);
  let k = 0;
  for (let z = 0; z < 2; z++)
    for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) assert.equal(got[k++], f(3 * x, 3 * y, 3 * z));
});

test('volumeViewer: linked layers and an overlay, with the HTML fallback in the same bundle', () => {
  const real = vol(8, 8, 6, (x, y, z) => x + y + z);
  const gen = vol(8, 8, 6, (x, y, z) => x + y + z + 0.5);
  const md = vol(8, 8, 6, (x) => (x > 4 ? 1 : 0));
  const b = volumeViewer({ real, generated: gen }, { overlay: { M_d: md } }).toMimeBundle();
  const p = b.data[VOLUME_MIME] as ReturnType<typeof volumeMimePayload>;
  assert.deepEqual(
    p.layers.map((l) => l.name),
    ['real', 'generated'],
  );
  assert.equal(p.overlays[0].name, 'M_d');
  assert.equal(p.overlays[0].signed, false);
  assert.equal(p.colormap, 'hot');
  assert.match(String(b.data['text/html']), /mriseq-volume/);
  assert.equal(typeof b.data['image/png'], 'string');
  // JSON-safe: the kernel sends it as a JSON MIME type.
  assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
});

test('a bare Volume gets the MIME type next to its HTML view (provider registered on import)', () => {
  const v = vol(300, 10, 4, (x) => x);
  const b = toMimeBundle(v);
  assert.ok('text/html' in b.data);
  const p = b.data[VOLUME_MIME] as ReturnType<typeof volumeMimePayload>;
  assert.equal(p.step, 3); // default maxSize 128 for bare volumes
  assert.deepEqual(p.shape, [100, 4, 2]);
});

test('volumes on different grids, or a bad frame, are MriseqErrors naming the field', () => {
  const a = vol(4, 4, 4, () => 1);
  const b = vol(4, 4, 3, () => 1);
  assert.throws(
    () => volumeMimePayload({ real: a, generated: b }),
    (e: unknown) => e instanceof MriseqError && /generated/.test(e.message) && /4, 4, 3/.test(e.message),
  );
  assert.throws(
    () => volumeMimePayload(a, { frame: 2 }),
    (e: unknown) => e instanceof MriseqError && /frame/.test(e.message),
  );
  assert.throws(() => volumeMimePayload({}), MriseqError);
});
