/**
 * Seeded, stratified train/validation/test splits: each stratum (a label value) is shuffled with
 * its own seeded generator and cut by largest remainders, so every split keeps the label mix and
 * the result depends only on the ids, the labels and the seed (never on row order).
 */
import { MriseqError } from '../errors/index.js';
import { Rng } from '../phantom/index.js';

export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}

export interface SplitAssignment {
  train: string[];
  val: string[];
  test: string[];
}

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
  for (const stratum of [...groups.keys()].sort()) {
    const ids = (groups.get(stratum) as string[]).slice().sort();
    const rng = Rng.stream(seed, 'split', stratum);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [ids[i], ids[j]] = [ids[j] as string, ids[i] as string];
    }
    const exact = f.map((x) => (x / total) * ids.length);
    const counts = exact.map(Math.floor);
    let left = ids.length - counts.reduce((a, b) => a + b, 0);
    const order = exact.map((x, k) => ({ k, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.k - b.k);
    for (const { k } of order) {
      if (left <= 0) break;
      counts[k] = (counts[k] as number) + 1;
      left--;
    }
    let start = 0;
    names.forEach((name, k) => {
      out[name].push(...ids.slice(start, start + (counts[k] as number)));
      start += counts[k] as number;
    });
  }
  return out;
}
