/**
 * Names that are JavaScript's (issue 25, item 5): a sequence, label, mask or metadata column named
 * `constructor`, `toString`, `hasOwnProperty` or `__proto__` either works like any other name or is
 * refused with a clear one-line error; lookups never see Object.prototype.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateToDisk, scanFolder } from '../../src/cohort/node.js';
import { Cohort, parseManifestText } from '../../src/cohort/index.js';
import { readEvaluationCsv } from '../../src/analysis/node.js';
import { dict, hasOwnKey, own } from '../../src/keys/index.js';
import { runCli } from '../helpers/cli.js';

/** A 4-subject phantom on disk whose t1 and t2 columns are renamed; `blank` subjects lack the first. */
async function renamedCohort(dir: string, t1: string, t2: string, blank: number[]): Promise<string> {
  const sim = await simulateToDisk({ out: join(dir, 'data'), subjects: 4, size: [16, 16, 8], seed: 4 });
  const lines = readFileSync(sim.manifestPath, 'utf8').split('\n');
  lines[0] = lines[0]!
    .split(',')
    .map((c) => (c === 't1' ? `seq:${t1}` : c === 't2' ? `seq:${t2}` : c))
    .join(',');
  const col = lines[0]!.split(',').indexOf(`seq:${t1}`);
  for (const r of blank) {
    const cells = lines[r]!.split(',');
    cells[col] = '';
    lines[r] = cells.join(',');
  }
  // a label and a metadata column with such names too
  lines[0] += ',label:hasOwnProperty,meta:__proto__';
  for (let r = 1; r < lines.length; r++) if (lines[r]) lines[r] += `,${r % 2 ? 'a' : 'b'},m${r}`;
  writeFileSync(sim.manifestPath, lines.join('\n'));
  return sim.manifestPath;
}

test('sequences named constructor and toString train, evaluate and map like any other (one subject lacks constructor)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-names-'));
  try {
    const manifest = await renamedCohort(dir, 'constructor', 'toString', [2]);
    const check = await runCli(['manifest', 'check', manifest]);
    assert.equal(check.code, 0, check.out + check.err);

    const cohort = await Cohort.fromManifest(manifest);
    const lacking = cohort.subjects.find((s) => !s.available.includes('constructor'))!;
    assert.ok(lacking, 'one subject lacks constructor');
    await assert.rejects(lacking.load('constructor'), /not available/);
    assert.equal(lacking.metadata['__proto__'], 'm2');
    assert.ok(hasOwnKey(lacking.metadata, '__proto__'));
    const vols = await lacking.loadAll();
    assert.ok(!hasOwnKey(vols, 'constructor'));
    assert.ok(hasOwnKey(vols, 'toString'));

    const run = join(dir, 'run');
    const t = await runCli([
      'train',
      '--manifest',
      manifest,
      '--steps',
      '2',
      '--crop',
      '16',
      '--out',
      run,
      '--json',
    ]);
    assert.equal(t.code, 0, t.err);
    const e = await runCli([
      'evaluate',
      '--run',
      run,
      '--manifest',
      manifest,
      '--out',
      join(dir, 'e.csv'),
      '--split',
      'all',
    ]);
    assert.equal(e.code, 0, e.err);
    const rows = readEvaluationCsv(join(dir, 'e.csv'));
    // 3 subjects with 4 sequences (16 pairs), one with 3 (9 pairs)
    assert.equal(rows.length, 3 * 16 + 9);
    assert.ok(
      !rows.some(
        (r) => r.subject === lacking.id && (r.source === 'constructor' || r.target === 'constructor'),
      ),
    );
    assert.ok(rows.some((r) => r.source === 'constructor' && r.target === 'toString'));
    const m = await runCli([
      'maps',
      '--run',
      run,
      '--manifest',
      manifest,
      '--out',
      join(dir, 'maps'),
      '--split',
      'all',
      '--targets',
      'constructor,toString',
    ]);
    assert.equal(m.code, 0, m.err);
    assert.match(m.err, new RegExp(`${lacking.id}: toString\\b`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('__proto__ as a sequence or label name is refused with a clear line; as metadata it is an ordinary key', () => {
  const csv = 'id,seq:__proto__,t1\nsub-1,a.nii,b.nii\n';
  const r = parseManifestText(csv);
  assert.ok(r.problems.length > 0);
  assert.match(JSON.stringify(r.problems), /__proto__/);
  const json = parseManifestText(
    JSON.stringify({
      mriseqManifest: 1,
      sequences: ['t1'],
      labels: ['__proto__'],
      subjects: [{ id: 'sub-1', sequences: { t1: 'a.nii' }, metadata: { ['__proto__']: 1 } }],
    }),
  );
  assert.ok(json.problems.some((p) => p.column.startsWith('labels') && p.code === 'manifest.schema'));
  const ok = parseManifestText('id,t1,meta:__proto__,meta:constructor\nsub-1,a.nii,x,y\n');
  assert.deepEqual(ok.problems, []);
  const s = ok.manifest.subjects[0]!;
  assert.equal(own(s.metadata, '__proto__'), 'x');
  assert.equal(own(s.metadata, 'constructor'), 'y');
  assert.equal(own(s.sequences, 'constructor'), undefined);
});

test('scan: a file named <id>_constructor.nii.gz is reported, never mapped to Object', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-names-scan-'));
  try {
    mkdirSync(join(dir, 'sub-1'));
    for (const f of ['sub-1_t1.nii.gz', 'sub-1_constructor.nii.gz', 'sub-1_unique_toString.nii.gz'])
      writeFileSync(join(dir, 'sub-1', f), '');
    const r = await scanFolder(dir, { onWarning: () => undefined });
    assert.deepEqual(r.manifest.sequences, ['t1']);
    assert.deepEqual(
      r.warnings.map((w) => w.file),
      ['sub-1/sub-1_constructor.nii.gz', 'sub-1/sub-1_unique_toString.nii.gz'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dict/own: prototype names are ordinary keys', () => {
  const d = dict<number>([['__proto__', 1]]);
  const name: string = 'constructor';
  d[name] = 2;
  assert.deepEqual(Object.keys(d).sort(), ['__proto__', 'constructor']);
  assert.equal(own({}, 'toString'), undefined);
  assert.equal(own({ toString: 3 }, 'toString'), 3);
});
