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
  type NamedWeights,
  type HyperWeights,
  type DecoderWeights,
  type DecodeReuse,
} from './model.js';
export { reflectPad, upsample2x, instanceNorm, smoothL1, ssim as ssimLoss } from './ops.js';
export { Rng } from './random.js';
export { generate, generatePairs, type GenerateOptions, type GeneratePairsOptions } from './generate.js';
export {
  predictStacks,
  releaseCompiled,
  stackBytes,
  type PredictOptions,
  type StackSource,
} from './infer.js';
export { extractPatch, type SubjectVolumes } from './data.js';
