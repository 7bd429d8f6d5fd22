/**
 * Seeded randomness for the downstream models: every shuffle, bootstrap resample, weight init and
 * augmentation draws from here, so a run replays exactly from its seed on any backend. The
 * generator is src/random's mulberry32; this file only fixes how a seed starts it.
 */
import { mulberry32, normalFrom, permutation as permute } from '../random/index.js';

/** A deterministic uniform generator in [0, 1) (mulberry32). */
export interface Rng {
  (): number;
}

/**
 * A seeded uniform generator for the classifiers and clustering.
 * @param seed - Any integer; 0 starts from the golden-ratio constant, as the downstream runs always have.
 * @returns A function drawing the next number in [0, 1).
 */
export function createRng(seed: number): Rng {
  return mulberry32(seed >>> 0 || 0x9e3779b9);
}

/**
 * Standard normal draw (Box-Muller).
 * @param rng - A uniform generator.
 * @returns One N(0, 1) number.
 */
export function normal(rng: Rng): number {
  return normalFrom(rng);
}

/**
 * A new array holding 0..n-1 in a seeded random order (Fisher-Yates).
 * @param n - How many indices.
 * @param rng - A uniform generator.
 * @returns A permutation of 0..n-1.
 */
export function permutation(n: number, rng: Rng): number[] {
  return permute(n, rng);
}
