import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as run } from '../helpers/cli.js';
import { initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { simulateToDisk } from '../../src/cohort/node.js';
import { createGenerator } from '../../src/model/index.js';
import { saveCheckpoint } from '../../src/train/node.js';
import { readEvaluationCsv } from '../../src/analysis/node.js';
import { missingPython, runPython } from '../helpers/python.js';

// A tiny phantom on disk and an untrained lite generator: checks the wiring, not the quality.
test(
  'mriseq evaluate and mriseq maps on a manifest with a saved generator (wiring, resumption, NIfTI in subject space)',
  { skip: missingPython('nibabel') },
  async () => {
    setEngineAdapter(nodeEngineAdapter);
    await initEngine();
    const dir = mkdtempSync(join(tmpdir(), 'mriseq-run-'));
    const sim = await simulateToDisk({ out: join(dir, 'cohort'), subjects: 2, size: [16, 16, 8], seed: 3 });
    const manifest = sim.manifestPath;
    const model = createGenerator('lite');
    const runDir = join(dir, 'run');
    saveCheckpoint(join(runDir, 'best'), model);
    model.dispose();
    const csv = join(dir, 'metrics.csv');
    const e = await run([
      'evaluate',
      '--run',
      runDir,
      '--manifest',
      manifest,
      '--out',
      csv,
      '--split',
      'all',
      '--sequences',
      't1,t1gd',
    ]);
    assert.equal(e.code, 0, e.err);
    assert.match(e.err, /LPIPS skipped/);
    const rows = readEvaluationCsv(csv);
    assert.equal(rows.length, 2 * 4);
    assert.ok(rows.every((r) => Number.isFinite(r.psnr) && r.ssim <= 1 && r.mae! >= 0));
    const again = await run([
      'evaluate',
      '--run',
      runDir,
      '--manifest',
      manifest,
      '--out',
      csv,
      '--split',
      'all',
      '--sequences',
      't1,t1gd',
    ]);
    assert.match(again.out, /8 rows \(0 new, 8 kept/);
    const r = await run(['rank', '--metrics', csv, '--json', '--resamples', '10']);
    assert.equal(r.code, 0, r.err);

    const mapsDir = join(dir, 'maps');
    const m = await run([
      'maps',
      '--run',
      runDir,
      '--manifest',
      manifest,
      '--out',
      mapsDir,
      '--split',
      'all',
      '--targets',
      't1gd',
    ]);
    assert.equal(m.code, 0, m.err);
    const id = rows[0].subject;
    const file = join(mapsDir, id, 'md_t1gd.nii.gz');
    assert.ok(existsSync(file));
    const ref = runPython<{ shape: number[]; same: boolean; min: number }>(
      `
import json, sys, numpy as np, nibabel as nib
d = json.load(sys.stdin)
a, b = nib.load(d['map']), nib.load(d['t1gd'])
print(json.dumps({'shape': list(a.shape), 'same': bool(np.allclose(a.affine, b.affine)), 'min': float(np.asarray(a.dataobj).min())}))
`,
      {
        map: file,
        t1gd: join(dir, 'cohort', sim.manifest.subjects.find((s) => s.id === id)!.sequences.t1gd as string),
      },
    );
    assert.deepEqual(ref.shape, [16, 16, 8]);
    assert.ok(ref.same, 'M_d carries the subject affine');
    assert.ok(ref.min >= 0);
    const regions = JSON.parse(readFileSync(join(mapsDir, id, 'md_regions.json'), 'utf8')) as {
      regions: { t1gd: unknown[] };
    };
    assert.ok(regions.regions.t1gd.length >= 1);
  },
);
