import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as run } from '../helpers/cli.js';
import { writeNifti } from '../../src/io/index.js';
import { missingPython, runPython } from '../helpers/python.js';
import {
  formatEvaluationCsv,
  rankSequences,
  seededRandom,
  type EvaluationRow,
} from '../../src/analysis/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mriseq-cli-'));
const rand = seededRandom(5);
const rows: EvaluationRow[] = [];
for (let s = 0; s < 5; s++)
  for (const [i, a] of ['t1', 't1gd', 't2', 'flair'].entries())
    for (const [j, b] of ['t1', 't1gd', 't2', 'flair'].entries())
      rows.push({
        subject: `s${s}`,
        source: a,
        target: b,
        psnr: 30 - (j === 1 ? 8 : j) + i * 0.1 + rand(),
        ssim: 0.9 - (j === 1 ? 0.1 : 0) + rand() * 0.01,
        mae: 0.05 + rand() * 0.01,
      });
const csv = join(dir, 'metrics.csv');
writeFileSync(csv, formatEvaluationCsv(rows));

test('mriseq rank --json gives per sequence C_t, C_d, their CIs and ranks, as rankSequences', async () => {
  const r = await run(['rank', '--metrics', csv, '--json', '--resamples', '50', '--seed', '2']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as {
    order: string[];
    sequences: {
      sequence: string;
      C_d: number;
      C_d_ci: number[];
      C_t: number;
      C_t_ci: number[];
      rank: number;
    }[];
  };
  const ref = rankSequences(rows, { resamples: 50, seed: 2 });
  assert.deepEqual(j.order, ref.order);
  assert.equal(j.order[0], 't1gd');
  for (const s of j.sequences) {
    const q = ref.sequences.find((x) => x.sequence === s.sequence)!;
    assert.ok(Math.abs(s.C_d - q.C_d) < 1e-12 && Math.abs(s.C_t - q.C_t) < 1e-12);
    assert.deepEqual(s.C_d_ci, q.C_d_ci);
    assert.equal(s.rank, q.rank);
  }
  const text = await run(['rank', '--metrics', csv, '--resamples', '20']);
  assert.match(text.out, /^rank\s+sequence\s+C_d/);
  assert.match(text.out.split('\n')[1], /^1\s+t1gd/);
});

test('mriseq rank: a bad cell is one line naming file, row and column, exit 2', async () => {
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'subject,source,target,psnr,ssim\ns,a,b,1,0.9\ns,a,c,1,oops\n');
  const r = await run(['rank', '--metrics', bad]);
  assert.equal(r.code, 2);
  assert.equal(r.err, `mriseq: ${bad}: row 3, column ssim: not a number; found "oops"; expected a number`);
  const missing = join(dir, 'missing.csv');
  writeFileSync(missing, 'subject,source,psnr,ssim\n');
  const m = await run(['rank', '--metrics', missing]);
  assert.equal(m.code, 2);
  assert.match(m.err, /missing column "target"/);
});

test(
  'mriseq compare A B --json equals scikit-image on the same NIfTI files (read by nibabel, normalised the same way)',
  { skip: missingPython('nibabel', 'skimage') },
  async () => {
    const shape = [12, 11, 9];
    const n = 12 * 11 * 9;
    const r = seededRandom(8);
    const base = Float32Array.from({ length: n }, (_, i) => 100 + 50 * Math.sin(i / 9) + 20 * r());
    const a = {
      data: base,
      shape,
      spacing: [1, 1, 1.5],
      affine: [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1.5, 0],
        [0, 0, 0, 1],
      ],
      datatype: 'float32' as const,
    };
    const b = { ...a, data: Float32Array.from(base, (v) => v * 0.9 + 60 * r()) };
    const pa = join(dir, 'a.nii.gz');
    const pb = join(dir, 'b.nii.gz');
    await writeNifti(pa, a);
    await writeNifti(pb, b);
    const res = await run(['compare', pa, pb, '--json']);
    assert.equal(res.code, 0, res.err);
    const ours = JSON.parse(res.out) as { psnr: number; ssim: number; mae: number };
    const ref = runPython<{ psnr: number; ssim: number; mae: number }>(
      `
import json, sys, numpy as np, nibabel as nib
from skimage.metrics import structural_similarity, peak_signal_noise_ratio
d = json.load(sys.stdin)
def norm(x):
    p = np.percentile(x, 99)   # the spec's normalisation: clip to [0, 2 p99], scale to [-1, 1]
    return np.clip(x, 0, 2 * p) / (2 * p) * 2 - 1
a = norm(np.asarray(nib.load(d['a']).dataobj, dtype=np.float64))
b = norm(np.asarray(nib.load(d['b']).dataobj, dtype=np.float64))
print(json.dumps({'psnr': peak_signal_noise_ratio(a, b, data_range=2), 'ssim': structural_similarity(a, b, data_range=2), 'mae': float(np.abs(a - b).mean())}))
`,
      { a: pa, b: pb },
    );
    for (const k of ['psnr', 'ssim', 'mae'] as const)
      assert.ok(Math.abs(ours[k] - ref[k]) < 1e-4, `${k}: ${ours[k]} vs ${ref[k]}`);
    assert.ok(ours.ssim < 0.99, 'B was degraded');
    const shapeErr = join(dir, 'c.nii.gz');
    await writeNifti(shapeErr, { ...a, data: base.subarray(0, 12 * 11 * 8), shape: [12, 11, 8] });
    const e = await run(['compare', pa, shapeErr]);
    assert.equal(e.code, 2);
    assert.match(e.err, /different grids/);
  },
);
