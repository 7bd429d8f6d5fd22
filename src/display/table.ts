/** Tables as HTML + aligned text, from plain rows or a danfojs DataFrame (duck-typed). */
import { escapeHtml, type Displayable, type RichOutput } from './core.js';

/**
 * The values a table cell shows.
 *
 * @example
 * ```ts
 * import { type Cell } from 'mriseq';
 * const cells: Cell[] = ['t1gd', 0.91, true, null, undefined];
 * console.log(cells.length);
 * ```
 */
export type Cell = string | number | boolean | null | undefined;
/**
 * One table row: column name → cell.
 *
 * @example
 * ```ts
 * import { htmlTable, type Row } from 'mriseq';
 * const rows: Row[] = [{ id: 'sim-00000', auc: 0.93, pass: true }];
 * htmlTable(rows);
 * ```
 */
export type Row = Record<string, Cell>;

/**
 * What a danfojs DataFrame offers (danfojs itself is not imported: it is Node-heavy).
 * @example
 * ```ts
 * import { htmlTable, type DataFrameLike } from 'mriseq';
 * const df: DataFrameLike = { columns: ['sequence', 'C_d'], values: [['t1gd', 0.9], ['t1', -0.7]] };
 * console.log(htmlTable(df).rows.length); // 2
 * ```
 */
export interface DataFrameLike {
  columns: string[];
  values: unknown[][];
  index?: (string | number)[];
}

/**
 * Whether a value looks like a danfojs DataFrame (what {@link htmlTable} accepts besides rows).
 *
 * @param x - Any value.
 * @returns True for an object with `columns` and `values` arrays (a danfojs DataFrame).
 * @example
 * ```ts
 * import { isDataFrameLike } from 'mriseq';
 * console.log(isDataFrameLike({ columns: ['a'], values: [[1]] }), isDataFrameLike([{ a: 1 }])); // true false
 * ```
 */
export function isDataFrameLike(x: unknown): x is DataFrameLike {
  if (typeof x !== 'object' || x === null) return false;
  const d = x as Partial<DataFrameLike>;
  try {
    return Array.isArray(d.columns) && Array.isArray(d.values) && d.values.every((r) => Array.isArray(r));
  } catch {
    return false;
  }
}

export function isRowArray(x: unknown): x is Row[] {
  return (
    Array.isArray(x) &&
    x.length > 0 &&
    x.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r) && !ArrayBuffer.isView(r))
  );
}

/**
 * Options of {@link htmlTable}.
 *
 * @example
 * ```ts
 * import { htmlTable, type TableOptions } from 'mriseq';
 * const o: TableOptions = { digits: 3, columns: ['subject', 'psnr'], caption: 'PSNR (dB)', maxRows: 20 };
 * htmlTable([{ subject: 'a', psnr: 24.123, ssim: 0.8 }], o);
 * ```
 */
export interface TableOptions {
  /** Significant digits for numbers (default 4). */
  digits?: number;
  /** Column order; default: first-seen order over all rows. */
  columns?: string[];
  caption?: string;
  /** At most this many rows are rendered (default 200); the rest is counted. */
  maxRows?: number;
}

function formatCell(v: unknown, digits: number): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    if (!Number.isFinite(v)) return String(v);
    return Number(v.toPrecision(digits)).toString();
  }
  return String(v);
}

/**
 * A displayable table (see {@link htmlTable}).
 *
 * @example
 * ```ts
 * import { Table } from 'mriseq';
 * const t = new Table(['metric', 'value'], [['psnr', 24.51], ['ssim', 0.83]], { caption: 'T1 -> T1Gd' });
 * console.log(t.toText());
 * ```
 */
export class Table implements Displayable {
  readonly columns: string[];
  readonly rows: unknown[][];
  readonly caption?: string;
  private readonly digits: number;
  private readonly maxRows: number;

  constructor(columns: string[], rows: unknown[][], opts: TableOptions = {}) {
    this.columns = columns;
    this.rows = rows;
    this.caption = opts.caption;
    this.digits = opts.digits ?? 4;
    this.maxRows = opts.maxRows ?? 200;
  }

  toHtml(): string {
    const shown = this.rows.slice(0, this.maxRows);
    const head = this.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
    const body = shown
      .map(
        (r) =>
          '<tr>' +
          r
            .map(
              (v) =>
                `<td${typeof v === 'number' ? ' style="text-align:right"' : ''}>${escapeHtml(formatCell(v, this.digits))}</td>`,
            )
            .join('') +
          '</tr>',
      )
      .join('');
    const more =
      this.rows.length > shown.length
        ? `<tr><td colspan="${this.columns.length}">... ${this.rows.length - shown.length} more rows</td></tr>`
        : '';
    const caption = this.caption ? `<caption>${escapeHtml(this.caption)}</caption>` : '';
    return `<table class="mriseq-table">${caption}<thead><tr>${head}</tr></thead><tbody>${body}${more}</tbody></table>`;
  }

  toText(): string {
    const shown = this.rows.slice(0, this.maxRows).map((r) => r.map((v) => formatCell(v, this.digits)));
    const widths = this.columns.map((c, j) => Math.max(c.length, ...shown.map((r) => (r[j] ?? '').length)));
    const line = (cells: string[]) =>
      cells
        .map((s, j) => s.padEnd(widths[j]))
        .join('  ')
        .trimEnd();
    const out = [line(this.columns), line(widths.map((w) => '-'.repeat(w))), ...shown.map(line)];
    if (this.rows.length > shown.length) out.push(`... ${this.rows.length - shown.length} more rows`);
    if (this.caption) out.unshift(this.caption);
    return out.join('\n');
  }

  toMimeBundle(): RichOutput {
    return { data: { 'text/plain': this.toText(), 'text/html': this.toHtml() } };
  }
}

/**
 * A displayable table from rows of objects or a danfojs DataFrame.
 * @param source - Rows of objects, or a danfojs DataFrame.
 * @param opts - Significant `digits` (4), `columns`, `caption`, `maxRows` (200).
 * @returns A displayable {@link Table} (HTML and text).
 * @example
 * ```ts
 * import { display, htmlTable } from 'mriseq';
 * display(htmlTable([{ sequence: 't1gd', C_d: 0.912345 }, { sequence: 't1', C_d: -0.8 }], { caption: 'C_d', digits: 3 }));
 * ```
 */
export function htmlTable(source: Row[] | DataFrameLike, opts: TableOptions = {}): Table {
  if (isDataFrameLike(source)) {
    const cols = [...source.columns];
    const index = source.index;
    const withIndex = index && index.some((v, i) => v !== i);
    return new Table(
      withIndex ? ['', ...cols] : cols,
      source.values.map((r, i) => (withIndex ? [index[i], ...r] : r)),
      opts,
    );
  }
  const columns = opts.columns ?? [...new Set(source.flatMap((r) => Object.keys(r)))];
  return new Table(
    columns,
    source.map((r) => columns.map((c) => r[c])),
    opts,
  );
}
