/**
 * The data manifest: one row per subject (id, a path per sequence relative to the manifest's
 * folder, optional label maps, labels, split, metadata), in CSV or JSON form. Browser-safe: this
 * file parses, validates and writes text; reading files is ./node.ts's job.
 * The format is documented in data-manifests/README.md.
 */
import Ajv from 'ajv';
import { MriseqError } from '../errors/index.js';
import { MANIFEST_SCHEMA } from './schema.js';
import { escapeCsvCell, formatCsv, parseCsv, unescapeCsvCell } from '../csv/index.js';
import { dict, own, plain } from '../keys/index.js';

/**
 * A label or metadata value of a manifest row. In the CSV form a cell becomes a number when it
 * reads as a finite number, `true`/`false` as a boolean, an empty cell null, anything else text;
 * the JSON form gives them as they are (non-finite numbers are refused as 'manifest.value').
 * @example
 * ```ts
 * import { parseManifestText, type ManifestValue } from 'mriseq/browser';
 * const { manifest } = parseManifestText('id,t1,label:grade,meta:site,meta:contrast,meta:age\na,a.nii,2,Paris,true,\n');
 * const values: ManifestValue[] = [manifest.subjects[0]!.labels!.grade!, ...Object.values(manifest.subjects[0]!.metadata!)];
 * console.log(values); // [ 2, 'Paris', true, null ]
 * ```
 */
export type ManifestValue = string | number | boolean | null;
/**
 * The split a subject belongs to: training, validation (model selection) or test (held out).
 * A manifest's `split` column takes exactly these values (anything else is a 'manifest.schema'
 * problem); an empty cell leaves the subject unassigned (null). {@link Cohort}'s withSplit records a
 * seeded stratified split on every subject, replacing the manifest's.
 * @example
 * ```ts
 * import { parseManifestText, type Split } from 'mriseq/browser';
 * const { manifest, problems } = parseManifestText('id,t1,split\na,a.nii,train\nb,b.nii,training\n');
 * const a: Split | null | undefined = manifest.subjects[0]!.split;
 * console.log(a, problems[0]?.problem); // train schema: must be equal to one of the allowed values
 * ```
 */
export type Split = 'train' | 'val' | 'test';

/**
 * One subject (row) of a {@link Manifest}.
 *
 * @example
 * ```ts
 * import { type ManifestSubject } from 'mriseq';
 * const row: ManifestSubject = { id: 'p2', sequences: { t1: 'p2/t1.nii.gz', t1gd: null }, split: 'test' };
 * console.log(row.id);
 * ```
 */
export interface ManifestSubject {
  id: string;
  /** Sequence key -> path relative to the manifest's folder; null = missing (explicitly). */
  sequences: Record<string, string | null>;
  /** Label maps and truth masks (seg, tissue, unique_t1gd, ...): key -> path or null. */
  masks?: Record<string, string | null>;
  labels?: Record<string, ManifestValue>;
  split?: Split | null;
  metadata?: Record<string, ManifestValue>;
}

/**
 * The JSON form (also what a CSV manifest parses into).
 * A data manifest: the sequences, label maps and labels of a cohort on disk (see data-manifests/README.md).
 *
 * @example
 * ```ts
 * import { validateManifest, type Manifest } from 'mriseq';
 * const m: Manifest = {
 *   mriseqManifest: 1,
 *   sequences: ['t1', 't1gd'],
 *   masks: ['seg'],
 *   labels: ['grade'],
 *   subjects: [{ id: 'p1', sequences: { t1: 'p1/t1.nii.gz', t1gd: 'p1/t1gd.nii.gz' }, labels: { grade: 2 } }],
 * };
 * console.log(validateManifest(m)); // []
 * ```
 */
export interface Manifest {
  mriseqManifest: 1;
  description?: string;
  /** Sequence keys in canonical order: a sequence's index here is its index for the generator. */
  sequences: string[];
  masks?: string[];
  labels?: string[];
  subjects: ManifestSubject[];
}

/**
 * One problem found in a manifest, located by row (1-based data row; 0 = header/whole file) and column.
 * @example
 * ```ts
 * import { parseManifestText, type ManifestProblem } from 'mriseq';
 * const problems: ManifestProblem[] = parseManifestText('id,t1\na,x.nii\na,y.nii\n').problems;
 * for (const p of problems) console.log(p.row, p.column, p.code, p.problem);
 * ```
 */
