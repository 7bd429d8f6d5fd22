/**
 * Synthesis-quality metrics (science spec, "Synthesis quality"): PSNR, SSIM and MAE of a generated
 * image against its real counterpart, on 2D slices or 3D volumes, optionally inside a mask.
 * Browser-safe: plain typed arrays in, numbers out; arithmetic in float64.
 *
 * Layout: `shape` lists axis lengths with the first axis fastest ([nx, ny] or [nx, ny, nz], the
 * NIfTI/Volume order). SSIM is symmetric in its axes, so this matches scikit-image on the
 * Fortran-ordered array of the same shape.
 *
 * SSIM reproduces `skimage.metrics.structural_similarity(a, b, data_range=2)` with skimage's
 * defaults: win_size 7 (a 7^d box), uniform filter (gaussian_weights=False) with scipy's 'reflect'
 * border, K1 = 0.01, K2 = 0.03, use_sample_covariance=True (covariances scaled by NP/(NP-1),
 * NP = 7^d), and the mean of the SSIM map over the region cropped by (win_size-1)/2 on every side.
 * With a mask, the mean is over the masked voxels of that cropped region (skimage has no mask;
 * this is our extension and equals the cropped full map restricted to the mask).
 */
import { MriseqError } from '../errors/index.js';

/**
 * The image arrays the metrics take: typed arrays or plain number arrays.
 *
 * @example
 * ```ts
 * import { meanAbsoluteError, type ArrayLike32 } from 'mriseq/browser';
 * const a: ArrayLike32 = new Float32Array([0, 1]);
 * const b: ArrayLike32 = [0, 0.5];
 * console.log(meanAbsoluteError(a, b)); // 0.25
 * ```
 */
export type ArrayLike32 = Float32Array | Float64Array | readonly number[];

/**
 * Options shared by the metrics: layout, data range and mask.
 *
 * @example
 * ```ts
 * import { psnr, type MetricOptions } from 'mriseq';
 * const o: MetricOptions = { dataRange: 2, mask: [1, 1, 0, 0] };
 * console.log(psnr([0, 0, 0, 0], [0.1, 0.1, 1, 1], o)); // only the first two voxels count
 * ```
 */
export interface MetricOptions {
  /** Axis lengths, first axis fastest: [nx, ny] or [nx, ny, nz]. Default: 1D over the whole array. */
  shape?: readonly number[];
  /** Peak-to-peak range of the data; 2 for images in [-1, 1] (the spec's convention). */
  dataRange?: number;
  /** Voxels to include (non-zero = inside). Same length as the images. */
  mask?: ArrayLike<number> | ArrayLike<boolean>;
}

/**
 * Options of {@link ssim}, {@link ssimMap}, {@link synthesisScores} (skimage's defaults).
 *
 * @example
 * ```ts
 * import { ssim, type SsimOptions } from 'mriseq';
 * const o: SsimOptions = { shape: [16, 16], winSize: 5, dataRange: 2 };
 * const a = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i));
 * console.log(ssim(a, a, o)); // 1
 * ```
 */
export interface SsimOptions extends MetricOptions {
  /** Side of the (cubic) sliding window; odd, >= 3. skimage default 7. */
  winSize?: number;
  k1?: number;
  k2?: number;
  /** Unbiased (NP-1) window covariances, as skimage's default. */
  useSampleCovariance?: boolean;
}

/**
 * The paper's synthesis metrics of one generated image: PSNR (dB), SSIM and MAE (normalised units).
 *
 * @example
 * ```ts
 * import { synthesisScores, type SynthesisScores } from 'mriseq';
 * const a = Float32Array.from({ length: 64 }, (_, i) => (i % 8) / 8);
 * const s: SynthesisScores = synthesisScores(a, a.map((v) => v * 0.9), { shape: [8, 8], winSize: 3 });
 * console.log(s.psnr, s.ssim, s.mae);
 * ```
 */
export interface SynthesisScores {
  psnr: number;
  ssim: number;
  mae: number;
}

/**
 * The data range of the metrics: 2, for images normalised to [-1, 1].
 *
 * @example
 * ```ts
 * import { DEFAULT_DATA_RANGE, psnr } from 'mriseq/browser';
 * console.log(psnr([0, 1], [0, 0.9], { dataRange: DEFAULT_DATA_RANGE }));
 * ```
 */
