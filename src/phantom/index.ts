/**
 * The simulated cohort with known answers (shared/spec/phantom.md). Browser-safe.
 */
export {
  phantom,
  Phantom,
  simulateSubject,
  phantomSubjectInfo,
  phantomSubjectId,
  phantomSequences,
  phantomSpacing,
  designedImportanceOrder,
  resolvePhantomOptions,
  noiseSigmas,
  LESION_HIERARCHY,
  LESION_TYPES,
  LESION,
  type PhantomSequence,
  type PhantomOptions,
  type ResolvedPhantomOptions,
  type DceOptions,
  type PhantomSubject,
  type PhantomSubjectInfo,
  type PhantomTruth,
  type PhantomLabels,
  type LesionGroup,
  type LesionType,
  type KineticCurve,
} from './phantom.js';
export {
  TISSUE,
  TISSUE_NAMES,
  TISSUE_PROPERTIES,
  SEQUENCE_PARAMETERS,
  R1_PER_MM_MS,
  spinEcho,
  inversionRecovery,
  flairNullTI,
  contrastT1,
  diffusion,
  type TissueName,
  type TissueProperties,
} from './physics.js';
export { Rng, splitmix32, mixSeed, hashString } from '../random/index.js';
export { smoothField, type FieldOptions } from './field.js';
