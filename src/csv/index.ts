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

/** A cell value a table may hold. */
export type CsvValue = string | number | boolean | null | undefined;

/** Text that spreadsheet programs would run as a formula, after any quotes a guard put in front. */
const FORMULA = /^'*[=+\-@\t\r]/;

/**
 * The formula guard and RFC 4180 quoting of one text cell: quoted when it holds a quote, a comma,
 * a tab (so the same cell fits a TSV), a line break, or surrounding whitespace (readers trim).
 */
export function escapeCsvCell(value: string): string {
  let v = value;
  // Quotes already in front are counted too, so unescaping one quote always gives the original.
  if (FORMULA.test(v)) v = `'${v}`;
  if (/[",\t\n\r]/.test(v) || v !== v.trim()) v = `"${v.replace(/"/g, '""')}"`;
  return v;
}

/** Reverses escapeCsvCell's formula guard (the quotes were removed by the parser). */
export function unescapeCsvCell(value: string): string {
  return /^'+[=+\-@\t\r]/.test(value) ? value.slice(1) : value;
}

/** One cell as text: numbers plainly (non-finite ones as inf, -inf, nan), text escaped. */
export function formatCsvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number')
    return Number.isFinite(value) ? String(value) : value > 0 ? 'inf' : value < 0 ? '-inf' : 'nan';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return escapeCsvCell(value);
}

export interface FormatCsvOptions {
  /** `,` (default) or tab. */
  separator?: ',' | '\t';
  /** Line end (default `\n`); the text always ends with one. */
  eol?: '\n' | '\r\n';
}

/** A header and rows as CSV text; every text cell escaped (formula guard and quoting). */
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

/** One record as the reader found it: its fields, and where its text starts and ends. */
export interface CsvRecord {
  fields: string[];
  /** Offsets into the text: [start, end) of the record, without its line end. */
  start: number;
  end: number;
}

export interface ParseCsvOptions {
  /** `,` (default) or tab. */
  separator?: string;
}

/** Splits CSV text into records with their fields (quotes removed) and their place in the text. */
export function csvRecords(text: string, options: ParseCsvOptions = {}): CsvRecord[] {
  const sep = options.separator ?? ',';
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

/** CSV text as rows of raw cells (quotes removed, no formula guard removed, no trimming). */
export function parseCsv(text: string, options: ParseCsvOptions = {}): string[][] {
  return csvRecords(text, options).map((r) => r.fields);
}

/** The line end a CSV text uses (CRLF when it has one, else LF) and whether it ends with one. */
export function csvLineEnd(text: string): { eol: '\n' | '\r\n'; trailingEol: boolean } {
  return { eol: text.includes('\r\n') ? '\r\n' : '\n', trailingEol: /[\r\n]$/.test(text) };
}
