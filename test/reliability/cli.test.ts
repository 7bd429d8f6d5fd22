/**
 * Every user-facing failure of the CLI is one line on stderr ("mriseq: ..."), a non-zero exit and
 * no stack trace; `--debug` shows the stack. Hostile inputs across several commands: a missing
 * file, bytes that are not NIfTI, a gzip whose CRC is wrong, a truncated file, a hostile manifest,
 * a corrupt checkpoint, a bad option value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-rel-cli-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const main = join(__dirname, '..', '..', 'src', 'cli', 'main.ts');
const seed = readFileSync(join(__dirname, 'seeds', 'n1-int16.nii'));

function mriseq(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const f = (name: string) => join(tmp, name);
writeFileSync(f('text.nii'), 'this is not a NIfTI file at all');
const gz = gzipSync(seed);
gz.writeUInt32LE((gz.readUInt32LE(gz.length - 8) ^ 1) >>> 0, gz.length - 8); // wrong CRC32
writeFileSync(f('badcrc.nii.gz'), gz);
writeFileSync(f('short.nii'), seed.subarray(0, 360)); // header fine, data cut off
writeFileSync(f('hostile.csv'), 'id,t1,t2\nsub-1,../../etc/passwd,a.nii\nsub-1,x.nii,\n');
mkdirSync(f('ck'));
writeFileSync(f('ck/config.json'), '{"className":"MriseqSeq2Seq","config":{"ndims":2}}');

// [args, what the one line must name]
const cases: [string[], RegExp][] = [
  [['info', f('missing.nii')], /missing\.nii.*ENOENT/],
  [['info', f('text.nii')], /text\.nii: sizeof_hdr: not a NIfTI file/],
  [['info', f('badcrc.nii.gz')], /badcrc\.nii\.gz.*(crc|CRC|corrupt)/],
  [['info', f('short.nii')], /short\.nii.*(truncated|short|bytes)/],
  [['convert', f('text.nii'), f('out.nii')], /text\.nii/],
  [['convert', join(__dirname, 'seeds', 'n1-int16.nii'), f('out.txt')], /out\.txt.*extension/],
  [['manifest', 'check', f('hostile.csv')], /hostile\.csv: 4 problems/],
  [
    [
      'generate',
      '--run',
      f('ck'),
      '--phantom',
      '1',
      '--subject',
      'sim-00000',
      '--target',
      't2',
      '--out',
      f('g.nii'),
    ],
    /config\.json.*invalid generator config/,
  ],
  [['train', '--phantom', '2', '--steps', 'abc', '--out', f('run')], /--steps.*abc/],
];

test('MriseqErrors print as one line on stderr, exit 2, no stack trace', { timeout: 180_000 }, async () => {
  // two at a time: the machine has two cores
  const results: Awaited<ReturnType<typeof mriseq>>[] = [];
  for (let i = 0; i < cases.length; i += 2)
    results.push(...(await Promise.all(cases.slice(i, i + 2).map(([a]) => mriseq(a)))));
  cases.forEach(([args, want], i) => {
    const r = results[i]!;
    const what = `mriseq ${args.join(' ')}\nstderr: ${r.stderr}`;
    assert.equal(r.status, 2, what);
    const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('mriseq: '));
    assert.equal(errorLines.length, 1, what);
    assert.match(errorLines[0]!, want, what);
    assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace: ${what}`);
    assert.doesNotMatch(r.stderr, /MriseqError:/, what);
  });
});

test('--debug shows the stack and the error fields', { timeout: 60_000 }, async () => {
  const r = await mriseq(['--debug', 'info', f('text.nii')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /MriseqError: .*text\.nii: sizeof_hdr/);
  assert.match(r.stderr, /^\s+at .*nifti/m);
  assert.match(r.stderr, /code: 'nifti\.magic'/);
});
