/**
 * Deterministic sharding of subject ids for cluster jobs. The rule (a stable FNV-1a hash of the
 * id, mod N) lives in src/scale, whose merge combines what `simulate --shard` writes: one
 * definition, so a shard written here is always the shard the merge expects.
 */
import { shardOf, type ShardSpec } from '../scale/index.js';

export { shardOf, parseShard } from '../scale/index.js';

export function inShard(id: string, shard: ShardSpec): boolean {
  return shardOf(id, shard.count) === shard.index;
}
