/**
 * A compact inline volume view: axial slices of anatomy with an optional overlay (e.g. an
 * imaging-differentiation map M_d) and a slice slider, as one self-contained HTML output (slices
 * are embedded PNG data URIs; no CDN, no extension), plus a PNG montage as the static fallback.
 */
import { MriseqError } from '../errors/index.js';
import type { Volume } from '../volume/index.js';
import { escapeHtml, newDisplayId, type Displayable, type RichOutput } from './core.js';
import { base64, encodePng, type RawImage } from './png.js';
import type { Colormap } from './viewer-protocol.js';

export type { Colormap } from './viewer-protocol.js';

/**
 * Options of {@link volumeView}.
 *
 * @example
 * ```ts
 * import { type VolumeViewOptions } from 'mriseq';
 * const o: VolumeViewOptions = { overlayThreshold: 0.2, overlayOpacity: 0.5, colormap: 'jet', window: [-1, 1], maxSlices: 20 };
 * console.log(o.colormap);
 * ```
 */
export interface VolumeViewOptions {
  /** A map over the anatomy, same [nx, ny, nz] grid (a Volume or its data). */
  overlay?: Volume | Float32Array;
  /** Overlay voxels with |value| / scale below this fraction are transparent (default 0.1). */
  overlayThreshold?: number;
  /** 0..1 (default 0.6). */
  overlayOpacity?: number;
  colormap?: Colormap;
  /** Overlay value mapped to full colour; default: max |overlay|. */
  overlayScale?: number;
  /** Intensity window [low, high]; default the 1st and 99th percentiles of the anatomy. */
  window?: [number, number];
  /** At most this many axial slices (evenly spaced; default 40). */
  maxSlices?: number;
  /** In-plane size limit in pixels: larger slices are subsampled (default 192). */
  maxSize?: number;
  /** Frame of a 4D volume (default 0). */
  frame?: number;
  /** On-screen zoom of each pixel (default: fit ~256 px). */
  zoom?: number;
  title?: string;
}

/**
 * The colour of position t on a colour map, as the volume views draw overlays.
 *
 * @param name - 'hot', 'jet' or 'coolwarm' (signed maps: 0.5 is neutral white).
 * @param t - Position in [0, 1] (clipped).
 * @returns [r, g, b], each 0 to 255.
 * @example
 * ```ts
 * import { colormap } from 'mriseq';
 * console.log(colormap('hot', 0), colormap('hot', 1), colormap('coolwarm', 0.5)); // [0,0,0] [255,255,255] [255,255,255]
 * ```
 */
export function colormap(name: Colormap, t: number): [number, number, number] {
  const c = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  if (name === 'hot') return [c(3 * t), c(3 * t - 1), c(3 * t - 2)];
  if (name === 'jet')
    return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
  // coolwarm on t in [0,1] with 0.5 neutral (signed maps)
  return t < 0.5 ? [c(2 * t), c(2 * t), 255] : [255, c(2 - 2 * t), c(2 - 2 * t)];
}

function percentiles(data: Float32Array, ps: number[]): number[] {
  // A strided sample keeps this cheap on 240x240x155 volumes; a window needs no exact quantile.
  const step = Math.max(1, Math.floor(data.length / 200_000));
  const s: number[] = [];
  for (let i = 0; i < data.length; i += step) if (Number.isFinite(data[i])) s.push(data[i]);
  s.sort((a, b) => a - b);
  if (s.length === 0) return ps.map(() => 0);
  return ps.map((p) => s[Math.min(s.length - 1, Math.max(0, Math.round((p / 100) * (s.length - 1))))]);
}

interface Prepared {
  nx: number;
  ny: number;
  nz: number;
  data: Float32Array;
  overlay?: Float32Array;
  lo: number;
  hi: number;
  scale: number;
  stride: number;
  signed: boolean;
}

