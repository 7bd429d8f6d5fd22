/**
 * The `--shard I/N` and `--fold K/F` options shared by the per-subject commands (evaluate, maps,
 * generate, train), following the shard-part convention of src/scale (see its index.ts):
 * subjects are taken in the canonical order, a shard writes under RUN/parts/<command>-I-of-N/
 * and finishes with its `_shard.json` marker, which `mriseq merge RUN` checks.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Cohort } from '../../cohort/index.js';
import {
  compareSubjectIds,
  foldSplit,
  parseFold,
  parseShard,
  selectShard,
  shardPartDir,
  writeShardMarker,
  type ShardSpec,
} from '../../scale/node.js';

export const SHARD_HELP =
  'only the subjects with shardOf(id, N) == I (0-based, as $SLURM_ARRAY_TASK_ID); writes RUN/parts/<command>-I-of-N/ for `mriseq merge RUN`';
export const REDO_HELP =
  'replace outputs made from other inputs (another model, other options, other data) or of unknown origin: they are removed first (without it such a rerun is refused)';

/**
 * Files matching `pattern` in the immediate subfolders of dir (a per-subject command's outputs),
 * relative to dir.
 */
export function subjectFiles(dir: string, pattern: RegExp): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (!d.isDirectory() || d.name === 'parts') continue;
    for (const f of readdirSync(join(dir, d.name))) if (pattern.test(f)) out.push(join(d.name, f));
  }
  return out;
}

export const FOLD_HELP =
  'cross-validation fold K of F (0-based): the subjects outside the recorded test split are dealt into F folds by a stable hash of their id';

export function shardOption(text: string | undefined): ShardSpec | undefined {
  return text === undefined ? undefined : parseShard(text);
}

export function foldOption(text: string | undefined): ShardSpec | undefined {
  return text === undefined ? undefined : parseFold(text);
}

/** `ids` in the canonical subject order (the order of every table and of the merge). */
export function canonical(ids: readonly string[]): string[] {
  return [...ids].sort(compareSubjectIds);
}

/**
 * The subjects cross-validation deals into folds: every subject of the cohort except those the
 * manifest records in its test split (the test split stays held out from every fold).
 */
export function foldPool(cohort: Cohort): string[] {
  return canonical(cohort.ids.filter((id) => cohort.subject(id).split !== 'test'));
}

/** Training and validation subjects of fold `fold` of the cohort, canonical order. */
export function cohortFold(cohort: Cohort, fold: ShardSpec): { train: string[]; validation: string[] } {
  return foldSplit(foldPool(cohort), fold);
}

/** What a (possibly sharded) per-subject command works on and where it writes. */
export interface ShardPlan {
  shard?: ShardSpec;
  /** Every subject the shards select from, canonical order. */
  all: string[];
  /** This shard's subjects (all of them without a shard), canonical order. */
  ids: string[];
  /** The folder the command writes into: `out` itself, or its shard's part folder. */
  dir: string;
  /** Writes the shard's `_shard.json` (nothing without a shard): call it after everything else. */
  finish(): void;
}

/**
 * For a command writing a folder `out` (maps, generate): `RUN/parts/<command>-I-of-N` with a shard.
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
 * For a command writing one table `out` (evaluate): the table goes to
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
