/**
 * A model's trainable parameters: named variables with their serialisation, and the Adam that
 * trains them (browser-safe).
 */
export { FlatAdam, TFJS_ADAM_EPSILON } from './adam.js';
export { ParamStore, type NamedWeights, type SerializedWeights, type WeightFit } from './store.js';
