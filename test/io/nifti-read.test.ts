/**
 * Reading NIfTI matches nibabel voxel for voxel (float32 after nibabel's own scaling) with equal
 * affines, on files other tools wrote (nibabel's test data, Debian's mricron templates) and on
 * files nibabel writes here for every datatype, both byte orders, NIfTI-1/2, pairs, 4D and scaling.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { missingPython, runPython } from '../helpers/python.js';
import { readNifti, readNiftiBytes, readNiftiHeader } from '../../src/io/index.js';
import { assertMatchesNibabel, assertMatrixClose, nibabelLoad, type NibabelInfo } from './reference.js';

const skip = missingPython('nibabel', 'numpy');
const NIB_DATA = '/usr/lib/python3/dist-packages/nibabel/tests/data';
const MRICRON = '/usr/share/mricron/templates';
let dir = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mriseq-nifti-read-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function checkAgainstNibabel(paths: string[]): Promise<void> {
  const refs: NibabelInfo[] = nibabelLoad(paths.map((p, i) => ({ path: p, raw: join(dir, `ref-${i}.f32`) })));
  for (const ref of refs) {
    const vol = await readNifti(ref.path);
    assertMatchesNibabel(vol, ref, ref.path);
    rmSync(ref.raw);
  }
}

test('files from nibabel test data read as nibabel reads them', { skip }, async () => {
  const names = [
    'anatomical.nii', // big-endian int16, qform
    'functional.nii', // 4D int16 with scl_slope/scl_inter
    'example4d.nii.gz', // gzipped 4D, rotated qform/sform
    'example_nifti2.nii.gz', // NIfTI-2
    'standard.nii.gz',
    'reoriented_anat_moved.nii',
    'resampled_anat_moved.nii',
  ];
  await checkAgainstNibabel(names.map((n) => join(NIB_DATA, n)).filter((p) => existsSync(p)));
});

test('Debian mricron templates read as nibabel reads them', { skip }, async () => {
  const names = [
    'JHU-WhiteMatter-labels-2mm.nii.gz', // codes 4/4
    'AICHAmc.nii.gz',
    'aal.nii.gz', // sform only
    'inia19-NeuroMaps.nii.gz', // int16
    'inia19-t1-brain.nii.gz', // float32, sform only
  ];
  const paths = names.map((n) => join(MRICRON, n)).filter((p) => existsSync(p));
  assert.ok(paths.length > 0, 'mricron-data templates are installed');
  await checkAgainstNibabel(paths);
});

const GENERATE = `
import json, sys, struct, numpy as np, nibabel as nib
specs = json.load(sys.stdin)
def affine_for(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-0.6, 0.6, 2)
    ca, sa, cb, sb = np.cos(a), np.sin(a), np.cos(b), np.sin(b)
    R = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]]) @ np.array([[1, 0, 0], [0, cb, -sb], [0, sb, cb]])
    A = np.eye(4)
    A[:3, :3] = R @ np.diag([1.5, 0.9, 2.25])
    A[:3, 3] = rng.uniform(-90, 90, 3)
    return A
for s in specs:
    rng = np.random.default_rng(s['seed'])
    dt = np.dtype(s['dtype'])
    shape = tuple(s['shape'])
    if dt.kind == 'f':
        arr = rng.normal(100, 50, shape).astype(dt)
        if s.get('nan'):
            arr.flat[::7] = np.nan
    else:
        info = np.iinfo(dt)
        lo, hi = int(info.min), int(info.max)
        if dt.itemsize == 8:
            lo, hi = max(lo, -(2**62)), min(hi, 2**62)
        arr = rng.integers(lo, hi, size=shape, dtype=dt, endpoint=True)
        arr.flat[0] = lo; arr.flat[1] = hi
    if s.get('floatToInt'):
        arr = rng.normal(0, 1000, shape).astype(np.float32)
    A = affine_for(s['seed'])
    if s.get('flip'):
        A = A @ np.diag([1, 1, -1, 1])
    cls = {(1, False): nib.Nifti1Image, (1, True): nib.Nifti1Pair, (2, False): nib.Nifti2Image, (2, True): nib.Nifti2Pair}[(s['version'], s.get('pair', False))]
    hdr = cls.header_class(endianness=s['endian'])
    img = cls(arr, A, header=hdr, dtype=np.dtype(s.get('saveAs', s['dtype'])))
    if len(shape) == 4:
        img.header.set_zooms(img.header.get_zooms()[:3] + (2.5,))
    img.header.set_sform(A, code=s.get('sform', 2))
    Aq = A.copy()
    if s.get('qdiff'):
        Aq[:3, 3] += [5, -7, 11]
    img.header.set_qform(Aq, code=s.get('qform', 1))
    if s.get('ext'):
        img.header.extensions.append(nib.nifti1.Nifti1Extension(6, b'a comment that moves vox_offset ' * 3))
    nib.save(img, s['path'])
    if 'patch' in s:
        # write header fields nibabel would normalise (slope 0 / NaN = no scaling)
        hdr_path = s['path'] if not s.get('pair') else s['path'][:-4] + '.hdr'
        with open(hdr_path, 'r+b') as f:
            for off, fmt, val in s['patch']:
                f.seek(off); f.write(struct.pack(s['endian'] + fmt, float(val)))
print(json.dumps(True))
`;

interface Spec {
  path: string;
  dtype: string;
  endian: '<' | '>';
  shape: number[];
  version: 1 | 2;
  seed: number;
  pair?: boolean;
  nan?: boolean;
  saveAs?: string;
  floatToInt?: boolean;
  sform?: number;
  qform?: number;
  flip?: boolean;
  qdiff?: boolean;
  ext?: boolean;
  patch?: [number, string, number | string][];
}

function generate(specs: Spec[]): void {
  runPython(GENERATE, specs);
}

const DTYPES = [
  'uint8',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
];

test('every datatype in both byte orders, as nibabel wrote them', { skip }, async () => {
  const specs: Spec[] = [];
  let seed = 1;
  for (const dtype of DTYPES)
    for (const endian of ['<', '>'] as const)
      specs.push({
        path: join(dir, `dt-${dtype}-${endian === '<' ? 'le' : 'be'}.nii`),
        dtype,
        endian,
        shape: [5, 4, 3],
        version: 1,
        seed: seed++,
      });
  generate(specs);
  await checkAgainstNibabel(specs.map((s) => s.path));
});

test(
  'NIfTI-2, pairs, gzip, 4D, 2D, extensions, NaN and flipped qform read as nibabel reads them',
  { skip },
  async () => {
    const base = { shape: [6, 5, 4], seed: 100, endian: '<' as const, version: 1 as const, dtype: 'int16' };
    const specs: Spec[] = [
      { ...base, path: join(dir, 'n2-le.nii'), version: 2, dtype: 'float64' },
      { ...base, path: join(dir, 'n2-be.nii.gz'), version: 2, endian: '>', dtype: 'int32' },
      { ...base, path: join(dir, 'pair1.img'), pair: true },
      { ...base, path: join(dir, 'pair1be.img'), pair: true, endian: '>', dtype: 'float32' },
      { ...base, path: join(dir, 'pair2.img'), pair: true, version: 2, dtype: 'uint16' },
      { ...base, path: join(dir, 'pairgz.img.gz'), pair: true, dtype: 'uint8' },
      { ...base, path: join(dir, 'fourd.nii.gz'), shape: [3, 4, 5, 6], dtype: 'float32' },
      { ...base, path: join(dir, 'fourd1.nii'), shape: [3, 4, 5, 1], dtype: 'int16' },
      { ...base, path: join(dir, 'twod.nii'), shape: [7, 6] },
      { ...base, path: join(dir, 'ext.nii.gz'), ext: true },
      { ...base, path: join(dir, 'nan.nii'), dtype: 'float32', nan: true },
      { ...base, path: join(dir, 'qformonly-flip.nii'), sform: 0, qform: 1, flip: true },
      { ...base, path: join(dir, 'nocodes.nii'), sform: 0, qform: 0 },
      { ...base, path: join(dir, 'sform-wins.nii'), sform: 1, qform: 2, qdiff: true },
      { ...base, path: join(dir, 'qform-when-no-sform.nii'), sform: 0, qform: 1, qdiff: true },
    ];
    generate(specs);
    await checkAgainstNibabel(specs.map((s) => s.path));
  },
);

test(
  'scl_slope/scl_inter applied as nibabel applies them; slope 0 or NaN means unscaled',
  { skip },
  async () => {
    const base = { shape: [6, 5, 4], seed: 200, endian: '<' as const, version: 1 as const, dtype: 'int16' };
    const specs: Spec[] = [
      // nibabel picks its own slope/intercept when float data are stored as integers
      { ...base, path: join(dir, 'scaled-i16.nii'), floatToInt: true, saveAs: 'int16' },
      { ...base, path: join(dir, 'scaled-u8-be.nii.gz'), floatToInt: true, saveAs: 'uint8', endian: '>' },
      { ...base, path: join(dir, 'scaled-n2.nii'), floatToInt: true, saveAs: 'int16', version: 2 },
      {
        ...base,
        path: join(dir, 'slope-set.nii'),
        patch: [
          [112, 'f', 0.25],
          [116, 'f', -7.5],
        ],
      },
      {
        ...base,
        path: join(dir, 'slope-zero.nii'),
        patch: [
          [112, 'f', 0],
          [116, 'f', 12],
        ],
      },
      {
        ...base,
        path: join(dir, 'slope-nan.nii'),
        endian: '>',
        patch: [
          [112, 'f', 'nan'],
          [116, 'f', 12],
        ],
      },
    ];
    generate(specs);
    await checkAgainstNibabel(specs.map((s) => s.path));
  },
);

test('readNiftiBytes reads plain and gzipped bytes like the file reader', { skip }, async () => {
  const path = join(NIB_DATA, 'example4d.nii.gz');
  const fromFile = await readNifti(path);
  const gz = readFileSync(path);
  const fromGz = await readNiftiBytes(new Uint8Array(gz));
  assert.deepEqual(fromGz.shape, fromFile.shape);
  assert.deepEqual(Array.from(fromGz.data), Array.from(fromFile.data));
  const plainPath = join(dir, 'plain.nii');
  const plain = (await import('node:zlib')).gunzipSync(gz);
  writeFileSync(plainPath, plain);
  const fromPlain = await readNiftiBytes(new Uint8Array(plain), { name: plainPath });
  assert.deepEqual(Array.from(fromPlain.data), Array.from(fromFile.data));
  // a multi-member gzip (as pigz/bgzip can write) holds the same bytes
  const half = Math.floor(plain.length / 2);
  const multi = Buffer.concat([gzipSync(plain.subarray(0, half)), gzipSync(plain.subarray(half))]);
  const multiPath = join(dir, 'multi.nii.gz');
  writeFileSync(multiPath, multi);
  const fromMulti = await readNifti(multiPath);
  assert.deepEqual(Array.from(fromMulti.data), Array.from(fromFile.data));
  assert.deepEqual(fromMulti.affine, fromFile.affine);
});

test(
  'header fields a user inspects match nibabel (codes, units, description, offset, qform)',
  { skip },
  async () => {
    const files = ['example4d.nii.gz', 'anatomical.nii', 'example_nifti2.nii.gz'].map((f) =>
      join(NIB_DATA, f),
    );
    const refs = runPython<
      {
        sform_code: number;
        qform_code: number;
        xyzt_units: number;
        descrip: string;
        vox_offset: number;
        qform: number[][];
      }[]
    >(
      `
import json, sys, nibabel as nib
out = []
for p in json.load(sys.stdin):
    img = nib.load(p); h = img.header
    out.append(dict(sform_code=int(h['sform_code']), qform_code=int(h['qform_code']), xyzt_units=int(h['xyzt_units']),
                    descrip=h['descrip'].item().decode('latin-1'), vox_offset=int(img.dataobj.offset), qform=h.get_qform().tolist()))
print(json.dumps(out))
`,
      files,
    );
    for (let i = 0; i < files.length; i++) {
      const [vol, hdr] = [await readNifti(files[i]), await readNiftiHeader(files[i])];
      const ref = refs[i];
      assert.equal(vol.header?.sformCode, ref.sform_code);
      assert.equal(vol.header?.qformCode, ref.qform_code);
      assert.equal(vol.header?.xyztUnits, ref.xyzt_units);
      assert.equal(vol.header?.description, ref.descrip);
      assert.equal(hdr.voxOffset, ref.vox_offset);
      if (ref.qform_code > 0) assertMatrixClose(vol.header!.qform!, ref.qform, 1e-9, `${files[i]} qform`);
    }
  },
);
