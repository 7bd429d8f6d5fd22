/**
 * Trailing bytes and header extensions against nibabel on the same files (issue 25, item 10):
 * bytes after the voxel data of a .nii and after the gzip stream of a .nii.gz are read past, as
 * nibabel reads them (the latter with a warning); an extension with a zero, negative, too small
 * or past-the-end esize is refused, as nibabel refuses it; one whose size is not a multiple of 16
 * is read with a warning, as nibabel does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNifti } from '../../src/io/index.js';
import { isMriseqError } from '../../src/errors/index.js';
import { missingPython, runPython } from '../helpers/python.js';

const MAKE = `
import gzip, json, os, struct, sys, warnings
import numpy as np, nibabel as nib
d = json.load(sys.stdin)['dir']
def save(name, arr):
    nib.save(nib.Nifti1Image(arr, np.diag([2., 2., 3., 1.])), os.path.join(d, name))
    return open(os.path.join(d, name), 'rb').read()
small = save('small.nii', np.arange(4*5*6, dtype=np.float32).reshape(4, 5, 6))
big = save('big.nii', np.random.RandomState(0).rand(64, 64, 32).astype(np.float32))
files = {
  'trail-100.nii': small + b'x' * 100,
  'trail-2MiB.nii': small + b'x' * (2 << 20),
  'gz-zeros.nii.gz': gzip.compress(small) + b'\\0' * 64,
  'gz-two-members.nii.gz': gzip.compress(small[:200]) + gzip.compress(small[200:]),
  'gz-garbage.nii.gz': gzip.compress(big) + b'garbage!' * 10,
  'gz-garbage-small.nii.gz': gzip.compress(small) + b'garbage!' * 10,
}
def ext(sizes):
    h = bytearray(small[:348]); body = bytearray()
    for e in sizes: body += struct.pack('<ii', e, 6) + b'\\0' * max(0, e - 8)
    body = bytes(body[:32]) + b'\\0' * max(0, 32 - len(body))
    struct.pack_into('<f', h, 108, 352.0 + 32)
    return bytes(h) + b'\\1\\0\\0\\0' + body + small[352:]
for name, sizes in [('ext-ok', [32]), ('ext-two', [16, 16]), ('ext-zero', [0]), ('ext-negative', [-16]),
                    ('ext-small', [4]), ('ext-past-data', [64]), ('ext-past-end', [1 << 20]), ('ext-not16', [24])]:
    files[name + '.nii'] = ext(sizes)
out = {}
for name, b in files.items():
    p = os.path.join(d, name); open(p, 'wb').write(b)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        try:
            img = nib.load(p); a = np.asarray(img.dataobj, dtype=np.float64)
            out[name] = {'ok': True, 'sum': float(a.sum()), 'shape': list(a.shape),
                         'extensions': len(img.header.extensions), 'warned': len(w) > 0}
        except Exception as e:
            out[name] = {'ok': False, 'error': type(e).__name__ + ': ' + str(e)}
print(json.dumps(out))
`;

interface NibabelResult {
  ok: boolean;
  sum?: number;
  shape?: number[];
  extensions?: number;
  warned?: boolean;
  error?: string;
}

test(
  'trailing bytes and extensions: read or refused as nibabel does, on the same files',
  { skip: missingPython('nibabel', 'numpy') },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mriseq-tails-'));
    try {
      const nib = runPython<Record<string, NibabelResult>>(MAKE, { dir });
      const ours: Record<string, { ok: boolean; sum?: number; warnings: string[]; code?: string }> = {};
      for (const name of Object.keys(nib)) {
        const warnings: string[] = [];
        try {
          const v = await readNifti(join(dir, name), { onWarning: (m) => warnings.push(m) });
          let sum = 0;
          for (const x of v.data) sum += x;
          ours[name] = { ok: true, sum, warnings };
        } catch (e) {
          assert.ok(isMriseqError(e), `${name}: ${String(e)}`);
          ours[name] = { ok: false, code: e.code, warnings };
        }
      }
      for (const [name, n] of Object.entries(nib)) {
        const o = ours[name]!;
        if (name === 'gz-garbage-small.nii.gz') {
          // nibabel's format sniffing meets the garbage in its first read of a tiny file and gives up;
          // for a larger file (gz-garbage) it reads the image. The image here is intact (CRC checked).
          assert.equal(o.ok, true, name);
          assert.equal(o.sum, nib['trail-100.nii']!.sum, name);
          assert.match(o.warnings.join(), /80 bytes after the gzip stream/);
          continue;
        }
        assert.equal(
          o.ok,
          n.ok,
          `${name}: nibabel ${n.ok ? 'reads it' : `refuses it (${n.error})`}, ours ${o.ok ? 'reads it' : `refuses it (${o.code})`}`,
        );
        if (n.ok)
          assert.ok(
            Math.abs(o.sum! - n.sum!) <= 1e-6 * Math.abs(n.sum!),
            `${name}: sum ${o.sum} vs ${n.sum}`,
          );
        else assert.equal(o.code, 'nifti.extension', name);
      }
      // warnings where nibabel warns (extension size) or where bytes are skipped (trailing garbage)
      assert.equal(nib['ext-not16.nii']!.warned, true);
      assert.match(ours['ext-not16.nii']!.warnings.join(), /esize 24 is not a multiple of 16/);
      assert.match(
        ours['gz-garbage.nii.gz']!.warnings.join(),
        /80 bytes after the gzip stream are not gzip data/,
      );
      assert.deepEqual(ours['trail-2MiB.nii']!.warnings, []);
      assert.equal(nib['ext-two.nii']!.extensions, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('a corrupt member after valid ones, or a bad CRC, is still refused', async () => {
  const { gzipSync } = await import('node:zlib');
  const { writeFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-tails-crc-'));
  try {
    const { encodeNifti } = await import('../../src/io/index.js');
    const { createVolume } = await import('../../src/volume/index.js');
    const raw = encodeNifti(
      createVolume(
        new Float32Array(120).map((_, i) => i),
        [4, 5, 6],
      ),
    );
    const gz = gzipSync(raw);
    const badCrc = Uint8Array.from(gz);
    badCrc[gz.length - 8] ^= 0xff;
    // a second member whose header is right but whose deflate data are not
    const second = Uint8Array.from(gzipSync(raw));
    second[20] ^= 0xff;
    for (const [name, bytes] of [
      ['crc.nii.gz', badCrc],
      ['second.nii.gz', Buffer.concat([gz, second])],
    ] as const) {
      writeFileSync(join(dir, name), bytes);
      await assert.rejects(
        readNifti(join(dir, name)),
        (e) => isMriseqError(e) && e.code === 'nifti.gzip_corrupt',
        name,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
