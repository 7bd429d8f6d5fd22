/**
 * CSV, the one reader and writer of every table mriseq reads or writes (manifests, evaluation,
 * predictions, clusters, generated volumes, sweeps, the merge of shard tables). Browser-safe.
 *
 * Reading follows RFC 4180 as Python's csv module reads it: a field that starts with a quote is
 * quoted (doubled quotes inside, separators and line breaks kept); a quote anywhere else is an
 * ordinary character; records end at LF, CRLF or CR; a leading byte-order mark is skipped; blank
 * lines carry no record.
 *
 * Writing quotes a cell holding a quote, a separator, a line break or surrounding whitespace, and
 * guards text cells that a spreadsheet would run as a formula (OWASP "CSV injection": a leading
 * `=`, `+`, `-`, `@`, tab or carriage return) with a leading `'`. The guard is counted so that
 * unescapeCsvCell always gives the original back: `'=x` is written `''=x`. Numbers are written as
 * numbers (a negative number is no formula).
 */
import { MriseqError } from '../errors/index.js';

/**
 * A cell value a table may hold, as {@link formatCsv} writes it: text (escaped), a number (plainly;
 * non-finite ones as `inf`, `-inf`, `nan`), a boolean (`true`/`false`), or null/undefined (an empty
 * cell). Reading gives text back: {@link parseCsv} does not convert cells.
 * @example
 * ```ts
 * import { formatCsvCell, type CsvValue } from 'mriseq';
 * const row: CsvValue[] = ['sub-1', 31.5, Infinity, true, null];
 * console.log(row.map(formatCsvCell).join(',')); // sub-1,31.5,inf,true,
 * ```
 */
export type CsvValue = string | number | boolean | null | undefined;

/** Text that spreadsheet programs would run as a formula, after any quotes a guard put in front. */
const FORMULA = /^'*[=+\-@\t\r]/;

/**
 * The formula guard and RFC 4180 quoting of one text cell: quoted when it holds a quote, a comma,
 * a tab (so the same cell fits a TSV), a line break, or surrounding whitespace (readers trim).
 * Text a spreadsheet would run as a formula (a leading `=`, `+`, `-`, `@`, tab or carriage return,
 * after any `'` already in front) gets one more leading `'`, which {@link unescapeCsvCell} removes.
 * @param value - One text cell, as the user wrote it.
 * @returns The cell as it goes into CSV text (unchanged when it needs neither guard nor quotes).
 * @example
 * ```ts
 * import { escapeCsvCell } from 'mriseq';
 * console.log(escapeCsvCell('plain')); // plain
 * console.log(escapeCsvCell('a,b')); // "a,b"
 * console.log(escapeCsvCell('say "hi"')); // "say ""hi"""
 * console.log(escapeCsvCell('=SUM(A1)')); // '=SUM(A1)
 * console.log(escapeCsvCell("'=x")); // ''=x
 * ```
 */
