/**
 * Downstream classification (browser-safe): 3D ResNet with CBAM attention over any combination of
 * sequences and M_d channels, seeded training with class weighting and early stopping, a
 * hierarchical classifier, AUC with bootstrap CI, ROC, per-class metrics and Grad-CAM.
 */
export { createRng, normal, permutation, type Rng } from './random.js';
export {
  rocCurve,
  rocAuc,
  multiclassAuc,
  aucWithCi,
  classificationReport,
  evaluateClassifier,
  argmax,
  AucMetric,
  type RocCurve,
  type AucWithCi,
  type ClassReport,
  type ClassifierEvaluation,
} from './metrics.js';
export {
  ResNet3d,
  blocksPerStage,
  groupNorm,
  cbam,
  type ResNet3dConfig,
  type ResNet3dOptions,
  type SerializedWeights,
  type ActivationHook,
  type CbamWeights,
} from './resnet.js';
export {
  trainClassifier,
  predictProbabilities,
  batchTensor,
  balancedClassWeights,
  stratifiedSplit,
  subset,
  checkDataset,
  type ClassifierDataset,
  type TrainClassifierOptions,
  type TrainClassifierResult,
  type TrainEpochEvent,
} from './train.js';
export { GradCam, gradCamVolume, resizeTrilinear, type GradCamResult } from './gradcam.js';
export {
  HierarchicalClassifier,
  treeLeaves,
  type ClassTree,
  type HierarchicalFitResult,
} from './hierarchical.js';
export {
  buildDownstreamDataset,
  splitDataset,
  selectChannels,
  runClassifier,
  compareWithMaps,
  runHierarchical,
  downstreamStudy,
  type DownstreamStudyOptions,
  type DownstreamStudyRow,
  treeFromGroups,
  normalizeForClassifier,
  maskBoxCentre,
  channelStatistics,
  standardizeChannels,
  type ChannelStandardization,
  ROBUST_CLIP,
  standardizeChoice,
  type StandardizeMethod,
  type StandardizeOption,
  type RoiOptions,
  downsampleVolume,
  stackChannels,
  differentiationMapProvider,
  subtractionMapProvider,
  type DownstreamCohort,
  type DownstreamSubject,
  type DownstreamDataset,
  type DownstreamDatasetOptions,
  type DownstreamRunOptions,
  type DownstreamRun,
  type MapProvider,
  type MapComparisonOptions,
  type HierarchicalRun,
} from './downstream.js';
export {
  seriesView,
  seriesMapProvider,
  seriesChannels,
  frameChannel,
  type SeriesViewOptions,
} from './series.js';
export {
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
} from './studies.js';
