/** `mriseq info` and `mriseq convert` as a user runs them, checked against nibabel. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { missingPython, runPython } from '../helpers/python.js';
import { assertSameVoxels, nibabelLoad, rawFloats } from './reference.js';

const skip = missingPython('nibabel', 'numpy');
const NIB_DATA = '/usr/lib/python3/dist-packages/nibabel/tests/data';
const ROOT = resolve(__dirname, '..', '..');
let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mriseq-cli-io-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function mriseq(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const STATS = `
import json, sys, numpy as np, nibabel as nib
out = []
for p in json.load(sys.stdin):
    img = nib.load(p)
    d = img.get_fdata()
    out.append(dict(shape=list(img.shape), datatype=img.get_data_dtype().name, spacing=[float(z) for z in img.header.get_zooms()],
                    affine=img.affine.tolist(), min=float(np.nanmin(d)), max=float(np.nanmax(d)), mean=float(np.nanmean(d))))
print(json.dumps(out))
`;

test('info --json prints exactly the agreed keys with nibabel values', { skip }, () => {
  const files = ['anatomical.nii', 'functional.nii', 'example4d.nii.gz'].map((f) => join(NIB_DATA, f));
  const refs = runPython<Record<string, unknown>[]>(STATS, files);
  files.forEach((f, i) => {
    const r = mriseq('info', f, '--json');
    assert.equal(r.code, 0, r.err);
    const info = JSON.parse(r.out) as Record<string, number | number[] | number[][] | string>;
    const ref = refs[i] as typeof info;
    assert.deepEqual(Object.keys(info).sort(), [
      'affine',
      'datatype',
      'max',
      'mean',
      'min',
      'shape',
      'spacing',
    ]);
    assert.deepEqual(info.shape, ref.shape);
    assert.equal(info.datatype, ref.datatype);
    (info.spacing as number[]).forEach((s, k) =>
      assert.ok(Math.abs(s - (ref.spacing as number[])[k]) < 1e-6),
    );
    (info.affine as number[][]).forEach((row, a) =>
      row.forEach((v, b) => assert.ok(Math.abs(v - (ref.affine as number[][])[a][b]) < 1e-9)),
    );
    // voxels are float32 after scaling; nibabel's statistics are float64
    for (const k of ['min', 'max', 'mean'])
      assert.ok(
        Math.abs((info[k] as number) - (ref[k] as number)) <= 1e-6 * Math.max(1, Math.abs(ref[k] as number)),
        `${f} ${k}`,
      );
  });
  const text = mriseq('info', files[0]);
  assert.equal(text.code, 0);
  assert.match(text.out, /shape\s+33 x 41 x 25/);
  assert.match(text.out, /datatype\s+int16/);
});

test('convert writes the format named by OUT, readable by nibabel, and refuses IN == OUT', { skip }, () => {
  const src = join(NIB_DATA, 'functional.nii');
  const out = join(dir, 'functional.nii.gz');
  const r = mriseq('convert', src, out);
  assert.equal(r.code, 0, r.err);
  assert.equal(readFileSync(out)[0], 0x1f); // gzip
  const [a, b] = nibabelLoad([
    { path: src, raw: join(dir, 'a.f32') },
    { path: out, raw: join(dir, 'b.f32') },
  ]);
  assert.equal(b.dtype, a.dtype);
  assertSameVoxels(rawFloats(b.raw), rawFloats(a.raw), 'converted voxels');
  const copy = join(dir, 'self.nii');
  writeFileSync(copy, readFileSync(src));
  const same = mriseq('convert', copy, copy);
  assert.equal(same.code, 2);
  assert.match(same.err, /refusing to overwrite the input/);
  assert.deepEqual(readFileSync(copy), readFileSync(src));
});

test('a bad file is one line on stderr and exit code 2', () => {
  const bad = join(dir, 'bad.nii');
  writeFileSync(bad, Buffer.alloc(100));
  const r = mriseq('info', bad, '--json');
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.equal(r.err.trim().split('\n').length, 1);
  assert.match(r.err, /bad\.nii/);
});
