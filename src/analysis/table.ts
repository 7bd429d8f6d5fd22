/**
 * The evaluation table as CSV text, browser-safe: parse with checks that name the file, row and
 * column of a bad cell, and format with a fixed column order.
 */
import { MriseqError } from '../errors/index.js';
import { formatCsv, parseCsv, unescapeCsvCell, type CsvValue } from '../csv/index.js';
import type { EvaluationRow } from './contribution.js';

export const REQUIRED_COLUMNS = ['subject', 'source', 'target', 'psnr', 'ssim'] as const;
export const OPTIONAL_METRIC_COLUMNS = ['mae', 'lpips'] as const;

/** CSV text as records of raw cells (the one CSV reader, src/csv; kept under its old name). */
export function parseCsvRecords(text: string): string[][] {
  return parseCsv(text);
}

/**
 * Parses an evaluation table (columns subject, source, target, psnr, ssim, optional mae, lpips,
 * anything else kept as text). Rows are numbered as in the file (header = row 1).
 */
export function parseEvaluationCsv(text: string, file = '<csv>'): EvaluationRow[] {
  const records = parseCsv(text);
  if (records.length === 0)
    throw new MriseqError('empty file', { file, expected: 'a header row', code: 'table.empty' });
  const header = records[0].map((h) => h.trim().toLowerCase());
  for (const col of REQUIRED_COLUMNS)
    if (!header.includes(col))
      throw new MriseqError(`missing column "${col}"`, {
        file,
        field: 'header (row 1)',
        found: header.join(','),
        expected: `columns ${REQUIRED_COLUMNS.join(',')}[,${OPTIONAL_METRIC_COLUMNS.join('][,')}]`,
        code: 'table.column',
      });
  const numeric = new Set<string>([...REQUIRED_COLUMNS.slice(3), ...OPTIONAL_METRIC_COLUMNS]);
  const rows: EvaluationRow[] = [];
  for (let r = 1; r < records.length; r++) {
    const rec = records[r];
    if (rec.length !== header.length)
      throw new MriseqError('wrong number of cells', {
        file,
        field: `row ${r + 1}`,
        found: `${rec.length} cells`,
        expected: `${header.length} (as the header)`,
        code: 'table.row',
      });
    const row: Record<string, string | number | undefined> = {};
    header.forEach((col, k) => {
      const cell = rec[k].trim();
      if (numeric.has(col)) {
        // Optional metrics may be empty (e.g. LPIPS skipped); required ones may not.
        if (cell === '' && !(REQUIRED_COLUMNS as readonly string[]).includes(col)) return;
        const lc = cell.toLowerCase();
        const v = lc === 'inf' || lc === '+inf' ? Infinity : lc === '-inf' ? -Infinity : Number(cell);
        if (cell === '' || Number.isNaN(v))
          throw new MriseqError('not a number', {
            file,
            field: `row ${r + 1}, column ${col}`,
            found: JSON.stringify(cell),
            expected: 'a number',
            code: 'table.value',
          });
        row[col] = v;
      } else {
        if ((REQUIRED_COLUMNS as readonly string[]).includes(col) && cell === '')
          throw new MriseqError('empty cell', {
            file,
            field: `row ${r + 1}, column ${col}`,
            expected: `a ${col} name`,
            code: 'table.value',
          });
        row[col] = unescapeCsvCell(cell);
      }
    });
    rows.push(row as EvaluationRow);
  }
  return rows;
}

/** Column order: subject, source, target, then metrics (psnr, ssim, mae, lpips), then the rest. */
export function evaluationColumns(rows: readonly EvaluationRow[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) keys.add(k);
  const front = ['subject', 'source', 'target', 'psnr', 'ssim', 'mae', 'lpips'].filter(
    (k) => keys.has(k) || (REQUIRED_COLUMNS as readonly string[]).includes(k),
  );
  return [...front, ...[...keys].filter((k) => !front.includes(k)).sort()];
}

export function formatEvaluationCsv(
  rows: readonly EvaluationRow[],
  columns = evaluationColumns(rows),
): string {
  // numbers as numbers (non-finite ones as inf, -inf, nan); text with the manifest's formula guard
  return formatCsv(
    columns,
    rows.map((r) => columns.map((c) => r[c] as CsvValue)),
  );
}
