/**
 * Deterministic sharding of subject ids for cluster jobs: a subject belongs to shard
 * hash(id) mod N, with the stable 32-bit FNV-1a hash of the id's UTF-8 bytes (the same rule as
 * src/scale's shardOf, which merges what `simulate --shard` writes; a test keeps them equal), so every job agrees without coordination and
 * adding subjects never moves existing ones to another shard.
 */
import { MriseqError } from '../errors/index.js';

/** The shard (0..count-1) a subject id belongs to. */
export function shardOf(id: string, count: number): number {
  if (!Number.isInteger(count) || count < 1)
    throw new MriseqError('invalid shard count', {
      field: 'shard',
      found: String(count),
      expected: 'a positive integer',
      code: 'shard.count',
    });
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(id)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % count;
}

export function inShard(id: string, shard: { index: number; count: number }): boolean {
  return shardOf(id, shard.count) === shard.index;
}

/** Parses "I/N" (0-based I, 0 <= I < N), as in `--shard 3/8` or a SLURM array task id. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count)
    throw new MriseqError('invalid shard', {
      field: '--shard',
      found: text,
      expected: 'I/N with 0 <= I < N, e.g. 0/4',
      code: 'shard.parse',
    });
  return { index, count };
}