export interface ManifestProblem {
  row: number;
  column: string;
  problem: string;
  found?: string;
  expected?: string;
  code: string;
}

/**
 * Sequence keys recognised as CSV columns without a prefix (team convention): a column `t1` is the
 * sequence t1; any other sequence needs `seq:<name>` (an unprefixed unknown column is metadata).
 * @example
 * ```ts
 * import { KNOWN_SEQUENCES } from 'mriseq/browser';
 * console.log(KNOWN_SEQUENCES.join(' ')); // t1 t1gd t2 flair dwi dce adc pd swi
 * ```
 */
export const KNOWN_SEQUENCES = ['t1', 't1gd', 't2', 'flair', 'dwi', 'dce', 'adc', 'pd', 'swi'] as const;

// ------------------------------------------------------------------------------------ CSV text

// The one CSV reader and writer (src/csv); re-exported here, where they were first defined.
export { escapeCsvCell, unescapeCsvCell, parseCsv };

const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function parseValue(cell: string): ManifestValue {
  if (cell === '') return null;
  // 1e999 stays text: Infinity would be written back as "Infinity" (and as null by JSON)
  if (NUMBER.test(cell) && Number.isFinite(Number(cell))) return Number(cell);
  if (cell === 'true' || cell === 'false') return cell === 'true';
  return cell;
}

function formatValue(v: ManifestValue | undefined): string {
  if (v === null || v === undefined) return '';
  return String(v);
}

type ColumnKind = 'id' | 'split' | 'sequence' | 'mask' | 'label' | 'metadata';

/**
 * How a CSV header cell maps onto the manifest (see data-manifests/README.md): `id`, `split`,
 * `seg` (a label map), a key of {@link KNOWN_SEQUENCES} (a sequence), or a prefix `seq:`, `mask:`,
 * `label:`, `meta:` before the key; any other name is metadata. Surrounding spaces are trimmed,
 * also after the prefix (`label: grade` is the label grade).
 * @param header - One header cell.
 * @returns The column's kind and its key in the manifest.
 * @example
 * ```ts
 * import { classifyColumn } from 'mriseq/browser';
 * for (const h of ['id', 't1', 'seq:t1c', 'seg', 'mask:tumour', 'label: grade', 'age'])
 *   console.log(h, classifyColumn(h));
 * // id { kind: 'id', key: 'id' }
 * // t1 { kind: 'sequence', key: 't1' }
 * // seq:t1c { kind: 'sequence', key: 't1c' }
 * // seg { kind: 'mask', key: 'seg' }
 * // mask:tumour { kind: 'mask', key: 'tumour' }
 * // label: grade { kind: 'label', key: 'grade' }
 * // age { kind: 'metadata', key: 'age' }
 * ```
 */
export function classifyColumn(header: string): { kind: ColumnKind; key: string } {
  const h = header.trim();
  if (h === 'id') return { kind: 'id', key: 'id' };
  if (h === 'split') return { kind: 'split', key: 'split' };
  if (h === 'seg') return { kind: 'mask', key: 'seg' };
  // [\s\S]: a quoted header cell may hold a line break, and must keep its prefix's meaning
  const m = /^(seq|mask|label|meta):([\s\S]+)$/.exec(h);
  if (m) {
    const kind = ({ seq: 'sequence', mask: 'mask', label: 'label', meta: 'metadata' } as const)[
      m[1] as 'seq'
    ];
    // cells are trimmed on reading: `label: grade` is the label grade
    return { kind, key: (m[2] as string).trim() };
  }
  if ((KNOWN_SEQUENCES as readonly string[]).includes(h)) return { kind: 'sequence', key: h };
  return { kind: 'metadata', key: h };
}

/**
 * A manifest as parsed from text, with every problem found in it ({@link parseManifestText},
 * {@link parseManifestCsv}). The manifest is filled in as far as the text allows even when there
 * are problems; use it only when `problems` is empty (or see {@link assertNoProblems}).
 * @example
 * ```ts
 * import { parseManifestText, type ParsedManifest } from 'mriseq/browser';
 * const parsed: ParsedManifest = parseManifestText('id,t1\na,a.nii\na,b.nii\n');
 * console.log(parsed.manifest.subjects.length, parsed.problems.map((p) => p.code)); // 2 [ 'manifest.duplicate' ]
 * ```
 */
export interface ParsedManifest {
  manifest: Manifest;
  problems: ManifestProblem[];
}

