/**
 * Lists of sequence names given on the command line: matched against the names the cohort or
 * model knows, exactly, or else case-insensitively when that picks exactly one (`T1` for `t1`).
 * An unknown name is an error: a target silently dropped would be an incomplete result.
 */
import { MriseqError } from '../../errors/index.js';

export function resolveNames(
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
