/** Training the generator (browser-safe core). File checkpoints: ./node.ts (Node only). */
export {
  train,
  trainSteps,
  psnrOf,
  trainingStep,
  stepLoss,
  type StepLossOptions,
  FlatAdam,
  type StepSample,
  type TrainOptions,
  type TrainProgress,
  type TrainState,
  type TrainCheckpoint,
  type TrainResult,
  type LossTerms,
  type TrainRecipe,
  learningRate,
  flipLastSpatial,
  isBackground,
} from './train.js';
export { CompiledStep, CompileError, type CompiledStepOptions } from './compiled.js';
export {
  SubjectPool,
  DEFAULT_TRAIN_CACHE_BYTES,
  isSubjectStream,
  subjectCount,
  type SubjectStream,
  type TrainSubjects,
} from './pool.js';