/**
 * Parses CSV text into a manifest, collecting every problem instead of stopping at the first: the
 * header ({@link classifyColumn}; an `id` and at least one sequence column, no duplicates), each
 * row's cell count, then {@link validateManifest}'s checks. Cells are trimmed and their formula
 * guard removed; an empty path cell means the sequence is missing (null). Problem rows are 1-based
 * data rows (row 0: the header or the whole file). Paths that leave the manifest's folder are
 * always reported here; {@link parseManifestText} drops those problems with `allowOutside`.
 * @param text - The CSV text (a byte-order mark is skipped).
 * @returns The manifest and every problem (empty when valid). Never throws.
 * @example
 * ```ts
 * import { parseManifestCsv } from 'mriseq/browser';
 * const { manifest, problems } = parseManifestCsv(
 *   'id,t1,flair,label:grade,split\nsub-1,sub-1/t1.nii.gz,,2,train\nsub-2,../t1.nii.gz,sub-2/flair.nii.gz,3,test\n',
 * );
 * console.log(manifest.sequences, manifest.labels, manifest.subjects[0]!.sequences); // [ 't1', 'flair' ] [ 'grade' ] { t1: 'sub-1/t1.nii.gz', flair: null }
 * console.log(problems.map((p) => `${p.row} ${p.column} ${p.code}`)); // [ '2 t1 manifest.escape' ]
 * ```
 */
export function parseManifestCsv(text: string): ParsedManifest {
  const problems: ManifestProblem[] = [];
  const rows = parseCsv(text);
  const manifest: Manifest = { mriseqManifest: 1, sequences: [], masks: [], labels: [], subjects: [] };
  if (rows.length === 0) {
    problems.push({
      row: 0,
      column: '',
      problem: 'empty manifest',
      expected: 'a header row starting with id',
      code: 'manifest.empty',
    });
    return { manifest, problems };
  }
  const header = (rows[0] as string[]).map((h) => h.trim());
  const columns = header.map(classifyColumn);
  const seenHeaders = new Set<string>();
  header.forEach((h, c) => {
    if (h === '')
      problems.push({ row: 0, column: `#${c + 1}`, problem: 'empty column name', code: 'manifest.header' });
    // by what the column means: `t1` and `seq:t1`, `label:x` and `label: x` are one column twice
    const meaning = `${columns[c]!.kind}:${columns[c]!.key}`;
    if (seenHeaders.has(meaning))
      problems.push({ row: 0, column: h, problem: 'duplicate column', code: 'manifest.header' });
    seenHeaders.add(meaning);
  });
  if (!header.includes('id'))
    problems.push({
      row: 0,
      column: 'id',
      problem: 'no id column',
      found: header.join(','),
      expected: 'a column named id',
      code: 'manifest.header',
    });
  for (const c of columns) {
    if (c.kind === 'sequence' && !manifest.sequences.includes(c.key)) manifest.sequences.push(c.key);
    if (c.kind === 'mask' && !manifest.masks!.includes(c.key)) manifest.masks!.push(c.key);
    if (c.kind === 'label' && !manifest.labels!.includes(c.key)) manifest.labels!.push(c.key);
  }
  if (manifest.sequences.length === 0)
    problems.push({
      row: 0,
      column: '',
      problem: 'no sequence column',
      found: header.join(','),
      expected: `at least one of ${KNOWN_SEQUENCES.join(', ')} or seq:<name>`,
      code: 'manifest.header',
    });
  for (let r = 1; r < rows.length; r++) {
    const cells = (rows[r] as string[]).map(unescapeCsvCell);
    if (cells.length !== header.length)
      problems.push({
        row: r,
        column: '',
        problem: 'wrong number of cells',
        found: String(cells.length),
        expected: String(header.length),
        code: 'manifest.cells',
      });
    const s: ManifestSubject = {
      id: '',
      sequences: dict(),
      masks: dict(),
      labels: dict(),
      split: null,
      metadata: dict(),
    };
    // built without a prototype (a column named __proto__ or constructor is an ordinary key), then
    // handed out as ordinary objects
    columns.forEach((col, c) => {
      const raw = (cells[c] ?? '').trim();
      switch (col.kind) {
        case 'id':
          s.id = raw;
          break;
        case 'split':
          s.split = raw === '' ? null : (raw as Split);
          break;
        case 'sequence':
          s.sequences[col.key] = raw === '' ? null : raw;
          break;
        case 'mask':
          s.masks![col.key] = raw === '' ? null : raw;
          break;
        case 'label':
          s.labels![col.key] = parseValue(raw);
          break;
        case 'metadata':
          s.metadata![col.key] = parseValue(raw);
          break;
      }
    });
    s.sequences = plain(s.sequences);
    s.masks = plain(s.masks!);
    s.labels = plain(s.labels!);
    s.metadata = plain(s.metadata!);
    manifest.subjects.push(s);
  }
  problems.push(...validateManifest(manifest));
  return { manifest, problems };
}

