/** Voxel-grid helpers a cell needs: slices, crop/pad, percentile normalisation. */
import { MriseqError } from '../errors/index.js';
import { matmul4 } from './affine.js';
import { withData, frameSize } from './create.js';
import type { Volume } from './types.js';

/**
 * A 2D image cut from a volume by {@link sliceVolume}.
 *
 * @example
 * ```ts
 * import { createVolume, sliceVolume, type Slice2D } from 'mriseq';
 * const s: Slice2D = sliceVolume(createVolume(new Float32Array(6 * 4 * 2), [6, 4, 2]), 2, 0);
 * console.log(s.data[1 * s.width + 2]); // row 1, column 2
 * ```
 */
export interface Slice2D {
  /** Row-major values: `data[row * width + col]`. */
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

function checkAxis(axis: number, field = 'axis'): void {
  if (![0, 1, 2].includes(axis))
    throw new MriseqError('no such spatial axis', {
      field,
      found: String(axis),
      expected: '0 (x), 1 (y) or 2 (z)',
      code: 'volume.axis',
    });
}

/**
 * The 2D slice perpendicular to `axis` at `index` (frame `t` of a 4D volume). The remaining axes
 * keep their order: the lower one runs along a row (width), the higher one down the rows, so an
 * axial slice (axis 2) has height ny and width nx as the team's [H, W] convention says.
 * @param vol - A 3D or 4D volume.
 * @param axis - 0 (sagittal, x), 1 (coronal, y) or 2 (axial, z).
 * @param index - The voxel index along `axis`.
 * @param t - The frame of a 4D volume (default 0).
 * @returns A {@link Slice2D}, row-major.
 * @throws {@link MriseqError} 'volume.axis' for another axis, 'volume.index' for an index or frame out of range.
 * @example
 * ```ts
 * import { phantom, sliceVolume } from 'mriseq';
 * const t1 = phantom({ subjects: 1, size: [32, 32, 16] }).subject(0).volumes.t1!;
 * const axial = sliceVolume(t1, 2, 8);
 * console.log(axial.width, axial.height); // 32 32
 * ```
 */
export function sliceVolume(vol: Volume, axis: number, index: number, t = 0): Slice2D {
  checkAxis(axis);
  const [nx, ny, nz] = vol.shape;
  const nt = vol.shape[3] ?? 1;
  if (!Number.isInteger(index) || index < 0 || index >= vol.shape[axis])
    throw new MriseqError('slice index out of range', {
      field: 'index',
      found: String(index),
      expected: `an integer in [0, ${vol.shape[axis] - 1}]`,
      code: 'volume.index',
    });
  if (!Number.isInteger(t) || t < 0 || t >= nt)
    throw new MriseqError('frame index out of range', {
      field: 't',
      found: String(t),
      expected: `an integer in [0, ${nt - 1}]`,
      code: 'volume.index',
    });
  const base = t * nx * ny * nz;
  const src = vol.data;
  if (axis === 2) {
    return { data: src.slice(base + index * nx * ny, base + (index + 1) * nx * ny), width: nx, height: ny };
  }
  if (axis === 1) {
    const out = new Float32Array(nx * nz);
    for (let z = 0; z < nz; z++)
      out.set(src.subarray(base + (z * ny + index) * nx, base + (z * ny + index + 1) * nx), z * nx);
    return { data: out, width: nx, height: nz };
  }
  const out = new Float32Array(ny * nz);
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++) out[z * ny + y] = src[base + (z * ny + y) * nx + index];
  return { data: out, width: ny, height: nz };
}

/** Translation that moves voxel (0,0,0) of the new grid to voxel `start` of the old one. */
function shiftAffine(vol: Volume, start: readonly number[]): number[][] {
  const t = [
    [1, 0, 0, start[0]],
    [0, 1, 0, start[1]],
    [0, 0, 1, start[2]],
    [0, 0, 0, 1],
  ];
  return matmul4(vol.affine, t);
}