export const DEFAULT_DATA_RANGE = 2;

function checkPair(truth: ArrayLike32, test: ArrayLike32, opts: MetricOptions, what: string): void {
  if (truth.length !== test.length)
    throw new MriseqError(`${what}: images differ in size`, {
      field: 'test',
      found: `${test.length} values`,
      expected: `${truth.length} (as the reference image)`,
      code: 'metrics.size',
    });
  if (truth.length === 0) throw new MriseqError(`${what}: empty image`, { code: 'metrics.empty' });
  if (opts.mask !== undefined && opts.mask.length !== truth.length)
    throw new MriseqError(`${what}: mask differs in size from the images`, {
      field: 'mask',
      found: `${opts.mask.length} values`,
      expected: `${truth.length}`,
      code: 'metrics.mask',
    });
  if (opts.shape !== undefined) {
    const n = opts.shape.reduce((a, b) => a * b, 1);
    if (n !== truth.length)
      throw new MriseqError(`${what}: shape does not match the data`, {
        field: 'shape',
        found: `[${opts.shape.join(', ')}] (${n} voxels)`,
        expected: `${truth.length} voxels`,
        code: 'metrics.shape',
      });
  }
}

function inMask(mask: MetricOptions['mask'], i: number): boolean {
  return mask === undefined || Boolean(mask[i]);
}

/**
 * Mean squared error, optionally inside a mask.
 * @param truth - The real image.
 * @param test - The synthesised image, same length.
 * @param opts - `mask`: voxels to include.
 * @returns The mean (truth − test)².
 * @throws {@link MriseqError} 'metrics.mask' when the mask selects no voxel.
 * @example
 * ```ts
 * import { meanSquaredError } from 'mriseq';
 * console.log(meanSquaredError([0, 1, -1], [0.5, 1, -1], { mask: [1, 1, 0] })); // 0.125
 * ```
 */
export function meanSquaredError(truth: ArrayLike32, test: ArrayLike32, opts: MetricOptions = {}): number {
  checkPair(truth, test, opts, 'MSE');
  let s = 0;
  let n = 0;
  for (let i = 0; i < truth.length; i++) {
    if (!inMask(opts.mask, i)) continue;
    const d = test[i] - truth[i];
    s += d * d;
    n++;
  }
  if (n === 0) throw new MriseqError('MSE: mask selects no voxel', { field: 'mask', code: 'metrics.mask' });
  return s / n;
}

/**
 * Mean absolute error, optionally inside a mask (a distance: lower is better).
 * @param truth - The real image (normalised [-1, 1]).
 * @param test - The synthesised image, same length.
 * @param opts - `mask`: voxels to include.
 * @returns The mean |truth − test| (normalised intensity units).
 * @throws {@link MriseqError} 'metrics.mask' when the mask selects no voxel.
 * @example
 * ```ts
 * import { meanAbsoluteError } from 'mriseq';
 * console.log(meanAbsoluteError([0, 1, -1], [0.5, 1, -1])); // 0.1666...
 * ```
 */
export function meanAbsoluteError(truth: ArrayLike32, test: ArrayLike32, opts: MetricOptions = {}): number {
  checkPair(truth, test, opts, 'MAE');
  let s = 0;
  let n = 0;
  for (let i = 0; i < truth.length; i++) {
    if (!inMask(opts.mask, i)) continue;
    s += Math.abs(test[i] - truth[i]);
    n++;
  }
  if (n === 0) throw new MriseqError('MAE: mask selects no voxel', { field: 'mask', code: 'metrics.mask' });
  return s / n;
}

/**
 * PSNR = 10 log10(dataRange^2 / MSE), as skimage.metrics.peak_signal_noise_ratio with
 * data_range=2 (images in [-1, 1]). Identical images give Infinity.
 * @param truth - The real image, normalised [-1, 1], any layout (flattened).
 * @param test - The synthesised image, same length and layout.
 * @param opts - `dataRange` (default 2), `mask` (voxels to include), `shape`.
 * @returns PSNR in dB (Infinity for identical images).
 * @throws {@link MriseqError} 'metrics.mask' when the mask selects no voxel.
 * @example
 * ```ts
 * import { psnr } from 'mriseq';
 * const truth = new Float32Array([0, 0.5, -0.5, 1]);
 * console.log(psnr(truth, truth.map((v) => v + 0.1)).toFixed(2)); // 26.02 (MSE 0.01, range 2)
 * ```
 */