/**
 * Writes the CSV form: header from the manifest's key lists, formula-like cells escaped.
 * @param m - A manifest.
 * @returns CSV text that {@link parseManifestText} reads back to the same manifest.
 * @example
 * ```ts
 * import { manifestToCsv } from 'mriseq';
 * console.log(manifestToCsv({
 *   mriseqManifest: 1,
 *   sequences: ['t1', 't2'],
 *   subjects: [{ id: 'sub-1', sequences: { t1: 'sub-1/t1.nii.gz', t2: null } }],
 * }));
 * ```
 */
export function manifestToCsv(m: Manifest): string {
  const metaKeys: string[] = [];
  for (const s of m.subjects)
    for (const k of Object.keys(s.metadata ?? {})) if (!metaKeys.includes(k)) metaKeys.push(k);
  const hasSplit = m.subjects.some((s) => s.split);
  const header = [
    'id',
    ...m.sequences.map((k) => ((KNOWN_SEQUENCES as readonly string[]).includes(k) ? k : `seq:${k}`)),
    ...(m.masks ?? []).map((k) => (k === 'seg' ? 'seg' : `mask:${k}`)),
    ...(m.labels ?? []).map((k) => `label:${k}`),
    ...(hasSplit ? ['split'] : []),
    ...metaKeys.map((k) => `meta:${k}`),
  ];
  const rows = m.subjects.map((s) => [
    s.id,
    ...m.sequences.map((k) => own(s.sequences, k) ?? ''),
    ...(m.masks ?? []).map((k) => own(s.masks, k) ?? ''),
    ...(m.labels ?? []).map((k) => formatValue(own(s.labels, k))),
    ...(hasSplit ? [s.split ?? ''] : []),
    ...metaKeys.map((k) => formatValue(own(s.metadata, k))),
  ]);
  // every cell as text, so a number-like value gets the same guard whatever its type
  return formatCsv(header, rows);
}

// ------------------------------------------------------------------------------- validation

let ajvValidate: ReturnType<Ajv['compile']> | undefined;

/**
 * Schema plus semantic checks that need no files: duplicate ids, escaping paths, no sequences.
 * @param m - A parsed JSON manifest (any value).
 * @param options - `allowOutside`: accept paths that leave the manifest's folder.
 * @returns Every problem found, each with row and column (empty when valid).
 * @example
 * ```ts
 * import { formatProblem, validateManifest } from 'mriseq';
 * const problems = validateManifest({ mriseqManifest: 1, sequences: ['t1'], subjects: [{ id: 'a', sequences: { t1: '../x.nii' } }] });
 * console.log(problems.map(formatProblem));
 * ```
 */
