/**
 * The synthesis scores of an image pair, a series (frame by frame) and an accumulating run: every
 * computed metric of the registry (./registry.ts: PSNR, SSIM, MAE), scored with the functions the
 * table names. The metric functions themselves live in ./metrics.ts. Browser-safe.
 */
import { MriseqError } from '../errors/index.js';
import type { ArrayLike32, SsimOptions } from './metrics.js';
import {
  computedMetrics,
  eachComputedMetric,
  type BuiltinMetricName,
  type SynthesisScores,
} from './registry.js';

/**
 * Every computed metric of {@link SYNTHESIS_METRICS} (PSNR, SSIM, MAE) of `test` against `truth` in one call.
 * @param truth - The real image, normalised [-1, 1], x fastest.
 * @param test - The synthesised image, same layout.
 * @param opts - As {@link ssim} (shape, window, data range, mask).
 * @returns `{ psnr (dB), ssim, mae }`.
 * @throws {@link MriseqError} as {@link ssim} and {@link psnr}.
 * @example
 * ```ts
 * import { synthesisScores } from 'mriseq';
 * const a = Float32Array.from({ length: 16 * 16 }, (_, i) => Math.cos(i / 5));
 * console.log(synthesisScores(a, a.map((v) => v + 0.05), { shape: [16, 16] }));
 * ```
 */
export function synthesisScores(
  truth: ArrayLike32,
  test: ArrayLike32,
  opts: SsimOptions = {},
): SynthesisScores {
  const out = eachComputedMetric(0);
  for (const m of computedMetrics()) out[m.name as BuiltinMetricName] = m.score(truth, test, opts);
  return out;
}

type CompareOptions = Omit<SsimOptions, 'shape'> & {
  /** SSIM as the mean of 2D SSIMs over axial slices (the 2D models' view) instead of one 3D window. */
  slices?: boolean;
};

/**
 * One 3D (or 2D) frame: windowed metrics (SSIM) with a 3D window, or as the mean of 2D values over
 * axial slices; the others over the whole frame.
 */
function compareFrame(
  truth: Float32Array,
  test: Float32Array,
  shape: readonly number[],
  opts: CompareOptions,
): SynthesisScores {
  if (opts.slices && shape.length >= 3) {
    const [nx, ny] = shape;
    const plane = nx * ny;
    const planes = truth.length / plane;
    const out = eachComputedMetric(0);
    const metrics = computedMetrics();
    // windowed metrics first, slice by slice, then the rest on the whole frame (as before the table)
    for (const m of metrics.filter((q) => q.windowed)) {
      let s = 0;
      for (let z = 0; z < planes; z++) {
        const cut = (x: Float32Array): Float32Array => x.subarray(z * plane, (z + 1) * plane);
        s += m.score(cut(truth), cut(test), {
          ...opts,
          shape: [nx, ny],
          mask:
            opts.mask === undefined
              ? undefined
              : Array.prototype.slice.call(opts.mask, z * plane, (z + 1) * plane),
        });
      }
      out[m.name as BuiltinMetricName] = s / planes;
    }
    for (const m of metrics.filter((q) => !q.windowed))
      out[m.name as BuiltinMetricName] = m.score(truth, test, opts);
    return out;
  }
  const spatial = shape.slice(0, 3).filter((_, a) => a < 2 || shape[a] > 1);
  return synthesisScores(truth, test, { ...opts, shape: spatial });
}

/**
 * Scores of a series: the mean over frames and each frame's (one frame for a 3D volume).
 *
 * @example
 * ```ts
 * import { type SeriesScores } from 'mriseq';
 * const s: SeriesScores = { psnr: 25, ssim: 0.8, mae: 0.075, frames: [{ psnr: 30, ssim: 0.9, mae: 0.05 }, { psnr: 20, ssim: 0.7, mae: 0.1 }] };
 * console.log(s.frames.length);
 * ```
 */
export interface SeriesScores extends SynthesisScores {
  frames: SynthesisScores[];
}

/**
 * Scores two volumes of one grid frame by frame: a 3D volume is one frame; a 4D series (DCE) is
 * scored per time point, and its psnr, ssim and mae are the means over the frames. A mask is of
 * the whole series' length (or of one frame's, then shared by every frame).
 * @param truth - The real volume's data and shape ([nx, ny, nz] or [nx, ny, nz, nt]), normalised [-1, 1].
 * @param test - The synthesised volume, same shape.
 * @param opts - SSIM options (a mask of one frame or of the series); `slices: true` averages 2D SSIM over axial slices.
 * @returns The mean `{ psnr (dB), ssim, mae }` over frames and each frame's under `frames`.
 * @throws {@link MriseqError} when the shapes differ or the mask fits neither a frame nor the series.
 * @example
 * ```ts
 * import { compareFrames, normalizeIntensity, phantom } from 'mriseq';
 * const dce = normalizeIntensity(phantom({ size: [32, 32, 16], dce: true }).subject(0).volumes.dce!);
 * const noisy = { ...dce, data: dce.data.map((v) => v + 0.01) };
 * console.log(compareFrames(dce, noisy).frames.map((f) => f.psnr.toFixed(1)));
 * ```
 */