/**
 * A box of the volume: `start` may be negative and `start + size` may pass the edge; voxels
 * outside the input take `fill`. This one function is both crop and pad, and keeps the world
 * position of every voxel (the affine is shifted accordingly).
 * @param vol - A 3D or 4D volume (every frame is cut the same way).
 * @param start - First voxel [x, y, z] of the box in the input grid; may be negative.
 * @param size - Box size [sx, sy, sz] in voxels.
 * @param fill - Value of voxels outside the input (default 0).
 * @returns A new volume of shape `size` (plus frames), its affine shifted so world positions stay.
 * @throws {@link MriseqError} 'volume.box' when start is not integers or size not positive integers.
 * @example
 * ```ts
 * import { createVolume, extractBox } from 'mriseq';
 * const vol = createVolume(new Float32Array(8 * 8 * 8).fill(1), [8, 8, 8]);
 * const box = extractBox(vol, [-2, 0, 4], [4, 4, 8]); // half outside: filled with 0
 * console.log(box.shape, box.affine[0][3]); // [4, 4, 8] -2
 * ```
 */
export function extractBox(vol: Volume, start: readonly number[], size: readonly number[], fill = 0): Volume {
  for (let a = 0; a < 3; a++) {
    if (!Number.isInteger(start[a]))
      throw new MriseqError('box start must be integers', {
        field: `start[${a}]`,
        found: String(start[a]),
        expected: 'an integer',
        code: 'volume.box',
      });
    if (!Number.isInteger(size[a]) || size[a] < 1)
      throw new MriseqError('box size must be positive integers', {
        field: `size[${a}]`,
        found: String(size[a]),
        expected: 'an integer >= 1',
        code: 'volume.box',
      });
  }
  const [nx, ny, nz] = vol.shape;
  const nt = vol.shape[3] ?? 1;
  const [sx, sy, sz] = size;
  const out = new Float32Array(sx * sy * sz * nt).fill(fill);
  const x0 = Math.max(0, start[0]);
  const x1 = Math.min(nx, start[0] + sx);
  for (let t = 0; t < nt; t++)
    for (let z = 0; z < sz; z++) {
      const iz = z + start[2];
      if (iz < 0 || iz >= nz) continue;
      for (let y = 0; y < sy; y++) {
        const iy = y + start[1];
        if (iy < 0 || iy >= ny || x1 <= x0) continue;
        const srcRow = ((t * nz + iz) * ny + iy) * nx;
        const dstRow = ((t * sz + z) * sy + y) * sx;
        out.set(vol.data.subarray(srcRow + x0, srcRow + x1), dstRow + (x0 - start[0]));
      }
    }
  const shape = vol.shape.length === 4 ? [sx, sy, sz, nt] : [sx, sy, sz];
  return withData(vol, out, shape, shiftAffine(vol, start), [...vol.spacing]);
}

/**
 * Crops `[start, start + size)`; the box must lie inside the volume.
 * @param vol - A 3D or 4D volume.
 * @param start - First voxel [x, y, z] kept.
 * @param size - Voxels kept per axis.
 * @returns The cropped volume, world positions kept.
 * @throws {@link MriseqError} 'volume.box' when the box leaves the volume.
 * @example
 * ```ts
 * import { createVolume, cropVolume } from 'mriseq';
 * const vol = createVolume(new Float32Array(8 * 8 * 8), [8, 8, 8]);
 * console.log(cropVolume(vol, [2, 2, 2], [4, 4, 4]).shape); // [4, 4, 4]
 * ```
 */
export function cropVolume(vol: Volume, start: readonly number[], size: readonly number[]): Volume {
  for (let a = 0; a < 3; a++)
    if (start[a] < 0 || start[a] + size[a] > vol.shape[a])
      throw new MriseqError('crop box leaves the volume', {
        field: `axis ${a}`,
        found: `[${start[a]}, ${start[a] + size[a]})`,
        expected: `inside [0, ${vol.shape[a]})`,
        code: 'volume.box',
      });
  return extractBox(vol, start, size);
}

/**
 * Pads `before`/`after` voxels per spatial axis with `value`.
 * @param vol - A 3D or 4D volume.
 * @param before - Voxels added before index 0, per axis [x, y, z].
 * @param after - Voxels added after the last index, per axis.
 * @param value - The fill value (default 0).
 * @returns The padded volume, world positions kept.
 * @throws {@link MriseqError} 'volume.box' for negative padding.
 * @example
 * ```ts
 * import { createVolume, padVolume } from 'mriseq';
 * const vol = createVolume(new Float32Array(4 * 4 * 4), [4, 4, 4]);
 * console.log(padVolume(vol, [1, 1, 0], [1, 1, 0], -1).shape); // [6, 6, 4]
 * ```
 */
