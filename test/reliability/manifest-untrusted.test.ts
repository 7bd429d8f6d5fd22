/**
 * Untrusted manifests: paths stay inside the manifest's folder after symlinks are resolved (unless
 * allowOutside), ids and label names are validated, and cells we write that a spreadsheet would
 * run as formulas are escaped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Cohort,
  MriseqError,
  checkManifest,
  formatEvaluationCsv,
  parseEvaluationCsv,
  manifestToCsv,
  parseManifestText,
  type Manifest,
} from '../../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-untrusted-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const seed = join(__dirname, 'seeds', 'n1-int16.nii');

// data/ holds the manifest; outside/ is a folder it must not reach
const data = join(tmp, 'data');
const outside = join(tmp, 'outside');
mkdirSync(join(data, 's1'), { recursive: true });
mkdirSync(outside);
copyFileSync(seed, join(data, 's1', 't1.nii'));
copyFileSync(seed, join(outside, 'secret.nii'));
symlinkSync(join(outside, 'secret.nii'), join(data, 's1', 't2.nii')); // file link out
symlinkSync(outside, join(data, 'linkdir')); // folder link out
symlinkSync(join(data, 's1', 't1.nii'), join(data, 's1', 'inside.nii')); // link that stays inside

function manifestFile(name: string, rows: string[]): string {
  const p = join(data, name);
  writeFileSync(p, ['id,t1,t2', ...rows].join('\n') + '\n');
  return p;
}

test('paths that leave the folder through a symlink are refused, links inside are fine', async () => {
  const file = manifestFile('m1.csv', ['s1,s1/t1.nii,s1/t2.nii', 's2,linkdir/secret.nii,s1/inside.nii']);
  const report = await checkManifest(file);
  const escapes = report.problems.filter((p) => p.code === 'manifest.escape');
  assert.deepEqual(
    escapes.map((p) => [p.row, p.column]),
    [
      [1, 't2'],
      [2, 't1'],
    ],
    JSON.stringify(report.problems),
  );
  assert.ok(!report.ok);
  // loading refuses as well (volumes load lazily: the refusal comes at load), links inside load
  const cohort = await Cohort.fromManifest(file);
  for (const [id, key] of [
    ['s1', 't2'],
    ['s2', 't1'],
  ] as const)
    await assert.rejects(
      cohort.load(id, key),
      (e: unknown) => e instanceof MriseqError && /escapes/.test(e.message),
    );
  assert.deepEqual((await cohort.load('s2', 't2')).shape, [4, 3, 2]);
  // the user may allow it
  const allowed = await checkManifest(file, { allowOutside: true });
  assert.equal(allowed.problems.filter((p) => p.code === 'manifest.escape').length, 0);
});

test('lexical escapes and absolute paths are problems before any file is touched', () => {
  for (const p of ['../outside/secret.nii', 's1/../../outside/secret.nii', '/etc/passwd', '..\\..\\x.nii']) {
    const r = parseManifestText(`id,t1,t2\ns1,${p},s1/t1.nii\n`);
    assert.ok(
      r.problems.some((q) => q.column === 't1'),
      `${p}: ${JSON.stringify(r.problems)}`,
    );
  }
});

test('ids and label names are validated', () => {
  for (const id of ['', '../x', 'a/b', '=cmd', ' sp', 'x\ny', '.hidden', 'a b']) {
    const m = { mriseqManifest: 1, sequences: ['t1'], subjects: [{ id, sequences: { t1: 'a.nii' } }] };
    const r = parseManifestText(JSON.stringify(m));
    assert.ok(r.problems.length > 0, `id ${JSON.stringify(id)} accepted`);
  }
  for (const label of ['=x', 'a b', '__proto__x y', '1abc']) {
    const r = parseManifestText(`id,t1,label:${label}\ns1,a.nii,1\n`);
    assert.ok(r.problems.length > 0, `label ${JSON.stringify(label)} accepted`);
  }
  const ok = parseManifestText('id,t1,label:grade\nsub-01,a.nii,2\n');
  assert.deepEqual(ok.problems, []);
});

test('manifest CSV we write escapes formula cells and reads them back unchanged', () => {
  const m: Manifest = {
    mriseqManifest: 1,
    sequences: ['t1'],
    labels: ['note'],
    subjects: ['=HYPERLINK("http://x")', '+1+1', '-2+3', '@SUM(A1)', "'=already"].map((v, i) => ({
      id: `s${i}`,
      sequences: { t1: 'a.nii' },
      labels: { note: v },
      metadata: { site: v },
    })),
  };
  const csv = manifestToCsv(m);
  for (const line of csv.trim().split('\n').slice(1))
    for (const cell of line.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
      const v = cell.replace(/^"|"$/g, '');
      assert.doesNotMatch(v, /^[=+@]|^-[^0-9]/, `cell ${cell} would run as a formula`);
    }
  const back = parseManifestText(csv);
  assert.deepEqual(back.problems, []);
  assert.deepEqual(
    back.manifest.subjects.map((s) => [s.labels?.note, s.metadata?.site]),
    m.subjects.map((s) => [s.labels?.note, s.metadata?.site]),
  );
});

test('evaluation CSV escapes formula cells in text columns', () => {
  const rows = [{ subject: '=HYPERLINK("x")', source: 't1', target: 't2', psnr: 1, ssim: 0.5, mae: 0.1 }];
  const csv = formatEvaluationCsv(rows);
  assert.doesNotMatch(csv.split('\n')[1]!, /^"?=/);
  assert.deepEqual(parseEvaluationCsv(csv), rows, 'the escape is undone on reading');
});
