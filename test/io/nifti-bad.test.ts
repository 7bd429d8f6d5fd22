/**
 * Bad input never crashes or hangs: each case ends in a MriseqError that names the file, the field
 * and what was expected. Files are made by patching a valid file mriseq wrote.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readNifti, readNiftiBytes, encodeNifti } from '../../src/io/index.js';
import { createVolume } from '../../src/volume/index.js';
import { isMriseqError, type MriseqError } from '../../src/errors/index.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mriseq-nifti-bad-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function valid(): Uint8Array {
  const data = Float32Array.from({ length: 4 * 3 * 2 }, (_, i) => i - 5);
  return encodeNifti(createVolume(data, [4, 3, 2], { datatype: 'int16' }));
}

function patched(edit: (dv: DataView, b: Uint8Array) => void): Uint8Array {
  const b = valid();
  edit(new DataView(b.buffer, b.byteOffset, b.byteLength), b);
  return b;
}

async function expectError(
  name: string,
  bytes: Uint8Array,
  want: { code: string; field?: string | RegExp },
  options: { maxBytes?: number } = {},
): Promise<MriseqError> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  let caught: unknown;
  try {
    await readNifti(path, options);
  } catch (e) {
    caught = e;
  }
  assert.ok(isMriseqError(caught), `${name}: expected a MriseqError, got ${String(caught)}`);
  const e = caught as MriseqError;
  assert.equal(e.code, want.code, `${name}: ${e.message}`);
  assert.ok(e.file?.endsWith(name), `${name}: error names the file (${e.file})`);
  assert.ok(e.message.includes(name), `${name}: message names the file`);
  if (want.field instanceof RegExp) assert.match(e.field ?? '', want.field, e.message);
  else if (want.field) assert.equal(e.field, want.field, e.message);
  assert.ok(e.expected, `${name}: says what was expected (${e.message})`);
  assert.ok(!e.message.includes('\n'));
  return e;
}

test('the untouched file reads (so each failure below is caused by its one defect)', async () => {
  const path = join(dir, 'ok.nii');
  writeFileSync(path, valid());
  const v = await readNifti(path);
  assert.deepEqual(v.shape, [4, 3, 2]);
  assert.equal(v.data[0], -5);
});

test('truncated files', async () => {
  await expectError('short-data.nii', valid().subarray(0, 352 + 10), {
    code: 'nifti.truncated',
    field: 'image data',
  });
  await expectError('short-header.nii', valid().subarray(0, 200), {
    code: 'nifti.truncated',
    field: 'header',
  });
  await expectError('empty.nii', new Uint8Array(0), { code: 'nifti.truncated', field: 'header' });
  const gz = gzipSync(valid().subarray(0, 360));
  await expectError('short-data.nii.gz', gz, { code: 'nifti.truncated', field: 'image data' });
});

test('impossible dims', async () => {
  await expectError(
    'dim0.nii',
    patched((dv) => dv.setInt16(40, 9, true)),
    { code: 'nifti.dim', field: 'dim[0]' },
  );
  await expectError(
    'dim2zero.nii',
    patched((dv) => dv.setInt16(44, 0, true)),
    { code: 'nifti.dim', field: 'dim[2]' },
  );
  await expectError(
    'dim3neg.nii',
    patched((dv) => dv.setInt16(46, -4, true)),
    { code: 'nifti.dim', field: 'dim[3]' },
  );
  const e5 = patched((dv) => {
    dv.setInt16(40, 5, true);
    dv.setInt16(50, 2, true);
  });
  await expectError('fivedims.nii', e5, { code: 'nifti.truncated' });
});

test('bad vox_offset', async () => {
  await expectError(
    'off-nan.nii',
    patched((dv) => dv.setFloat32(108, NaN, true)),
    { code: 'nifti.vox_offset', field: 'vox_offset' },
  );
  await expectError(
    'off-neg.nii',
    patched((dv) => dv.setFloat32(108, -16, true)),
    { code: 'nifti.vox_offset', field: 'vox_offset' },
  );
  await expectError(
    'off-frac.nii',
    patched((dv) => dv.setFloat32(108, 352.5, true)),
    { code: 'nifti.vox_offset', field: 'vox_offset' },
  );
  await expectError(
    'off-far.nii',
    patched((dv) => dv.setFloat32(108, 1e9, true)),
    { code: 'nifti.truncated' },
  );
});

test('unknown or unsupported datatype, and bitpix that disagrees with it', async () => {
  await expectError(
    'dt-999.nii',
    patched((dv) => dv.setInt16(70, 999, true)),
    { code: 'nifti.datatype', field: 'datatype' },
  );
  const e = await expectError(
    'dt-complex.nii',
    patched((dv) => dv.setInt16(70, 32, true)),
    { code: 'nifti.datatype' },
  );
  assert.match(e.message, /complex64/);
  await expectError(
    'bitpix.nii',
    patched((dv) => dv.setInt16(72, 8, true)),
    { code: 'nifti.bitpix', field: 'bitpix' },
  );
});

test('not a NIfTI file', async () => {
  await expectError(
    'random.nii',
    Uint8Array.from({ length: 400 }, (_, i) => (i * 37) % 251),
    { code: 'nifti.magic' },
  );
  await expectError(
    'badmagic.nii',
    patched((_dv, b) => b.set([0x41, 0x42, 0x43, 0], 344)),
    { code: 'nifti.magic', field: 'magic' },
  );
  await assert.rejects(
    readNifti(join(dir, 'does-not-exist.nii')),
    (e) => isMriseqError(e) && e.code === 'io.read',
  );
});

test('an allocation beyond the memory limit is refused from the header, before allocating', async () => {
  const huge = patched((dv) => {
    dv.setInt16(42, 30000, true);
    dv.setInt16(44, 30000, true);
    dv.setInt16(46, 30000, true);
  });
  await expectError('huge.nii', huge, { code: 'nifti.too_large', field: 'dim/datatype' });
  await expectError('huge.nii.gz', gzipSync(huge), { code: 'nifti.too_large' });
  // a configurable limit
  await expectError('limited.nii', valid(), { code: 'nifti.too_large' }, { maxBytes: 100 });
});

test('a gzip bomb stops at the size the header describes', async () => {
  const bomb = new Uint8Array(352 + 64 * 2 ** 20); // 64 MiB of zeros behind a 48-byte image
  bomb.set(valid().subarray(0, 352));
  const gz = gzipSync(bomb, { level: 9 });
  assert.ok(gz.length < 200_000);
  await expectError('bomb.nii.gz', gz, { code: 'nifti.gzip_too_large', field: 'gzip stream' });
});

test('corrupt gzip: bad data, a lying ISIZE trailer, a cut stream', async () => {
  const gz = gzipSync(valid());
  const flipped = Uint8Array.from(gz);
  flipped[gz.length - 8] ^= 0xff; // CRC32
  await expectError('crc.nii.gz', flipped, { code: 'nifti.gzip_corrupt', field: 'gzip stream' });
  const isize = Uint8Array.from(gz);
  new DataView(isize.buffer).setUint32(gz.length - 4, 0xffffffff, true); // claims 4 GiB
  await expectError('isize.nii.gz', isize, { code: 'nifti.gzip_corrupt' });
  const garbage = Uint8Array.from(gz);
  for (let i = 20; i < 40; i++) garbage[i] ^= 0x5a;
  await expectError('garbage.nii.gz', garbage, { code: 'nifti.gzip_corrupt' });
  await expectError('cut.nii.gz', gz.subarray(0, gz.length - 12), { code: 'nifti.gzip_corrupt' });
  // a 20-byte "gzip" whose trailer asks for 4 GiB allocates nothing and fails cleanly
  const tiny = Uint8Array.from([
    0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
  ]);
  await expectError('tiny.nii.gz', tiny, { code: 'nifti.gzip_corrupt' });
});

test('an extension that would trap a naive parser (esize -16) is refused, not looped on (nibabel refuses it too)', async () => {
  const v = valid();
  const b = new Uint8Array(v.length + 16);
  b.set(v.subarray(0, 348));
  const dv = new DataView(b.buffer);
  dv.setFloat32(108, 368, true);
  b.set([1, 0, 0, 0], 348);
  dv.setInt32(352, -16, true); // esize -16: loops forever in nifti-reader-js
  b.set(v.subarray(352), 368);
  const path = join(dir, 'ext-trap.nii');
  writeFileSync(path, b);
  await assert.rejects(readNifti(path), (e) => isMriseqError(e) && e.code === 'nifti.extension');
  // the extender byte cleared, the same bytes are a valid file whose data start at vox_offset
  b[348] = 0;
  writeFileSync(path, b);
  const vol = await readNifti(path);
  assert.deepEqual(Array.from(vol.data), Array.from((await readNiftiBytes(v)).data));
});

test('a .hdr/.img pair with a missing or short .img', async () => {
  const v = valid();
  const hdr = Uint8Array.from(v.subarray(0, 352));
  hdr.set([0x6e, 0x69, 0x31, 0], 344); // "ni1"
  new DataView(hdr.buffer).setFloat32(108, 0, true);
  writeFileSync(join(dir, 'lonely.hdr'), hdr);
  await assert.rejects(
    readNifti(join(dir, 'lonely.hdr')),
    (e) => isMriseqError(e) && e.code === 'io.read' && e.file!.endsWith('lonely.img'),
  );
  writeFileSync(join(dir, 'short.hdr'), hdr);
  writeFileSync(join(dir, 'short.img'), v.subarray(352, 360));
  await assert.rejects(
    readNifti(join(dir, 'short.hdr')),
    (e) => isMriseqError(e) && e.code === 'nifti.truncated' && e.file!.endsWith('short.img'),
  );
  writeFileSync(join(dir, 'good.img'), v.subarray(352));
  writeFileSync(join(dir, 'good.hdr'), hdr);
  const vol = await readNifti(join(dir, 'good.img'));
  assert.equal(vol.data[0], -5);
});