export function psnr(truth: ArrayLike32, test: ArrayLike32, opts: MetricOptions = {}): number {
  const range = opts.dataRange ?? DEFAULT_DATA_RANGE;
  const mse = meanSquaredError(truth, test, opts);
  return 10 * Math.log10((range * range) / mse);
}

/**
 * In-place 1D box mean of width `size` along one axis, scipy.ndimage.uniform_filter1d with
 * mode 'reflect' (d c b a | a b c d | d c b a) and origin 0.
 */
function boxFilterAxis(
  src: Float64Array,
  dst: Float64Array,
  shape: readonly number[],
  axis: number,
  size: number,
): void {
  const n = shape[axis];
  let stride = 1;
  for (let a = 0; a < axis; a++) stride *= shape[a];
  const total = src.length;
  const half = Math.floor(size / 2);
  const line = new Float64Array(n + 2 * half);
  const reflect = (k: number): number => {
    // scipy 'reflect' for arbitrary overshoot: period 2n, mirrored about the edges.
    const p = 2 * n;
    let m = ((k % p) + p) % p;
    if (m >= n) m = p - 1 - m;
    return m;
  };
  const outer = total / (n * stride);
  for (let o = 0; o < outer; o++) {
    for (let s = 0; s < stride; s++) {
      const base = o * n * stride + s;
      for (let k = -half; k < n + half; k++) line[k + half] = src[base + reflect(k) * stride];
      let acc = 0;
      for (let k = 0; k < size; k++) acc += line[k];
      for (let i = 0; i < n; i++) {
        dst[base + i * stride] = acc / size;
        acc += line[i + size] - line[i];
      }
    }
  }
}

function uniformFilter(x: Float64Array, shape: readonly number[], size: number): Float64Array {
  let a = Float64Array.from(x);
  let b = new Float64Array(x.length);
  for (let axis = 0; axis < shape.length; axis++) {
    boxFilterAxis(a, b, shape, axis, size);
    [a, b] = [b, a];
  }
  return a;
}

/**
 * What {@link ssimMap} returns.
 *
 * @example
 * ```ts
 * import { ssimMap, type SsimResult } from 'mriseq/browser';
 * const a = Float32Array.from({ length: 64 }, (_, i) => i % 8);
 * const r: SsimResult = ssimMap(a, a, { shape: [8, 8], winSize: 3, dataRange: 8 });
 * console.log(r.mssim, r.map.length); // 1 64
 * ```
 */
export interface SsimResult {
  /** Mean SSIM over the cropped (and masked) region: skimage's `mssim`. */
  mssim: number;
  /** The full SSIM map, same layout as the inputs (skimage's `full=True` S). */
  map: Float64Array;
}

/**
 * SSIM with its full map; see the file comment for the exact skimage options reproduced.
 * @param truth - The real image, normalised [-1, 1], x fastest.
 * @param test - The synthesised image, same layout.
 * @param opts - As {@link ssim}.
 * @returns The mean (`mssim`) and the voxel-wise SSIM map (same layout as the inputs).
 * @throws {@link MriseqError} as {@link ssim}.
 * @example
 * ```ts
 * import { ssimMap } from 'mriseq';
 * const a = Float32Array.from({ length: 16 * 16 }, (_, i) => Math.sin(i / 7));
 * const { mssim, map } = ssimMap(a, a.map((v) => v * 0.9), { shape: [16, 16] });
 * console.log(mssim, map.length);
 * ```
 */
