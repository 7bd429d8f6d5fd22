/**
 * The CLI end to end: `mriseq train --phantom` writes a resumable run, `--resume` continues it,
 * `mriseq generate` writes a NIfTI that nibabel reads on the subject's grid, and bad arguments
 * exit 2 with one MriseqError line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingPython, runPython } from '../helpers/python.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-cli-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const entry = join(tmp, 'cli.ts');
writeFileSync(
  entry,
  `import { main } from ${JSON.stringify(join(__dirname, '..', '..', 'src', 'cli', 'main.js'))};\nvoid main(process.argv).then((c) => { process.exitCode = c; });\n`,
);

function mriseq(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
  });
}

test('mriseq train --phantom, --resume, then mriseq generate', { skip: missingPython('nibabel') }, () => {
  const run = join(tmp, 'run');
  const phantom = ['--phantom', '2', '--size', '16,16,8'];
  const a = mriseq('train', ...phantom, '--steps', '2', '--crop', '16', '--out', run, '--json');
  assert.equal(a.status, 0, a.stderr);
  const lines = a.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.filter((l) => 'loss' in l).length, 2, 'one progress event per step');
  // steps run compiled by default on the native backend; --no-compile runs them eagerly
  assert.ok(
    lines.filter((l) => 'loss' in l).every((l) => l.compiled === true),
    'compiled steps',
  );
  const eager = mriseq(
    'train',
    ...phantom,
    '--steps',
    '1',
    '--crop',
    '16',
    '--out',
    join(tmp, 'eager'),
    '--json',
    '--no-compile',
  );
  assert.equal(eager.status, 0, eager.stderr);
  assert.equal((JSON.parse(eager.stdout.trim().split('\n')[0]!) as { compiled: boolean }).compiled, false);
  for (const f of [
    'last/config.json',
    'last/weights.bin',
    'last/state.json',
    'best/weights.bin',
    'summary.json',
  ])
    assert.ok(existsSync(join(run, f)), f);
  assert.equal((JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')) as { steps: number }).steps, 2);
  // a finished run resumed with a different schedule is refused with one line, exit 2
  const b = mriseq('train', ...phantom, '--steps', '3', '--out', run, '--resume');
  assert.equal(b.status, 2);
  assert.match(b.stderr, /^mriseq: .*steps/m);
  const out = join(tmp, 'flair.nii.gz');
  const g = mriseq(
    'generate',
    '--run',
    run,
    ...phantom,
    '--subject',
    'sim-00001',
    '--target',
    'flair',
    '--out',
    out,
  );
  assert.equal(g.status, 0, g.stderr);
  const info = runPython<{ shape: number[]; min: number; max: number }>(
    `import json, sys, nibabel as nb\nd = json.load(sys.stdin)\ni = nb.load(d['f']); a = i.get_fdata()\nprint(json.dumps({'shape': list(a.shape), 'min': float(a.min()), 'max': float(a.max())}))`,
    { f: out },
  );
  assert.deepEqual(info.shape, [16, 16, 8]);
  assert.ok(info.min >= -1 && info.max <= 1);
  const bad = mriseq(
    'generate',
    '--run',
    join(tmp, 'nope'),
    ...phantom,
    '--subject',
    'sim-00001',
    '--target',
    'flair',
    '--out',
    out,
  );
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /no generator checkpoint/);
});
