/**
 * Non-finite voxels and geometry (issue 25, items 3 and 4): a NaN voxel, a mirrored or shifted
 * sequence, a 4D file in a 3D role are refused where a cohort is loaded (train, evaluate, maps) and
 * reported by `manifest check`, naming file, subject and by how much; best-checkpoint selection
 * never takes a NaN; `convert` to an integer type writes NaN as 0, as nibabel does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateToDisk } from '../../src/cohort/node.js';
import { Cohort } from '../../src/cohort/index.js';
import { readNifti, writeNifti } from '../../src/io/index.js';
import { createVolume, gridProblem, AFFINE_TOLERANCE_MM, type Volume } from '../../src/volume/index.js';
import { createGenerator, tf } from '../../src/index.js';
import { trainSteps } from '../../src/train/train.js';
import { saveCheckpoint } from '../../src/train/node.js';
import { initEngine } from '../../src/engine/index.js';
import { MriseqError } from '../../src/errors/index.js';
import { runCli } from '../helpers/cli.js';
import { missingPython, runPython } from '../helpers/python.js';

/** Four phantom subjects (sim-00001 is the validation subject) under dir/data. */
async function cohort(dir: string, dce = false): Promise<string> {
  const sim = await simulateToDisk({ out: join(dir, 'data'), subjects: 4, size: [16, 16, 8], seed: 4, dce });
  return sim.manifestPath;
}

/** Rewrites one file of the cohort through `change`. */
async function rewrite(dir: string, file: string, change: (v: Volume) => Volume): Promise<string> {
  const path = join(dir, 'data', file);
  await writeNifti(path, change(await readNifti(path)));
  return path;
}

const trainArgs = (manifest: string, out: string) => [
  'train',
  '--manifest',
  manifest,
  '--steps',
  '2',
  '--crop',
  '16',
  '--out',
  out,
  '--json',
];

