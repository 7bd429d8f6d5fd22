/**
 * Seeded, stratified train/validation/test splits: each stratum (a label value) is shuffled with
 * its own seeded generator, then subjects are dealt to the split furthest behind its share (a
 * running quota over the whole cohort), so every split keeps the label mix, small strata still
 * reach the test set, and the result depends only on the ids, the labels and the seed.
 */
import { MriseqError } from '../errors/index.js';
import { Rng } from '../random/index.js';

/**
 * Shares of the train, validation and test splits: non-negative, normalised by their sum (so
 * 0.6/0.2/0.2 and 3/1/1 are the same split).
 * @example
 * ```ts
 * import { stratifiedSplit, type SplitFractions } from 'mriseq/browser';
 * const fractions: SplitFractions = { train: 3, val: 1, test: 1 };
 * const items = Array.from({ length: 10 }, (_, i) => ({ id: `s${i}`, stratum: 'all' }));
 * const s = stratifiedSplit(items, fractions, 0);
 * console.log(s.train.length, s.val.length, s.test.length); // 6 2 2
 * ```
 */
export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}

/**
 * The ids of each split, as {@link stratifiedSplit} deals them (every id in exactly one split;
 * within a split, in the order they were dealt).
 * @example
 * ```ts
 * import { stratifiedSplit, type SplitAssignment } from 'mriseq/browser';
 * const items = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, stratum: 'all' }));
 * const s: SplitAssignment = stratifiedSplit(items, { train: 0.6, val: 0.2, test: 0.2 }, 7);
 * console.log([...s.train, ...s.val, ...s.test].sort()); // [ 'a', 'b', 'c', 'd', 'e' ]
 * ```
 */
export interface SplitAssignment {
  train: string[];
  val: string[];
  test: string[];
}

/**
 * Seeded stratified train/val/test split: each stratum (label value) is shuffled with its own seeded
 * generator and dealt to the split furthest behind its share, so every split keeps the label mix.
 *
 * @param items - Subject ids with their stratum (e.g. the lesion type).
 * @param fractions - Shares of train, val and test (normalised by their sum).
 * @param seed - The split's seed: same ids, strata and seed give the same split.
 * @returns The ids of each split.
 * @throws {@link MriseqError} for negative fractions or fractions summing to 0.
 * @example
 * ```ts
 * import { stratifiedSplit } from 'mriseq';
 * const items = Array.from({ length: 10 }, (_, i) => ({ id: `s${i}`, stratum: i % 2 ? 'a' : 'b' }));
 * const { train, val, test } = stratifiedSplit(items, { train: 0.6, val: 0.2, test: 0.2 }, 1);
 * console.log(train.length, val.length, test.length); // 6 2 2
 * ```
 */
export function stratifiedSplit(
  items: readonly { id: string; stratum: string }[],
  fractions: SplitFractions,
  seed: number,
): SplitAssignment {
  const f = [fractions.train, fractions.val, fractions.test];
  const total = f.reduce((a, b) => a + b, 0);
  if (f.some((x) => !(x >= 0)) || !(total > 0))
    throw new MriseqError('invalid split fractions', {
      field: 'fractions',
      found: JSON.stringify(fractions),
      expected: 'non-negative train, val, test with a positive sum',
      code: 'split.fractions',
    });
  const groups = new Map<string, string[]>();
  for (const it of items) {
    const g = groups.get(it.stratum) ?? [];
    g.push(it.id);
    groups.set(it.stratum, g);
  }
  const out: SplitAssignment = { train: [], val: [], test: [] };
  const names = ['train', 'val', 'test'] as const;
  const assigned = [0, 0, 0];
  let seen = 0;
  for (const stratum of [...groups.keys()].sort()) {
    const ids = (groups.get(stratum) as string[]).slice().sort();
    const rng = Rng.stream(seed, 'split', stratum);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [ids[i], ids[j]] = [ids[j] as string, ids[i] as string];
    }
    for (const id of ids) {
      // The split furthest behind its share takes the next subject: shares hold within every
      // stratum (within a subject or two) and over the whole cohort, even for tiny strata.
      let best = 0;
      let bestDeficit = -Infinity;
      for (let k = 0; k < 3; k++) {
        const deficit = ((f[k] as number) / total) * (seen + 1) - (assigned[k] as number);
        if (deficit > bestDeficit + 1e-12) {
          best = k;
          bestDeficit = deficit;
        }
      }
      assigned[best] = (assigned[best] as number) + 1;
      seen++;
      out[names[best] as 'train'].push(id);
    }
  }
  return out;
}
