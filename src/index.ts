/**
 * mriseq's public entry point for Node (scripts, the CLI and the TypeScript kernel).
 * Everything a notebook cell uses is exported from here. Each module adds its exports in its own
 * section below.
 */
import { setEngineAdapter } from './engine/index.js';
import { nodeEngineAdapter } from './engine/node.js';

setEngineAdapter(nodeEngineAdapter);

// errors
export { MriseqError, isMriseqError, type MriseqErrorInfo } from './errors/index.js';
// engine
export { tf, initEngine, engineReport, type EngineReport, type EngineOptions } from './engine/index.js';
// volume
export type { Volume, NiftiDatatypeName } from './volume/index.js';
// io
// phantom
// cohort
// model
// train
// analysis
export {
  psnr,
  ssim,
  ssimMap,
  meanAbsoluteError,
  meanSquaredError,
  synthesisScores,
  SynthesisMetrics,
  LPIPS_SKIPPED,
  contributionMatrix,
  rankSequences,
  formatRanking,
  parseEvaluationCsv,
  formatEvaluationCsv,
  voxelAuc,
  delong,
  differentiationMap,
  differentiationMaps,
  subtractionMap,
  regionStatistics,
  aucNonInferiority,
  compareTopK,
  topKSequences,
  evaluate,
  type SsimOptions,
  type MetricOptions,
  type SynthesisScores,
  type EvaluationRow,
  type ContributionMatrix,
  type RankingOptions,
  type SequenceContribution,
  type SequenceRanking,
  type GenerateFn,
  type RegionStatistics,
  type NonInferiorityOptions,
  type NonInferiorityResult,
  type DownstreamTask,
  type TopKComparison,
  type EvaluationModel,
  type EvaluationSubject,
  type EvaluationCohort,
  type EvaluateOptions,
} from './analysis/index.js';
export {
  evaluateToCsv,
  readEvaluationCsv,
  writeEvaluationCsv,
  toDataFrame,
  type EvaluationTable,
  type EvaluationDataFrame,
} from './analysis/node.js';
// classify
// cluster
// plot
// display
export * from './display/index.js';