export function compareFrames(
  truth: { data: Float32Array; shape: readonly number[] },
  test: { data: Float32Array; shape: readonly number[] },
  opts: CompareOptions = {},
): SeriesScores {
  if (truth.shape.join('x') !== test.shape.join('x'))
    throw new MriseqError('volumes have different shapes', {
      field: 'shape',
      found: test.shape.join('x'),
      expected: truth.shape.join('x'),
      code: 'metrics.shape',
    });
  const frame = truth.shape.slice(0, 3).reduce((a, b) => a * b, 1);
  const n = truth.shape.length > 3 ? truth.data.length / frame : 1;
  if (n === 1) {
    const one = compareFrame(truth.data, test.data, truth.shape, opts);
    return { ...one, frames: [one] };
  }
  const m = opts.mask;
  if (m !== undefined && m.length !== frame && m.length !== truth.data.length)
    throw new MriseqError('mask size differs from the series', {
      field: 'mask',
      found: `${m.length} voxels`,
      expected: `${frame} (one frame) or ${truth.data.length} (the series)`,
      code: 'metrics.mask',
    });
  const frames: SynthesisScores[] = [];
  for (let f = 0; f < n; f++) {
    const sub = (x: Float32Array): Float32Array => x.subarray(f * frame, (f + 1) * frame);
    const mask =
      m === undefined || m.length === frame ? m : Array.prototype.slice.call(m, f * frame, (f + 1) * frame);
    frames.push(compareFrame(sub(truth.data), sub(test.data), truth.shape.slice(0, 3), { ...opts, mask }));
  }
  const mean = eachComputedMetric(0);
  for (const m of computedMetrics()) {
    const k = m.name as BuiltinMetricName;
    mean[k] = frames.reduce((a, s) => a + s[k], 0) / n;
  }
  return { ...mean, frames };
}

/**
 * Scores two volumes of one grid: 2D/3D with a 2D/3D SSIM window; a 4D series frame by frame,
 * each metric the mean of its per-frame values ({@link compareFrames} gives the frames too).
 * @param truth - The real volume's data and shape ([nx, ny, nz] or with frames), normalised [-1, 1].
 * @param test - The synthesised volume, same shape.
 * @param opts - SSIM options; `slices: true` averages 2D SSIM over axial slices.
 * @returns `{ psnr (dB), ssim, mae }`.
 * @throws {@link MriseqError} when the shapes differ, or as {@link ssim}.
 * @example
 * ```ts
 * import { compareVolumes, normalizeIntensity, phantom } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16] }).subject(0);
 * const t1 = normalizeIntensity(s.volumes.t1!);
 * const t1gd = normalizeIntensity(s.volumes.t1gd!);
 * console.log(compareVolumes(t1gd, t1), compareVolumes(t1gd, t1, { slices: true }));
 * ```
 */
export function compareVolumes(
  truth: { data: Float32Array; shape: readonly number[] },
  test: { data: Float32Array; shape: readonly number[] },
  opts: CompareOptions = {},
): SynthesisScores {
  const { frames: _frames, ...scores } = compareFrames(truth, test, opts);
  return scores;
}

/**
 * Accumulator tier (MONAI's cumulative metric pattern): `update` per image pair, `aggregate`
 * returns the mean and count of each metric over everything seen, `reset` starts over.
 * @example
 * ```ts
 * import { SynthesisMetrics } from 'mriseq';
 * const m = new SynthesisMetrics({ shape: [8, 8] });
 * const a = Float32Array.from({ length: 64 }, (_, i) => (i % 8) / 8);
 * m.update(a, a.map((v) => v + 0.1));
 * m.update(a, a.map((v) => v - 0.05));
 * console.log(m.aggregate()); // mean psnr, ssim, mae and count 2
 * ```
 */
export class SynthesisMetrics {
  private sums = eachComputedMetric(0);
  /** Per metric, how many values entered its sum (all, or the finite ones for a finiteMean metric). */
  private counts = eachComputedMetric(0);
  private n = 0;
  private readonly buffer: SynthesisScores[] = [];

  constructor(private readonly opts: SsimOptions = {}) {}

  /** Scores one pair, remembers it, and returns its scores. */
  update(truth: ArrayLike32, test: ArrayLike32, opts: SsimOptions = {}): SynthesisScores {
    const s = synthesisScores(truth, test, { ...this.opts, ...opts });
    this.buffer.push(s);
    for (const m of computedMetrics()) {
      const k = m.name as BuiltinMetricName;
      if (m.finiteMean && !Number.isFinite(s[k])) continue;
      this.sums[k] += s[k];
      this.counts[k]++;
    }
    this.n++;
    return s;
  }

  /** Means over every pair since the last reset (PSNR over finite values: identical pairs are Infinity; a finiteMean metric of the table). */
  aggregate(): SynthesisScores & { count: number } {
    if (this.n === 0)
      throw new MriseqError('SynthesisMetrics.aggregate: nothing to aggregate (no update yet)', {
        code: 'metrics.empty',
      });
    const mean = eachComputedMetric(0);
    for (const m of computedMetrics()) {
      const k = m.name as BuiltinMetricName;
      mean[k] = m.finiteMean && this.counts[k] === 0 ? Infinity : this.sums[k] / this.counts[k];
    }
    return { ...mean, count: this.n };
  }

  /** Every pair's scores, in update order. */
  get scores(): readonly SynthesisScores[] {
    return this.buffer;
  }

  reset(): void {
    this.sums = eachComputedMetric(0);
    this.counts = eachComputedMetric(0);
    this.n = 0;
    this.buffer.length = 0;
  }
}