test('a NaN voxel in a validation subject is refused at load with file, subject and count (train, evaluate, maps, manifest check --full)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-nan-'));
  try {
    const manifest = await cohort(dir);
    const bad = await rewrite(dir, 'sim-00001/sim-00001_t2.nii.gz', (v) => {
      const data = Float32Array.from(v.data);
      data[5] = NaN;
      data[9] = Infinity;
      return { ...v, data };
    });
    const t = await runCli(trainArgs(manifest, join(dir, 'run')));
    assert.equal(t.code, 2, t.out);
    assert.match(t.err, /sim-00001: sequence t2 has 2 non-finite voxels/);
    assert.ok(t.err.includes(bad.slice(join(dir, 'data').length + 1)), t.err);
    // evaluate and maps load through the same cohort
    const model = createGenerator('lite');
    saveCheckpoint(join(dir, 'model'), model);
    model.dispose();
    for (const cmd of ['evaluate', 'maps']) {
      const out = join(dir, cmd === 'evaluate' ? 'e.csv' : 'maps');
      const r = await runCli([
        cmd,
        '--run',
        join(dir, 'model'),
        '--manifest',
        manifest,
        '--out',
        out,
        '--split',
        'val',
      ]);
      assert.equal(r.code, 2, `${cmd}: ${r.out}`);
      assert.match(r.err, /sim-00001: sequence t2 has 2 non-finite voxels/, cmd);
    }
    const c = await runCli(['manifest', 'check', '--full', manifest]);
    assert.notEqual(c.code, 0);
    assert.match(c.out + c.err, /row 2, column t2: 2 non-finite voxels/);
    // an explicit choice sets them to 0
    const zeroed = await Cohort.fromManifest(manifest, { nonFinite: 'zero' });
    const v = await zeroed.subject('sim-00001').load('t2');
    assert.equal(v.data[5], 0);
    assert.equal(v.data[9], 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a mirrored and a 500 mm shifted sequence of the same shape are refused (manifest check says by how much; train refuses)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-affine-'));
  try {
    const manifest = await cohort(dir);
    // mirrored along x: the same field of view, voxels in the other order
    await rewrite(dir, 'sim-00000/sim-00000_t2.nii.gz', (v) => {
      const a = v.affine.map((r) => [...r]);
      for (let r = 0; r < 3; r++) {
        a[r][3] += (v.shape[0] - 1) * a[r][0];
        a[r][0] = -a[r][0];
      }
      return { ...v, affine: a, header: undefined };
    });
    await rewrite(dir, 'sim-00002/sim-00002_flair.nii.gz', (v) => {
      const a = v.affine.map((r) => [...r]);
      a[0][3] += 500;
      return { ...v, affine: a, header: undefined };
    });
    const c = await runCli(['manifest', 'check', manifest]);
    assert.notEqual(c.code, 0);
    const text = c.out + c.err;
    assert.match(
      text,
      /row 1, column t2: affine differs by up to 225\.0 mm at the grid corners \(one is mirrored\) from t1/,
    );
    assert.match(text, /row 3, column flair: affine differs by up to 500\.0 mm at the grid corners from t1/);
    const t = await runCli(trainArgs(manifest, join(dir, 'run')));
    assert.equal(t.code, 2);
    assert.match(t.err, /sim-00000: t2 is not on the grid of t1: affine differs by up to 225\.0 mm/);
    assert.match(t.err, /sim-00000_t2\.nii\.gz/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a 4D file given as a 3D sequence is refused; dce is the 4D role', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-4d-'));
  try {
    const manifest = await cohort(dir, true);
    const ok = await runCli(['manifest', 'check', manifest]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    await rewrite(dir, 'sim-00003/sim-00003_t1.nii.gz', (v) =>
      createVolume(new Float32Array(v.data.length * 3).fill(1), [...v.shape, 3], { affine: v.affine }),
    );
    const c = await runCli(['manifest', 'check', manifest]);
    assert.match(c.out + c.err, /row 4, column t1: sequence t1 is 4D \(a time series\); found 16x16x8x3/);
    const t = await runCli(trainArgs(manifest, join(dir, 'run')));
    assert.equal(t.code, 2);
    assert.match(t.err, /sim-00003: sequence t1 is 4D/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the affine tolerance: 1e-4 mm at the corners passes, 0.1 mm does not', () => {
  const base = [
    [1, 0, 0, -8],
    [0, 1, 0, -8],
    [0, 0, 2, -8],
    [0, 0, 0, 1],
  ];
  const shifted = (d: number) => base.map((r, i) => (i === 1 ? [r[0], r[1], r[2], r[3] + d] : r));
  const g = (a: number[][]) => ({ shape: [16, 16, 8], affine: a });
  assert.equal(gridProblem(g(base), g(shifted(1e-4))), undefined);
  assert.ok(AFFINE_TOLERANCE_MM < 0.1);
  assert.match(gridProblem(g(base), g(shifted(0.1)))!.problem, /up to 0\.10 mm/);
  // a voxel-size difference moves the far corners
  const zoom = base.map((r, i) => (i === 0 ? [1.01, 0, 0, -8] : r));
  assert.match(gridProblem(g(base), g(zoom))!.problem, /up to 0\.15 mm/);
});

test('best-checkpoint selection: a NaN validation PSNR is an error naming the validation subject, never the best', async () => {
  await initEngine();
  const make = (id: string, seed: number) => {
    const r = (i: number) => Math.sin(i * 12.9898 + seed) * 0.5;
    const vol = (k: number) =>
      createVolume(
        Float32Array.from({ length: 16 * 16 * 8 }, (_, i) => r(i + k)),
        [16, 16, 8],
      );
    return { id, volumes: { t1: vol(0), t2: vol(1000) } };
  };
  const model = createGenerator('lite', { sequences: ['t1', 't2'] });
  try {
    // the generator's validation outputs turn NaN (the training pass through apply stays finite)
    const apply = model.apply.bind(model);
    let calls = 0;
    model.apply = ((...a: Parameters<typeof model.apply>) => {
      const y = apply(...a);
      if (++calls <= 1) return y;
      const nan = tf.mul(y, NaN);
      y.dispose();
      return nan;
    }) as typeof model.apply;
    await assert.rejects(
      trainSteps(model, [make('a', 1), make('b', 2)], {
        steps: 1,
        crop: 16,
        validation: [make('val-7', 3)],
        validateEvery: 1,
        validationCrops: 2,
      }).next(),
      (e: unknown) =>
        e instanceof MriseqError &&
        /validation PSNR is not finite/.test(e.message) &&
        /val-7/.test(String(e.field)),
    );
    // a NaN voxel handed to the training API directly is refused before any step
    const nanVal = make('val-8', 4);
    (nanVal.volumes.t2.data as Float32Array)[3] = NaN;
    await assert.rejects(
      trainSteps(model, [make('a', 1)], { steps: 1, crop: 16, validation: [nanVal] }).next(),
      /val-8: sequence t2 has 1 non-finite voxel/,
    );
  } finally {
    model.dispose();
  }
});

test(
  'convert to int16/uint8 writes NaN as 0 like nibabel (read back by nibabel)',
  { skip: missingPython('nibabel', 'numpy') },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mriseq-convert-nan-'));
    try {
      const src = join(dir, 'in.nii.gz');
      // positive, non-integral data with NaNs: 0 lies outside the data range
      const script = `
import json, sys, numpy as np, nibabel as nib
d = json.load(sys.stdin)
a = np.linspace(10.5, 500.25, 4*5*6, dtype=np.float32).reshape(4, 5, 6)
a[1, 2, 3] = np.nan; a[0, 0, 0] = np.nan
nib.save(nib.Nifti1Image(a, np.eye(4)), d['src'])
out = {}
for dt in ('int16', 'uint8'):
    img = nib.Nifti1Image(a, np.eye(4)); img.set_data_dtype(dt)
    nib.save(img, d['dir'] + '/nib_' + dt + '.nii')
    theirs = nib.load(d['dir'] + '/nib_' + dt + '.nii').get_fdata()
    ours = nib.load(d['dir'] + '/ours_' + dt + '.nii').get_fdata() if d['ours'] else None
    out[dt] = {'theirs': [theirs[1,2,3], theirs[0,0,0], float(theirs[3,4,5])],
               'ours': None if ours is None else [ours[1,2,3], ours[0,0,0], float(ours[3,4,5])],
               'slope': float(nib.load(d['dir'] + '/nib_' + dt + '.nii').dataobj.slope)}
print(json.dumps(out))
`;
      runPython(script, { src, dir, ours: false });
      for (const dt of ['int16', 'uint8']) {
        const r = await runCli(['convert', src, join(dir, `ours_${dt}.nii`), '--datatype', dt]);
        assert.equal(r.code, 0, r.err);
      }
      const got = runPython<Record<string, { theirs: number[]; ours: number[]; slope: number }>>(script, {
        src,
        dir,
        ours: true,
      });
      for (const dt of ['int16', 'uint8']) {
        const { theirs, ours, slope } = got[dt]!;
        // nibabel reads its own NaNs back as (about) 0; ours the same, not the data minimum (10.5)
        assert.ok(Math.abs(theirs[0]!) <= slope && Math.abs(theirs[1]!) <= slope, `${dt} nibabel ${theirs}`);
        assert.ok(Math.abs(ours[0]!) <= slope && Math.abs(ours[1]!) <= slope, `${dt} ours ${ours}`);
        assert.ok(Math.abs(ours[2]! - theirs[2]!) <= 2 * slope, `${dt} max ${ours[2]} vs ${theirs[2]}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
