/**
 * Option values of the `mriseq` command line, parsed in one place: integers with a lower bound,
 * numbers in a range, volume sizes and lists. Each bad value is one MriseqError naming the flag,
 * what was given and what is expected (code 'cli.option').
 */
import { MriseqError } from '../errors/index.js';

/** An integer >= min (default 0); `Number.isSafeInteger`, so 1e21 is refused too. */
export function intOption(text: string, field: string, min = 0): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < min)
    throw new MriseqError(`expected an integer >= ${min}`, {
      field,
      found: JSON.stringify(text),
      expected: `an integer >= ${min}`,
      code: 'cli.option',
    });
  return n;
}

/** A finite number in [min, max]; `integer` refuses fractions. */
export function numberOption(text: string, field: string, min: number, max: number, integer = false): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v)))
    throw new MriseqError(`expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`, {
      field,
      found: JSON.stringify(text),
      expected: `${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`,
      code: 'cli.option',
    });
  return v;
}

/** A volume size 'NX,NY,NZ' (or NXxNYxNZ): three integers >= min, multiples of `multipleOf`. */
export function sizeOption(
  text: string,
  field = '--size',
  opts: { min?: number; multipleOf?: number } = {},
): [number, number, number] {
  const min = opts.min ?? 1;
  const m = opts.multipleOf ?? 1;
  const v = text.split(/[x,]/).map((p) => Number(p.trim()));
  if (v.length !== 3 || v.some((n) => !Number.isSafeInteger(n) || n < min || n % m !== 0))
    throw new MriseqError('bad volume size', {
      field,
      found: JSON.stringify(text),
      expected: `three integers >= ${min}${m > 1 ? `, multiples of ${m}` : ''}, e.g. 64,64,32`,
      code: 'cli.option',
    });
  return v as [number, number, number];
}

/** A comma-separated list, trimmed and lower-cased; undefined stays undefined. */
export function listOption(text: string | undefined): string[] | undefined {
  return text
    ?.split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}
