/**
 * Rich view of a tfjs tensor shown in a notebook: shape, dtype, value statistics, a preview of the
 * values (tfjs's own summarised printout) and, for 2D and 3D tensors, a small image. Without it a
 * tensor shows tfjs's internal fields (kept, dataId, scopeId...). Browser-safe: duck-typed, no
 * import of tfjs (so it works with whichever copy of tfjs made the tensor).
 */
import { escapeHtml, type RichOutput } from './core.js';
import { base64, encodePng, type RawImage } from './png.js';

/**
 * The part of a tfjs Tensor this view reads.
 *
 * @example
 * ```ts
 * import { tf, type TensorLike } from 'mriseq';
 * const t: TensorLike = tf.zeros([2, 3]);
 * console.log(t.shape, t.dtype);
 * ```
 */
export interface TensorLike {
  readonly shape: number[];
  readonly dtype: string;
  readonly size: number;
  readonly isDisposed: boolean;
  dataSync(): ArrayLike<number | string>;
  toString(verbose?: boolean): string;
}

/**
 * Whether a value is a tfjs tensor (of any tfjs copy): what the rich display of tensors applies to.
 *
 * @param x - Any value.
 * @example
 * ```ts
 * import { isTensorLike, tf } from 'mriseq';
 * console.log(isTensorLike(tf.ones([2])), isTensorLike([1, 2])); // true false
 * ```
 */
export function isTensorLike(x: unknown): x is TensorLike {
  if (typeof x !== 'object' || x === null) return false;
  const t = x as Partial<TensorLike> & { dataId?: unknown };
  return (
    Array.isArray(t.shape) &&
    typeof t.dtype === 'string' &&
    typeof t.size === 'number' &&
    typeof t.dataSync === 'function' &&
    typeof t.isDisposed === 'boolean' &&
    t.dataId !== undefined
  );
}

/** Tensors larger than this show shape and dtype only (reading them back would stall the cell). */
const MAX_READ = 16_000_000;
/** The image's longer side, in pixels, is at most this (and at least MIN_SIDE through upscaling). */
const MAX_SIDE = 256;
const MIN_SIDE = 96;

interface Stats {
  min: number;
  max: number;
  mean: number;
  nonFinite: number;
}

function stats(v: ArrayLike<number>): Stats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  let nonFinite = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!Number.isFinite(x)) {
      nonFinite++;
      continue;
    }
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    n++;
  }
  return { min, max, mean: n ? sum / n : NaN, nonFinite };
}

const fmt = (x: number) =>
  !Number.isFinite(x)
    ? String(x)
    : Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3)
      ? x.toExponential(3)
      : String(+x.toFixed(4));

/** Greyscale of a [h, w] plane at `offset` in row-major data (row 0 on top), window [lo, hi]. */
function plane(v: ArrayLike<number>, offset: number, h: number, w: number, lo: number, hi: number): RawImage {
  const px = new Uint8Array(h * w);
  const k = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < h * w; i++) {
    const x = v[offset + i];
    px[i] = Number.isFinite(x) ? Math.max(0, Math.min(255, Math.round((x - lo) * k))) : 0;
  }
  return { width: w, height: h, channels: 1, pixels: px };
}

/** Nearest-neighbour rescale so the longer side lands in [MIN_SIDE, MAX_SIDE]. */
function fit(img: RawImage): RawImage {
  const long = Math.max(img.width, img.height);
  const f = long < MIN_SIDE ? Math.ceil(MIN_SIDE / long) : long > MAX_SIDE ? MAX_SIDE / long : 1;
  if (f === 1) return img;
  const w = Math.max(1, Math.round(img.width * f));
  const h = Math.max(1, Math.round(img.height * f));
  const c = img.channels;
  const px = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.height - 1, Math.floor(y / f));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, Math.floor(x / f));
      for (let ch = 0; ch < c; ch++) px[(y * w + x) * c + ch] = img.pixels[(sy * img.width + sx) * c + ch];
    }
  }
  return { width: w, height: h, channels: c, pixels: px };
}

/** Planes side by side with a 2-pixel gap (greyscale). */
function strip(planes: RawImage[], cols: number): RawImage {
  const w = planes[0].width;
  const h = planes[0].height;
  const rows = Math.ceil(planes.length / cols);
  const W = cols * w + (cols - 1) * 2;
  const H = rows * h + (rows - 1) * 2;
  const px = new Uint8Array(W * H);
  planes.forEach((p, k) => {
    const ox = (k % cols) * (w + 2);
    const oy = Math.floor(k / cols) * (h + 2);
    for (let y = 0; y < h; y++) px.set(p.pixels.subarray(y * w, (y + 1) * w), (oy + y) * W + ox);
  });
  return { width: W, height: H, channels: 1, pixels: px };
}

