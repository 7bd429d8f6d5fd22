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
export {
  tf,
  initEngine,
  engineReport,
  engineBackends,
  registerWasmKernels,
  type EngineReport,
  type EngineOptions,
  type WasmKernelReport,
} from './engine/index.js';
// volume
export {
  createVolume,
  sliceVolume,
  extractBox,
  cropVolume,
  padVolume,
  cropOrPad,
  percentile,
  normalizeIntensity,
  volumeStats,
  resampleVolume,
  reorientToRAS,
  axisCodes,
  voxelOrientation,
  volumeToTensor,
  tensorToVolume,
  type Volume,
  type VolumeHeader,
  type NiftiDatatypeName,
  type Affine,
  type CreateVolumeOptions,
  type Slice2D,
  type NormalizeOptions,
  type ResampleOptions,
} from './volume/index.js';
// io
export {
  readNifti,
  readNiftiBytes,
  readNiftiHeader,
  writeNifti,
  encodeNifti,
  convertNifti,
  type ReadNiftiOptions,
  type WriteNiftiOptions,
  type NiftiHeader,
} from './io/index.js';
// phantom
export {
  phantom,
  Phantom,
  simulateSubject,
  phantomSubjectInfo,
  designedImportanceOrder,
  LESION_HIERARCHY,
  LESION_TYPES,
  LESION,
  TISSUE,
  TISSUE_NAMES,
  TISSUE_PROPERTIES,
  SEQUENCE_PARAMETERS,
  type PhantomSequence,
  type PhantomOptions,
  type PhantomSubject,
  type PhantomSubjectInfo,
  type PhantomTruth,
  type PhantomLabels,
  type LesionGroup,
  type LesionType,
} from './phantom/index.js';
// cohort
export {
  Cohort,
  Subject,
  batchLoader,
  BatchLoader,
  parseManifestText,
  manifestToCsv,
  validateManifest,
  formatProblem,
  stratifiedSplit,
  MANIFEST_SCHEMA,
  type SubjectEntry,
  type VolumeSource,
  type CohortOptions,
  type CohortDataFrame,
  type Manifest,
  type ManifestSubject,
  type ManifestProblem,
  type BatchLoaderOptions,
  type Batch,
} from './cohort/index.js';
export {
  readManifest,
  writeManifest,
  scanManifest,
  checkManifest,
  simulateToDisk,
  ManifestSource,
  type CheckReport,
  type SimulateToDiskOptions,
} from './cohort/node.js';
// model
export {
  Seq2Seq,
  createGenerator,
  preset,
  generate,
  type Seq2SeqConfig,
  type PresetName,
  type NamedWeights,
  type GenerateOptions,
  type SubjectVolumes,
} from './model/index.js';
// train
export {
  train,
  trainSteps,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  type TrainState,
  type TrainCheckpoint,
  type LossTerms,
} from './train/index.js';
export {
  trainRun,
  saveCheckpoint,
  loadCheckpoint,
  loadGenerator,
  type TrainRunOptions,
  type TrainRunResult,
  type LoadedCheckpoint,
} from './train/node.js';
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
  mapAucs,
  compareVolumes,
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
  writeDifferentiationMaps,
  type WrittenMaps,
  type EvaluationTable,
  type EvaluationDataFrame,
} from './analysis/node.js';
// classify
// cluster
// plot
export * from './plot/index.js';
export {
  FigureExporter,
  exportFigure,
  closeFigureExporter,
  figureHtml,
  writeFigure,
  showFigure,
  type ImageFormat,
  type ExportOptions,
  type WrittenFigure,
} from './plot/node.js';
// display
export * from './display/index.js';
// scale
export {
  submit,
  attach,
  SlurmRun,
  submitRun,
  runStatus,
  waitRun,
  cancelRun,
  retryRun,
  mergeRun,
  parseShard,
  shardOf,
  selectShard,
  selectShardRows,
  foldOf,
  foldSplit,
  parseFold,
  compareSubjectIds,
  outputDirFor,
  shardPartDir,
  writeShardMarker,
  type ShardSpec,
  type SubmitOptions,
  type RunStatus,
  type ShardStatus,
  type MergeReport,
} from './scale/node.js';
