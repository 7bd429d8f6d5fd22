/**
 * The breast study's commands end to end on a phantom with DWI and a 6-phase DCE (issue 30):
 * `mriseq simulate --dwi --dce`, `mriseq train --sequences t1,t2,dwi,dce` (2D) and
 * `--ndims 3 --patch 8` (3D), then `generate`, `evaluate` and `maps` with 4D targets, sharded and
 * merged, and `rank`. Checks the wiring on a one-step generator against independent references:
 * nibabel reads the 4D NIfTI (shape, affine, time step), numpy/scikit-image recompute every
 * per-frame PSNR/SSIM/MAE of a DCE row from the generated series and the normalised truth, and the
 * map's mean over time from the 4D map.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeRun } from '../../src/scale/node.js';
import { readEvaluationCsv } from '../../src/analysis/node.js';
import { frameValues } from '../../src/analysis/index.js';
import { runCli } from '../helpers/cli.js';
import { cliOk } from '../helpers/phantom-run.js';
import { missingPython, runPython } from '../helpers/python.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-dce-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const data = join(tmp, 'data');
const manifest = join(data, 'manifest.csv');
const model = join(tmp, 'model');
const STUDY = 't1,t2,dwi,dce';
const SUBJECTS = 4;

interface ManifestRow {
  id: string;
  dce: string;
  t1: string;
}

/** `mriseq <command> --run MODEL --manifest M ...args --out OUT` as two shards, then merged in `run`. */
async function sharded(command: string, run: string, args: string[], out = run): Promise<string[]> {
  const parts: string[] = [];
  for (const i of [0, 1])
    parts.push(
      await cliOk([
        command,
        '--run',
        model,
        '--manifest',
        manifest,
        ...args,
        '--out',
        out,
        '--shard',
        `${i}/2`,
      ]),
    );
  mergeRun(run);
  return parts;
}

function manifestRows(): ManifestRow[] {
  const [head, ...rows] = readFileSync(manifest, 'utf8').trim().split('\n');
  const cols = head.split(',');
  return rows.map((r) => {
    const f = r.split(',');
    const at = (name: string) => f[cols.findIndex((c) => c === name || c === `seq:${name}`)];
    return { id: at('id'), dce: at('dce'), t1: at('t1') };
  });
}

test(
  'setup: simulate --dwi --dce, train on T1, T2, DWI and the DCE series',
  { timeout: 180_000 },
  async () => {
    await cliOk([
      'simulate',
      '--out',
      data,
      '--subjects',
      String(SUBJECTS),
      '--size',
      '16,16,8',
      '--seed',
      '5',
      '--dwi',
      '--dce',
      '--quiet',
    ]);
    const head = readFileSync(manifest, 'utf8').split('\n')[0];
    for (const col of ['dce', 'dwi', 'unique_dce', 'kinetics', 'washout'])
      assert.ok(
        head.split(',').some((c) => c.endsWith(col)),
        `manifest column ${col} in ${head}`,
      );
    await cliOk([
      'train',
      '--manifest',
      manifest,
      '--sequences',
      STUDY,
      '--steps',
      '2',
      '--crop',
      '16',
      '--out',
      model,
      '--json',
    ]);
    const cfg = JSON.parse(readFileSync(join(model, 'best', 'config.json'), 'utf8')) as {
      config: { ndims: number; sequences: string[]; timePoints?: Record<string, number> };
    };
    assert.deepEqual(cfg.config.sequences, ['t1', 't2', 'dwi', 'dce']);
    assert.deepEqual(cfg.config.timePoints, { dce: 6 }, 'the run records the DCE series length');
  },
);

test('train --ndims 3 --patch 8: the 3D generator on 3D patches, a 4D source and target among them', async () => {
  const out = join(tmp, 'model3d');
  const lines = (
    await cliOk([
      'train',
      '--manifest',
      manifest,
      '--sequences',
      STUDY,
      '--ndims',
      '3',
      '--patch',
      '8',
      '--steps',
      '3',
      '--out',
      out,
      '--json',
    ])
  )
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step?: number; loss?: { total: number } });
  assert.ok(lines.filter((l) => l.step).every((l) => Number.isFinite(l.loss!.total)));
  const cfg = JSON.parse(readFileSync(join(out, 'best', 'config.json'), 'utf8')) as {
    config: { ndims: number; cIn: number };
  };
  assert.equal(cfg.config.ndims, 3);
  assert.equal(cfg.config.cIn, 1);
  // a 3D generator generates the whole 4D series in one pass
  const file = join(tmp, 'g3d.nii.gz');
  const id = manifestRows()[0].id;
  await cliOk([
    'generate',
    '--run',
    out,
    '--manifest',
    manifest,
    '--subject',
    id,
    '--target',
    'dce',
    '--out',
    file,
  ]);
  assert.ok(existsSync(file));
});