export function validateManifest(m: unknown, options: { allowOutside?: boolean } = {}): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  if (!ajvValidate) ajvValidate = new Ajv({ allErrors: true, strict: false }).compile(MANIFEST_SCHEMA);
  if (!ajvValidate(m)) {
    for (const e of ajvValidate.errors ?? []) {
      const parts = e.instancePath.split('/').slice(1);
      const row = parts[0] === 'subjects' && parts[1] !== undefined ? Number(parts[1]) + 1 : 0;
      const column = parts[0] === 'subjects' ? parts.slice(2).join('.') : parts.join('.');
      problems.push({
        row,
        column: column || (e.params as { missingProperty?: string }).missingProperty || '',
        problem: `schema: ${e.message ?? 'invalid'}`,
        found: e.instancePath ? JSON.stringify(valueAt(m, parts))?.slice(0, 80) : undefined,
        code: 'manifest.schema',
      });
    }
    // Semantic checks below assume the basic shape.
    if (!isManifestShape(m)) return problems;
  }
  const manifest = m as Manifest;
  const seen = new Map<string, number>();
  manifest.subjects.forEach((s, k) => {
    const row = k + 1;
    if (typeof s.id !== 'string') return;
    const first = seen.get(s.id);
    if (first !== undefined)
      problems.push({
        row,
        column: 'id',
        problem: 'duplicate id',
        found: s.id,
        expected: `unique (first in row ${first})`,
        code: 'manifest.duplicate',
      });
    else seen.set(s.id, row);
    const present = manifest.sequences.filter((q) => own(s.sequences, q));
    if (present.length === 0)
      problems.push({
        row,
        column: manifest.sequences.join(','),
        problem: 'subject has no sequence',
        found: s.id,
        code: 'manifest.empty-subject',
      });
    problems.push(...valueProblems(row, 'label', s.labels), ...valueProblems(row, 'meta', s.metadata));
    for (const [kind, rec] of [
      ['sequences', s.sequences],
      ['masks', s.masks],
    ] as const) {
      for (const [key, p] of Object.entries(rec ?? {})) {
        if (typeof p !== 'string') continue;
        // CSV cells are trimmed on reading, so such a path would silently change on a CSV round
        // trip (and a file name starting with a space is almost always a copy-and-paste slip)
        if (p !== p.trim())
          problems.push({
            row,
            column: key,
            problem: 'path has leading or trailing whitespace',
            found: JSON.stringify(p),
            expected: `${JSON.stringify(p.trim())} (no spaces around a path; rename the file if it has them)`,
            code: 'manifest.path-space',
          });
        if (kind === 'sequences' && !manifest.sequences.includes(key))
          problems.push({
            row,
            column: key,
            problem: 'sequence not declared in the manifest',
            found: key,
            expected: manifest.sequences.join(', '),
            code: 'manifest.sequence',
          });
        if (!options.allowOutside && escapesLexically(p))
          problems.push({
            row,
            column: key,
            problem: 'path escapes the manifest folder',
            found: p,
            expected: 'a relative path inside the folder',
            code: 'manifest.escape',
          });
      }
    }
  });
  return problems;
}

/**
 * Labels and metadata get the same rule as paths: CSV cells are trimmed on reading, so a key or a
 * text value with leading or trailing whitespace would silently change on a CSV round trip (and
 * " AD" beside "AD" would split one class in two). They are refused, naming the CSV column, rather
 * than trimmed quietly; so are numbers CSV and JSON cannot carry (Infinity from 1e999).
 */
function valueProblems(
  row: number,
  prefix: 'label' | 'meta',
  rec: Record<string, ManifestValue> | undefined,
): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  if (!rec || typeof rec !== 'object') return problems;
  for (const [key, v] of Object.entries(rec)) {
    const column = `${prefix}:${key}`;
    if (key === '' || key !== key.trim())
      problems.push({
        row,
        column,
        problem: `${prefix === 'label' ? 'label' : 'metadata'} name is empty or has leading or trailing whitespace`,
        found: JSON.stringify(key),
        expected: key.trim() === '' ? 'a non-empty name' : JSON.stringify(key.trim()),
        code: 'manifest.value-space',
      });
    if (typeof v === 'string' && v !== v.trim())
      problems.push({
        row,
        column,
        problem: `${prefix === 'label' ? 'label' : 'metadata'} value has leading or trailing whitespace`,
        found: JSON.stringify(v),
        expected: `${JSON.stringify(v.trim())} (no spaces around a value)`,
        code: 'manifest.value-space',
      });
    if (typeof v === 'number' && !Number.isFinite(v))
      problems.push({
        row,
        column,
        problem: 'number out of range',
        found: String(v),
        expected: 'a finite number',
        code: 'manifest.value',
      });
  }
  return problems;
}

function isManifestShape(m: unknown): m is Manifest {
  const o = m as Manifest;
  return (
    typeof o === 'object' &&
    o !== null &&
    Array.isArray(o.sequences) &&
    Array.isArray(o.subjects) &&
    o.subjects.every(
      (s) => typeof s === 'object' && s !== null && typeof s.sequences === 'object' && s.sequences !== null,
    )
  );
}