export function padVolume(
  vol: Volume,
  before: readonly number[],
  after: readonly number[],
  value = 0,
): Volume {
  for (let a = 0; a < 3; a++)
    if (!(before[a] >= 0 && after[a] >= 0))
      throw new MriseqError('padding must be >= 0', {
        field: `axis ${a}`,
        found: `${before[a]}, ${after[a]}`,
        expected: 'non-negative integers',
        code: 'volume.box',
      });
  return extractBox(
    vol,
    before.slice(0, 3).map((b) => -b),
    [0, 1, 2].map((a) => vol.shape[a] + before[a] + after[a]),
    value,
  );
}

/**
 * Centre-crops or pads each spatial axis to `shape` (as TorchIO's CropOrPad): when the difference
 * is odd, the extra voxel is removed from / added to the end.
 * @param vol - A 3D or 4D volume.
 * @param shape - Target [nx, ny, nz] in voxels.
 * @param value - Fill value where the volume is padded (default 0).
 * @returns A volume of the target shape, world positions kept.
 * @throws {@link MriseqError} 'volume.box' when `shape` is not positive integers.
 * @example
 * ```ts
 * import { createVolume, cropOrPad } from 'mriseq';
 * const vol = createVolume(new Float32Array(10 * 6 * 4), [10, 6, 4]);
 * console.log(cropOrPad(vol, [8, 8, 4]).shape); // [8, 8, 4]
 * ```
 */
export function cropOrPad(vol: Volume, shape: readonly number[], value = 0): Volume {
  const start = [0, 1, 2].map((a) => {
    const diff = vol.shape[a] - shape[a];
    return diff >= 0 ? Math.floor(diff / 2) : -Math.floor(-diff / 2);
  });
  return extractBox(vol, start, shape.slice(0, 3), value);
}

/**
 * The q-th percentile (0..100) of the finite values, linear interpolation between order statistics
 * (numpy's default method).
 * NaN and ±Infinity are ignored.
 *
 * @param values - Any numbers (e.g. a volume's data).
 * @param q - The percentile, 0 to 100.
 * @returns The percentile, or NaN when no value is finite.
 * @example
 * ```ts
 * import { percentile } from 'mriseq';
 * console.log(percentile([1, 2, 3, 4, NaN], 50)); // 2.5
 * ```
 */
