/**
 * The one CSV module (src/csv): what it writes is read by Python's csv module as the same cells
 * (hostile text included), what Python writes it reads as Python does, and every table writer of
 * the command line goes through it (predictions_*.csv, clusters.csv with hostile label values).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { csvRecords, escapeCsvCell, formatCsv, parseCsv, unescapeCsvCell } from '../../src/csv/index.js';
import { MriseqError } from '../../src/errors/index.js';
import { manifestToCsv, parseManifestText } from '../../src/cohort/index.js';
import { simulateToDisk } from '../../src/cohort/node.js';
import { runCli } from '../helpers/cli.js';
import { missingPython, runPython } from '../helpers/python.js';

/** Cells a careless user or an attacker puts in a label, a name or a path. */
const HOSTILE = [
  'a,b',
  'say "hi"',
  '"',
  'line\nbreak',
  'cr\rhere',
  'crlf\r\nhere',
  '=1+1',
  '=HYPERLINK("http://x","y")',
  '+1',
  '-1',
  '@SUM(A1)',
  '\t=tab',
  "'=already guarded",
  "''=twice",
  ' padded ',
  '',
  'plain',
  'ünïcödé ✓',
  'semi;colon',
  'tab\tinside',
];

/** What a spreadsheet (or Python) sees in a text cell we wrote: the text, formula-guarded. */
function guarded(v: string): string {
  return /^'*[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

const PY_READ = `
import csv, io, json, sys
text = json.load(sys.stdin)
print(json.dumps([row for row in csv.reader(io.StringIO(text, newline=''))]))
`;

test(
  'Python csv reads what formatCsv writes: hostile cells stay in their column, formulas guarded',
  { skip: missingPython('csv') },
  () => {
    const rows = HOSTILE.map((h, i) => [`sub-${i}`, h, i, -i - 0.5, h.length % 2 === 0]);
    const text = formatCsv(['id', 'value', 'n', 'neg', 'flag'], rows);
    const py = runPython<string[][]>(PY_READ, text);
    assert.equal(py.length, rows.length + 1);
    assert.deepEqual(py[0], ['id', 'value', 'n', 'neg', 'flag']);
    rows.forEach((r, i) => {
      const got = py[i + 1]!;
      assert.equal(got.length, 5, `row ${i}: ${JSON.stringify(got)}`);
      assert.equal(got[1], guarded(r[1] as string), `row ${i}`);
      // numbers are numbers, never formula-guarded (a negative number is no formula)
      assert.equal(got[2], String(r[2]));
      assert.equal(got[3], String(r[3]));
      assert.equal(got[4], String(r[4]));
    });
    // and our own reader gives every original cell back
    const back = parseCsv(text).map((r) => r.map(unescapeCsvCell));
    assert.deepEqual(
      back.slice(1).map((r) => r[1]),
      HOSTILE,
    );
  },
);

test(
  'parseCsv reads what Python csv writes (minimal and full quoting, CRLF, embedded line breaks) as Python reads it',
  { skip: missingPython('csv') },
  () => {
    const script = `
import csv, io, json, sys
rows = json.load(sys.stdin)
out = []
for quoting in (csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC):
    for term in ('\\r\\n', '\\n'):
        b = io.StringIO(newline='')
        w = csv.writer(b, quoting=quoting, lineterminator=term)
        for r in rows: w.writerow(r)
        t = b.getvalue()
        out.append([t, [r for r in csv.reader(io.StringIO(t, newline=''))]])
# odd but legal input: a quote inside an unquoted field, text after a closing quote
for t in ['a"b,c\\n', '"ab"c,d\\n', 'x,,y\\n,\\n', '"multi\\nline",2\\r\\n3,4']:
    out.append([t, [r for r in csv.reader(io.StringIO(t, newline=''))]])
print(json.dumps(out))
`;
    const rows = HOSTILE.map((h, i) => [String(i), h, `${h}|${i}`]);
    const cases = runPython<[string, string[][]][]>(script, rows);
    assert.ok(cases.length >= 10);
    for (const [text, expected] of cases)
      assert.deepEqual(
        parseCsv(text),
        // Python gives a blank line as []; it carries no record here
        expected.filter((r) => r.length > 0),
        JSON.stringify(text),
      );
  },
);

test('formatCsv -> parseCsv -> unescapeCsvCell gives every string back (property, 300 cases)', () => {
  const cell = fc.oneof(
    fc.constantFrom(...HOSTILE),
    fc.string({ maxLength: 12 }),
    fc.string({
      unit: fc.constantFrom('"', ',', '\n', '\r', '=', '+', '-', '@', "'", ' ', '\t', 'a'),
      maxLength: 8,
    }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.array(cell, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
      (rows) => {
        const width = rows[0]!.length;
        const table = rows.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? ''));
        const text = formatCsv(
          table[0]!.map((_, i) => `c${i}`),
          table,
        );
        const back = parseCsv(text).map((r) => r.map(unescapeCsvCell));
        assert.deepEqual(back.slice(1), table);
      },
    ),
    { numRuns: 300, seed: 25 },
  );
});

