/**
 * What the kernel and the JupyterLab viewer exchange: the volume MIME type, its JSON payload and
 * the comm target of a live viewer. The one declaration of that protocol: labextension/ compiles
 * this file into its bundle (labextension/tsconfig.json's rootDir is the repository), so the
 * viewer reads the very types the kernel writes. It must stay dependency-free (no imports) and
 * browser-safe: the labextension's build sees only this file of src/.
 */

/**
 * The colour maps of the volume views.
 *
 * @example
 * ```ts
 * import { colormap, type Colormap } from 'mriseq';
 * const maps: Colormap[] = ['hot', 'jet', 'coolwarm'];
 * console.log(maps.map((m) => colormap(m, 0.75)));
 * ```
 */
export type Colormap = 'hot' | 'jet' | 'coolwarm';

/**
 * The MIME type of mriseq's JupyterLab volume viewer (payload: {@link VolumeMimePayload}).
 *
 * @example
 * ```ts
 * import { VOLUME_MIME, phantom, volumeViewer } from 'mriseq';
 * const v = volumeViewer(phantom({ size: [32, 32, 16] }).subject(0).volumes.t1!);
 * console.log(VOLUME_MIME in v.toMimeBundle().data); // true
 * ```
 */
export const VOLUME_MIME = 'application/vnd.mriseq.volume+json';
/**
 * The kernel-side comm target a shown viewer connects to (labextension/src/plugin.ts opens it).
 *
 * @example
 * ```ts
 * import { VIEWER_COMM_TARGET, kernelComms } from 'mriseq';
 * console.log(kernelComms()?.list(VIEWER_COMM_TARGET).length ?? 0); // viewers connected now
 * ```
 */
export const VIEWER_COMM_TARGET = 'mriseq.viewer';

/**
 * How voxels are sent: uint8/uint16 are linearly quantised (value = offset + scale * q).
 * @example
 * ```ts
 * import { volumeMimePayload, phantom, type VoxelEncoding } from 'mriseq';
 * const dtype: VoxelEncoding = 'float32';
 * console.log(volumeMimePayload(phantom({ size: [32, 32, 16] }).subject(0).volumes.t1!, { dtype }).layers[0]?.dtype);
 * ```
 */
export type VoxelEncoding = 'uint8' | 'uint16' | 'float32';

/**
 * One volume of a {@link VolumeMimePayload}: quantised voxels (value = offset + scale · q) as base64.
 *
 * @example
 * ```ts
 * import { base64ToBytes, phantom, volumeMimePayload, type VolumeLayerPayload } from 'mriseq';
 * const layer: VolumeLayerPayload = volumeMimePayload(phantom({ size: [32, 32, 16] }).subject(0).volumes.t1!).layers[0]!;
 * const q = base64ToBytes(layer.data)[100]!;
 * console.log(layer.name, layer.offset + layer.scale * q); // the voxel's value, to within a quantisation step
 * ```
 */
export interface VolumeLayerPayload {
  name: string;
  dtype: VoxelEncoding;
  /** base64 of the little-endian typed array, x fastest then y, z. */
  data: string;
  offset: number;
  scale: number;
  /** Finite value range of the layer (before quantisation). */
  min: number;
  max: number;
}

/**
 * The JSON the volume MIME type carries ({@link VOLUME_MIME}): the grid, its geometry, the layers
 * and overlays as quantised voxels, and the initial display settings.
 *
 * @example
 * ```ts
 * import { phantom, volumeMimePayload, type VolumeMimePayload } from 'mriseq';
 * const p: VolumeMimePayload = volumeMimePayload(phantom({ size: [32, 32, 16] }).subject(0).volumes.t1!);
 * console.log(p.version, p.spacing, p.window);
 * ```
 */
export interface VolumeMimePayload {
  version: 1;
  title: string;
  /** Grid of the sent data (after downsampling). */
  shape: [number, number, number];
  spacing: [number, number, number];
  /** Voxel-to-world of the sent grid (rows). */
  affine: number[][];
  /** Shape of the original volume and the integer step used per axis. */
  sourceShape: [number, number, number];
  step: number;
  /** Anatomy layers: one linked view each. */
  layers: VolumeLayerPayload[];
  /** Maps shown in colour (each also gets its own view, drawn over the first layer). */
  overlays: (VolumeLayerPayload & { signed: boolean })[];
  /** Initial intensity window of the anatomy. */
  window: [number, number];
  colormap: Colormap;
  overlayOpacity: number;
  /** Fraction of max |overlay| under which the overlay is transparent. */
  overlayThreshold: number;
  /**
   * Present when the viewer was made in the mriseq kernel: the front end opens a comm to `target`
   * with { viewer } to receive updates and send clicks. Absent (or unanswered) means a static
   * viewer, as in an exported notebook.
   */
  comm?: { target: string; viewer: string };
}
