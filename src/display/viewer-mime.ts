/**
 * The mriseq volume MIME type, rendered by the mriseq JupyterLab extension (labextension/): a
 * multiplanar viewer with linked side-by-side views (e.g. real | generated | M_d), overlays,
 * window/level and a voxel readout. Volumes travel as quantised typed binary (base64), optionally
 * downsampled, so a 240x240x155 volume with an overlay is a few MB. Every bundle also carries the
 * extension-free HTML view (volumeView), so notebooks read well without the extension.
 * Browser-safe.
 */
import { MriseqError } from '../errors/index.js';
import type { Volume } from '../volume/index.js';
import { kernelComms, type CommMessage, type KernelComm } from './comm.js';
import { newDisplayId, type Displayable, type RichOutput } from './core.js';
import type { DisplayHandle } from './display.js';
import { volumeView } from './volume.js';
import {
  VIEWER_COMM_TARGET,
  VOLUME_MIME,
  type Colormap,
  type VolumeLayerPayload,
  type VolumeMimePayload,
  type VoxelEncoding,
} from './viewer-protocol.js';

export {
  VIEWER_COMM_TARGET,
  VOLUME_MIME,
  type VolumeLayerPayload,
  type VolumeMimePayload,
  type VoxelEncoding,
};

/**
 * Options of {@link volumeViewer}.
 *
 * @example
 * ```ts
 * import { type VolumeViewerOptions } from 'mriseq';
 * const o: VolumeViewerOptions = { maxSize: 128, dtype: 'uint8', colormap: 'hot', overlayOpacity: 0.6, title: 'sim-00000' };
 * console.log(o.title);
 * ```
 */
export interface VolumeViewerOptions {
  /** Maps to show in colour over the anatomy, e.g. { M_d: map }. */
  overlay?: Volume | Record<string, Volume>;
  /** Largest sent extent per axis; larger volumes are subsampled by an integer step (default 256). */
  maxSize?: number;
  /** Voxel encoding (default 'uint8': 1 byte per voxel, readout exact to range/510). */
  dtype?: VoxelEncoding;
  /** Intensity window; default the 1st and 99th percentiles of the first layer. */
  window?: [number, number];
  colormap?: Colormap;
  overlayOpacity?: number;
  overlayThreshold?: number;
  /** Frame of 4D volumes (default 0). */
  frame?: number;
  title?: string;
  /** Also embed the extension-free HTML view and PNG montage (default true). */
  fallback?: boolean;
  /** In the kernel: connect the shown viewer to the kernel through a comm (default true). */
  live?: boolean;
}

/**
 * A click in a shown viewer, as its onClick callbacks get it.
 *
 * @example
 * ```ts
 * import { phantom, volumeViewer, type ViewerClick } from 'mriseq';
 * const v = volumeViewer(phantom({ size: [32, 32, 16] }).subject(0).volumes.t1!);
 * const clicks: ViewerClick[] = [];
 * v.onClick((c) => clicks.push(c)); // c.voxel, c.world (mm), c.values of every layer
 * ```
 */
export interface ViewerClick {
  /** Voxel on the volumes' own grid (x, y, z). */
  voxel: [number, number, number];
  /** World coordinates of that voxel (mm, from the first volume's affine). */
  world: [number, number, number];
  /** Every layer's and overlay's value there, at full precision (e.g. { real, generated, M_d }). */
  values: Record<string, number>;
}

type Named = { name: string; volume: Volume };

function asNamed(x: Volume | Record<string, Volume>, base: string): Named[] {
  if (isVolumeLike(x)) return [{ name: base, volume: x }];
  return Object.entries(x).map(([name, volume]) => ({ name, volume }));
}

