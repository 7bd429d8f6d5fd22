/**
 * Seeded randomness, written once for the whole project. Two generators, each for a reason:
 * xoshiro128** ({@link Rng}) for the phantom, whose streams are derived from (seed, subject, name)
 * so one subject's volumes do not depend on the others; mulberry32 ({@link Mulberry32},
 * {@link mulberry32}) where a stream must be saved and resumed as one integer (training, bootstraps,
 * classifiers). Both use only 32-bit integer arithmetic, so a seed gives the same numbers on every
 * JavaScript engine. FNV-1a ({@link hashString}) names streams and places subjects in shards.
 */
export { Rng, splitmix32, mixSeed, hashString, inverseNormalCdf } from './xoshiro.js';
export { Mulberry32, mulberry32, normalFrom, permutation } from './mulberry.js';
