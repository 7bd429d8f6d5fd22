/** Node side of scale-out: part folders, merge, SLURM, the cell handle (see index.ts). */
export * from './index.js';
export {
  PARTS_DIR,
  SHARD_MARKER,
  shardPartDir,
  parsePartName,
  outputDirFor,
  writeShardMarker,
  subjectFiles,
  canonical,
  shardFolder,
  shardTable,
  type ShardMarker,
  type ShardPlan,
} from './layout.js';
export { mergeRun, type MergeOptions, type MergeReport } from './merge.js';
export {
  buildScripts,
  submitRun,
  runStatus,
  waitRun,
  cancelRun,
  retryRun,
  readRecord,
  formatStatus,
  failureError,
  arraySpec,
  isTerminal,
  isFailure,
  execSlurm,
  type SubmitOptions,
  type SlurmResources,
  type SlurmRecord,
  type Submission,
  type RunStatus,
  type ShardStatus,
  type WaitOptions,
  type Exec,
} from './slurm.js';
export { submit, attach, SlurmRun, statusMimeBundle, type MimeBundle } from './handle.js';
export { runSelftest, selftestSubjects, type SelftestOptions } from './selftest.js';
export {
  readSweepFile,
  configArgs,
  sweepPoints,
  readSweepPlan,
  mergeSweep,
  writeSweepPlan,
  type SweepConfig,
  type SweepPlan,
  type SweepPoint,
  type SweepReport,
  type SweepResult,
  type SweepRun,
} from './sweep.js';