/** Whether a value is a Volume (display's dispatch asks the same). */
export function isVolumeLike(x: unknown): x is Volume {
  if (typeof x !== 'object' || x === null) return false;
  const v = x as Partial<Volume>;
  return v.data instanceof Float32Array && Array.isArray(v.shape) && Array.isArray(v.affine);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * base64 of bytes: Buffer in Node, else a chunked encoder (the payload can be tens of MB).
 * @param bytes - Any bytes.
 * @returns Their base64 text.
 * @example
 * ```ts
 * import { base64ToBytes, bytesToBase64 } from 'mriseq';
 * const b64 = bytesToBase64(new Uint8Array([1, 2, 3]));
 * console.log(b64, base64ToBytes(b64)); // 'AQID' Uint8Array [1, 2, 3]
 * ```
 */
export function bytesToBase64(bytes: Uint8Array): string {
  const B = (
    globalThis as {
      Buffer?: { from(b: ArrayBufferLike, o: number, l: number): { toString(e: string): string } };
    }
  ).Buffer;
  if (B) return B.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const parts: string[] = [];
  const chunk = 3 * 16384;
  for (let s = 0; s < bytes.length; s += chunk) {
    const end = Math.min(bytes.length, s + chunk);
    const codes: number[] = [];
    let i = s;
    for (; i + 2 < end; i += 3) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      codes.push(
        B64.charCodeAt(n >>> 18),
        B64.charCodeAt((n >>> 12) & 63),
        B64.charCodeAt((n >>> 6) & 63),
        B64.charCodeAt(n & 63),
      );
    }
    if (end - i === 1) {
      const n = bytes[i] << 16;
      codes.push(B64.charCodeAt(n >>> 18), B64.charCodeAt((n >>> 12) & 63), 61, 61);
    } else if (end - i === 2) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
      codes.push(
        B64.charCodeAt(n >>> 18),
        B64.charCodeAt((n >>> 12) & 63),
        B64.charCodeAt((n >>> 6) & 63),
        61,
      );
    }
    parts.push(String.fromCharCode(...codes));
  }
  return parts.join('');
}

/**
 * Inverse of bytesToBase64 (used by tests and by readers of saved notebooks).
 * @param s - base64 text.
 * @returns The bytes.
 * @example
 * ```ts
 * import { base64ToBytes } from 'mriseq';
 * console.log(new TextDecoder().decode(base64ToBytes('bXJp'))); // 'mri'
 * ```
 */
