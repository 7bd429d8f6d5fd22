/**
 * mriseq's public entry point for Node (scripts, the CLI and the TypeScript kernel).
 * Everything a notebook cell uses is exported from here. Each module adds its exports in its own
 * section below.
 *
 * @module mriseq
 */
import { useNode } from './platform/node.js';

// The one place the Node platform's adapters (engine, cohort files) are installed: importing
// 'mriseq' is all a notebook or script needs.
useNode();

// errors
export { MriseqError, isMriseqError, type MriseqErrorInfo } from './errors/index.js';
// interrupt (a kernel's stop button reaches mriseq's long-running loops)
export {
  setInterruptSignal,
  interruptSignal,
  signalOrInterrupt,
  stopRequested,
  yieldToHost,
  type InterruptSource,
} from './interrupt/index.js';
// engine
export {
  tf,
  initEngine,
  ensureEngine,
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
// csv: the one reader and writer of every table
export {
  parseCsv,
  csvRecords,
  formatCsv,
  formatCsvCell,
  escapeCsvCell,
  unescapeCsvCell,
  type CsvValue,
  type CsvRecord,
  type FormatCsvOptions,
  type ParseCsvOptions,
} from './csv/index.js';
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
  scanFolder,
  checkManifest,
  simulateToDisk,
  ManifestSource,
  type CheckReport,
  type ScanWarning,
  type ScanResult,
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
  DEFAULT_TRAIN_CACHE_BYTES,
  type SubjectStream,
  type TrainSubjects,
} from './train/index.js';
export {
  trainRun,
  saveCheckpoint,
  loadCheckpoint,
  loadGenerator,
  MODELS_ROOT,
  generatorFingerprint,
  trainDataFor,
  type TrainRunOptions,
  type TrainRunResult,
  type LoadedCheckpoint,
} from './train/node.js';
// pretrained: the generators mriseq ships
export {
  PRETRAINED_MODELS,
  pretrainedEntry,
  type ModelCard,
  type PretrainedEntry,
} from './pretrained/index.js';
export {
  loadPretrained,
  readModelCard,
  checkPretrainedPhantom,
  packPretrained,
  heldOutSubjects,
  pretrainedCohort,
  type PretrainedPhantomCheck,
  type PackOptions,
} from './pretrained/node.js';
// pipeline: the main job as one call
export { runDemo, type DemoOptions, type DemoResult, type DemoRecord } from './pipeline/node.js';
export { runFigures, writeRunFigures, type FiguresResult } from './pipeline/node.js';
export { writeCohortMaps, type CohortMapsOptions, type CohortMapsResult } from './pipeline/node.js';
export { generateCohort, type GenerateCohortOptions, type GenerateCohortResult } from './pipeline/node.js';
export {
  classifyCohort,
  type ClassifyCohortOptions,
  type ClassifyCohortResult,
  type HierarchicalSummary,
} from './pipeline/node.js';
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
  batchSynthesisScores,
  aucNonInferiority,
  compareTopK,
  topKSequences,
  evaluate,
  prepareVolume,
  phantomAcceptance,
  formatAcceptance,
  averageAcceptance,
  generatorFunction,
  asEvaluationModel,
  asEvaluationCohort,
  type AcceptanceReport,
  type TruthSubject,
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
  type UserMetric,
  rankingRecord,
  formatAcceptanceTable,
  acceptanceLines,
  formatAuthorsCsv,
  metricsNote,
  SYNTHESIS_METRICS,
  metricOrientation,
  type AcceptanceLine,
  type RowSet,
  type SeriesFrames,
  type MetricOrientation,
  type SynthesisMetricSpec,
  type BuiltinMetricName,
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
export {
  rocCurve as classifierRocCurve,
  type RocCurve as ClassifierRocCurve,
  rocAuc,
  multiclassAuc,
  aucWithCi,
  classificationReport,
  evaluateClassifier,
  AucMetric,
  type AucWithCi,
  type ClassReport,
  type ClassifierEvaluation,
  ResNet3d,
  groupNorm,
  cbam,
  type ResNet3dConfig,
  type ResNet3dOptions,
  trainClassifier,
  predictProbabilities,
  balancedClassWeights,
  type ClassifierDataset,
  type TrainClassifierOptions,
  type TrainClassifierResult,
  GradCam,
  gradCamVolume,
  resizeTrilinear,
  type GradCamResult,
  HierarchicalClassifier,
  treeLeaves,
  type ClassTree,
  buildDownstreamDataset,
  selectChannels,
  runClassifier,
  compareWithMaps,
  runHierarchical,
  downstreamStudy,
  type DownstreamStudyRow,
  treeFromGroups,
  normalizeForClassifier,
  downsampleVolume,
  differentiationMapProvider,
  subtractionMapProvider,
  type DownstreamCohort,
  type DownstreamDataset,
  type DownstreamRun,
  type MapProvider,
  type HierarchicalRun,
} from './classify/index.js';
export { saveClassifier, loadClassifier, writeGradCamNifti, mapsFromDirectory } from './classify/node.js';
// classify: regions of interest and the paper's downstream studies (claims 2 and 3, seed 2)
export {
  maskBoxCentre,
  channelStatistics,
  standardizeChannels,
  type ChannelStandardization,
  ROBUST_CLIP,
  type StandardizeMethod,
  type StandardizeOption,
  type RoiOptions,
  runChannelSets,
  mapsStudy,
  topKStudy,
  originStudy,
  type ChannelSetRun,
  type ChannelSetsResult,
  type StudyProgress,
  type MapsStudyOptions,
  type MapsStudyResult,
  type TopKStudyOptions,
  type TopKStudyResult,
  type OriginStudyOptions,
  type OriginStudyResult,
  type RegionShare,
} from './classify/index.js';
export { aucDifferenceTest, type AucDifferenceTest } from './analysis/index.js';
// cluster
export {
  hungarian,
  clusteringAccuracy,
  normalizedMutualInfo,
  adjustedRandIndex,
  silhouetteScore,
  kMeans,
  chooseK,
  type KMeansResult,
  ContrastiveAutoencoder,
  ntXentLoss,
  trainContrastiveAutoencoder,
  embed,
  decodeLatents,
  fitClusterGaussians,
  sampleImages,
  type ImageDataset,
  fitLogisticRegression,
  predictLogisticRegression,
  clusterImages,
  type ClusterImagesOptions,
  type ClusterImagesResult,
} from './cluster/index.js';
export {
  clusterStudy,
  clusterStudyFigure,
  CLUSTER_STUDY_METHODS,
  type ClusterStudyMethod,
  type ClusterStudyOptions,
  type ClusterScores,
  type ClusterStudyRun,
  type ClusterStudySummary,
  type ClusterStudyResult,
} from './cluster/index.js';
export { studentTCdf, studentTQuantile, seedInterval, type SeedInterval } from './analysis/index.js';
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
// reliability
export {
  acquireRunLock,
  LOCK_FILE,
  withRunLock,
  recoverFolder,
  findFolder,
  removeStaleTemps,
  type RunLock,
  type RunLockInfo,
} from './reliability/node.js';
// 3D and 4D: series (DCE) through metrics, maps, acceptance and classifiers (issue 30)
export { frameCount, volumeFrame, reduceFrames } from './volume/index.js';
export { seriesLengths } from './model/index.js';
export {
  compareFrames,
  frameColumns,
  frameValues,
  evaluationTemplate,
  summarizeMap,
  frameAucs,
  seriesSubtractionMap,
  acceptanceRecord,
  type SeriesScores,
} from './analysis/index.js';
export {
  seriesView,
  seriesMapProvider,
  seriesChannels,
  frameChannel,
  type SeriesViewOptions,
} from './classify/index.js';
// compiled TensorFlow functions and batched inference
export {
  generatePairs,
  predictStacks,
  releaseCompiled,
  stackBytes,
  type GeneratePairsOptions,
  type PredictOptions,
  type StackSource,
} from './model/index.js';
export { mapAccumulator, pairsFunction } from './analysis/index.js';
export { CompiledStep, CompileError, type CompiledStepOptions } from './train/index.js';
export {
  graphsAvailable,
  traceGraph,
  GraphFunction,
  type GraphStats,
  type TraceSpec,
} from './engine/index.js';
// what `mriseq train` trains on (manifest splits, folds, phantom, sequences), as one library call
export {
  selectTrainingData,
  type TrainingDataOptions,
  type TrainingData,
  type TrainingDataOption,
} from './train/index.js';
export { foldPool, cohortFold, resolveSequenceNames } from './cohort/index.js';
// platform adapters: installed above; exported for code that replaced them
export { useNode } from './platform/node.js';
