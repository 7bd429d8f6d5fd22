/**
 * The evaluation table as CSV text, browser-safe: parse with checks that name the file, row and
 * column of a bad cell, and format with a fixed column order.
 */
import { MriseqError } from '../errors/index.js';
import { formatCsv, parseCsv, unescapeCsvCell, type CsvValue } from '../csv/index.js';
import type { EvaluationRow } from './contribution.js';
import { SYNTHESIS_METRICS } from './registry.js';

/**
 * The columns every evaluation table has: subject, source, target and the registry's required metrics.
 *
 * @example
 * ```ts
 * import { REQUIRED_COLUMNS } from 'mriseq/browser';
 * console.log(REQUIRED_COLUMNS); // ['subject', 'source', 'target', 'psnr', 'ssim']
 * ```
 */
export const REQUIRED_COLUMNS: readonly string[] = [
  'subject',
  'source',
  'target',
  ...SYNTHESIS_METRICS.filter((m) => m.required).map((m) => m.name),
];
/**
 * Metric columns an evaluation table may have (the registry's metrics that are not required).
 *
 * @example
 * ```ts
 * import { OPTIONAL_METRIC_COLUMNS } from 'mriseq/browser';
 * console.log(OPTIONAL_METRIC_COLUMNS); // ['mae', 'lpips']
 * ```
 */
export const OPTIONAL_METRIC_COLUMNS: readonly string[] = SYNTHESIS_METRICS.filter((m) => !m.required).map(
  (m) => m.name,
);

/**
 * CSV text as records of raw cells (the one CSV reader, src/csv; kept under its old name).
 * @param text - CSV text.
 * @returns The records, each an array of cells (quotes removed).
 * @example
 * ```ts
 * import { parseCsvRecords } from 'mriseq/browser';
 * console.log(parseCsvRecords('a,b\r\n"x, y",2\n\n')); // [['a', 'b'], ['x, y', '2']]
 * ```
 */
export function parseCsvRecords(text: string): string[][] {
  return parseCsv(text);
}

/**
 * Parses an evaluation table (columns subject, source, target, psnr, ssim, optional mae, lpips,
 * anything else kept as text). Rows are numbered as in the file (header = row 1).
 * @param text - The CSV text (header row first).
 * @param file - Names the file in errors (default '<csv>').
 * @returns The rows (metrics as numbers, other columns as text).
 * @throws {@link MriseqError} naming the file, row and column: 'table.empty', a missing required column,
 *   a row with the wrong number of cells, an empty or non-numeric metric cell.
 * @example
 * ```ts
 * import { parseEvaluationCsv } from 'mriseq';
 * const rows = parseEvaluationCsv('subject,source,target,psnr,ssim,mae\nsim-00000,t1,t1gd,24.1,0.81,0.07\n');
 * console.log(rows[0]?.psnr); // 24.1
 * ```
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
  // Metric columns: the registry's, and any other column whose every cell is a number (a metric
  // a user added, e.g. one computed by their own script); the rest stays text.
  const isNumber = (c: string) => /^[+-]?(inf|(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)$/i.test(c.trim());
  const numeric = new Set<string>([...REQUIRED_COLUMNS.slice(3), ...OPTIONAL_METRIC_COLUMNS]);
  header.forEach((col, k) => {
    if ((REQUIRED_COLUMNS as readonly string[]).includes(col) || numeric.has(col)) return;
    const cells = records.slice(1).map((r) => r[k] ?? '');
    if (cells.some((c) => c.trim() !== '') && cells.every((c) => c.trim() === '' || isNumber(c)))
      numeric.add(col);
  });
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

/**
 * Column order: subject, source, target, then the registry's metrics in its order (psnr, ssim, mae,
 * lpips), then the rest.
 * @param rows - Evaluation rows.
 * @returns The column names in that order (extra columns sorted).
 * @example
 * ```ts
 * import { evaluationColumns } from 'mriseq/browser';
 * console.log(evaluationColumns([{ subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9, site: 'A' }]));
 * // ['subject', 'source', 'target', 'psnr', 'ssim', 'site']
 * ```
 */
export function evaluationColumns(rows: readonly EvaluationRow[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) keys.add(k);
  const front = ['subject', 'source', 'target', ...SYNTHESIS_METRICS.map((m) => m.name)].filter(
    (k) => keys.has(k) || REQUIRED_COLUMNS.includes(k),
  );
  return [...front, ...[...keys].filter((k) => !front.includes(k)).sort()];
}

/**
 * Formula-like cells are escaped so a spreadsheet does not run them.
 *
 * @param rows - Evaluation rows.
 * @param columns - Column order (default: subject, source, target, psnr, ssim, mae, lpips, then any other).
 * @returns CSV text that {@link parseEvaluationCsv} reads back.
 * @example
 * ```ts
 * import { formatEvaluationCsv } from 'mriseq';
 * console.log(formatEvaluationCsv([{ subject: 'a', source: 't1', target: 't2', psnr: 25.5, ssim: 0.9, mae: 0.05 }]));
 * ```
 */
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

/**
 * The table in the authors' format (their test script's result_metrics.csv, the input of
 * cal_brats_seq2seq_2d_contribution.py): `name,src,tgt,psnr,ssim,lpips` with sequences as indices
 * into `sequences`. `lpips` carries the column named by `lpipsColumn` (default 'lpips' when every
 * row has it, else 'mae': their script subtracts its z-score, as for any distance). Rows whose
 * source or target is not in `sequences` are left out.
 * @param rows - Evaluation rows.
 * @param sequences - The sequence order whose indices the file uses.
 * @param lpipsColumn - The column written as `lpips`.
 * @returns The CSV text.
 * @throws {@link MriseqError} when the `lpipsColumn` is missing from a row, or a subject id holds a comma or newline.
 * @example
 * ```ts
 * import { formatAuthorsCsv } from 'mriseq';
 * console.log(formatAuthorsCsv([{ subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9, mae: 0.05 }], ['t1', 't2']));
 * // name,src,tgt,psnr,ssim,lpips / a,0,1,25,0.9,0.05
 * ```
 */
export function formatAuthorsCsv(
  rows: readonly EvaluationRow[],
  sequences: readonly string[],
  lpipsColumn: string = rows.length && rows.every((r) => typeof r.lpips === 'number') ? 'lpips' : 'mae',
): string {
  const index = new Map(sequences.map((s, i) => [s, i]));
  const lines = ['name,src,tgt,psnr,ssim,lpips'];
  for (const r of rows) {
    const i = index.get(r.source);
    const j = index.get(r.target);
    if (i === undefined || j === undefined) continue;
    const v = r[lpipsColumn];
    if (typeof v !== 'number')
      throw new MriseqError(`column "${lpipsColumn}" is missing`, {
        field: `${r.subject}: ${r.source} -> ${r.target}`,
        expected: 'a number in every row',
        code: 'table.column',
      });
    if (/[,\n\r]/.test(r.subject))
      throw new MriseqError("a subject id with a comma or newline cannot go into the authors' format", {
        field: 'subject',
        found: JSON.stringify(r.subject),
        code: 'table.value',
      });
    lines.push([r.subject, i, j, r.psnr, r.ssim, v].join(','));
  }
  return lines.join('\n') + '\n';
}