function valueAt(m: unknown, parts: string[]): unknown {
  let v: unknown = m;
  for (const p of parts) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

/**
 * Whether a manifest path leaves the manifest's folder by its text alone: absolute, drive-letter
 * or UNC paths, or `..` climbing above the start at any point (`/` and `\` both separate). Symbolic
 * links are checked on disk by the Node adapter ({@link readManifest}, {@link checkManifest}).
 * @param path - A path from a manifest, relative to its folder.
 * @returns true when it leaves the folder.
 * @example
 * ```ts
 * import { escapesLexically } from 'mriseq/browser';
 * console.log(['a/b.nii', 'a/../b.nii', '../x.nii', 'a/../../x.nii', '/data/x.nii', 'C:\\x.nii'].map(escapesLexically));
 * // [ false, false, true, true, true, true ]
 * ```
 */
export function escapesLexically(path: string): boolean {
  if (/^([/\\]|[A-Za-z]:)/.test(path)) return true;
  let depth = 0;
  for (const part of path.split(/[/\\]+/)) {
    if (part === '..') depth--;
    else if (part !== '.' && part !== '') depth++;
    if (depth < 0) return true;
  }
  return false;
}

/**
 * One line per problem, e.g. "row 3, column t1: file not found; found a/b.nii.gz".
 * @param p - A problem from {@link validateManifest}, {@link parseManifestText} or {@link checkManifest}.
 * @returns One line a user can act on.
 * @example
 * ```ts
 * import { formatProblem } from 'mriseq';
 * console.log(formatProblem({ row: 3, column: 't1', problem: 'file not found', found: 'a/b.nii.gz', code: 'manifest.missing' }));
 * ```
 */
export function formatProblem(p: ManifestProblem): string {
  const where =
    p.row > 0
      ? `row ${p.row}${p.column ? `, column ${p.column}` : ''}`
      : p.column
        ? `column ${p.column}`
        : 'file';
  const parts = [`${where}: ${p.problem}`];
  if (p.found !== undefined) parts.push(`found ${p.found}`);
  if (p.expected !== undefined) parts.push(`expected ${p.expected}`);
  return parts.join('; ');
}

/**
 * Throws one MriseqError summarising all problems (each also listed in the message, as
 * {@link formatProblem} writes it); returns quietly when there are none.
 * @param problems - The problems of one manifest (e.g. {@link ParsedManifest}'s).
 * @param file - The manifest's file, named in the error.
 * @throws {@link MriseqError} with the first problem's code and row.
 * @example
 * ```ts
 * import { assertNoProblems, MriseqError, parseManifestText } from 'mriseq/browser';
 * const { problems } = parseManifestText('id,t1\nsub-1,../t1.nii.gz\n');
 * try {
 *   assertNoProblems(problems, 'manifest.csv');
 * } catch (e) {
 *   if (e instanceof MriseqError) console.log(e.code, e.file, e.field); // manifest.escape manifest.csv row 1
 * }
 * ```
 */
export function assertNoProblems(problems: readonly ManifestProblem[], file: string): void {
  if (problems.length === 0) return;
  const first = problems[0] as ManifestProblem;
  throw new MriseqError(
    `${problems.length} problem${problems.length > 1 ? 's' : ''} in the manifest: ${problems.map(formatProblem).join(' | ')}`,
    {
      file,
      field: first.row > 0 ? `row ${first.row}` : undefined,
      code: first.code,
    },
  );
}

/**
 * Parses either form, chosen by content (JSON starts with '{').
 * @param text - The manifest file's content.
 * @param options - `allowOutside`: accept paths that leave the manifest's folder.
 * @returns The manifest and every problem found (empty when valid).
 * @example
 * ```ts
 * import { parseManifestText } from 'mriseq';
 * const csv = 'id,t1,t2\nsub-1,sub-1/t1.nii.gz,sub-1/t2.nii.gz\nsub-2,sub-2/t1.nii.gz,\n';
 * const { manifest, problems } = parseManifestText(csv);
 * console.log(manifest.sequences, manifest.subjects[1]?.sequences.t2, problems.length); // ['t1','t2'] null 0
 * ```
 */
export function parseManifestText(text: string, options: { allowOutside?: boolean } = {}): ParsedManifest {
  const t = text.replace(/^\ufeff/, '');
  if (t.trimStart().startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(t);
    } catch (e) {
      const manifest: Manifest = { mriseqManifest: 1, sequences: [], subjects: [] };
      return {
        manifest,
        problems: [
          { row: 0, column: '', problem: 'invalid JSON', found: (e as Error).message, code: 'manifest.json' },
        ],
      };
    }
    const problems = validateManifest(obj, options);
    const manifest = isManifestShape(obj)
      ? obj
      : ({ mriseqManifest: 1, sequences: [], subjects: [] } as Manifest);
    return { manifest, problems };
  }
  const parsed = parseManifestCsv(t);
  if (options.allowOutside) parsed.problems = parsed.problems.filter((p) => p.code !== 'manifest.escape');
  return parsed;
}