export function ssimMap(truth: ArrayLike32, test: ArrayLike32, opts: SsimOptions = {}): SsimResult {
  checkPair(truth, test, opts, 'SSIM');
  const shape = opts.shape ?? [truth.length];
  const win = opts.winSize ?? 7;
  if (win < 3 || win % 2 === 0)
    throw new MriseqError('SSIM: window size must be odd and >= 3', {
      field: 'winSize',
      found: String(win),
      expected: 'an odd integer >= 3',
      code: 'metrics.window',
    });
  for (let a = 0; a < shape.length; a++)
    if (shape[a] < win)
      throw new MriseqError('SSIM: image smaller than the window', {
        field: `shape[${a}]`,
        found: String(shape[a]),
        expected: `>= winSize ${win} (skimage raises the same error)`,
        code: 'metrics.window',
      });
  const range = opts.dataRange ?? DEFAULT_DATA_RANGE;
  const k1 = opts.k1 ?? 0.01;
  const k2 = opts.k2 ?? 0.03;
  const np = Math.pow(win, shape.length);
  const covNorm = (opts.useSampleCovariance ?? true) ? np / (np - 1) : 1;
  const n = truth.length;
  const x = Float64Array.from(truth as ArrayLike<number>);
  const y = Float64Array.from(test as ArrayLike<number>);
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const ux = uniformFilter(x, shape, win);
  const uy = uniformFilter(y, shape, win);
  const uxx = uniformFilter(xx, shape, win);
  const uyy = uniformFilter(yy, shape, win);
  const uxy = uniformFilter(xy, shape, win);
  const c1 = (k1 * range) ** 2;
  const c2 = (k2 * range) ** 2;
  const map = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const vx = covNorm * (uxx[i] - ux[i] * ux[i]);
    const vy = covNorm * (uyy[i] - uy[i] * uy[i]);
    const vxy = covNorm * (uxy[i] - ux[i] * uy[i]);
    const a1 = 2 * ux[i] * uy[i] + c1;
    const a2 = 2 * vxy + c2;
    const b1 = ux[i] * ux[i] + uy[i] * uy[i] + c1;
    const b2 = vx + vy + c2;
    map[i] = (a1 * a2) / (b1 * b2);
  }
  // Mean over the region at least (win-1)/2 from every border, as skimage's crop(S, pad).
  const pad = (win - 1) / 2;
  const strides: number[] = [];
  let st = 1;
  for (const len of shape) {
    strides.push(st);
    st *= len;
  }
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    let inside = true;
    for (let a = 0; a < shape.length && inside; a++) {
      const c = Math.floor(i / strides[a]) % shape[a];
      if (c < pad || c >= shape[a] - pad) inside = false;
    }
    if (!inside || !inMask(opts.mask, i)) continue;
    sum += map[i];
    count++;
  }
  if (count === 0)
    throw new MriseqError('SSIM: mask selects no voxel inside the valid (cropped) region', {
      field: 'mask',
      code: 'metrics.mask',
    });
  return { mssim: sum / count, map };
}

/**
 * Mean SSIM, equal to skimage.metrics.structural_similarity(truth, test, data_range=2).
 * Gaussian weights off, a uniform `winSize`^n window, the edges cropped by half a window (skimage's defaults).
 *
 * @param truth - The real image, normalised [-1, 1], x fastest.
 * @param test - The synthesised image, same layout.
 * @param opts - `shape` ([nx, ny] or [nx, ny, nz]; needed for a 2D/3D window), `winSize` (7), `dataRange` (2), `mask`.
 * @returns Mean SSIM in [-1, 1] (1 = identical).
 * @throws {@link MriseqError} for an even or too small window, an image smaller than the window, or a
 *   mask that selects nothing inside the cropped region.
 * @example
 * ```ts
 * import { phantom, normalizeIntensity, ssim } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16] }).subject(0);
 * const t1 = normalizeIntensity(s.volumes.t1!);
 * const t2 = normalizeIntensity(s.volumes.t2!);
 * console.log(ssim(t1.data, t2.data, { shape: t1.shape }));
 * ```
 */
export function ssim(truth: ArrayLike32, test: ArrayLike32, opts: SsimOptions = {}): number {
  return ssimMap(truth, test, opts).mssim;
}