function prepare(vol: Volume, opts: VolumeViewOptions): Prepared {
  const [nx, ny, nz = 1, nt = 1] = vol.shape;
  if (!(nx > 0 && ny > 0) || vol.data.length < nx * ny * nz * nt)
    throw new MriseqError('volume data does not match its shape', {
      field: 'shape',
      found: `${vol.data.length} values for shape [${vol.shape.join(', ')}]`,
      expected: 'data.length = product of shape',
    });
  const frame = opts.frame ?? 0;
  if (frame < 0 || frame >= nt)
    throw new MriseqError('frame out of range', {
      field: 'frame',
      found: String(frame),
      expected: `0..${nt - 1}`,
    });
  const n3 = nx * ny * nz;
  const data = vol.data.subarray(frame * n3, (frame + 1) * n3);
  let overlay: Float32Array | undefined;
  if (opts.overlay) {
    const o = opts.overlay instanceof Float32Array ? opts.overlay : opts.overlay.data;
    if (o.length < n3)
      throw new MriseqError('overlay does not cover the volume', {
        field: 'overlay',
        found: `${o.length} values`,
        expected: `${n3} (${nx}x${ny}x${nz})`,
      });
    overlay = o.subarray(0, n3);
  }
  const [lo, hi] = opts.window ?? (percentiles(data, [1, 99]) as [number, number]);
  let scale = opts.overlayScale ?? 0;
  let signed = false;
  if (overlay && !opts.overlayScale) {
    for (let i = 0; i < overlay.length; i++) {
      const v = overlay[i];
      if (Number.isFinite(v)) {
        if (Math.abs(v) > scale) scale = Math.abs(v);
        if (v < 0) signed = true;
      }
    }
  } else if (overlay) for (let i = 0; i < overlay.length && !signed; i++) signed = overlay[i] < 0;
  const stride = Math.max(1, Math.ceil(Math.max(nx, ny) / (opts.maxSize ?? 192)));
  return {
    nx,
    ny,
    nz,
    data,
    overlay,
    lo,
    hi: hi > lo ? hi : lo + 1,
    scale: scale > 0 ? scale : 1,
    stride,
    signed,
  };
}

/** One axial slice as RGB pixels: anatomy in grey, overlay blended on top; anterior (+y) up. */
function renderAxial(p: Prepared, z: number, opts: VolumeViewOptions): RawImage {
  const w = Math.ceil(p.nx / p.stride);
  const h = Math.ceil(p.ny / p.stride);
  const px = new Uint8Array(w * h * 3);
  const thr = opts.overlayThreshold ?? 0.1;
  const alpha = opts.overlayOpacity ?? 0.6;
  const cmap = opts.colormap ?? (p.signed ? 'coolwarm' : 'hot');
  for (let r = 0; r < h; r++) {
    const y = p.ny - 1 - r * p.stride;
    for (let c = 0; c < w; c++) {
      const x = c * p.stride;
      const i = x + p.nx * (y + p.ny * z);
      const v = p.data[i];
      const g = Number.isFinite(v)
        ? Math.round(255 * Math.min(1, Math.max(0, (v - p.lo) / (p.hi - p.lo))))
        : 0;
      let rgb: [number, number, number] = [g, g, g];
      if (p.overlay) {
        const o = p.overlay[i];
        const t = o / p.scale;
        if (Number.isFinite(t) && Math.abs(t) >= thr) {
          const col = colormap(cmap, p.signed ? 0.5 + 0.5 * t : Math.abs(t));
          rgb = [0, 1, 2].map((k) => Math.round((1 - alpha) * rgb[k] + alpha * col[k])) as [
            number,
            number,
            number,
          ];
        }
      }
      const o3 = (r * w + c) * 3;
      px[o3] = rgb[0];
      px[o3 + 1] = rgb[1];
      px[o3 + 2] = rgb[2];
    }
  }
  return { width: w, height: h, channels: 3, pixels: px };
}

/**
 * Tiles images of equal size into a grid (cols wide) with a 2-pixel black gap.
 * @param images - Images of one size and channel count.
 * @param cols - Images per row.
 * @returns One image with the tiles.
 * @example
 * ```ts
 * import { encodePng, montage, type RawImage } from 'mriseq';
 * const tile: RawImage = { width: 4, height: 4, channels: 1, pixels: new Uint8Array(16).fill(200) };
 * const m = montage([tile, tile, tile], 2);
 * console.log(m.width, m.height, encodePng(m).length);
 * ```
 */
export function montage(images: RawImage[], cols: number): RawImage {
  const w = images[0].width;
  const h = images[0].height;
  const rows = Math.ceil(images.length / cols);
  const gap = 2;
  const W = cols * w + (cols - 1) * gap;
  const H = rows * h + (rows - 1) * gap;
  const px = new Uint8Array(W * H * 3);
  images.forEach((im, k) => {
    const ox = (k % cols) * (w + gap);
    const oy = Math.floor(k / cols) * (h + gap);
    for (let y = 0; y < h; y++)
      px.set(im.pixels.subarray(y * w * 3, (y + 1) * w * 3), ((oy + y) * W + ox) * 3);
  });
  return { width: W, height: H, channels: 3, pixels: px };
}

