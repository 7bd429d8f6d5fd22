/**
 * JupyterLab MIME renderer for mriseq volumes (application/vnd.mriseq.volume+json, sent by
 * mriseq's display helpers: volumeViewer() and bare Volumes). One linked view per anatomy layer
 * (e.g. real | generated) plus one per overlay (e.g. M_d over the real scan), each with axial,
 * coronal and sagittal planes; one slider per axis drives every view, clicking moves the shared
 * crosshair, hovering reads out every layer's value at that voxel.
 *
 * Drawn with canvas 2D, not WebGL (NiiVue): each output would need a WebGL context per view and
 * browsers keep only ~16 live contexts per page, so a notebook with a few viewers would lose the
 * earlier ones; slices of a 240x240x155 grid are cheap to draw on the CPU anyway.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import {
  VOLUME_MIME,
  type VolumeLayerPayload,
  type VolumeMimePayload,
} from '../../src/display/viewer-protocol';

export { VOLUME_MIME };

/**
 * A layer as received: the kernel's {@link VolumeLayerPayload}; `signed` comes with overlays (and
 * is derived from the range when an older kernel left it out).
 */
type LayerPayload = VolumeLayerPayload & { signed?: boolean };

/** Fields the viewer falls back on when a payload lacks them (older kernels sent less). */
type Defaulted = 'sourceShape' | 'step' | 'window' | 'colormap' | 'overlayOpacity' | 'overlayThreshold';

/**
 * The payload as received: the kernel's {@link VolumeMimePayload} (src/display/viewer-protocol.ts,
 * the one declaration), read defensively: the version is checked, not assumed, and the fields
 * above may be missing.
 */
type Payload = Omit<VolumeMimePayload, Defaulted | 'version' | 'overlays'> &
  Partial<Pick<VolumeMimePayload, Defaulted>> & { version: number; overlays?: LayerPayload[] };

/** The part of JupyterLab's kernel connection the live viewer uses (duck-typed: no extra deps). */
export interface KernelLike {
  createComm(targetName: string): CommLike;
}

export interface CommLike {
  readonly isDisposed: boolean;
  open(data?: unknown): unknown;
  send(data: unknown): unknown;
  close(data?: unknown): unknown;
  onMsg: (msg: { content: { data: unknown } }) => void;
  onClose: (msg: { content: { data: unknown } }) => void;
}

type KernelMessage = {
  event?: string;
  layers?: { index: number; layer: LayerPayload }[];
  overlays?: { index: number; layer: LayerPayload }[];
  voxel?: [number, number, number];
  values?: Record<string, number>;
  world?: [number, number, number];
  sourceVoxel?: [number, number, number];
};

interface Layer {
  name: string;
  q: Uint8Array | Uint16Array | Float32Array;
  offset: number;
  scale: number;
  min: number;
  max: number;
  signed: boolean;
}

type Plane = 'axial' | 'coronal' | 'sagittal';
const PLANES: Plane[] = ['axial', 'coronal', 'sagittal'];

