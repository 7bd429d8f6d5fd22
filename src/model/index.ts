/**
 * The Seq2Seq generator (browser-safe). Inference over whole volumes lives in ./generate.ts.
 */
export {
  Seq2Seq,
  createGenerator,
  preset,
  validateConfig,
  estimateParams,
  ParamStore,
  ConvBlock,
  ResBlock,
  HyperConv,
  HyperResBlock,
  ConvLSTM,
  type Seq2SeqConfig,
  type PresetName,
  PRESET_NAMES,
  type LinearInit,
  type NamedWeights,
  type HyperWeights,
  type DecoderWeights,
  type DecodeReuse,
} from './model.js';
export { reflectPad, upsample2x, instanceNorm, smoothL1, ssim as ssimLoss } from './ops.js';
// Kept under its old name for one release: the one-integer generator is src/random's Mulberry32.
export { Mulberry32 as Rng } from '../random/index.js';
export {
  generate,
  generatePairs,
  centredStacks,
  type GenerateOptions,
  type GeneratePairsOptions,
  type SliceStack,
} from './generate.js';
export {
  predictStacks,
  releaseCompiled,
  stackBytes,
  type PredictOptions,
  type StackSource,
} from './infer.js';
export { extractPatch, seriesLengths, type SubjectVolumes } from './data.js';
export {
  encodeWeights,
  decodeWeights,
  toFloat16Bits,
  fromFloat16Bits,
  WEIGHTS_FORMAT,
  type WeightsDtype,
  type WeightsManifest,
} from './weights.js';