/**
 * The axial slice viewer {@link volumeView} returns.
 *
 * @example
 * ```ts
 * import { VolumeView, phantom } from 'mriseq';
 * const v = new VolumeView(phantom({ size: [32, 32, 16] }).subject(0).volumes.flair!, { maxSlices: 8 });
 * console.log(v.slices, v.width, v.height, v.montagePng.length);
 * ```
 */
export class VolumeView implements Displayable {
  /** The z index of each embedded slice. */
  readonly slices: number[];
  /** One PNG per embedded slice. */
  readonly pngs: Uint8Array[];
  /** A montage of up to 6 slices: the static fallback. */
  readonly montagePng: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly title: string;
  private readonly zoom: number;

  constructor(vol: Volume, opts: VolumeViewOptions = {}) {
    const p = prepare(vol, opts);
    const n = Math.max(1, Math.min(p.nz, opts.maxSlices ?? 40));
    this.slices = [...new Set(Array.from({ length: n }, (_, k) => Math.round(((k + 0.5) * p.nz) / n - 0.5)))];
    const images = this.slices.map((z) => renderAxial(p, z, opts));
    this.pngs = images.map(encodePng);
    this.width = images[0].width;
    this.height = images[0].height;
    const m = Math.min(6, images.length);
    const pick = Array.from(
      { length: m },
      (_, k) => images[Math.round(((k + 0.5) * images.length) / m - 0.5)],
    );
    this.montagePng = encodePng(montage(pick, Math.min(3, m)));
    this.title = opts.title ?? `volume ${vol.shape.join('x')}`;
    this.zoom = opts.zoom ?? Math.max(1, Math.floor(256 / Math.max(this.width, this.height)));
  }

  toHtml(): string {
    const id = newDisplayId();
    const uris = this.pngs.map((b) => `data:image/png;base64,${base64(b)}`);
    const mid = Math.floor(uris.length / 2);
    const w = this.width * this.zoom;
    return (
      `<div id="${id}" class="mriseq-volume" style="font:12px sans-serif;display:inline-block">` +
      `<div>${escapeHtml(this.title)} · axial z=<span class="z">${this.slices[mid]}</span></div>` +
      `<img src="${uris[mid]}" width="${w}" style="image-rendering:pixelated;display:block" alt="axial slice"/>` +
      `<input type="range" min="0" max="${uris.length - 1}" value="${mid}" style="width:${w}px"/>` +
      `</div><script>(function(){var r=document.getElementById(${JSON.stringify(id)});if(!r)return;` +
      `var s=${JSON.stringify(uris)},z=${JSON.stringify(this.slices)};var i=r.querySelector('img'),` +
      `t=r.querySelector('.z'),k=r.querySelector('input');k.addEventListener('input',function(){` +
      `i.src=s[+k.value];t.textContent=z[+k.value];});})();</script>`
    );
  }

  toMimeBundle(): RichOutput {
    return {
      data: {
        'text/plain': `${this.title}: ${this.slices.length} axial slices (${this.width}x${this.height} px)`,
        'text/html': this.toHtml(),
        'image/png': base64(this.montagePng),
      },
    };
  }
}

/**
 * A displayable slice viewer for a volume (and an overlay such as M_d).
 * Needs no extension: PNG slices with a slider in the HTML, a montage for static views.
 *
 * @param vol - The anatomy (3D or 4D).
 * @param opts - Overlay (e.g. M_d) and its threshold, opacity, colour map and scale; window; slices, size, frame, zoom, title.
 * @returns A displayable {@link VolumeView}.
 * @example
 * ```ts
 * import { display, phantom, subtractionMap, volumeView } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16] }).subject(0);
 * display(volumeView(s.volumes.t1gd!, { overlay: subtractionMap(s.volumes.t1gd!, s.volumes.t1!), colormap: 'hot', title: 'T1Gd' }));
 * ```
 */
export function volumeView(vol: Volume, opts: VolumeViewOptions = {}): VolumeView {
  return new VolumeView(vol, opts);
}
