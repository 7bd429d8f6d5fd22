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
 *
 * Which metrics a pair, a series or a batch is scored with is the registry's table (./registry.ts);
 * the combined scores and the accumulator are in ./scores.ts.
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
