/**
 * `mriseq slurm selftest`: a tiny per-subject command that follows the sharding convention
 * exactly as a real one must (deterministic per-subject output, a subject table, shard-invariant
 * parameters, a marker written last). It lets the SLURM machinery and `mriseq merge` be checked
 * on a real scheduler without the cost of simulating MRI. Node-only.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MriseqError } from '../errors/index.js';
import { outputDirFor, writeShardMarker } from './layout.js';
import { writeFileAtomicSync } from '../reliability/node.js';
import { formatCsv, type CsvValue } from '../csv/index.js';
import { selectShard, stableHash, type ShardSpec } from './shard.js';
import { mulberry32 } from '../random/index.js';

export interface SelftestOptions {
  out: string;
  subjects: number;
  seed?: number;
  /** Edge length of each subject's cube (default 32). */
  size?: number;
  shard?: ShardSpec;
  /** Fail (exit non-zero) while this file exists: a shard that fails until the cause is fixed. */
  failWhile?: string;
  /** Only shards with these indices fail (default: all, while failWhile exists). */
  failShards?: number[];
  /** Seconds to sleep first (a long-running shard, for cancel tests). */
  sleep?: number;
}

/** Subject ids without zero padding, so the canonical (natural) order matters. */
export function selftestSubjects(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `sub-${i + 1}`);
}

function cube(id: string, seed: number, size: number): Float32Array {
  // Seeded by the subject id and the run seed: the same bytes whichever shard runs it.
  const next = mulberry32(stableHash(`${seed}:${id}`));
  const v = new Float32Array(size * size * size);
  for (let i = 0; i < v.length; i++) v[i] = next();
  return v;
}

export async function runSelftest(opts: SelftestOptions): Promise<{ dir: string; subjects: string[] }> {
  if (opts.sleep) await new Promise((r) => setTimeout(r, (opts.sleep ?? 0) * 1000));
  const seed = opts.seed ?? 0;
  const size = opts.size ?? 32;
  if (!Number.isSafeInteger(opts.subjects) || opts.subjects < 1) {
    throw new MriseqError('need at least one subject', {
      field: '--subjects',
      found: String(opts.subjects),
      code: 'scale.selftest',
    });
  }
  const failing = opts.failWhile !== undefined && existsSync(opts.failWhile);
  if (failing && (!opts.failShards || (opts.shard && opts.failShards.includes(opts.shard.index)))) {
    throw new MriseqError('selftest shard told to fail', {
      file: opts.failWhile,
      field: opts.shard ? `shard ${opts.shard.index}/${opts.shard.count}` : undefined,
      expected: 'the file to be gone',
      code: 'scale.selftest.fail',
    });
  }
  const all = selftestSubjects(opts.subjects);
  const mine = selectShard(all, opts.shard);
  const dir = outputDirFor(opts.out, 'selftest', opts.shard);
  writeFileAtomicSync(
    join(dir, 'selftest.json'),
    JSON.stringify({ subjects: opts.subjects, seed, size }, null, 1) + '\n',
  );
  const rows: CsvValue[][] = [];
  for (const id of mine) {
    const v = cube(id, seed, size);
    let sum = 0;
    for (const x of v) sum += x;
    rows.push([id, seed, (sum / v.length).toFixed(6)]);
    writeFileAtomicSync(join(dir, 'subjects', id, 'cube.f32'), new Uint8Array(v.buffer));
  }
  writeFileAtomicSync(join(dir, 'manifest.csv'), formatCsv(['subject', 'seed', 'mean'], rows));
  if (opts.shard)
    writeShardMarker(dir, { command: 'selftest', shard: opts.shard, subjects: mine, allSubjects: all });
  return { dir, subjects: mine };
}
