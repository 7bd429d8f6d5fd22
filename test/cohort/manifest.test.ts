/**
 * Manifests: CSV/JSON parsing and escaping, the schema file, `manifest scan`, and `manifest check`
 * on a corpus of broken manifests (every problem reported at once, with row and column).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir, symlink, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  MANIFEST_SCHEMA,
  escapeCsvCell,
  manifestToCsv,
  parseCsv,
  parseManifestText,
  unescapeCsvCell,
  type Manifest,
} from '../../src/cohort/index.js';
import {
  checkManifest,
  scanFolder,
  scanManifest,
  simulateToDisk,
  readManifest,
  type ScanWarning,
} from '../../src/cohort/node.js';
import { MriseqError } from '../../src/errors/index.js';
import { Cohort } from '../../src/cohort/index.js';
import { writeNifti } from '../../src/io/index.js';
import type { Volume } from '../../src/volume/index.js';
import { useNode } from '../../src/platform/node.js';

// Cohort.fromManifest reads files through the Node adapter, installed explicitly (as 'mriseq' does)
useNode();

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mriseq-manifest-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const vol = (shape: number[], spacing: number[]): Volume => ({
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1),
  shape,
  spacing,
  affine: [
    [spacing[0]!, 0, 0, 0],
    [0, spacing[1]!, 0, 0],
    [0, 0, spacing[2]!, 0],
    [0, 0, 0, 1],
  ],
  datatype: 'float32',
});

test('the schema file in data-manifests is the schema the code validates with', async () => {
  const file = JSON.parse(
    await readFile(join(__dirname, '../../data-manifests/manifest.schema.json'), 'utf8'),
  );
  assert.deepEqual(file, MANIFEST_SCHEMA);
});

test('CSV cells that start like a formula are escaped on write and restored on read', () => {
  assert.equal(escapeCsvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(escapeCsvCell('-1.5'), "'-1.5");
  assert.equal(escapeCsvCell('@sum'), "'@sum");
  assert.equal(escapeCsvCell('+1'), "'+1");
  assert.equal(escapeCsvCell('plain'), 'plain');
  assert.equal(unescapeCsvCell(escapeCsvCell("'=x")), "'=x");
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.string(), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }),
      (rows) => {
        const width = rows[0]!.length;
        const table = rows.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? 'x'));
        // A row of one empty cell is a blank line, which carries no subject: keep rows non-blank.
        fc.pre(table.every((r) => !(r.length === 1 && r[0] === '')));
        const text = table.map((r) => r.map(escapeCsvCell).join(',')).join('\n');
        const back = parseCsv(text).map((r) => r.map(unescapeCsvCell));
        assert.deepEqual(back, table);
      },
    ),
  );
});

test('CSV and JSON forms describe the same manifest; labels and metadata keep their types', () => {
  const m: Manifest = {
    mriseqManifest: 1,
    sequences: ['t1', 't1gd', 'flair'],
    masks: ['seg'],
    labels: ['grade'],
    subjects: [
      {
        id: 'a1',
        sequences: { t1: 'a1/t1.nii.gz', t1gd: null, flair: 'a1/fl.nii.gz' },
        masks: { seg: null },
        labels: { grade: 2 },
        split: 'train',
        metadata: { site: '=cmd', age: -4 },
      },
      {
        id: 'b2',
        sequences: { t1: 'b2/t1.nii.gz', t1gd: 'b2/t1ce.nii.gz', flair: null },
        masks: { seg: 'b2/seg.nii.gz' },
        labels: { grade: 'high' },
        split: null,
        metadata: { site: 'x, "y"', age: 50 },
      },
    ],
  };
  const csv = manifestToCsv(m);
  assert.ok(csv.includes("'=cmd") && csv.includes("'-4"));
  const parsed = parseManifestText(csv);
  assert.deepEqual(parsed.problems, []);
  assert.deepEqual(parsed.manifest.subjects, m.subjects);
  const json = parseManifestText(JSON.stringify(m));
  assert.deepEqual(json.problems, []);
  assert.deepEqual(json.manifest, m);
});

test('manifest scan builds a manifest from a BraTS 2021 folder; t1ce becomes t1gd, gaps are explicit', async () => {
  const root = join(dir, 'brats');
  for (const [id, seqs] of [
    ['BraTS2021_00000', ['t1', 't1ce', 't2', 'flair', 'seg']],
    ['BraTS2021_00002', ['t1', 't1ce', 't2', 'seg']],
  ] as const) {
    await mkdir(join(root, id), { recursive: true });
    for (const s of seqs) await writeNifti(join(root, id, `${id}_${s}.nii.gz`), vol([6, 6, 4], [1, 1, 1]));
  }
  await writeFile(join(root, 'README.txt'), 'not a subject');
  const m = await scanManifest(root, { layout: 'brats' });
  assert.deepEqual(m.sequences, ['t1', 't1gd', 't2', 'flair']);
  assert.deepEqual(m.masks, ['seg']);
  assert.equal(m.subjects.length, 2);
  assert.equal(m.subjects[0]!.sequences.t1gd, 'BraTS2021_00000/BraTS2021_00000_t1ce.nii.gz');
  assert.equal(m.subjects[1]!.sequences.flair, null);
  await writeFile(join(root, 'manifest.csv'), manifestToCsv(m));
  const report = await checkManifest(join(root, 'manifest.csv'));
  assert.deepEqual(report.problems, []);
  assert.equal(report.files, 9);
});

test('manifest scan of a simulated folder gives back the manifest simulate wrote; extra NIfTI files are reported, never mapped', async () => {
  const root = join(dir, 'scan-sim');
  const sim = await simulateToDisk({
    out: root,
    subjects: 2,
    seed: 4,
    size: [16, 16, 8],
    dwi: true,
    dce: true,
  });
  const id = sim.manifest.subjects[0]!.id;
  // unknown suffix, a second file for t1gd, a file without the id, a sidecar, a folder without sequences
  const extra = [`${id}/${id}_t1_brainmask.nii.gz`, `${id}/${id}_t1gd.nii.gz`, `${id}/notes.nii`];
  for (const f of extra) await writeNifti(join(root, f), vol([16, 16, 8], [1, 1, 1]));
  await writeFile(join(root, id, `${id}_t1.json`), '{}');
  await mkdir(join(root, 'qc'));
  await writeNifti(join(root, 'qc', 'qc_overlay.nii.gz'), vol([4, 4, 4], [1, 1, 1]));
  const warnings: ScanWarning[] = [];
  const r = await scanFolder(root, { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(r.warnings, warnings);
  // every sequence and label map is where simulate put it: t1ce is t1gd, unique_t1ce is the
  // unique_t1gd mask, dce is a sequence (not a mask), and nothing else got in
  assert.deepEqual(r.manifest.sequences, sim.manifest.sequences);
  assert.deepEqual([...r.manifest.masks!].sort(), [...sim.manifest.masks!].sort());
  assert.equal(r.manifest.subjects.length, 2);
  for (const [k, s] of r.manifest.subjects.entries()) {
    const want = sim.manifest.subjects[k]!;
    assert.equal(s.id, want.id);
    assert.deepEqual(s.sequences, want.sequences);
    assert.deepEqual(s.masks, want.masks);
  }
  assert.deepEqual(warnings.map((w) => w.file).sort(), [...extra, 'qc/', 'qc/qc_overlay.nii.gz'].sort());
  const why = Object.fromEntries(warnings.map((w) => [w.file, w.problem]));
  assert.match(why[extra[0]!]!, /unknown suffix 't1_brainmask'/);
  assert.match(why[extra[1]!]!, new RegExp(`${id}_t1ce\\.nii\\.gz is already the subject's t1gd`));
  assert.match(why[extra[2]!]!, /does not start with the subject id/);
  assert.match(why['qc/']!, /no sequence file/);
  // scanManifest is the same manifest
  assert.deepEqual(await scanManifest(root, { onWarning: () => undefined }), r.manifest);
});

test('a path with leading or trailing whitespace is refused (it would change on a CSV round trip)', async () => {
  const m = {
    mriseqManifest: 1,
    sequences: ['t1', 't2'],
    masks: ['seg'],
    subjects: [{ id: 'a', sequences: { t1: 'a/t1.nii', t2: ' a/t2.nii' }, masks: { seg: 'a/seg.nii ' } }],
  };
  const { problems } = parseManifestText(JSON.stringify(m));
  assert.deepEqual(
    problems.map((p) => [p.row, p.column, p.code, p.found]),
    [
      [1, 't2', 'manifest.path-space', '" a/t2.nii"'],
      [1, 'seg', 'manifest.path-space', '"a/seg.nii "'],
    ],
  );
  assert.match(problems[0]!.expected!, /^"a\/t2\.nii" /);
  // the one-line error of a load names the file, the row and the column
  const file = join(dir, 'spaces.json');
  await writeFile(file, JSON.stringify(m));
  await assert.rejects(
    () => Cohort.fromManifest(file),
    (e: unknown) =>
      e instanceof MriseqError &&
      e.file === file &&
      e.field === 'row 1' &&
      /column t2: path has leading or trailing whitespace; found " a\/t2\.nii"; expected "a\/t2\.nii"/.test(
        e.message,
      ),
  );
  // the trimmed manifest is valid and survives the CSV round trip exactly
  m.subjects[0]!.sequences.t2 = 'a/t2.nii';
  m.subjects[0]!.masks.seg = 'a/seg.nii';
  const ok = parseManifestText(JSON.stringify(m));
  assert.deepEqual(ok.problems, []);
  const back = parseManifestText(manifestToCsv(ok.manifest));
  assert.deepEqual(back.problems, []);
  assert.deepEqual(back.manifest.subjects[0]!.sequences, m.subjects[0]!.sequences);
  assert.deepEqual(back.manifest.subjects[0]!.masks, m.subjects[0]!.masks);
});

test('labels and metadata with leading or trailing whitespace are refused like paths (a CSV round trip would trim them)', async () => {
  const m = {
    mriseqManifest: 1,
    sequences: ['t1'],
    labels: ['grade', 'type'],
    subjects: [
      {
        id: 'a',
        sequences: { t1: 'a/t1.nii' },
        labels: { grade: 'HGG ', type: 'gbm' },
        metadata: { site: '\tA' },
      },
      {
        id: 'b',
        sequences: { t1: 'b/t1.nii' },
        labels: { grade: 'LGG', type: 'met' },
        metadata: { 'age ': 40 },
      },
      { id: 'c', sequences: { t1: 'c/t1.nii' }, labels: { grade: null, type: 'x' } },
    ],
  };
  // JSON 1e999 (too large for a double) parses to Infinity, which neither form can write back
  const { problems } = parseManifestText(JSON.stringify(m).replace('"grade":null', '"grade":1e999'));
  assert.deepEqual(
    problems.map((p) => [p.row, p.column, p.code, p.found, p.expected?.split(' ')[0]]),
    [
      [1, 'label:grade', 'manifest.value-space', '"HGG "', '"HGG"'],
      [1, 'meta:site', 'manifest.value-space', '"\\tA"', '"A"'],
      [2, 'meta:age ', 'manifest.value-space', '"age "', '"age"'],
      [3, 'label:grade', 'manifest.value', 'Infinity', 'a'],
    ],
  );
  // the one-line error of a load names the file, the row, the column, what was found and expected
  const file = join(dir, 'value-spaces.json');
  await writeFile(file, JSON.stringify(m));
  await assert.rejects(
    () => Cohort.fromManifest(file),
    (e: unknown) =>
      e instanceof MriseqError &&
      e.file === file &&
      e.field === 'row 1' &&
      e.code === 'manifest.value-space' &&
      /row 1, column label:grade: label value has leading or trailing whitespace; found "HGG "; expected "HGG"/.test(
        e.message,
      ),
  );
  // ids cannot carry whitespace at all (the schema's id pattern)
  const spacedId = parseManifestText(
    JSON.stringify({
      mriseqManifest: 1,
      sequences: ['t1'],
      subjects: [{ id: ' a', sequences: { t1: 'a.nii' } }],
    }),
  );
  assert.deepEqual(
    spacedId.problems.map((p) => [p.row, p.column, p.code]),
    [[1, 'id', 'manifest.schema']],
  );
  // the trimmed manifest is valid, and its labels and metadata survive the CSV round trip exactly,
  // spaces and tabs inside a value included
  const clean: Manifest = {
    mriseqManifest: 1,
    sequences: ['t1'],
    labels: ['grade', 'type'],
    subjects: [
      {
        id: 'a',
        sequences: { t1: 'a/t1.nii' },
        labels: { grade: 'HGG', type: 'g\tb m' },
        metadata: { site: 'A' },
      },
      { id: 'b', sequences: { t1: 'b/t1.nii' }, labels: { grade: 'LGG', type: '=x' }, metadata: { age: 40 } },
    ],
  };
  assert.deepEqual(parseManifestText(JSON.stringify(clean)).problems, []);
  const back = parseManifestText(manifestToCsv(clean));
  assert.deepEqual(back.problems, []);
  assert.deepEqual(
    back.manifest.subjects.map((s) => [s.labels, s.metadata]),
    [
      [
        { grade: 'HGG', type: 'g\tb m' },
        { site: 'A', age: null },
      ],
      [
        { grade: 'LGG', type: '=x' },
        { site: null, age: 40 },
      ],
    ],
  );
});

test('CSV reading: cells and header names are trimmed, and 1e999 stays text', () => {
  const csv = 'id , t1, label: grade ,meta: site,meta:big\n a ,a/t1.nii, HGG ,"  A ",1e999\n';
  const { manifest, problems } = parseManifestText(csv);
  assert.deepEqual(problems, []);
  assert.deepEqual(manifest.labels, ['grade']);
  const s = manifest.subjects[0]!;
  assert.deepEqual(
    [s.id, s.sequences, s.labels, s.metadata],
    ['a', { t1: 'a/t1.nii' }, { grade: 'HGG' }, { site: 'A', big: '1e999' }],
  );
  // one column given twice under two spellings is a duplicate, not a silent overwrite
  const twice = parseManifestText('id,t1,seq:t1,label:x,label: x\na,a.nii,b.nii,1,2\n');
  assert.deepEqual(
    twice.problems.filter((p) => p.code === 'manifest.header').map((p) => p.column),
    ['seq:t1', 'label: x'],
  );
});

test('manifest check reports every problem of a broken manifest at once, with row and column', async () => {
  const root = join(dir, 'broken');
  await simulateToDisk({ out: root, subjects: 3, seed: 1, size: [16, 16, 8] });
  const good = (id: string, s: string): string => `${id}/${id}_${s}.nii.gz`;
  // A volume of another shape, one of another spacing, a file that is not NIfTI, a symlink out.
  await writeNifti(join(root, 'other-shape.nii.gz'), vol([16, 16, 9], [15, 15, 19.375]));
  await writeNifti(join(root, 'other-spacing.nii.gz'), vol([16, 16, 8], [15, 15, 4]));
  await writeFile(join(root, 'garbage.nii.gz'), 'this is not a volume');
  const outside = join(dir, 'outside.nii.gz');
  await writeNifti(outside, vol([16, 16, 8], [15, 15, 19.375]));
  await symlink(outside, join(root, 'link.nii.gz'));
  const rows = [
    'id,t1,t1gd,t2,flair,split',
    `sim-00000,${good('sim-00000', 't1')},${good('sim-00000', 't1ce')},${good('sim-00000', 't2')},${good('sim-00000', 'flair')},train`, // 1 fine
    `sim-00001,${good('sim-00001', 't1')},nowhere.nii.gz,other-shape.nii.gz,other-spacing.nii.gz,test`, // 2 missing, shape, spacing
    `sim-00000,${good('sim-00002', 't1')},garbage.nii.gz,,,val`, // 3 duplicate id, unreadable
    `sim-00003,../outside.nii.gz,link.nii.gz,/etc/passwd,,holdout`, // 4 escapes x3, bad split
    `sim-00004,,,,`, // 5 wrong cell count, no sequence
  ];
  await writeFile(join(root, 'broken.csv'), rows.join('\n') + '\n');
  const r = await checkManifest(join(root, 'broken.csv'));
  const has = (row: number, column: string, code: string): boolean =>
    r.problems.some((p) => p.row === row && p.column === column && p.code === code);
  const expected: [number, string, string][] = [
    [2, 't1gd', 'manifest.missing-file'],
    [2, 't2', 'manifest.shape'],
    [2, 'flair', 'manifest.spacing'],
    [3, 'id', 'manifest.duplicate'],
    [3, 't1gd', 'manifest.unreadable'],
    [4, 't1', 'manifest.escape'],
    [4, 't1gd', 'manifest.escape'],
    [4, 't2', 'manifest.escape'],
    [4, 'split', 'manifest.schema'],
    [5, '', 'manifest.cells'],
    [5, 't1,t1gd,t2,flair', 'manifest.empty-subject'],
  ];
  for (const [row, column, code] of expected)
    assert.ok(
      has(row, column, code),
      `expected ${code} at row ${row} column ${column}; got ${JSON.stringify(r.problems)}`,
    );
  assert.equal(r.problems.filter((p) => p.row === 1).length, 0, 'row 1 is fine');
  assert.equal(r.ok, false);
  // The symlinked file is allowed when outside paths are.
  const allowed = await checkManifest(join(root, 'broken.csv'), { allowOutside: true });
  assert.ok(!allowed.problems.some((p) => p.code === 'manifest.escape'));
});

test('header-level problems: no id column, no sequence column, invalid JSON, schema errors located', async () => {
  const noId = parseManifestText('subject,t1\na,a.nii\n');
  assert.ok(noId.problems.some((p) => p.row === 0 && p.column === 'id'));
  const noSeq = parseManifestText('id,age\na,3\n');
  assert.ok(noSeq.problems.some((p) => p.problem === 'no sequence column'));
  assert.ok(parseManifestText('{"mriseqManifest": 1,').problems.some((p) => p.code === 'manifest.json'));
  const bad = parseManifestText(
    JSON.stringify({
      mriseqManifest: 1,
      sequences: ['t1'],
      subjects: [{ id: 'ok', sequences: { t1: 'a' } }, { sequences: { t1: 'b' } }],
    }),
  );
  assert.ok(
    bad.problems.some((p) => p.row === 2 && p.code === 'manifest.schema'),
    JSON.stringify(bad.problems),
  );
  const dupHeader = parseManifestText('id,t1,t1\na,x,y\n');
  assert.ok(dupHeader.problems.some((p) => p.column === 't1' && p.problem === 'duplicate column'));
});

test('the example manifests in data-manifests are valid', async () => {
  for (const f of ['brats2021.csv', 'breast-dce.json', 'simulated.csv']) {
    const r = await readManifest(join(__dirname, '../../data-manifests', f));
    assert.deepEqual(r.problems, [], f);
    assert.ok(r.manifest.subjects.length >= 2, f);
  }
});