export function percentile(values: ArrayLike<number>, q: number): number {
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite.push(values[i]);
  if (finite.length === 0) return NaN;
  const sorted = Float64Array.from(finite).sort();
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Options of {@link normalizeIntensity}.
 *
 * @example
 * ```ts
 * import { createVolume, normalizeIntensity, type NormalizeOptions } from 'mriseq';
 * const options: NormalizeOptions = { percentile: 99.5 };
 * normalizeIntensity(createVolume(new Float32Array(8).fill(1), [2, 2, 2]), options);
 * ```
 */
export interface NormalizeOptions {
  /** Percentile whose double is the upper clip (science spec: 99). */
  percentile?: number;
}

/**
 * Science-spec intensity normalisation: clip to [0, 2·p99] (p99 over the whole volume, all frames),
 * then map linearly to [-1, 1], i.e. v' = v / p99 − 1. NaN stays NaN. A volume whose p99 is not
 * positive has no signal to scale: it maps to −1 everywhere.
 * @param vol - A 3D or 4D volume of raw intensities.
 * @param options - `percentile` (default 99).
 * @returns A float32 volume normalised to [-1, 1], same geometry.
 * @example
 * ```ts
 * import { createVolume, normalizeIntensity, volumeStats } from 'mriseq';
 * const vol = createVolume(Float32Array.from({ length: 64 }, (_, i) => i), [4, 4, 4]);
 * console.log(volumeStats(normalizeIntensity(vol))); // min -1 (at 0), max 0.0101 (63 is just above p99 = 62.37, which maps to 0)
 * ```
 */
export function normalizeIntensity(vol: Volume, options: NormalizeOptions = {}): Volume {
  const p = percentile(vol.data, options.percentile ?? 99);
  const hi = 2 * p;
  const out = new Float32Array(vol.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = vol.data[i];
    if (Number.isNaN(v)) out[i] = NaN;
    else if (!(p > 0)) out[i] = -1;
    else out[i] = (Math.min(Math.max(v, 0), hi) / hi) * 2 - 1;
  }
  return { ...withData(vol, out, vol.shape, vol.affine, [...vol.spacing]), datatype: 'float32' };
}

/**
 * Finite-value statistics: min, max, mean (NaN/Inf ignored, as numpy's nan-functions).
 * @param vol - Any volume.
 * @returns min, max and mean of the finite values and how many there are (`finite`); NaN for
 *   min/max/mean when none is finite.
 * @example
 * ```ts
 * import { createVolume, volumeStats } from 'mriseq';
 * const { min, max, mean, finite } = volumeStats(createVolume([0, 1, 2, NaN, 4, 5, 6, 7], [2, 2, 2]));
 * console.log(min, max, mean, finite); // 0 7 3.571... 7
 * ```
 */
export function volumeStats(vol: Volume): { min: number; max: number; mean: number; finite: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < vol.data.length; i++) {
    const v = vol.data[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    n++;
  }
  return n === 0 ? { min: NaN, max: NaN, mean: NaN, finite: 0 } : { min, max, mean: sum / n, finite: n };
}

/**
 * Number of time points of a volume (1 for 3D).
 * @param vol - A 3D or 4D volume.
 * @returns Its number of time points.
 * @example
 * ```ts
 * import { frameCount, phantom } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16], dce: true }).subject(0);
 * console.log(frameCount(s.volumes.dce!), frameCount(s.volumes.t1!)); // 6 1
 * ```
 */
export function frameCount(vol: Volume): number {
  return vol.shape.length > 3 ? vol.data.length / frameSize(vol) : 1;
}

/**
 * Time point t of a 4D volume as a 3D volume on the same grid (a copy); a 3D volume for t = 0.
 * @param vol - A 3D or 4D volume.
 * @param t - The time point, 0-based.
 * @returns A 3D volume.
 * @throws {@link MriseqError} when t is not a time point of the volume.
 * @example
 * ```ts
 * import { phantom, volumeFrame } from 'mriseq';
 * const dce = phantom({ size: [32, 32, 16], dce: true }).subject(0).volumes.dce!;
 * console.log(volumeFrame(dce, 0).shape); // the pre-contrast phase, [32, 32, 16]
 * ```
 */
export function volumeFrame(vol: Volume, t: number): Volume {
  const n = frameCount(vol);
  if (!Number.isInteger(t) || t < 0 || t >= n)
    throw new MriseqError('no such time point', {
      field: 'frame',
      found: String(t),
      expected: `an integer in 0..${n - 1}`,
      code: 'volume.frame',
    });
  const f = frameSize(vol);
  return {
    ...withData(
      vol,
      vol.data.slice(t * f, (t + 1) * f),
      vol.shape.slice(0, 3),
      vol.affine,
      vol.spacing.slice(0, 3),
    ),
    datatype: vol.datatype,
  };
}

/**
 * A 4D volume summarised over time, voxel by voxel: 'mean' (default) or 'max' over its frames
 * (NaN if any frame is NaN); a 3D volume is returned as it is.
 * @param vol - A 3D or 4D volume.
 * @param how - 'mean' (default) or 'max'.
 * @param first - The first frame summarised (default 0; 1 leaves out a DCE's pre-contrast phase).
 * @returns A 3D volume (float32 for a 4D input).
 * @throws {@link MriseqError} 'volume.frames' when `first` is not a frame index below the last.
 * @example
 * ```ts
 * import { phantom, reduceFrames } from 'mriseq';
 * const dce = phantom({ size: [32, 32, 16], dce: true }).subject(0).volumes.dce!;
 * console.log(reduceFrames(dce).shape, reduceFrames(dce, 'max').datatype);
 * ```
 */
export function reduceFrames(vol: Volume, how: 'mean' | 'max' = 'mean', first = 0): Volume {
  const n = frameCount(vol);
  if (vol.shape.length <= 3) return vol;
  if (!Number.isInteger(first) || first < 0 || first >= n)
    throw new MriseqError(`reduceFrames: first frame ${first} of a series of ${n} frames`, {
      field: 'first',
      found: String(first),
      expected: `an integer in [0, ${n - 1}]`,
      code: 'volume.frames',
    });
  const f = frameSize(vol);
  const out = new Float32Array(f);
  for (let i = 0; i < f; i++) {
    let acc = how === 'max' ? -Infinity : 0;
    for (let t = first; t < n; t++) {
      const v = vol.data[t * f + i];
      acc = how === 'max' ? (v > acc || Number.isNaN(v) ? v : acc) : acc + v;
    }
    out[i] = how === 'max' ? acc : acc / (n - first);
  }
  return {
    ...withData(vol, out, vol.shape.slice(0, 3), vol.affine, vol.spacing.slice(0, 3)),
    datatype: 'float32',
  };
}

export { frameSize };
