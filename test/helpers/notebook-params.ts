/**
 * A notebook's default parameters (its `parameters`-tagged cell): the paper profile of the
 * studies, which the gated claim tests rerun, read from the notebook itself so the two cannot drift.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const NOTEBOOKS = resolve(__dirname, '..', '..', 'notebooks');

export type ParamValue = string | number | boolean | ParamValue[] | { [k: string]: ParamValue };

/** `const name = value;` lines of the parameters cell, values parsed as JSON (single quotes allowed). */
export function notebookDefaults(prefix: string): Record<string, ParamValue> {
  const file = readdirSync(NOTEBOOKS).find((f) => f.startsWith(`${prefix}-`) && f.endsWith('.ipynb'));
  if (!file) throw new Error(`no notebook ${prefix}-*.ipynb in ${NOTEBOOKS}`);
  const nb = JSON.parse(readFileSync(join(NOTEBOOKS, file), 'utf8')) as {
    cells: { cell_type: string; metadata?: { tags?: string[] }; source: string | string[] }[];
  };
  const cell = nb.cells.find((c) => c.cell_type === 'code' && c.metadata?.tags?.includes('parameters'));
  if (!cell) throw new Error(`${file} has no parameters cell`);
  const text = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
  const out: Record<string, ParamValue> = {};
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim() || line.trim().startsWith('//')) continue;
    const m = /^const (\w+) = (.+?);\s*(\/\/.*)?$/.exec(line);
    if (!m) throw new Error(`${file} parameters line ${i + 1} is not \`const name = value;\`: ${line}`);
    try {
      out[m[1]] = JSON.parse(m[2].replace(/'([^']*)'/g, (_, s: string) => JSON.stringify(s))) as ParamValue;
    } catch {
      throw new Error(`${file} parameter ${m[1]}: ${m[2]} is not a JSON-like literal`);
    }
  }
  return out;
}

/** A notebook's CI parameters (notebooks/ci-params.json, keyed by its two-digit prefix); {} when it has none. */
export function notebookCiParams(prefix: string): Record<string, ParamValue> {
  const all = JSON.parse(readFileSync(join(NOTEBOOKS, 'ci-params.json'), 'utf8')) as Record<
    string,
    Record<string, ParamValue>
  >;
  return all[prefix] ?? {};
}