export function base64ToBytes(s: string): Uint8Array {
  const B = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;
  if (B) {
    const b = B.from(s, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const lut = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) lut[B64.charCodeAt(i)] = i;
  const clean = s.replace(/[^A-Za-z0-9+/]/g, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let o = 0;
  for (let i = 0; i + 1 < clean.length; i += 4) {
    const n =
      (lut[clean.charCodeAt(i)] << 18) |
      (lut[clean.charCodeAt(i + 1)] << 12) |
      ((i + 2 < clean.length ? lut[clean.charCodeAt(i + 2)] : 0) << 6) |
      (i + 3 < clean.length ? lut[clean.charCodeAt(i + 3)] : 0);
    out[o++] = n >>> 16;
    if (i + 2 < clean.length) out[o++] = (n >>> 8) & 255;
    if (i + 3 < clean.length) out[o++] = n & 255;
  }
  return out.subarray(0, o);
}

/** Subsampled copy of one frame (step along every axis). */
function gridData(vol: Volume, frame: number, step: number, out: [number, number, number]): Float32Array {
  const [nx, ny, nz = 1] = vol.shape;
  const [mx, my, mz] = out;
  const base = frame * nx * ny * nz;
  if (step === 1) return vol.data.subarray(base, base + nx * ny * nz);
  const d = new Float32Array(mx * my * mz);
  let k = 0;
  for (let z = 0; z < mz; z++)
    for (let y = 0; y < my; y++) {
      const row = base + nx * (y * step + ny * z * step);
      for (let x = 0; x < mx; x++) d[k++] = vol.data[row + x * step];
    }
  return d;
}

function encodeLayer(name: string, d: Float32Array, dtype: VoxelEncoding): VolumeLayerPayload {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(min <= max)) min = max = 0;
  if (dtype === 'float32') {
    const copy = new Float32Array(d);
    return { name, dtype, data: bytesToBase64(new Uint8Array(copy.buffer)), offset: 0, scale: 1, min, max };
  }
  const levels = dtype === 'uint8' ? 255 : 65535;
  const scale = max > min ? (max - min) / levels : 1;
  const inv = 1 / scale;
  const q = dtype === 'uint8' ? new Uint8Array(d.length) : new Uint16Array(d.length);
  // Non-finite voxels become the minimum (NaN compares false and lands on 0 through the clamp).
  for (let i = 0; i < d.length; i++) {
    const t = (d[i] - min) * inv + 0.5;
    q[i] = t > 0 ? (t < levels ? t : levels) : 0;
  }
  return { name, dtype, data: bytesToBase64(new Uint8Array(q.buffer)), offset: min, scale, min, max };
}

function percentileWindow(d: Float32Array): [number, number] {
  const step = Math.max(1, Math.floor(d.length / 200_000));
  const s: number[] = [];
  for (let i = 0; i < d.length; i += step) if (Number.isFinite(d[i])) s.push(d[i]);
  s.sort((a, b) => a - b);
  if (s.length === 0) return [0, 1];
  const lo = s[Math.round(0.01 * (s.length - 1))];
  const hi = s[Math.round(0.99 * (s.length - 1))];
  return [lo, hi > lo ? hi : lo + 1];
}

/**
 * The JSON payload of the volume MIME type for named anatomy layers (all on one grid) and
 * optional overlays. Checks that every volume has the same spatial shape.
 * @param layers - One volume or named volumes on one grid.
 * @param opts - As {@link volumeViewer}.
 * @returns The payload (subsampled by an integer step to `maxSize`, voxels quantised as `dtype`).
 * @throws {@link MriseqError} when there is no volume, a value is not a Volume, grids differ, data do not match their shape, or the frame is out of range.
 * @example
 * ```ts
 * import { phantom, volumeMimePayload } from 'mriseq';
 * const p = volumeMimePayload(phantom({ size: [64, 64, 32] }).subject(0).volumes.t1!, { maxSize: 32, dtype: 'uint16' });
 * console.log(p.shape, p.step, p.sourceShape); // [32, 32, 16] 2 [64, 64, 32]
 * ```
 */
export function volumeMimePayload(
  layers: Volume | Record<string, Volume>,
  opts: VolumeViewerOptions = {},
): VolumeMimePayload {
  const named = asNamed(layers, 'volume');
  if (named.length === 0)
    throw new MriseqError('no volume to view', {
      field: 'layers',
      found: '{}',
      expected: 'at least one Volume',
    });
  const overlays = opts.overlay ? asNamed(opts.overlay, 'overlay') : [];
  const ref = named[0].volume;
  const [nx, ny, nz = 1] = ref.shape;
  for (const { name, volume } of [...named, ...overlays]) {
    if (!isVolumeLike(volume))
      throw new MriseqError('not a Volume', { field: name, found: typeof volume, expected: 'a Volume' });
    const [a, b, c = 1, t = 1] = volume.shape;
    if (a !== nx || b !== ny || c !== nz)
      throw new MriseqError('volumes in one viewer must share a grid', {
        field: name,
        found: `shape [${volume.shape.join(', ')}]`,
        expected: `[${nx}, ${ny}, ${nz}] like "${named[0].name}"`,
      });
    if (volume.data.length < a * b * c * t)
      throw new MriseqError('volume data does not match its shape', {
        field: name,
        found: `${volume.data.length} values`,
        expected: `${a * b * c * t}`,
      });
  }
  const maxSize = Math.max(1, Math.floor(opts.maxSize ?? 256));
  const step = Math.max(1, Math.ceil(Math.max(nx, ny, nz) / maxSize));
  const out: [number, number, number] = [Math.ceil(nx / step), Math.ceil(ny / step), Math.ceil(nz / step)];
  const frame = opts.frame ?? 0;
  const frameOf = (v: Volume) => {
    const nt = v.shape[3] ?? 1;
    if (frame < 0 || frame >= nt)
      throw new MriseqError('frame out of range', {
        field: 'frame',
        found: String(frame),
        expected: `0..${nt - 1}`,
      });
    return frame;
  };
  const dtype = opts.dtype ?? 'uint8';
  const grids = named.map(({ volume }) => gridData(volume, frameOf(volume), step, out));
  const sp = [0, 1, 2].map((i) => (ref.spacing[i] ?? 1) * step) as [number, number, number];
  const affine = ref.affine.map((row, r) =>
    r < 3 ? [row[0] * step, row[1] * step, row[2] * step, row[3]] : [...row],
  );
  const encodedOverlays = overlays.map(({ name, volume }) => {
    const d = gridData(volume, Math.min(frame, (volume.shape[3] ?? 1) - 1), step, out);
    const enc = encodeLayer(name, d, dtype);
    return { ...enc, signed: enc.min < 0 };
  });
  const signed = encodedOverlays[0]?.signed ?? false;
  return {
    version: 1,
    title: opts.title ?? named.map((n) => n.name).join(' | '),
    shape: out,
    spacing: sp,
    affine,
    sourceShape: [nx, ny, nz],
    step,
    layers: named.map(({ name }, i) => encodeLayer(name, grids[i], dtype)),
    overlays: encodedOverlays,
    window: opts.window ?? percentileWindow(grids[0]),
    colormap: opts.colormap ?? (signed ? 'coolwarm' : 'hot'),
    overlayOpacity: opts.overlayOpacity ?? 0.6,
    overlayThreshold: opts.overlayThreshold ?? 0.1,
  };
}

/** Live viewers by id, for the comm target (the latest few: each holds its volumes). */
const live = new Map<string, VolumeViewer>();
const MAX_LIVE = 32;
let targetRegistered = false;

function registerLive(v: VolumeViewer, id: string): void {
  live.set(id, v);
  while (live.size > MAX_LIVE) live.delete(live.keys().next().value as string);
  const comms = kernelComms();
  if (!comms || targetRegistered) return;
  targetRegistered = true;
  comms.registerTarget(VIEWER_COMM_TARGET, (comm, open) => {
    const viewer = live.get(String(open.data.viewer ?? ''));
    // A viewer from before a kernel restart (or evicted): the front end stays static.
    if (!viewer) comm.close({ error: `no live viewer ${String(open.data.viewer)} in this kernel` });
    else viewer.attach(comm);
  });
}

/**
 * A displayable linked multiplanar viewer (the JupyterLab extension renders it).
 * Linked multiplanar views (see {@link volumeViewer}); without the extension the HTML view and montage show.
 *
 * @example
 * ```ts
 * import { VolumeViewer, phantom } from 'mriseq';
 * const v = new VolumeViewer(phantom({ size: [32, 32, 16] }).subject(0).volumes.t2!, { fallback: false });
 * console.log(v.payload.shape, v.payload.layers[0]?.name);
 * ```
 */
export class VolumeViewer implements Displayable {
  readonly payload: VolumeMimePayload;
  private fallback?: RichOutput;
  /** Set in the kernel: the id the front end's comm names. */
  readonly id?: string;
  private layerVolumes: Named[];
  private overlayVolumes: Named[];
  private readonly comms: KernelComm[] = [];
  private readonly clickHandlers: ((click: ViewerClick) => void)[] = [];
  private readonly handles: DisplayHandle[] = [];

  constructor(
    layers: Volume | Record<string, Volume>,
    private readonly opts: VolumeViewerOptions = {},
  ) {
    this.payload = volumeMimePayload(layers, opts);
    this.layerVolumes = asNamed(layers, 'volume');
    this.overlayVolumes = opts.overlay ? asNamed(opts.overlay, 'overlay') : [];
    this.fallback = this.makeFallback();
    if ((opts.live ?? true) && kernelComms()) {
      this.id = newDisplayId();
      this.payload.comm = { target: VIEWER_COMM_TARGET, viewer: this.id };
      registerLive(this, this.id);
    }
  }

  private makeFallback(): RichOutput | undefined {
    if (!(this.opts.fallback ?? true)) return undefined;
    const o = this.opts;
    return volumeView(this.layerVolumes[0].volume, {
      overlay: this.overlayVolumes[0]?.volume,
      overlayOpacity: o.overlayOpacity,
      overlayThreshold: o.overlayThreshold,
      colormap: o.colormap,
      window: o.window,
      frame: o.frame,
      title: this.payload.title,
    }).toMimeBundle();
  }

  toMimeBundle(): RichOutput {
    const p = this.payload;
    return {
      data: {
        ...(this.fallback?.data ?? {}),
        [VOLUME_MIME]: p,
        'text/plain': `${p.title}: ${p.layers.length} view(s) + ${p.overlays.length} overlay(s), grid ${p.shape.join('x')}${p.step > 1 ? ` (subsampled: step ${p.step} of ${p.sourceShape.join('x')})` : ''}`,
      },
    };
  }

  /** Called by display(): the outputs showing this viewer (updated when no front end listens). */
  [Symbol.for('mriseq.display.shown')](handle: DisplayHandle): void {
    this.handles.push(handle);
  }

  /** Front ends showing this viewer now (open comms). */
  get connected(): number {
    return this.comms.filter((c) => c.isOpen).length;
  }

  /**
   * Calls `cb` with the clicked voxel's values of every volume (layers and overlays, at full
   * precision) when the user clicks a view in JupyterLab.
   */
  onClick(cb: (click: ViewerClick) => void): this {
    this.clickHandlers.push(cb);
    return this;
  }

  /**
   * Replaces some volumes (by name: layers or overlays, same grid) in every shown copy of this
   * viewer, in place: e.g. the generated volume after each few training steps. Front ends with an
   * open comm get only the changed volumes; with none, the notebook outputs are redrawn.
   */
  update(volumes: Record<string, Volume>): void {
    const ref = this.layerVolumes[0].volume;
    const p = this.payload;
    const [nx, ny, nz = 1] = ref.shape;
    const changed: { kind: 'layers' | 'overlays'; index: number }[] = [];
    for (const [name, volume] of Object.entries(volumes)) {
      const li = this.layerVolumes.findIndex((l) => l.name === name);
      const oi = this.overlayVolumes.findIndex((l) => l.name === name);
      if (li < 0 && oi < 0)
        throw new MriseqError('no such volume in this viewer', {
          field: name,
          expected: [...this.layerVolumes, ...this.overlayVolumes].map((l) => l.name).join(', '),
        });
      if (!isVolumeLike(volume))
        throw new MriseqError('not a Volume', { field: name, found: typeof volume, expected: 'a Volume' });
      const [a, b, c = 1] = volume.shape;
      if (a !== nx || b !== ny || c !== nz)
        throw new MriseqError('volumes in one viewer must share a grid', {
          field: name,
          found: `shape [${volume.shape.join(', ')}]`,
          expected: `[${nx}, ${ny}, ${nz}]`,
        });
      const frame = Math.min(this.opts.frame ?? 0, (volume.shape[3] ?? 1) - 1);
      const enc = encodeLayer(name, gridData(volume, frame, p.step, p.shape), this.opts.dtype ?? 'uint8');
      if (li >= 0) {
        this.layerVolumes[li] = { name, volume };
        p.layers[li] = enc;
        changed.push({ kind: 'layers', index: li });
      } else {
        this.overlayVolumes[oi] = { name, volume };
        p.overlays[oi] = { ...enc, signed: enc.min < 0 };
        changed.push({ kind: 'overlays', index: oi });
      }
    }
    const open = this.comms.filter((c) => c.isOpen);
    if (open.length > 0) {
      const msg = {
        event: 'update',
        layers: changed
          .filter((c) => c.kind === 'layers')
          .map((c) => ({ index: c.index, layer: p.layers[c.index] })),
        overlays: changed
          .filter((c) => c.kind === 'overlays')
          .map((c) => ({ index: c.index, layer: p.overlays[c.index] })),
      };
      for (const c of open) c.send(msg);
      return;
    }
    this.fallback = this.makeFallback();
    for (const h of this.handles) h.update(this);
  }

  /** Moves the crosshair of every shown copy to a voxel of the volumes' grid. */
  setCursor(voxel: [number, number, number]): void {
    const s = this.payload.step;
    const sent = voxel.map((v, a) => Math.min(this.payload.shape[a] - 1, Math.max(0, Math.round(v / s))));
    for (const c of this.comms) if (c.isOpen) c.send({ event: 'cursor', voxel: sent });
  }

  /** The values of every volume at a voxel of the sent grid (the front end's coordinates). */
  valuesAt(sent: [number, number, number]): ViewerClick {
    const s = this.payload.step;
    const ref = this.layerVolumes[0].volume;
    const [nx, ny, nz = 1] = ref.shape;
    const voxel = sent.map((v, a) => Math.min([nx, ny, nz][a] - 1, Math.max(0, Math.round(v) * s))) as [
      number,
      number,
      number,
    ];
    const frame = this.opts.frame ?? 0;
    const values: Record<string, number> = {};
    for (const { name, volume } of [...this.layerVolumes, ...this.overlayVolumes]) {
      const f = Math.min(frame, (volume.shape[3] ?? 1) - 1);
      values[name] = volume.data[f * nx * ny * nz + voxel[0] + nx * (voxel[1] + ny * voxel[2])];
    }
    const A = ref.affine;
    const world = [0, 1, 2].map(
      (r) => A[r][0] * voxel[0] + A[r][1] * voxel[1] + A[r][2] * voxel[2] + A[r][3],
    ) as [number, number, number];
    return { voxel, world, values };
  }

  /** A front end's comm for this viewer (called by the comm target). */
  attach(comm: KernelComm): void {
    this.comms.push(comm);
    comm.send({ event: 'ready' });
    comm.onClose(() => {
      const i = this.comms.indexOf(comm);
      if (i >= 0) this.comms.splice(i, 1);
    });
    comm.onMsg((m: CommMessage) => {
      if (m.data.event !== 'click') return;
      const v = m.data.voxel;
      if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => Number.isInteger(x) && x >= 0))
        throw new MriseqError('viewer click without a voxel', {
          field: 'voxel',
          found: JSON.stringify(v),
          expected: '[x, y, z] integers',
        });
      const click = this.valuesAt(v as [number, number, number]);
      // The front end shows the kernel's full-precision values next to its own (quantised) readout.
      comm.send({
        event: 'values',
        voxel: v,
        values: click.values,
        world: click.world,
        sourceVoxel: click.voxel,
      });
      for (const h of this.clickHandlers) h(click);
    });
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `VolumeViewer(${this.payload.title}${this.id ? `, ${this.connected} connected` : ''})`;
  }
}

/**
 * Linked multiplanar views of named volumes on one grid, e.g.
 * `volumeViewer({ real, generated }, { overlay: { M_d: map } })`.
 * @param layers - One volume or named volumes on one grid.
 * @param opts - Overlays, size limit, voxel encoding, window, colour map, overlay opacity and threshold, frame, title, fallback.
 * @returns A displayable {@link VolumeViewer}.
 * @throws {@link MriseqError} as {@link volumeMimePayload}.
 * @example
 * ```ts
 * import { display, normalizeIntensity, phantom, subtractionMap, volumeViewer } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16] }).subject(0);
 * const t1gd = normalizeIntensity(s.volumes.t1gd!);
 * const t1 = normalizeIntensity(s.volumes.t1!);
 * display(volumeViewer({ t1gd, t1 }, { overlay: { '|T1Gd - T1|': subtractionMap(t1gd, t1) } }));
 * ```
 */
export function volumeViewer(
  layers: Volume | Record<string, Volume>,
  opts: VolumeViewerOptions = {},
): VolumeViewer {
  return new VolumeViewer(layers, opts);
}
