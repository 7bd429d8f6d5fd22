/**
 * A small seeded generator whose whole state is one 32-bit integer, so a checkpoint can store it
 * and a resumed run draws exactly the numbers an uninterrupted run would have drawn.
 * Exported by the browser build as `ModelRng` (the phantom's generator is `Rng`).
 *
 * @example
 * ```ts
 * import { ModelRng } from 'mriseq/browser';
 * const r = new ModelRng(1);
 * const saved = r.state; // a checkpoint stores this
 * console.log(r.next(), r.int(4), r.pick(['t1', 't2']), new ModelRng(saved).next() === new ModelRng(1).next());
 * ```
 */
export class Rng {
  state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1) (mulberry32). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}
