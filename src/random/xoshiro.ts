/**
 * A small seeded generator of our own (xoshiro128** seeded through splitmix32), so the phantom
 * is bit-identical on every JavaScript engine: only 32-bit integer arithmetic (Math.imul) decides
 * the stream, never Math.random or platform floating point.
 */

/**
 * splitmix32: scrambles one 32-bit state; used to seed and to derive independent streams.
 * @param state - A 32-bit integer.
 * @returns The next state (unsigned 32-bit).
 * @example
 * ```ts
 * import { splitmix32 } from 'mriseq/browser';
 * console.log(splitmix32(0), splitmix32(1));
 * ```
 */
export function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Mixes several integers (seed, subject index, stream name hash) into one 32-bit seed.
 * @param parts - Integers to combine.
 * @returns One unsigned 32-bit seed.
 * @example
 * ```ts
 * import { Rng, hashString, mixSeed } from 'mriseq/browser';
 * const r = new Rng(mixSeed(1, 42, hashString('bias')));
 * console.log(r.next());
 * ```
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x6a09e667;
  for (const p of parts) {
    h = splitmix32(h ^ (p >>> 0));
    // Numbers above 2^32 (large seeds) keep their high bits too.
    h = splitmix32(h ^ Math.floor(p / 4294967296));
  }
  return h;
}

/**
 * FNV-1a 32-bit hash over the UTF-8 bytes of a string: the phantom's stream names and which shard
 * or fold holds a subject. Stable across runs, machines and Node versions.
 * @param s - Any text.
 * @returns Its FNV-1a hash (unsigned 32-bit).
 * @example
 * ```ts
 * import { hashString } from 'mriseq/browser';
 * console.log(hashString('a').toString(16)); // 'e40c292c'
 * ```
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (const b of utf8.encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// UTF-8, not UTF-16 code units: a shard's subjects must be the same as any other tool hashing the
// id's bytes computes (for ASCII, the stream names, both agree).
const utf8 = new TextEncoder();

/**
 * The phantom's seeded generator (xoshiro128** seeded through splitmix32): only 32-bit integer
 * arithmetic decides the stream, so a seed gives the same numbers on every JavaScript engine. (The
 * one-integer-state generator for resumable streams is {@link Mulberry32}.)
 *
 * @example
 * ```ts
 * import { Rng } from 'mriseq/browser';
 * const r = Rng.stream(7, 3, 'noise'); // seed 7, subject 3, the 'noise' stream
 * console.log(r.next(), r.int(10), r.normal(), r.uniform(-1, 1));
 * ```
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | undefined;

  constructor(seed: number) {
    let x = seed >>> 0;
    x = splitmix32(x);
    this.s0 = x;
    x = splitmix32(x);
    this.s1 = x;
    x = splitmix32(x);
    this.s2 = x;
    x = splitmix32(x);
    this.s3 = x;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator with this exact xoshiro128** state (for reference vectors). */
  static fromState(s0: number, s1: number, s2: number, s3: number): Rng {
    const r = new Rng(0);
    r.s0 = s0 | 0;
    r.s1 = s1 | 0;
    r.s2 = s2 | 0;
    r.s3 = s3 | 0;
    return r;
  }

  /** A derived generator for a named purpose, independent of how much this one was used. */
  static stream(seed: number, ...parts: (number | string)[]): Rng {
    return new Rng(mixSeed(seed, ...parts.map((p) => (typeof p === 'string' ? hashString(p) : p))));
  }

  /** Next 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Marsaglia's polar method, both values used; no trigonometry). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    return u * m;
  }

  /**
   * Standard normal from one 32-bit draw through an inverse-CDF table with linear interpolation:
   * several times faster than the polar method, for the millions of noise samples a volume needs.
   * Tails are truncated at about 4.1 SD (the table's outermost knots).
   */
  normalFast(): number {
    const u = this.nextUint32();
    const k = u >>> 20; // 12 bits: bin
    const frac = (u & 0xfffff) / 1048576;
    const t = NORMAL_TABLE;
    return (t[k] as number) + ((t[k + 1] as number) - (t[k] as number)) * frac;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Inverse normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function inverseNormalCdf(p: number): number {
  const a = [
    -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
    2.506628277459239,
  ];
  const b = [
    -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1,
    -1.328068155288572e1,
  ];
  const c = [
    -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const lowTail = (q: number): number => {
    const r = Math.sqrt(-2 * Math.log(q));
    return (
      (((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5) /
      ((((d0 * r + d1) * r + d2) * r + d3) * r + 1)
    );
  };
  if (p < 0.02425) return lowTail(p);
  if (p > 1 - 0.02425) return -lowTail(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

/** 4097 knots of the inverse normal CDF at the bin edges k/4096, ends clamped to the half-bin points. */
const NORMAL_TABLE: Float64Array = (() => {
  const t = new Float64Array(4097);
  for (let k = 0; k <= 4096; k++)
    t[k] = inverseNormalCdf(Math.min(Math.max(k / 4096, 0.5 / 4096 / 8), 1 - 0.5 / 4096 / 8));
  return t;
})();