/**
 * The image of a 2D tensor ([h, w], grey), of a 3D [h, w, c] tensor with 1, 3 or 4 channels
 * (as an image), or of another 3D tensor [d, h, w] (up to 8 of its d planes side by side), with
 * the intensity window min..max; null for other ranks or non-numeric dtypes.
 *
 * @param shape - The tensor's shape.
 * @param dtype - Its dtype ('string' and 'complex64' give null).
 * @param v - Its values, row-major.
 * @param s - The intensity window (min, max) and the statistics shown beside the image.
 * @example
 * ```ts
 * import { encodePng, tensorImage } from 'mriseq';
 * const img = tensorImage([2, 3], 'float32', [0, 1, 2, 3, 4, 5], { min: 0, max: 5, mean: 2.5, nonFinite: 0 });
 * console.log(img && encodePng(img).length > 0); // true: a PNG of the 2x3 values, enlarged
 * ```
 */
export function tensorImage(shape: number[], dtype: string, v: ArrayLike<number>, s: Stats): RawImage | null {
  if (dtype === 'string' || dtype === 'complex64') return null;
  const lo = s.min;
  const hi = s.max;
  if (shape.length === 2 && shape[0] > 0 && shape[1] > 0) return fit(plane(v, 0, shape[0], shape[1], lo, hi));
  if (shape.length !== 3 || shape.some((d) => d <= 0)) return null;
  const [a, b, c] = shape;
  if (c === 3 || c === 4) {
    // An RGB(A) image: values in [0, 1] or [0, 255] as they are, otherwise min..max.
    const scale = lo >= 0 && hi <= 1 ? 255 : lo >= 0 && hi <= 255 ? 1 : 0;
    const px = new Uint8Array(a * b * c);
    for (let i = 0; i < px.length; i++) {
      const x = v[i];
      const y = scale ? x * scale : hi > lo ? ((x - lo) * 255) / (hi - lo) : 0;
      px[i] = Number.isFinite(y) ? Math.max(0, Math.min(255, Math.round(y))) : 0;
    }
    if (c === 4) for (let i = 3; i < px.length; i += 4) px[i] = scale ? px[i] : 255;
    return fit({ width: b, height: a, channels: c, pixels: px });
  }
  if (c === 1) return fit(plane(v, 0, a, b, lo, hi));
  const n = Math.min(8, a);
  const planes: RawImage[] = [];
  for (let k = 0; k < n; k++) {
    const d = n === 1 ? 0 : Math.round((k * (a - 1)) / (n - 1));
    planes.push(plane(v, d * b * c, b, c, lo, hi));
  }
  return fit(strip(planes, Math.min(4, n)));
}

/**
 * The MIME bundle of a tensor: text (shape, dtype, stats, values), HTML (the same + image), PNG.
 *
 * @param t - A tfjs tensor (any copy of tfjs).
 * @example
 * ```ts
 * import { tensorBundle, tf } from 'mriseq';
 * const b = tensorBundle(tf.linspace(0, 1, 12).reshape([3, 4]));
 * console.log(b.data['text/plain'], 'image/png' in b.data); // Tensor float32 [3, 4] ... true
 * ```
 */
export function tensorBundle(t: TensorLike): RichOutput {
  const head = `Tensor ${t.dtype} [${t.shape.join(', ')}]`;
  if (t.isDisposed) return { data: { 'text/plain': `${head} (disposed)` } };
  if (t.size > MAX_READ)
    return { data: { 'text/plain': `${head}: ${t.size} values (too large to preview)` } };
  const raw = t.dataSync();
  const numeric = t.dtype !== 'string' && t.dtype !== 'complex64';
  const values = raw as ArrayLike<number>;
  const s = numeric ? stats(values) : null;
  const summary = s
    ? `min ${fmt(s.min)}, max ${fmt(s.max)}, mean ${fmt(s.mean)}${s.nonFinite ? `, ${s.nonFinite} non-finite` : ''}`
    : '';
  // tfjs's printout summarises large tensors to their corners; drop its own "Tensor" line.
  const preview = t
    .toString()
    .replace(/^Tensor\n?/, '')
    .replace(/^\s*\n/, '');
  const text = `${head}${summary ? `  ${summary}` : ''}\n${preview}`;
  const img = s ? tensorImage(t.shape, t.dtype, values, s) : null;
  const png = img ? base64(encodePng(img)) : null;
  const html =
    `<div class="mriseq-tensor"><div style="font:12px monospace"><b>${escapeHtml(head)}</b>` +
    (summary ? ` &middot; ${escapeHtml(summary)}` : '') +
    `</div>` +
    (png
      ? `<img src="data:image/png;base64,${png}" style="image-rendering:pixelated;margin:4px 0" alt="${escapeHtml(head)}"/>`
      : '') +
    `<pre style="margin:0;max-height:16em;overflow:auto">${escapeHtml(preview)}</pre></div>`;
  return { data: { 'text/plain': text, 'text/html': html, ...(png ? { 'image/png': png } : {}) } };
}