test("csvRecords keeps each record's place in the text (the merge copies records byte for byte)", () => {
  const text = 'id,x\r\n"a\nb",1\r\nc,"q""uote"\r\n';
  const recs = csvRecords(text);
  assert.deepEqual(
    recs.map((r) => text.slice(r.start, r.end)),
    ['id,x', '"a\nb",1', 'c,"q""uote"'],
  );
  assert.deepEqual(recs[2]!.fields, ['c', 'q"uote']);
  // a byte-order mark is no part of the first cell
  assert.deepEqual(parseCsv('\ufeffid,t1\n1,a\n'), [
    ['id', 't1'],
    ['1', 'a'],
  ]);
});

test('the manifest writer and the evaluation table share the one escaping (same cells as before)', () => {
  assert.equal(escapeCsvCell('=x'), "'=x");
  assert.equal(escapeCsvCell("'=x"), "''=x");
  assert.equal(unescapeCsvCell("''=x"), "'=x");
  assert.equal(escapeCsvCell('a,b'), '"a,b"');
  assert.equal(escapeCsvCell(' x'), '" x"');
  const csv = manifestToCsv({
    mriseqManifest: 1,
    sequences: ['t1'],
    labels: ['grade'],
    subjects: [{ id: 'sub-1', sequences: { t1: 'a,b/t1.nii' }, labels: { grade: '=2+2' } }],
  });
  assert.equal(csv, 'id,t1,label:grade\nsub-1,"a,b/t1.nii",\'=2+2\n');
  const back = parseManifestText(csv);
  assert.deepEqual(back.problems, []);
  assert.equal(back.manifest.subjects[0]!.labels!.grade, '=2+2');
});

test(
  'classify and cluster write hostile label values into predictions_*.csv and clusters.csv as cells Python reads back',
  { skip: missingPython('csv') },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mriseq-csv-cli-'));
    try {
      const sim = await simulateToDisk({ out: join(dir, 'data'), subjects: 12, size: [16, 16, 8], seed: 4 });
      // the phantom's lesion types renamed to text a careless CSV writer would break on
      const names: Record<string, string> = {};
      const hostile = ['gbm, grade 4', '=cmd|"/c calc"!A1', 'say "met"', '+met', '@x', '-1'];
      const text = readFileSync(sim.manifestPath, 'utf8');
      const parsed = parseManifestText(text);
      for (const s of parsed.manifest.subjects) {
        const t = String(s.labels!.lesionType);
        names[t] ??= hostile[Object.keys(names).length % hostile.length]!;
        s.labels!.lesionType = names[t]!;
      }
      writeFileSync(sim.manifestPath, manifestToCsv(parsed.manifest));
      const expected = new Map(parsed.manifest.subjects.map((s) => [s.id, String(s.labels!.lesionType)]));

      const quiet = process.stderr.write.bind(process.stderr);
      process.stderr.write = (() => true) as typeof process.stderr.write;
      let c, k;
      try {
        c = await runCli([
          'classify',
          '--manifest',
          sim.manifestPath,
          '--label',
          'lesionType',
          '--sequences',
          't1gd',
          '--epochs',
          '1',
          '--width',
          '2',
          '--downsample',
          '4',
          '--no-attention',
          '--out',
          join(dir, 'cls'),
        ]);
        k = await runCli([
          'cluster',
          '--manifest',
          sim.manifestPath,
          '--label',
          'lesionType',
          '--sequence',
          't1gd',
          '--epochs',
          '1',
          '--downsample',
          '2',
          '--k',
          '2',
          '--out',
          join(dir, 'clu'),
        ]);
      } finally {
        process.stderr.write = quiet;
      }
      assert.equal(c.code, 0, c.err);
      assert.equal(k.code, 0, k.err);
      for (const [file, labelCol] of [
        [join(dir, 'cls', 'predictions_mri.csv'), 1],
        [join(dir, 'clu', 'clusters.csv'), 2],
      ] as const) {
        const py = runPython<string[][]>(PY_READ, readFileSync(file, 'utf8'));
        const width = py[0]!.length;
        assert.ok(py.length > 1, file);
        for (const row of py.slice(1)) {
          assert.equal(row.length, width, `${file}: ${JSON.stringify(row)}`);
          assert.equal(row[labelCol], guarded(expected.get(row[0]!)!), file);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('a separator the parser cannot match (several characters, a quote, a line break) is refused, not ignored', () => {
  // Before: parseCsv('a;;b\n', { separator: ';;' }) gave [['a;;b']] with no error.
  for (const separator of [';;', '', '"', '\n'])
    assert.throws(
      () => parseCsv('a;;b\n', { separator }),
      (e: unknown) => e instanceof MriseqError && e.field === 'separator',
      JSON.stringify(separator),
    );
  assert.deepEqual(parseCsv('a;b\n', { separator: ';' }), [['a', 'b']]);
});
