/**
 * The `--shard I/N` and `--fold K/F` options shared by the per-subject commands (evaluate, maps,
 * generate, train), following the shard-part convention of src/scale (see its index.ts):
 * subjects are taken in the canonical order, a shard writes under RUN/parts/<command>-I-of-N/
 * and finishes with its `_shard.json` marker, which `mriseq merge RUN` checks. The shard plans
 * themselves are the library's (src/scale/layout.ts), which the pipelines use.
 */
import { parseFold, parseShard, type ShardSpec } from '../../scale/node.js';

export const SHARD_HELP =
  'only the subjects with shardOf(id, N) == I (0-based, as $SLURM_ARRAY_TASK_ID); writes RUN/parts/<command>-I-of-N/ for `mriseq merge RUN`';
export const REDO_HELP =
  'replace outputs made from other inputs (another model, other options, other data) or of unknown origin: they are removed first (without it such a rerun is refused)';

export const FOLD_HELP =
  'cross-validation fold K of F (0-based): the subjects outside the recorded test split are dealt into F folds by a stable hash of their id';

export function shardOption(text: string | undefined): ShardSpec | undefined {
  return text === undefined ? undefined : parseShard(text);
}

export function foldOption(text: string | undefined): ShardSpec | undefined {
  return text === undefined ? undefined : parseFold(text);
}

export { subjectFiles, canonical, shardFolder, shardTable, type ShardPlan } from '../../scale/node.js';

// The folds of a cohort are the cohort module's (library calls such as selectTrainingData use them too).
export { foldPool, cohortFold } from '../../cohort/index.js';
