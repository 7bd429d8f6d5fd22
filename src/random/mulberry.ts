/**
 * mulberry32: the generator whose whole state is one 32-bit integer. A checkpoint stores that
 * integer and a resumed training draws exactly the numbers an uninterrupted one would have; the
 * bootstraps and the downstream classifiers use it for the same replayability. (The phantom uses
 * xoshiro128**, ./xoshiro.ts, whose streams can be derived by name.)
 */

/**
 * One mulberry32 step.
 * @param state - The current state (unsigned 32-bit).
 * @returns The next state and the uniform draw in [0, 1) it gives.
 */
function step(state: number): { state: number; value: number } {
  const s = (state + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return { state: s, value: ((t ^ (t >>> 14)) >>> 0) / 4294967296 };
}

/**
 * A uniform generator in [0, 1) as a plain function (mulberry32; the seed is the initial state).
 * @param seed - The initial state (taken as unsigned 32-bit).
 * @returns A function drawing the next number in [0, 1).
 * @example
 * ```ts
 * import { mulberry32 } from 'mriseq/browser';
 * const rand = mulberry32(1);
 * console.log(rand(), rand()); // the same two numbers on every platform
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    const r = step(a);
    a = r.state;
    return r.value;
  };
}

/**
 * A standard normal draw (Box-Muller) from a uniform generator; a draw of exactly 0 is redrawn.
 * @param next - A uniform generator in [0, 1).
 * @returns One N(0, 1) number (two uniform draws or more).
 * @example
 * ```ts
 * import { mulberry32, normalFrom } from 'mriseq/browser';
 * console.log(normalFrom(mulberry32(3)));
 * ```
 */
export function normalFrom(next: () => number): number {
  let u = 0;
  while (u === 0) u = next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

/**
 * 0..n-1 in a seeded random order (Fisher-Yates).
 * @param n - How many indices.
 * @param next - A uniform generator in [0, 1).
 * @returns A new array, a permutation of 0..n-1.
 * @example
 * ```ts
 * import { mulberry32, permutation } from 'mriseq/browser';
 * console.log(permutation(5, mulberry32(7))); // the same order for the same seed
 * ```
 */
export function permutation(n: number, next: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [p[i], p[j]] = [p[j] as number, p[i] as number];
  }
  return p;
}

/**
 * mulberry32 as an object with its state in view, so a checkpoint can store `state` and a resumed
 * run continue the stream exactly (the generator's training draws: sources, targets, crops, flips).
 *
 * @example
 * ```ts
 * import { Mulberry32 } from 'mriseq/browser';
 * const r = new Mulberry32(1);
 * const saved = r.state; // a checkpoint stores this
 * console.log(r.next(), r.int(4), r.pick(['t1', 't2']), new Mulberry32(saved).next() === new Mulberry32(1).next());
 * ```
 */
export class Mulberry32 {
  /** The whole state (unsigned 32-bit). */
  state: number;

  /** @param seed - The initial state (taken as unsigned 32-bit). */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    const r = step(this.state);
    this.state = r.state;
    return r.value;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }

  /** Standard normal (Box-Muller, {@link normalFrom}). */
  normal(): number {
    return normalFrom(() => this.next());
  }

  /** One of `items`, uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}
