/**
 * Analysis: synthesis metrics, sequence contribution ranking (A, C_t, C_d), imaging-differentiation
 * maps (M_d), voxel-wise AUC and the top-k non-inferiority test. Browser-safe; file access lives in
 * ./node.ts.
 */
export {
  psnr,
  ssim,
  ssimMap,
  meanAbsoluteError,
  meanSquaredError,
  LPIPS_SKIPPED,
  DEFAULT_DATA_RANGE,
  type ArrayLike32,
  type MetricOptions,
  type SsimOptions,
  type SsimResult,
  type LpipsFn,
} from './metrics.js';
export {
  synthesisScores,
  compareVolumes,
  compareFrames,
  SynthesisMetrics,
  type SeriesScores,
} from './scores.js';
export {
  contributionMatrix,
  rankSequences,
  formatRanking,
  rankingRecord,
  defaultMetrics,
  bootstrapDraws,
  seededRandom,
  percentile,
  METRIC_ORIENTATION,
  ROW_SETS,
  SERIES_FRAMES,
  metricsNote,
  rowsOf,
  type RowSet,
  type SeriesFrames,
  type EvaluationRow,
  type ContributionOptions,
  type ContributionMatrix,
  type RankingOptions,
  type SequenceContribution,
  type SequenceRanking,
} from './contribution.js';
export {
  SYNTHESIS_METRICS,
  BUILTIN_METRICS,
  KNOWN_METRICS,
  metricOrientation,
  parseOrientations,
  type MetricOrientation,
  type MetricOrientations,
  type SynthesisMetricSpec,
  type SynthesisScores,
  type BuiltinMetricName,
} from './registry.js';
export {
  parseEvaluationCsv,
  formatEvaluationCsv,
  formatAuthorsCsv,
  parseCsvRecords,
  evaluationColumns,
  REQUIRED_COLUMNS,
  OPTIONAL_METRIC_COLUMNS,
} from './table.js';
export { voxelAuc, midranks, delong, type AucOptions, type DelongResult } from './auc.js';
export {
  differentiationMap,
  differentiationMaps,
  mapAccumulator,
  subtractionMap,
  seriesSubtractionMap,
  summarizeMap,
  frameAucs,
  regionStatistics,
  mapAucs,
  type GenerateFn,
  type DifferentiationMapOptions,
  type RegionStatistics,
} from './maps.js';
export {
  aucNonInferiority,
  aucDifferenceTest,
  type AucDifferenceTest,
  compareTopK,
  topKSequences,
  normalCdf,
  normalQuantile,
  type NonInferiorityOptions,
  type NonInferiorityResult,
  type DownstreamTask,
  type TopKComparison,
} from './noninferiority.js';
export {
  evaluate,
  rowKey,
  frameColumns,
  frameValues,
  evaluationTemplate,
  prepareVolume,
  type EvaluationModel,
  type EvaluationSubject,
  type EvaluationCohort,
  type EvaluateOptions,
  type UserMetric,
} from './evaluate.js';
export {
  phantomAcceptance,
  formatAcceptance,
  formatAcceptanceTable,
  acceptanceLines,
  acceptanceRecord,
  averageAcceptance,
  type AcceptanceLine,
  type AveragedAcceptance,
  type TruthSubject,
  type AcceptanceOptions,
  type AcceptanceReport,
} from './acceptance.js';
export { generatorFunction, pairsFunction, asEvaluationModel, asEvaluationCohort } from './adapters.js';
export { batchSynthesisScores } from './tensor-metrics.js';
export { studentTCdf, studentTQuantile, seedInterval, type SeedInterval } from './seeds.js';