test('train refuses --patch without --ndims 3, --dce without --phantom, and an unknown --sequences name', async () => {
  const refused = async (args: string[], name: string, pattern: RegExp) => {
    const r = await runCli([
      'train',
      '--manifest',
      manifest,
      ...args,
      '--steps',
      '1',
      '--out',
      join(tmp, name),
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, pattern);
  };
  await refused(['--patch', '8'], 'x', /--patch/);
  await refused(['--dce'], 'y', /--phantom/);
  await refused(['--sequences', 't1,swi'], 'z', /--sequences/);
});

test(
  'generate (2 shards + merge): the DCE from T1 alone, a 4D NIfTI in the subject space; a subject without the DCE gets the trained length',
  { skip: missingPython('nibabel') },
  async () => {
    const run = join(tmp, 'gen');
    await sharded('generate', run, ['--target', 'dce', '--sources', 't1']);
    const row = manifestRows()[0];
    const ref = runPython<{ shape: number[]; zooms: number[]; same: boolean }>(
      `
import json, sys, numpy as np, nibabel as nib
d = json.load(sys.stdin)
g, t = nib.load(d['gen']), nib.load(d['truth'])
print(json.dumps({'shape': list(g.shape), 'zooms': [float(z) for z in g.header.get_zooms()], 'same': bool(np.allclose(g.affine, t.affine))}))
`,
      { gen: join(run, row.id, 'dce.nii.gz'), truth: join(data, row.dce) },
    );
    assert.deepEqual(ref.shape, [16, 16, 8, 6]);
    assert.equal(ref.zooms[3], 60, 'the time step of the subject series');
    assert.ok(ref.same, 'the subject affine');
    // a phantom subject (in memory) generated from T2 alone: a series of the trained length, or
    // of the length asked for
    const fromT2 = (extra: string[], file: string) =>
      cliOk([
        ...[
          'generate',
          '--run',
          model,
          '--phantom',
          '4',
          '--size',
          '16,16,8',
          '--seed',
          '5',
          '--dwi',
          '--dce',
        ],
        ...[
          '--subject',
          'sim-00001',
          '--target',
          'dce',
          '--sources',
          't2',
          ...extra,
          '--out',
          join(tmp, file),
        ],
      ]);
    assert.match(await fromT2([], 'from-t2.nii.gz'), /16x16x8x6/);
    assert.match(await fromT2(['--time-points', '3'], 'three.nii.gz'), /16x16x8x3/);
  },
);

test(
  'evaluate (2 shards + merge) and rank: a DCE row holds each phase\u2019s PSNR/SSIM/MAE and their means, equal to numpy and scikit-image',
  { skip: missingPython('nibabel', 'skimage') },
  async () => {
    const run = join(tmp, 'eval');
    const table = join(run, 'evaluation.csv');
    await sharded('evaluate', run, ['--split', 'all', '--sequences', STUDY], table);
    const headers = new Set(
      [0, 1].map(
        (i) =>
          readFileSync(join(run, 'parts', `evaluate-${i}-of-2`, 'evaluation.csv'), 'utf8').split('\n')[0],
      ),
    );
    assert.equal(headers.size, 1, 'the parts share one header');
    const rows = readEvaluationCsv(table);
    assert.equal(rows.length, SUBJECTS * 16);
    const dce = rows.filter((r) => r.target === 'dce');
    assert.equal(dce.length, SUBJECTS * 4);
    for (const r of rows) {
      const frames = frameValues(r, 'psnr');
      assert.equal(frames.length, r.target === 'dce' ? 6 : 0, `${r.source} -> ${r.target}`);
      if (frames.length)
        for (const m of ['psnr', 'ssim', 'mae']) {
          const v = frameValues(r, m);
          assert.ok(Math.abs((r[m] as number) - v.reduce((a, b) => a + b, 0) / v.length) < 1e-9, m);
        }
    }
    // The row (subject, t1 -> dce) against the generated series written by `generate --sources t1`.
    const row = manifestRows()[0];
    const r = dce.find((x) => x.subject === row.id && x.source === 't1')!;
    const ref = runPython<{ psnr: number[]; ssim: number[]; mae: number[] }>(
      `
import json, sys, numpy as np, nibabel as nib
from skimage.metrics import structural_similarity, peak_signal_noise_ratio
d = json.load(sys.stdin)
x = np.asarray(nib.load(d['truth']).dataobj, dtype=np.float64)
p99 = np.percentile(x.astype(np.float32), 99)
x = (np.clip(x, 0, 2 * p99) / (2 * p99) * 2 - 1).astype(np.float32)
y = np.asarray(nib.load(d['gen']).dataobj, dtype=np.float32)
out = {'psnr': [], 'ssim': [], 'mae': []}
for k in range(x.shape[3]):
    a, b = x[..., k].astype(np.float64), y[..., k].astype(np.float64)
    out['psnr'].append(float(peak_signal_noise_ratio(a, b, data_range=2)))
    out['ssim'].append(float(structural_similarity(a, b, data_range=2)))
    out['mae'].append(float(np.mean(np.abs(a - b))))
print(json.dumps(out))
`,
      { truth: join(data, row.dce), gen: join(tmp, 'gen', row.id, 'dce.nii.gz') },
    );
    for (const m of ['psnr', 'ssim', 'mae'] as const) {
      const ours = frameValues(r, m);
      ref[m].forEach((v, k) =>
        assert.ok(Math.abs(ours[k] - v) < 1e-3, `${m} frame ${k}: ${ours[k]} vs ${v}`),
      );
    }
    const ranked = JSON.parse(await cliOk(['rank', table, '--json', '--resamples', '20'])) as {
      sequences: { sequence: string }[];
    };
    assert.deepEqual(ranked.sequences.map((s) => s.sequence).sort(), ['dce', 'dwi', 't1', 't2']);
  },
);

test(
  'maps (2 shards + merge): M_d(DCE) per time point as a 4D NIfTI in the subject space, its mean over time, statistics per frame',
  { skip: missingPython('nibabel') },
  async () => {
    const run = join(tmp, 'maps');
    await sharded('maps', run, ['--split', 'all', '--targets', 'dce,t2']);
    const row = manifestRows()[0];
    const ref = runPython<{
      shape: number[];
      meanShape: number[];
      meanErr: number;
      same: boolean;
      t2: number[];
    }>(
      `
import json, sys, numpy as np, nibabel as nib
d = json.load(sys.stdin)
m, s, t = nib.load(d['map']), nib.load(d['mean']), nib.load(d['truth'])
a = np.asarray(m.dataobj, dtype=np.float64)
err = float(np.max(np.abs(a.mean(axis=3) - np.asarray(s.dataobj, dtype=np.float64))))
print(json.dumps({'shape': list(m.shape), 'meanShape': list(s.shape), 'meanErr': err,
  'same': bool(np.allclose(m.affine, t.affine) and np.allclose(s.affine, t.affine)),
  't2': list(nib.load(d['t2']).shape)}))
`,
      {
        map: join(run, row.id, 'md_dce.nii.gz'),
        mean: join(run, row.id, 'md_dce_mean.nii.gz'),
        t2: join(run, row.id, 'md_t2.nii.gz'),
        truth: join(data, row.t1),
      },
    );
    assert.deepEqual(ref.shape, [16, 16, 8, 6]);
    assert.deepEqual(ref.meanShape, [16, 16, 8]);
    assert.deepEqual(ref.t2, [16, 16, 8]);
    assert.ok(ref.meanErr < 1e-6, `mean over time differs by ${ref.meanErr}`);
    assert.ok(ref.same, 'the maps carry the subject affine');
    const regions = JSON.parse(readFileSync(join(run, row.id, 'md_regions.json'), 'utf8')) as {
      regions: Record<string, unknown[]>;
      frames: Record<string, unknown[][]>;
    };
    assert.equal(regions.frames.dce.length, 6);
    assert.ok(
      regions.regions.dce.length >= 1 &&
        regions.frames.dce.every((f) => f.length === regions.regions.dce.length),
    );
    assert.equal(regions.frames.t2, undefined);
  },
);