function decodeLayer(p: LayerPayload, n: number): Layer {
  const bin = atob(p.data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const q =
    p.dtype === 'uint8'
      ? bytes
      : p.dtype === 'uint16'
        ? new Uint16Array(bytes.buffer, 0, bytes.length >> 1)
        : new Float32Array(bytes.buffer, 0, bytes.length >> 2);
  if (q.length < n) throw new Error(`layer "${p.name}" has ${q.length} voxels, the grid needs ${n}`);
  return {
    name: p.name,
    q,
    offset: p.offset,
    scale: p.scale,
    min: p.min,
    max: p.max,
    signed: p.signed ?? p.min < 0,
  };
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

const fmtValue = (x: number) =>
  Math.abs(x) >= 1000 || (Math.abs(x) < 0.001 && x !== 0) ? x.toExponential(3) : x.toFixed(4);

/** 256-entry RGB tables; t in [0,1] (coolwarm: 0.5 is neutral, for signed maps). */
export function colormapTable(name: string): Uint8Array {
  const lut = new Uint8Array(256 * 3);
  const c = (v: number) => Math.round(255 * clamp01(v));
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    let rgb: number[];
    if (name === 'jet')
      rgb = [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
    else if (name === 'coolwarm')
      rgb = t < 0.5 ? [c(2 * t), c(2 * t), 255] : [255, c(2 - 2 * t), c(2 - 2 * t)];
    else if (name === 'green') rgb = [0, c(0.3 + 0.7 * t), 0];
    else if (name === 'gray') rgb = [c(t), c(t), c(t)];
    else rgb = [c(3 * t), c(3 * t - 1), c(3 * t - 2)];
    lut.set(rgb, i * 3);
  }
  return lut;
}

interface PanelSpec {
  title: string;
  base: number;
  /** Overlay index, or -1 for "the one chosen in the controls". */
  overlay: number;
}

export class VolumeViewerWidget extends Widget implements IRenderMime.IRenderer {
  private p!: Payload;
  private layers: Layer[] = [];
  private overlays: Layer[] = [];
  private cursor: [number, number, number] = [0, 0, 0];
  private lo = 0;
  private hi = 1;
  private opacity = 0.6;
  private threshold = 0.1;
  private cmap = 'hot';
  private cmapLut = colormapTable('hot');
  private overlayOnAnatomy = -1;
  private crosshair = true;
  private canvases: { panel: PanelSpec; plane: Plane; canvas: HTMLCanvasElement }[] = [];
  private sliders: HTMLInputElement[] = [];
  private sliderLabels: HTMLSpanElement[] = [];
  private readout!: HTMLDivElement;
  private kernelLine!: HTMLDivElement;
  private pending = 0;
  private comm: CommLike | null = null;

  /**
   * @param kernel the notebook's kernel, when the viewer sits in a notebook (plugin.ts); without
   *   it (other views, exported notebooks) the viewer is static and works alone.
   */
  constructor(
    _options: IRenderMime.IRendererOptions,
    private readonly kernel?: () => KernelLike | null | undefined,
  ) {
    super();
    this.addClass('mriseq-viewer');
    this.node.dataset.live = 'static';
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const t0 = performance.now();
    this.disconnect();
    this.node.textContent = '';
    this.canvases = [];
    this.sliders = [];
    this.sliderLabels = [];
    try {
      this.p = model.data[VOLUME_MIME] as unknown as Payload;
      this.setup();
    } catch (e) {
      const err = document.createElement('pre');
      err.className = 'mv-error';
      err.textContent = `mriseq viewer: ${e instanceof Error ? e.message : String(e)}`;
      this.node.appendChild(err);
      return;
    }
    this.draw();
    this.node.dataset.renderMs = (performance.now() - t0).toFixed(1);
    this.connect();
  }

  /** Opens the comm to the kernel's viewer, if the payload names one and a kernel is there. */
  private connect(): void {
    const spec = this.p.comm;
    const kernel = spec ? this.kernel?.() : null;
    if (!spec || !kernel) return;
    let comm: CommLike;
    try {
      comm = kernel.createComm(spec.target);
    } catch {
      return; // a kernel without comms: stay static
    }
    this.comm = comm;
    this.node.dataset.live = 'connecting';
    comm.onMsg = (msg) => this.onKernelMessage(msg.content.data as KernelMessage);
    comm.onClose = () => {
      if (this.comm === comm) this.comm = null;
      this.node.dataset.live = 'closed';
    };
    comm.open({ viewer: spec.viewer });
  }

  private disconnect(): void {
    const c = this.comm;
    this.comm = null;
    if (c && !c.isDisposed) {
      try {
        c.close();
      } catch {
        // the kernel is gone
      }
    }
  }

  override dispose(): void {
    this.disconnect();
    super.dispose();
  }

  /** Updates from the kernel: new volumes in place, a crosshair move, a click's exact values. */
  private onKernelMessage(m: KernelMessage): void {
    if (m.event === 'ready') {
      this.node.dataset.live = 'connected';
      return;
    }
    const [nx, ny, nz] = this.p.shape;
    if (m.event === 'update') {
      for (const { index, layer } of m.layers ?? []) {
        this.layers[index] = decodeLayer(layer, nx * ny * nz);
        this.p.layers[index] = layer;
      }
      for (const { index, layer } of m.overlays ?? []) {
        this.overlays[index] = decodeLayer(layer, nx * ny * nz);
        if (this.p.overlays) this.p.overlays[index] = layer;
      }
      this.node.dataset.updates = String(Number(this.node.dataset.updates ?? 0) + 1);
      this.schedule();
    } else if (m.event === 'cursor' && m.voxel) this.setCursor(m.voxel);
    else if (m.event === 'values' && m.values) {
      const parts = Object.entries(m.values).map(([k, v]) => `${k}=${fmtValue(v)}`);
      this.kernelLine.textContent =
        `kernel: voxel (${(m.sourceVoxel ?? m.voxel ?? []).join(', ')}) · ` + parts.join('  ');
      this.kernelLine.dataset.values = JSON.stringify(m.values);
      this.kernelLine.dataset.voxel = (m.voxel ?? []).join(',');
    }
  }

  private setup(): void {
    const p = this.p;
    if (p.version !== 1 || !Array.isArray(p.shape) || !Array.isArray(p.layers) || p.layers.length === 0)
      throw new Error('unsupported payload (expected version 1 with shape and layers)');
    const [nx, ny, nz] = p.shape;
    const n = nx * ny * nz;
    this.layers = p.layers.map((l) => decodeLayer(l, n));
    this.overlays = (p.overlays ?? []).map((l) => decodeLayer(l, n));
    this.cursor = [nx >> 1, ny >> 1, nz >> 1];
    const [wlo, whi] = p.window ?? [this.layers[0].min, this.layers[0].max];
    this.lo = wlo;
    this.hi = whi > wlo ? whi : wlo + 1;
    this.opacity = p.overlayOpacity ?? 0.6;
    this.threshold = p.overlayThreshold ?? 0.1;
    this.cmap = p.colormap ?? (this.overlays[0]?.signed ? 'coolwarm' : 'hot');
    this.cmapLut = colormapTable(this.cmap);

    const title = document.createElement('div');
    title.className = 'mv-title';
    const step =
      p.step && p.step > 1 ? ` (subsampled: step ${p.step} of ${(p.sourceShape ?? p.shape).join('x')})` : '';
    title.textContent = `${p.title} · ${p.shape.join('x')}${step}`;
    this.node.appendChild(title);

    const panels: PanelSpec[] = [
      ...this.layers.map((l, i) => ({ title: l.name, base: i, overlay: -1 })),
      ...this.overlays.map((o, j) => ({ title: `${o.name} on ${this.layers[0].name}`, base: 0, overlay: j })),
    ];
    const sp = p.spacing ?? [1, 1, 1];
    // One zoom for all planes so millimetres look the same everywhere; ~180 px for the longest side.
    const zoom = 180 / Math.max(nx * sp[0], ny * sp[1], nz * sp[2]);
    const box = document.createElement('div');
    box.className = 'mv-panels';
    for (const panel of panels) {
      const el = document.createElement('div');
      el.className = 'mv-panel';
      const h = document.createElement('div');
      h.className = 'mv-panel-title';
      h.textContent = panel.title;
      el.appendChild(h);
      const row = document.createElement('div');
      row.className = 'mv-planes';
      for (const plane of PLANES) {
        const [w, hgt, sw, sh] =
          plane === 'axial'
            ? [nx, ny, sp[0], sp[1]]
            : plane === 'coronal'
              ? [nx, nz, sp[0], sp[2]]
              : [ny, nz, sp[1], sp[2]];
        const c = document.createElement('canvas');
        c.width = w;
        c.height = hgt;
        c.style.width = `${Math.round(w * sw * zoom)}px`;
        c.style.height = `${Math.round(hgt * sh * zoom)}px`;
        c.dataset.plane = plane;
        c.title = `${panel.title}: ${plane}`;
        this.attachPointer(c, plane);
        row.appendChild(c);
        this.canvases.push({ panel, plane, canvas: c });
      }
      el.appendChild(row);
      box.appendChild(el);
    }
    this.node.appendChild(box);
    this.node.appendChild(this.controls());
    this.readout = document.createElement('div');
    this.readout.className = 'mv-readout';
    this.readout.textContent = 'hover a view for voxel values; click or drag to move the crosshair';
    this.node.appendChild(this.readout);
    this.kernelLine = document.createElement('div');
    this.kernelLine.className = 'mv-kernel';
    this.node.appendChild(this.kernelLine);
  }

  private controls(): HTMLElement {
    const p = this.p;
    const box = document.createElement('div');
    box.className = 'mv-controls';
    const range = (
      label: string,
      cls: string,
      min: number,
      max: number,
      step: number,
      value: number,
      on: (v: number) => void,
      fmt: (v: number) => string,
    ) => {
      const l = document.createElement('label');
      l.textContent = label + ' ';
      const r = document.createElement('input');
      r.type = 'range';
      r.className = cls;
      r.min = String(min);
      r.max = String(max);
      r.step = String(step);
      r.value = String(value);
      const s = document.createElement('span');
      s.textContent = fmt(value);
      r.addEventListener('input', () => {
        const v = Number(r.value);
        s.textContent = fmt(v);
        on(v);
      });
      l.append(r, s);
      box.appendChild(l);
      return { r, s };
    };
    const axes: [string, Plane][] = [
      ['x (sagittal)', 'sagittal'],
      ['y (coronal)', 'coronal'],
      ['z (axial)', 'axial'],
    ];
    axes.forEach(([name, plane], a) => {
      const { r, s } = range(
        name,
        `mv-slider mv-slider-${'xyz'[a]} mv-slider-${plane}`,
        0,
        p.shape[a] - 1,
        1,
        this.cursor[a],
        (v) => {
          this.cursor[a] = v;
          this.schedule();
        },
        (v) => String(v),
      );
      this.sliders[a] = r;
      this.sliderLabels[a] = s;
    });
    const l0 = this.layers[0];
    const span = l0.max > l0.min ? l0.max - l0.min : 1;
    const fmt = (v: number) =>
      Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toFixed(3);
    let level = (this.lo + this.hi) / 2;
    let width = this.hi - this.lo;
    const applyWL = () => {
      this.lo = level - width / 2;
      this.hi = level + width / 2;
      this.schedule();
    };
    const lv = range(
      'level',
      'mv-level',
      l0.min - span / 2,
      l0.max + span / 2,
      span / 500,
      level,
      (v) => {
        level = v;
        applyWL();
      },
      fmt,
    );
    const wv = range(
      'window',
      'mv-window',
      span / 500,
      2 * span,
      span / 500,
      width,
      (v) => {
        width = v;
        applyWL();
      },
      fmt,
    );
    // Start from what the sliders show (their step snaps the initial window), so moving a slider
    // back to where it started restores the first image exactly.
    level = Number(lv.r.value);
    width = Number(wv.r.value);
    lv.s.textContent = fmt(level);
    wv.s.textContent = fmt(width);
    this.lo = level - width / 2;
    this.hi = level + width / 2;
    if (this.overlays.length > 0) {
      range(
        'opacity',
        'mv-opacity',
        0,
        1,
        0.01,
        this.opacity,
        (v) => {
          this.opacity = v;
          this.schedule();
        },
        (v) => v.toFixed(2),
      );
      range(
        'threshold',
        'mv-threshold',
        0,
        1,
        0.01,
        this.threshold,
        (v) => {
          this.threshold = v;
          this.schedule();
        },
        (v) => `${(100 * v).toFixed(0)}% of max`,
      );
      const cl = document.createElement('label');
      cl.textContent = 'colormap ';
      const cs = document.createElement('select');
      cs.className = 'mv-colormap';
      for (const name of ['hot', 'jet', 'coolwarm', 'green', 'gray'])
        cs.add(new Option(name, name, false, name === this.cmap));
      cs.addEventListener('change', () => {
        this.cmap = cs.value;
        this.cmapLut = colormapTable(this.cmap);
        this.schedule();
      });
      cl.appendChild(cs);
      box.appendChild(cl);
      const ol = document.createElement('label');
      ol.textContent = 'overlay on anatomy views ';
      const os = document.createElement('select');
      os.className = 'mv-overlay-select';
      os.add(new Option('none', '-1', true, true));
      this.overlays.forEach((o, j) => os.add(new Option(o.name, String(j))));
      os.addEventListener('change', () => {
        this.overlayOnAnatomy = Number(os.value);
        this.schedule();
      });
      ol.appendChild(os);
      box.appendChild(ol);
    }
    const xl = document.createElement('label');
    const xc = document.createElement('input');
    xc.type = 'checkbox';
    xc.checked = this.crosshair;
    xc.className = 'mv-crosshair';
    xc.addEventListener('change', () => {
      this.crosshair = xc.checked;
      this.schedule();
    });
    xl.append(xc, ' crosshair');
    box.appendChild(xl);
    return box;
  }

  /** Voxel under a pointer event on a plane's canvas. */
  private voxelAt(c: HTMLCanvasElement, plane: Plane, e: MouseEvent): [number, number, number] | null {
    const r = c.getBoundingClientRect();
    const col = Math.floor(((e.clientX - r.left) / r.width) * c.width);
    const row = Math.floor(((e.clientY - r.top) / r.height) * c.height);
    if (col < 0 || row < 0 || col >= c.width || row >= c.height) return null;
    const [, ny, nz] = this.p.shape;
    const [x, y, z] = this.cursor;
    if (plane === 'axial') return [col, ny - 1 - row, z];
    if (plane === 'coronal') return [col, y, nz - 1 - row];
    return [x, col, nz - 1 - row];
  }

  private attachPointer(c: HTMLCanvasElement, plane: Plane): void {
    const move = (e: MouseEvent) => {
      const v = this.voxelAt(c, plane, e);
      if (!v) return;
      if (e.buttons & 1) this.setCursor(v);
      this.showReadout(v);
    };
    c.addEventListener('mousedown', (e) => {
      const v = this.voxelAt(c, plane, e);
      if (!v) return;
      this.setCursor(v);
      // The kernel's onClick callbacks get this voxel (and answer with its exact values).
      if (this.comm && !this.comm.isDisposed) this.comm.send({ event: 'click', voxel: v });
    });
    c.addEventListener('mousemove', move);
  }

  private setCursor(v: [number, number, number]): void {
    this.cursor = v;
    v.forEach((k, a) => {
      this.sliders[a].value = String(k);
      this.sliderLabels[a].textContent = String(k);
    });
    this.schedule();
  }

  private showReadout(v: [number, number, number]): void {
    const [nx, ny] = this.p.shape;
    const i = v[0] + nx * (v[1] + ny * v[2]);
    const A = this.p.affine;
    const world =
      A && A.length >= 3
        ? [0, 1, 2].map((r) => A[r][0] * v[0] + A[r][1] * v[1] + A[r][2] * v[2] + A[r][3])
        : null;
    const val = (l: Layer) => fmtValue(l.offset + l.scale * l.q[i]);
    const parts = [...this.layers, ...this.overlays].map((l) => `${l.name}=${val(l)}`);
    this.readout.textContent =
      `voxel (${v.join(', ')})` +
      (world ? ` · ${world.map((w) => w.toFixed(1)).join(', ')} mm` : '') +
      ' · ' +
      parts.join('  ');
    this.readout.dataset.voxel = v.join(',');
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.draw();
    });
  }

  private draw(): void {
    for (const { panel, plane, canvas } of this.canvases) {
      const ov = panel.overlay >= 0 ? panel.overlay : this.overlayOnAnatomy;
      this.drawPlane(canvas, plane, this.layers[panel.base], ov >= 0 ? this.overlays[ov] : undefined);
    }
  }

  private drawPlane(c: HTMLCanvasElement, plane: Plane, base: Layer, ov: Layer | undefined): void {
    const ctx = c.getContext('2d');
    if (!ctx) return;
    const [nx, ny, nz] = this.p.shape;
    const [cx, cy, cz] = this.cursor;
    const w = c.width;
    const h = c.height;
    const img = ctx.createImageData(w, h);
    const px = img.data;
    const gA = 1 / (this.hi - this.lo);
    const oMax = ov ? Math.max(Math.abs(ov.min), Math.abs(ov.max)) || 1 : 1;
    const alpha = this.opacity;
    const thr = this.threshold;
    const lut = this.cmapLut;
    for (let r = 0; r < h; r++) {
      for (let col = 0; col < w; col++) {
        let i: number;
        if (plane === 'axial') i = col + nx * (ny - 1 - r + ny * cz);
        else if (plane === 'coronal') i = col + nx * (cy + ny * (nz - 1 - r));
        else i = cx + nx * (col + ny * (nz - 1 - r));
        const v = base.offset + base.scale * base.q[i];
        const g = v === v ? 255 * clamp01((v - this.lo) * gA) : 0;
        let R = g;
        let G = g;
        let B = g;
        if (ov) {
          const t = (ov.offset + ov.scale * ov.q[i]) / oMax;
          if (t === t && Math.abs(t) >= thr && t !== 0) {
            const k = 3 * Math.round(255 * clamp01(ov.signed ? 0.5 + 0.5 * t : Math.abs(t)));
            R = (1 - alpha) * R + alpha * lut[k];
            G = (1 - alpha) * G + alpha * lut[k + 1];
            B = (1 - alpha) * B + alpha * lut[k + 2];
          }
        }
        const o = 4 * (r * w + col);
        px[o] = R;
        px[o + 1] = G;
        px[o + 2] = B;
        px[o + 3] = 255;
      }
    }
    if (this.crosshair) {
      // The other two planes' positions, as lines; drawn into the pixels so they stay one voxel wide.
      const hx = plane === 'sagittal' ? cy : cx;
      const vy = plane === 'axial' ? ny - 1 - cy : nz - 1 - cz;
      const mark = (o: number) => {
        px[o] = 0.5 * px[o];
        px[o + 1] = 0.5 * px[o + 1] + 110;
        px[o + 2] = 0.5 * px[o + 2];
      };
      for (let r = 0; r < h; r++) mark(4 * (r * w + hx));
      for (let col = 0; col < w; col++) mark(4 * (vy * w + col));
    }
    ctx.putImageData(img, 0, 0);
  }
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [VOLUME_MIME],
  defaultRank: 0,
  createRenderer: (options) => new VolumeViewerWidget(options),
};

const extension: IRenderMime.IExtension = {
  id: 'mriseq-jupyterlab:volume',
  description: 'Linked multiplanar viewer for mriseq volumes and overlays (M_d).',
  rendererFactory,
  rank: 0,
  dataType: 'json',
};

export default extension;
