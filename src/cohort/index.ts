/**
 * Cohorts: data manifests, the Cohort object, stratified splits, sharding and the training batch
 * loader. Browser-safe; the Node adapter (manifest files, NIfTI, danfojs, simulate-to-disk) is
 * ./node.ts.
 */
export {
  Cohort,
  Subject,
  PhantomSource,
  setCohortNodeAdapter,
  type SubjectEntry,
  type VolumeSource,
  type CohortOptions,
  type FromManifestOptions,
  type CohortNodeAdapter,
  type CohortDataFrame,
} from './cohort.js';
export {
  parseManifestText,
  parseManifestCsv,
  manifestToCsv,
  validateManifest,
  formatProblem,
  assertNoProblems,
  escapeCsvCell,
  unescapeCsvCell,
  parseCsv,
  classifyColumn,
  escapesLexically,
  KNOWN_SEQUENCES,
  type Manifest,
  type ManifestSubject,
  type ManifestProblem,
  type ManifestValue,
  type ParsedManifest,
  type Split,
} from './manifest.js';
export { MANIFEST_SCHEMA } from './schema.js';
export { stratifiedSplit, type SplitFractions, type SplitAssignment } from './split.js';
export { shardOf, inShard, parseShard, foldPool, cohortFold } from './shard.js';
export { resolveSequenceNames } from './names.js';
export { ByteLruCache } from './cache.js';
export { batchLoader, BatchLoader, type BatchLoaderOptions, type Batch } from './loader.js';
