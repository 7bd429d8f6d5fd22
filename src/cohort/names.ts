/**
 * Lists of sequence names a user gives (a command-line flag, a notebook option): matched against
 * the names the cohort or model knows, exactly, or else case-insensitively when that picks exactly
 * one (`T1` for `t1`). An unknown name is an error: a target silently dropped would be an
 * incomplete result. Browser-safe.
 */
import { MriseqError } from '../errors/index.js';

/**
 * The sequences a comma-separated list names, spelled as `known` spells them, in the list's order
 * without repeats: each name matches exactly, or else case-insensitively when that picks exactly
 * one known name.
 * @param text - Comma-separated names (blank entries are skipped); undefined: nothing was asked.
 * @param known - The names the data or model know.
 * @param field - The option the list came from, named by the error (e.g. '--sequences').
 * @returns The resolved names (empty when the list names none), or undefined for undefined text.
 * @throws {@link MriseqError} 'cli.sequences' naming every unknown name and the known ones.
 * @example
 * ```ts
 * import { resolveSequenceNames } from 'mriseq/browser';
 * console.log(resolveSequenceNames('T2, flair,t2', ['t1', 't2', 'flair'], 'sequences')); // [ 't2', 'flair' ]
 * console.log(resolveSequenceNames(undefined, ['t1'], 'sequences')); // undefined
 * ```
 */
export function resolveSequenceNames(
  text: string | undefined,
  known: readonly string[],
  field: string,
): string[] | undefined {
  if (text === undefined) return undefined;
  const out: string[] = [];
  const unknown: string[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (!name) continue;
    const folded = known.filter((k) => k.toLowerCase() === name.toLowerCase());
    const hit = known.includes(name) ? name : folded.length === 1 ? folded[0] : undefined;
    if (hit === undefined) unknown.push(name);
    else if (!out.includes(hit)) out.push(hit);
  }
  if (unknown.length)
    throw new MriseqError(`unknown sequence${unknown.length > 1 ? 's' : ''}`, {
      field,
      found: unknown.join(', '),
      expected: known.join(', ') || 'a sequence of the cohort',
      code: 'cli.sequences',
    });
  return out;
}