export function escapeCsvCell(value: string): string {
  let v = value;
  // Quotes already in front are counted too, so unescaping one quote always gives the original.
  if (FORMULA.test(v)) v = `'${v}`;
  if (/[",\t\n\r]/.test(v) || v !== v.trim()) v = `"${v.replace(/"/g, '""')}"`;
  return v;
}

/**
 * Reverses {@link escapeCsvCell}'s formula guard: removes one leading `'` when a formula character
 * follows the run of quotes. The RFC 4180 quotes are the parser's to remove ({@link parseCsv}
 * keeps the guard, so a reader calls this on each cell it takes as text).
 * @param value - One cell as {@link parseCsv} gave it.
 * @returns The text the writer was given.
 * @example
 * ```ts
 * import { unescapeCsvCell } from 'mriseq';
 * console.log(unescapeCsvCell("'=SUM(A1)")); // =SUM(A1)
 * console.log(unescapeCsvCell("''=x")); // '=x
 * console.log(unescapeCsvCell("'plain")); // 'plain (no formula follows: kept as it is)
 * ```
 */
export function unescapeCsvCell(value: string): string {
  return /^'+[=+\-@\t\r]/.test(value) ? value.slice(1) : value;
}

/**
 * One cell as text: numbers plainly (non-finite ones as `inf`, `-inf`, `nan`, the spellings
 * Python's float() and pandas read back), booleans as `true`/`false`, null and undefined as an
 * empty cell, text through {@link escapeCsvCell} (so the text `-3` is guarded, the number -3 is not).
 * @param value - The cell's value.
 * @returns The cell as it goes into CSV text.
 * @example
 * ```ts
 * import { formatCsvCell } from 'mriseq';
 * console.log([1.5, -Infinity, NaN, null, true, -3, '-3'].map(formatCsvCell).join(' | '));
 * // 1.5 | -inf | nan |  | true | -3 | '-3
 * ```
 */
export function formatCsvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number')
    return Number.isFinite(value) ? String(value) : value > 0 ? 'inf' : value < 0 ? '-inf' : 'nan';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return escapeCsvCell(value);
}

/**
 * How {@link formatCsv} separates cells and ends lines.
 * @example
 * ```ts
 * import { formatCsv, type FormatCsvOptions } from 'mriseq';
 * const tsv: FormatCsvOptions = { separator: '\t', eol: '\r\n' };
 * console.log(JSON.stringify(formatCsv(['id', 'x'], [['a', 1]], tsv))); // "id\tx\r\na\t1\r\n"
 * ```
 */
export interface FormatCsvOptions {
  /** `,` (default) or tab. */
  separator?: ',' | '\t';
  /** Line end (default `\n`); the text always ends with one. */
  eol?: '\n' | '\r\n';
}

/**
 * A header and rows as CSV text; every cell through {@link formatCsvCell} (text escaped: formula
 * guard and quoting; numbers plainly). Rows are written as given: a row may be shorter or longer
 * than the header.
 * @param header - Column names (escaped like any text cell).
 * @param rows - One array of cells per row.
 * @param options - `separator` (`,` or tab) and `eol` (`\n` or `\r\n`); defaults `,` and `\n`.
 * @returns The text, ending with a line end.
 * @example
 * ```ts
 * import { formatCsv } from 'mriseq';
 * process.stdout.write(formatCsv(['id', 'psnr', 'note'], [['a', 31.2, 'ok, done'], ['b', NaN, '=1+1']]));
 * // id,psnr,note
 * // a,31.2,"ok, done"
 * // b,nan,'=1+1
 * ```
 */
export function formatCsv(
  header: readonly string[],
  rows: readonly (readonly CsvValue[])[],
  options: FormatCsvOptions = {},
): string {
  const sep = options.separator ?? ',';
  const eol = options.eol ?? '\n';
  const line = (cells: readonly CsvValue[]) => cells.map(formatCsvCell).join(sep);
  return [line(header), ...rows.map(line)].join(eol) + eol;
}

/**
 * One record as {@link csvRecords} found it: its fields (quotes removed, formula guards kept), and
 * where its text starts and ends, in UTF-16 code units of the text (a byte-order mark counts, a
 * record's line end does not), so a tool can point at or rewrite one record in place.
 * @example
 * ```ts
 * import { csvRecords, type CsvRecord } from 'mriseq';
 * const text = 'id,t1\na,a.nii\n';
 * const [, row]: CsvRecord[] = csvRecords(text);
 * console.log(row!.fields, text.slice(row!.start, row!.end)); // [ 'a', 'a.nii' ] a,a.nii
 * ```
 */
export interface CsvRecord {
  fields: string[];
  /** Offsets into the text: [start, end) of the record, without its line end. */
  start: number;
  end: number;
}

/**
 * How {@link parseCsv} and {@link csvRecords} split fields.
 * @example
 * ```ts
 * import { parseCsv, type ParseCsvOptions } from 'mriseq';
 * const tsv: ParseCsvOptions = { separator: '\t' };
 * console.log(parseCsv('a\tb\n1\t2\n', tsv)); // [ [ 'a', 'b' ], [ '1', '2' ] ]
 * ```
 */
export interface ParseCsvOptions {
  /** `,` (default) or tab. */
  separator?: string;
}

/**
 * Splits CSV text into records with their fields (quotes removed) and their place in the text,
 * as Python's csv module reads it: a field that starts with a quote is quoted (doubled quotes
 * inside, separators and line breaks kept); records end at LF, CRLF or CR; a leading byte-order
 * mark is skipped; blank lines (or lines of spaces only) carry no record. Never throws: an
 * unclosed quote runs to the end of the text.
 * @param text - CSV text.
 * @param options - `separator`: one character, `,` (default) or tab.
 * @returns The records in order, with their offsets into `text`.
 * @example
 * ```ts
 * import { csvRecords } from 'mriseq';
 * const text = 'id,note\r\na,"two\nlines"\r\n\r\nb,x\r\n';
 * for (const r of csvRecords(text)) console.log(r.fields, r.start, r.end);
 * // [ 'id', 'note' ] 0 7
 * // [ 'a', 'two\nlines' ] 9 22
 * // [ 'b', 'x' ] 26 29
 * ```
 */
export function csvRecords(text: string, options: ParseCsvOptions = {}): CsvRecord[] {
  const sep = options.separator ?? ',';
  // The parser compares one character at a time: a longer separator would never match and every
  // line would silently come back as one cell.
  if (sep.length !== 1 || sep === '"' || sep === '\n' || sep === '\r')
    throw new MriseqError('a CSV separator is one character other than a quote or a line break', {
      field: 'separator',
      found: JSON.stringify(sep),
      expected: "one character, e.g. ',' or '\\t'",
      code: 'csv.separator',
    });
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let cell = '';
  let quoted = false;
  // a field is quoted only when its first character is a quote
  let fieldStart = true;
  // whether the record has a quoted field (a line `""` is a record, a line of spaces is not)
  let sawQuote = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let start = i;
  const endRecord = (end: number) => {
    fields.push(cell);
    // a blank line (or one of spaces only) carries no record
    if (!(fields.length === 1 && !sawQuote && fields[0]!.trim() === '')) records.push({ fields, start, end });
    fields = [];
    cell = '';
    fieldStart = true;
    sawQuote = false;
  };
  for (; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += ch;
      continue;
    }
    if (ch === '"' && fieldStart) {
      quoted = true;
      sawQuote = true;
      fieldStart = false;
    } else if (ch === sep) {
      fields.push(cell);
      cell = '';
      fieldStart = true;
    } else if (ch === '\n' || ch === '\r') {
      endRecord(i);
      if (ch === '\r' && text[i + 1] === '\n') i++;
      start = i + 1;
    } else {
      cell += ch;
      fieldStart = false;
    }
  }
  if (start < text.length || cell !== '' || fields.length > 0) endRecord(text.length);
  return records;
}

/**
 * CSV text as rows of raw cells: quotes removed, formula guards kept (a reader calls
 * {@link unescapeCsvCell} on text cells), no trimming, no number conversion. The rules are
 * {@link csvRecords}'s; rows may differ in length (the caller checks them against the header).
 * @param text - CSV text.
 * @param options - `separator`: one character, `,` (default) or tab.
 * @returns One array of strings per record.
 * @example
 * ```ts
 * import { parseCsv } from 'mriseq';
 * console.log(parseCsv('id,note\na,"say ""hi"""\nb,\'=1+1\n'));
 * // [ [ 'id', 'note' ], [ 'a', 'say "hi"' ], [ 'b', "'=1+1" ] ]
 * ```
 */
export function parseCsv(text: string, options: ParseCsvOptions = {}): string[][] {
  return csvRecords(text, options).map((r) => r.fields);
}

/**
 * The line end a CSV text uses (CRLF when it has one anywhere, else LF) and whether the text ends
 * with a line end: what a tool that rewrites a user's table keeps, so the file changes only where
 * it must.
 * @param text - CSV text.
 * @returns `eol` and `trailingEol`.
 * @example
 * ```ts
 * import { csvLineEnd } from 'mriseq/browser';
 * console.log(csvLineEnd('a,b\r\n1,2\r\n')); // { eol: '\r\n', trailingEol: true }
 * console.log(csvLineEnd('a,b\n1,2')); // { eol: '\n', trailingEol: false }
 * ```
 */
export function csvLineEnd(text: string): { eol: '\n' | '\r\n'; trailingEol: boolean } {
  return { eol: text.includes('\r\n') ? '\r\n' : '\n', trailingEol: /[\r\n]$/.test(text) };
}
