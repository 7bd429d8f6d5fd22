import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

async function quiet<T>(f: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const log = console.log;
  const error = console.error;
  const write = process.stderr.write.bind(process.stderr);
  let out = '';
  let err = '';
  console.log = (...a: unknown[]) => void (out += a.join(' ') + '\n');
  console.error = (...a: unknown[]) => void (err += a.join(' ') + '\n');
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    return { value: await f(), out, err };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
  }
}

test('mriseq classify on a tiny phantom writes metrics, predictions, a checkpoint and Grad-CAM NIfTIs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-classify-cli-'));
  try {
    const r = await quiet(() =>
      main([
        'node',
        'mriseq',
        'classify',
        '--phantom',
        '12',
        '--label',
        'highEnhancement',
        '--sequences',
        't1gd,flair',
        '--epochs',
        '1',
        '--width',
        '2',
        '--downsample',
        '4',
        '--no-attention',
        '--gradcam',
        '--out',
        dir,
      ]),
    );
    assert.equal(r.value, 0, r.err);
    const m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as {
      runs: { channels: string[]; auc: number; auc_ci95: number[] }[];
    };
    assert.deepEqual(m.runs[0].channels, ['t1gd', 'flair']);
    assert.ok(m.runs[0].auc >= 0 && m.runs[0].auc <= 1);
    assert.ok(existsSync(join(dir, 'model_mri.json')));
    const csv = readFileSync(join(dir, 'predictions_mri.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'id,label,p_0,p_1');
    assert.equal(readdirSync(join(dir, 'gradcam')).length, csv.length - 1);
    assert.match(r.out, /AUC \d\.\d{3} \(95% CI/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mriseq classify with a bad label or depth exits 2 with one line naming the option', async () => {
  const a = await quiet(() =>
    main(['node', 'mriseq', 'classify', '--phantom', '8', '--label', 'nosuch', '--out', tmpdir()]),
  );
  assert.equal(a.value, 2);
  assert.match(a.err, /--label: label column not in the manifest; found nosuch/);
  const b = await quiet(() =>
    main([
      'node',
      'mriseq',
      'classify',
      '--phantom',
      '8',
      '--label',
      'lesionType',
      '--depth',
      '7',
      '--out',
      tmpdir(),
    ]),
  );
  assert.equal(b.value, 2);
  assert.match(b.err, /--depth/);
});

test('mriseq classify --groups runs the hierarchical classifier; a bad group spec is a one-line error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-classify-cli-'));
  try {
    const groups = 'necrotic=necrotic-oedematous,necrotic-compact;solid=solid-oedematous,solid-compact';
    const r = await quiet(() =>
      main([
        'node',
        'mriseq',
        'classify',
        '--phantom',
        '12',
        '--label',
        'lesionType',
        '--groups',
        groups,
        '--epochs',
        '1',
        '--width',
        '2',
        '--downsample',
        '4',
        '--no-attention',
        '--out',
        dir,
      ]),
    );
    assert.equal(r.value, 0, r.err);
    const m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as {
      hierarchical: { leaves: string[]; groups: string[] };
    };
    assert.deepEqual(m.hierarchical.groups, ['necrotic', 'solid']);
    assert.equal(m.hierarchical.leaves.length, 4);
    const bad = await quiet(() =>
      main([
        'node',
        'mriseq',
        'classify',
        '--phantom',
        '8',
        '--label',
        'lesionType',
        '--groups',
        'necrotic',
        '--out',
        dir,
      ]),
    );
    assert.equal(bad.value, 2);
    assert.match(bad.err, /--groups: cannot read the class groups/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
