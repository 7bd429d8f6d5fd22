/**
 * Between Volumes (x fastest, [nx, ny, nz(, nt)]) and the generator's channels-last tensors:
 * the spec's intensity normalisation and patch extraction / placement for 2D (c_in adjacent z
 * slices as channels, H = ny, W = nx) and 3D ([D = nz, H = ny, W = nx, 1]).
 */
import type { Volume } from '../volume/index.js';
import { MriseqError } from '../errors/index.js';
import { own } from '../keys/index.js';

/**
 * A subject as the generator sees it: named sequences (missing ones absent).
 * A {@link PhantomSubject} is one; so is `{ id, volumes: await subject.loadAll() }` for a cohort subject.
 *
 * @example
 * ```ts
 * import { Cohort, type SubjectVolumes } from 'mriseq';
 * const cohort = Cohort.fromPhantom({ subjects: 2, size: [32, 32, 16] });
 * const s = cohort.subjects[0]!;
 * const subject: SubjectVolumes = { id: s.id, volumes: await s.loadAll() };
 * console.log(Object.keys(subject.volumes));
 * ```
 */
export interface SubjectVolumes {
  id: string;
  volumes: Partial<Record<string, Volume>>;
}

/** The spec's normalisation (clip to [0, 2 * p99], scale to [-1, 1]), owned by the volume module. */
export { normalizeIntensity } from '../volume/index.js';

/** Time points of a volume (1 for 3D). */
export function timePoints(v: Pick<Volume, 'shape'>): number {
  return v.shape.length > 3 ? v.shape[3] : 1;
}

/**
 * Copies a box of a volume into a channels-last buffer laid out [T, ...box, C]:
 * 2D: box [H, W] at (y0, x0), channels = z0..z0+c-1 -> [T, H, W, c];
 * 3D: box [D, H, W] at (z0, y0, x0) -> [T, D, H, W, 1].
 * Coordinates outside the volume are reflected (so padding to a multiple of 4 is reflect padding).
 * @param v - A 3D or 4D volume (normalised).
 * @param ndims - 2 (slice stacks) or 3 (patches).
 * @param origin - The box's first voxel.
 * @param size - The box: w × h (and d slices or depth).
 * @returns The box as [T, h, w, d] (2D: d channels) or [T, d, h, w, 1], flattened.
 * @example
 * ```ts
 * import { extractPatch, phantom } from 'mriseq/browser';
 * const t1 = phantom({ size: [32, 32, 16] }).subject(0).volumes.t1!;
 * const patch = extractPatch(t1, 2, { x: 0, y: 0, z: 7 }, { w: 32, h: 32, d: 3 });
 * console.log(patch.length); // 1 * 32 * 32 * 3
 * ```
 */
export function extractPatch(
  v: Volume,
  ndims: 2 | 3,
  origin: { x: number; y: number; z: number },
  size: { w: number; h: number; d: number },
): Float32Array {
  const [nx, ny, nz] = v.shape;
  const nt = timePoints(v);
  const plane = nx * ny;
  const vol = plane * nz;
  const out = new Float32Array(nt * size.d * size.h * size.w);
  const refl = (i: number, n: number): number => {
    if (n === 1) return 0;
    const p = 2 * (n - 1);
    let k = ((i % p) + p) % p;
    if (k >= n) k = p - k;
    return k;
  };
  let o = 0;
  for (let t = 0; t < nt; t++) {
    if (ndims === 2) {
      for (let y = 0; y < size.h; y++) {
        const yy = refl(origin.y + y, ny);
        for (let x = 0; x < size.w; x++) {
          const xx = refl(origin.x + x, nx);
          for (let c = 0; c < size.d; c++)
            out[o++] = v.data[t * vol + refl(origin.z + c, nz) * plane + yy * nx + xx];
        }
      }
    } else {
      for (let z = 0; z < size.d; z++) {
        const zz = refl(origin.z + z, nz);
        for (let y = 0; y < size.h; y++) {
          const yy = refl(origin.y + y, ny);
          for (let x = 0; x < size.w; x++)
            out[o++] = v.data[t * vol + zz * plane + yy * nx + refl(origin.x + x, nx)];
        }
      }
    }
  }
  return out;
}

/** Smallest multiple of m that is >= n. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

export function checkVolumesAgree(s: SubjectVolumes, names: string[]): Volume[] {
  const vols = names.map((n) => {
    const v = own(s.volumes, n);
    if (!v) {
      throw new MriseqError('sequence missing for this subject', {
        field: `${s.id}.${n}`,
        expected: `one of ${Object.keys(s.volumes).join(', ')}`,
        code: 'model.sequence',
      });
    }
    return v;
  });
  const ref = vols[0].shape.slice(0, 3).join('x');
  vols.forEach((v, i) => {
    if (v.shape.slice(0, 3).join('x') !== ref) {
      throw new MriseqError('sequences of one subject must share the voxel grid', {
        field: `${s.id}.${names[i]}`,
        found: v.shape.join('x'),
        expected: `${ref} like ${names[0]}`,
        code: 'model.grid',
      });
    }
  });
  return vols;
}

/**
 * The time points of each 4D sequence among the subjects (e.g. { dce: 6 }), for a generator's
 * config.timePoints: the most common count per sequence (ties: the larger); 3D sequences are left
 * out.
 * @param subjects - Subjects (only their volumes' shapes are read).
 * @param sequences - The sequences to look at.
 * @returns The length of each 4D sequence among them.
 * @example
 * ```ts
 * import { phantom, seriesLengths } from 'mriseq';
 * const p = phantom({ subjects: 2, size: [32, 32, 16], dce: true });
 * console.log(seriesLengths([p.subject(0), p.subject(1)], ['t1', 'dce'])); // { dce: 6 }
 * ```
 */
export function seriesLengths(
  subjects: Iterable<{ readonly volumes: Readonly<Record<string, Pick<Volume, 'shape'> | undefined>> }>,
  sequences: readonly string[],
): Record<string, number> {
  const out: Record<string, number> = {};
  const list = [...subjects];
  for (const name of sequences) {
    const counts = new Map<number, number>();
    for (const s of list) {
      const v = own(s.volumes, name);
      if (v) counts.set(timePoints(v), (counts.get(timePoints(v)) ?? 0) + 1);
    }
    let best = 1;
    let seen = 0;
    for (const [nt, c] of counts) if (c > seen || (c === seen && nt > best)) [best, seen] = [nt, c];
    if (best > 1) out[name] = best;
  }
  return out;
}