/**
 * PSNR, SSIM and MAE of `test` against `truth` in one call.
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
  return {
    psnr: psnr(truth, test, opts),
    ssim: ssim(truth, test, opts),
    mae: meanAbsoluteError(truth, test, opts),
  };
}

type CompareOptions = Omit<SsimOptions, 'shape'> & {
  /** SSIM as the mean of 2D SSIMs over axial slices (the 2D models' view) instead of one 3D window. */
  slices?: boolean;
};

/** One 3D (or 2D) frame: a 3D SSIM window, or 2D SSIMs averaged over axial slices. */
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
    let s = 0;
    for (let z = 0; z < planes; z++) {
      const cut = (x: Float32Array): Float32Array => x.subarray(z * plane, (z + 1) * plane);
      s += ssim(cut(truth), cut(test), {
        ...opts,
        shape: [nx, ny],
        mask:
          opts.mask === undefined
            ? undefined
            : Array.prototype.slice.call(opts.mask, z * plane, (z + 1) * plane),
      });
    }
    return { psnr: psnr(truth, test, opts), ssim: s / planes, mae: meanAbsoluteError(truth, test, opts) };
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
  const mean = (k: keyof SynthesisScores): number => frames.reduce((a, s) => a + s[k], 0) / n;
  return { psnr: mean('psnr'), ssim: mean('ssim'), mae: mean('mae'), frames };
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
  const { psnr: p, ssim: s, mae } = compareFrames(truth, test, opts);
  return { psnr: p, ssim: s, mae };
}

/**
 * LPIPS needs ImageNet-pretrained AlexNet/VGG weights, which cannot be obtained here: the metric
 * is never faked: callers print this reason once and leave the column empty.
 * @example
 * ```ts
 * import { LPIPS_SKIPPED } from 'mriseq';
 * console.log(LPIPS_SKIPPED);
 * ```
 */
export const LPIPS_SKIPPED =
  'LPIPS skipped: it needs pretrained AlexNet/VGG weights, and none are available here (not faked; PSNR, SSIM and MAE are reported)';

/**
 * The shape of a perceptual metric a user supplies (mriseq ships no LPIPS: it needs pretrained
 * backbones; see {@link LPIPS_SKIPPED}).
 *
 * @example
 * ```ts
 * import { meanSquaredError, type LpipsFn } from 'mriseq/browser';
 * const stand_in: LpipsFn = (truth, test) => meanSquaredError(truth, test); // not LPIPS: a placeholder
 * console.log(await stand_in([0, 1], [0, 0.5], [2]));
 * ```
 */
export type LpipsFn = (
  truth: ArrayLike32,
  test: ArrayLike32,
  shape: readonly number[],
) => number | Promise<number>;

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
  private sums: Record<keyof SynthesisScores, number> = { psnr: 0, ssim: 0, mae: 0 };
  private finitePsnr = 0;
  private n = 0;
  private readonly buffer: SynthesisScores[] = [];

  constructor(private readonly opts: SsimOptions = {}) {}

  /** Scores one pair, remembers it, and returns its scores. */
  update(truth: ArrayLike32, test: ArrayLike32, opts: SsimOptions = {}): SynthesisScores {
    const s = synthesisScores(truth, test, { ...this.opts, ...opts });
    this.buffer.push(s);
    if (Number.isFinite(s.psnr)) {
      this.sums.psnr += s.psnr;
      this.finitePsnr++;
    }
    this.sums.ssim += s.ssim;
    this.sums.mae += s.mae;
    this.n++;
    return s;
  }

  /** Means over every pair since the last reset (PSNR over finite values: identical pairs are Infinity). */
  aggregate(): SynthesisScores & { count: number } {
    if (this.n === 0)
      throw new MriseqError('SynthesisMetrics.aggregate: nothing to aggregate (no update yet)', {
        code: 'metrics.empty',
      });
    return {
      psnr: this.finitePsnr ? this.sums.psnr / this.finitePsnr : Infinity,
      ssim: this.sums.ssim / this.n,
      mae: this.sums.mae / this.n,
      count: this.n,
    };
  }

  /** Every pair's scores, in update order. */
  get scores(): readonly SynthesisScores[] {
    return this.buffer;
  }

  reset(): void {
    this.sums = { psnr: 0, ssim: 0, mae: 0 };
    this.finitePsnr = 0;
    this.n = 0;
    this.buffer.length = 0;
  }
}
