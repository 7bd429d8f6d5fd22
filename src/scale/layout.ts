/**
 * The on-disk convention every sharded command follows (see index.ts for the whole contract).
 * Node-only: paths and files.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomicSync } from '../reliability/node.js';
import { compareSubjectIds, selectShard, type ShardSpec } from './shard.js';

/** Folder under a run that holds one folder per shard part. */
export const PARTS_DIR = 'parts';
/** Written last by a shard into its part folder: it marks the part complete and lists its subjects. */
export const SHARD_MARKER = '_shard.json';
export const SHARD_MARKER_FORMAT = 'mriseq-shard/1';

/**
 * `RUN/parts/<command>-<I>-of-<N>`: where `command --out RUN --shard I/N` writes.
 * @param run - The run folder.
 * @param command - The command's name.
 * @param shard - The shard.
 * @returns The part folder of that shard.
 * @example
 * ```ts
 * import { shardPartDir } from 'mriseq';
 * console.log(shardPartDir('runs/x', 'simulate', { index: 0, count: 2 })); // runs/x/parts/simulate-0-of-2
 * ```
 */
export function shardPartDir(run: string, command: string, shard: ShardSpec): string {
  return join(resolve(run), PARTS_DIR, `${command}-${shard.index}-of-${shard.count}`);
}

/** Parses a part folder's name back into its command and shard. */
export function parsePartName(name: string): { command: string; shard: ShardSpec } | undefined {
  const m = /^(.+)-(\d+)-of-(\d+)$/.exec(name);
  if (!m) return undefined;
  const index = Number(m[2]);
  const count = Number(m[3]);
  if (!(count >= 1 && index < count)) return undefined;
  return { command: m[1], shard: { index, count } };
}

/** What `_shard.json` holds. */
export interface ShardMarker {
  format: typeof SHARD_MARKER_FORMAT;
  command: string;
  shard: ShardSpec;
  /** The subjects this shard wrote. */
  subjects: string[];
  /**
   * Every subject of the cohort the shard selected from (all shards must agree): lets the merge
   * name subjects that no shard wrote. Optional, but without it only duplicates are detected.
   */
  allSubjects?: string[];
}

/**
 * A shard calls this after writing everything else into its part folder.
 * {@link mergeRun} reads the marker: a part without one is incomplete.
 *
 * @param partDir - The shard's part folder.
 * @param info - The command, the shard, its subjects, and (for completeness checks) the whole cohort's.
 * @example
 * ```ts
 * import { shardPartDir, writeShardMarker } from 'mriseq';
 * const shard = { index: 0, count: 2 };
 * writeShardMarker(shardPartDir('/tmp/mriseq-run', 'custom', shard), { command: 'custom', shard, subjects: ['a'] });
 * ```
 */
export function writeShardMarker(
  partDir: string,
  info: { command: string; shard: ShardSpec; subjects: readonly string[]; allSubjects?: readonly string[] },
): void {
  const marker: ShardMarker = {
    format: SHARD_MARKER_FORMAT,
    command: info.command,
    shard: { index: info.shard.index, count: info.shard.count },
    subjects: [...info.subjects],
    ...(info.allSubjects ? { allSubjects: [...info.allSubjects] } : {}),
  };
  writeFileAtomicSync(join(partDir, SHARD_MARKER), JSON.stringify(marker, null, 1) + '\n');
}

/**
 * Where a command that may be sharded writes: `out` itself without a shard, its part folder with
 * one. Sharded commands write there exactly what they would write to `out`, for their subjects.
 * @param out - The command's --out folder.
 * @param command - The command's name.
 * @param shard - Its --shard, if any.
 * @returns `out`, or `out/parts/<command>-<I>-of-<N>`.
 * @example
 * ```ts
 * import { outputDirFor } from 'mriseq';
 * console.log(outputDirFor('runs/x', 'evaluate', { index: 1, count: 4 }));
 * ```
 */
export function outputDirFor(out: string, command: string, shard: ShardSpec | undefined): string {
  return shard ? shardPartDir(out, command, shard) : resolve(out);
}

/**
 * Files matching `pattern` in the immediate subfolders of dir (a per-subject command's outputs),
 * relative to dir.
 */
export function subjectFiles(dir: string, pattern: RegExp): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (!d.isDirectory() || d.name === PARTS_DIR) continue;
    for (const f of readdirSync(join(dir, d.name))) if (pattern.test(f)) out.push(join(d.name, f));
  }
  return out;
}

/** `ids` in the canonical subject order (the order of every table and of the merge). */
export function canonical(ids: readonly string[]): string[] {
  return [...ids].sort(compareSubjectIds);
}

/** What a (possibly sharded) per-subject pipeline works on and where it writes. */
export interface ShardPlan {
  shard?: ShardSpec;
  /** Every subject the shards select from, canonical order. */
  all: string[];
  /** This shard's subjects (all of them without a shard), canonical order. */
  ids: string[];
  /** The folder the pipeline writes into: `out` itself, or its shard's part folder. */
  dir: string;
  /** Writes the shard's `_shard.json` (nothing without a shard): call it after everything else. */
  finish(): void;
}

/**
 * For a pipeline writing a folder `out` (maps, generate): `RUN/parts/<command>-I-of-N` with a shard.
 */
export function shardFolder(
  command: string,
  out: string,
  all: readonly string[],
  shard: ShardSpec | undefined,
): ShardPlan {
  const sorted = canonical(all);
  const ids = selectShard(sorted, shard);
  const dir = shard ? shardPartDir(out, command, shard) : out;
  return {
    shard,
    all: sorted,
    ids,
    dir,
    finish: () => {
      if (shard) writeShardMarker(dir, { command, shard, subjects: ids, allSubjects: sorted });
    },
  };
}

/**
 * For a pipeline writing one table `out` (evaluate): the table goes to
 * `dirname(out)/parts/<command>-I-of-N/<basename(out)>` with a shard, so the run folder is the
 * table's folder and `mriseq merge` writes `out` itself.
 */
export function shardTable(
  command: string,
  out: string,
  all: readonly string[],
  shard: ShardSpec | undefined,
): ShardPlan & { file: string } {
  const plan = shardFolder(command, dirname(out), all, shard);
  return { ...plan, file: shard ? join(plan.dir, basename(out)) : out };
}
