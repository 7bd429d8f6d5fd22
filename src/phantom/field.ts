/**
 * Smooth random fields: a sum of a few random plane waves with low spatial frequencies. They give
 * blob boundaries, enhancement patterns, texture and the bias field. Evaluated separably (one
 * complex exponential table per axis) so a 64x64x32 field costs well under a millisecond per wave.
 */
import type { Rng } from '../random/index.js';

/**
 * Options of {@link smoothField}.
 *
 * @example
 * ```ts
 * import { type FieldOptions } from 'mriseq/browser';
 * const o: FieldOptions = { waves: 16, minFrequency: 1, maxFrequency: 3, box: [0, 15, 0, 15, 2, 5] };
 * console.log(o.waves);
 * ```
 */
export interface FieldOptions {
  /** Number of plane waves; more waves look less periodic. */
  waves?: number;
  /** Lowest and highest spatial frequency, in cycles across the volume. */
  minFrequency?: number;
  maxFrequency?: number;
  /** Only evaluate inside this box of voxel indices [x0, x1, y0, y1, z0, z1] (inclusive); zero elsewhere. */
  box?: readonly [number, number, number, number, number, number];
}

/**
 * A field of roughly unit standard deviation (random phases make each wave's variance 1/2, the
 * amplitudes sqrt(2/K) make the sum's variance 1), x fastest.
 * A smooth random field: a sum of plane waves with random directions, frequencies and phases (the
 * phantom's bias field and texture).
 *
 * @param rng - The generator (seeded).
 * @param shape - [nx, ny, nz].
 * @param options - Waves, frequency range (cycles across the volume), evaluation box.
 * @returns nx·ny·nz values, x fastest.
 * @example
 * ```ts
 * import { Rng, smoothField } from 'mriseq/browser';
 * const f = smoothField(new Rng(1), [16, 16, 8], { waves: 8, minFrequency: 0.5, maxFrequency: 2 });
 * console.log(f.length); // 2048
 * ```
 */
export function smoothField(rng: Rng, shape: readonly number[], options: FieldOptions = {}): Float32Array {
  const [nx, ny, nz] = shape as [number, number, number];
  const waves = options.waves ?? 6;
  const fmin = options.minFrequency ?? 0.5;
  const fmax = options.maxFrequency ?? 2.5;
  const out = new Float32Array(nx * ny * nz);
  const [bx0, bx1, by0, by1, bz0, bz1] = options.box ?? [0, nx - 1, 0, ny - 1, 0, nz - 1];
  const amp = Math.sqrt(2 / waves);
  const cx = new Float64Array(nx);
  const sx = new Float64Array(nx);
  const tr = new Float64Array(ny * nz);
  const ti = new Float64Array(ny * nz);
  for (let w = 0; w < waves; w++) {
    // Random direction on the sphere, random frequency magnitude, random phase.
    const u = rng.uniform(-1, 1);
    const phi = rng.uniform(0, 2 * Math.PI);
    const s = Math.sqrt(1 - u * u);
    const f = rng.uniform(fmin, fmax);
    const kx = (2 * Math.PI * f * s * Math.cos(phi)) / nx;
    const ky = (2 * Math.PI * f * s * Math.sin(phi)) / ny;
    const kz = (2 * Math.PI * f * u) / nz;
    const phase = rng.uniform(0, 2 * Math.PI);
    for (let x = bx0; x <= bx1; x++) {
      cx[x] = Math.cos(kx * x);
      sx[x] = Math.sin(kx * x);
    }
    for (let z = bz0; z <= bz1; z++) {
      for (let y = by0; y <= by1; y++) {
        const a = ky * y + kz * z + phase;
        tr[z * ny + y] = amp * Math.cos(a);
        ti[z * ny + y] = amp * Math.sin(a);
      }
    }
    for (let z = bz0; z <= bz1; z++) {
      for (let y = by0; y <= by1; y++) {
        const r = tr[z * ny + y] as number;
        const im = ti[z * ny + y] as number;
        let i = (z * ny + y) * nx + bx0;
        for (let x = bx0; x <= bx1; x++, i++) {
          // Re(e^{i kx x} * e^{i(ky y + kz z + phase)})
          out[i] = (out[i] as number) + ((cx[x] as number) * r - (sx[x] as number) * im);
        }
      }
    }
  }
  return out;
}
