/**
 * Deterministic sharding of subject ids for cluster jobs. The rule (a stable FNV-1a hash of the
 * id, mod N) lives in src/scale, whose merge combines what `simulate --shard` writes: one
 * definition, so a shard written here is always the shard the merge expects.
 */
import { shardOf, type ShardSpec } from '../scale/index.js';

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
