/**
 * Deterministic sharding of subject ids for cluster jobs. The rule (a stable FNV-1a hash of the
 * id, mod N) lives in src/scale, whose merge combines what `simulate --shard` writes: one
 * definition, so a shard written here is always the shard the merge expects.
 */
import { compareSubjectIds, foldSplit, shardOf, type ShardSpec } from '../scale/index.js';
import type { Cohort } from './cohort.js';

export { shardOf, parseShard } from '../scale/index.js';

/**
 * Whether a subject belongs to a shard: `shardOf(id, shard.count) === shard.index` (a stable
 * FNV-1a hash of the id), so a subject's shard depends only on its id and the shard count, never
 * on the cohort's order or size.
 * @param id - A subject id.
 * @param shard - The shard, e.g. parseShard('0/3') (0-based index of count).
 * @returns true when the subject is in the shard; each id is in exactly one of the count shards.
 * @throws {@link MriseqError} 'scale.shard' when the count is not a positive integer.
 * @example
 * ```ts
 * import { inShard, parseShard, shardOf } from 'mriseq/browser';
 * const ids = ['sub-1', 'sub-2', 'sub-3', 'sub-4', 'sub-5', 'sub-6'];
 * console.log(ids.map((id) => shardOf(id, 3))); // [ 2, 1, 0, 2, 1, 0 ]
 * console.log(ids.filter((id) => inShard(id, parseShard('0/3')))); // [ 'sub-3', 'sub-6' ]
 * ```
 */
export function inShard(id: string, shard: ShardSpec): boolean {
  return shardOf(id, shard.count) === shard.index;
}

/**
 * The subjects cross-validation deals into folds: every subject of the cohort except those the
 * manifest records in its test split (the test split stays held out from every fold), in the
 * canonical subject order (src/scale's compareSubjectIds, the order of every table and merge).
 * @param cohort - The cohort.
 * @returns The ids outside the recorded test split, canonical order.
 * @example
 * ```ts
 * import { Cohort, foldPool } from 'mriseq/browser';
 * const cohort = Cohort.fromPhantom({ subjects: 6 }).withSplit({ fractions: { train: 0.5, val: 0, test: 0.5 } });
 * console.log(foldPool(cohort).length); // the subjects not in the test split
 * ```
 */
export function foldPool(cohort: Cohort): string[] {
  return cohort.ids.filter((id) => cohort.subject(id).split !== 'test').sort(compareSubjectIds);
}

/**
 * Training and validation subjects of one cross-validation fold of a cohort: the {@link foldPool}
 * dealt into `fold.count` folds by a stable hash of each id (src/scale's foldSplit); fold
 * `fold.index` validates, the others train. Canonical order, as `mriseq train --fold K/F`.
 * @param cohort - The cohort.
 * @param fold - The fold: 0-based `index` of `count` folds (parseFold('1/5') reads `mriseq`'s K/F).
 * @returns The training and validation ids.
 * @example
 * ```ts
 * import { Cohort, cohortFold } from 'mriseq/browser';
 * const { train, validation } = cohortFold(Cohort.fromPhantom({ subjects: 10 }), { index: 0, count: 5 });
 * console.log(train.length + validation.length); // 10: every subject is in one of the two
 * ```
 */
export function cohortFold(cohort: Cohort, fold: ShardSpec): { train: string[]; validation: string[] } {
  return foldSplit(foldPool(cohort), fold);
}
