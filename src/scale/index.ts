/**
 * Scale-out: sharding, cross-validation folds, SLURM job arrays and the merge.
 * This index is browser-safe (shard and fold selection, canonical order): computing-core modules
 * import it. Files, processes and SLURM are in ./node.ts (`import ... from '../scale/node.js'`).
 *
 * THE SHARD-PART CONVENTION (every per-subject command follows it):
 * - `--shard I/N` (0 <= I < N, 0-based like $SLURM_ARRAY_TASK_ID) selects the subjects with
 *   `shardOf(id, N) === I` (a stable hash of the subject id: independent of row order). Use
 *   `parseShard` for the option and `selectShard` / `selectShardRows` for the selection.
 * - A sharded command given `--out RUN` writes exactly what it would write to RUN unsharded, for
 *   its subjects only, into `RUN/parts/<command>-<I>-of-<N>/` (`outputDirFor(out, command, shard)` in node.ts).
 * - Tables (.csv/.tsv) carry a subject column (`subject`, `subject_id`, `subjectId` or `id`) and
 *   list rows in the canonical subject order `compareSubjectIds` (natural order: sub-2 before
 *   sub-10), in the single-process output too; a shard with no subjects still writes the header.
 * - Any other file is either per subject (e.g. `subjects/<id>/...`, maps folders) or has the same
 *   bytes in every shard (run parameters: never shard counts, timings or the shard's subject count).
 * - Last, the shard writes `_shard.json` with `writeShardMarker(dir, {command, shard, subjects,
 *   allSubjects})`; `allSubjects` (the whole cohort it selected from) lets the merge name subjects
 *   that no shard wrote.
 * - `mriseq merge RUN` (`mergeRun`) then writes the single-process result into RUN: tables
 *   concatenated and sorted, other files copied once; it names missing shards, unfinished shards,
 *   missing and duplicated subjects. Its summary goes to `RUN/parts/merge-<command>.json`.
 * - SLURM bookkeeping lives in `RUN/slurm.json` and `RUN/slurm/` (scripts, `logs/`).
 */
export {
  parseShard,
  formatShard,
  stableHash,
  shardOf,
  selectShard,
  selectShardRows,
  foldOf,
  foldSplit,
  parseFold,
  compareSubjectIds,
  type ShardSpec,
} from './shard.js';
