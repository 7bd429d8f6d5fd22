/**
 * The Volume: one 3D or 4D image in memory, browser-safe (no Node modules).
 * Voxel data are Float32 in NIfTI order (x fastest, then y, z, t); the datatype the file had is
 * remembered so a round trip can write it back unchanged.
 * The NIfTI datatypes mriseq reads and writes, by name; a {@link Volume} remembers the one its file
 * had so a round trip keeps it.
 *
 * @example
 * ```ts
 * import { createVolume, type NiftiDatatypeName } from 'mriseq';
 * const datatype: NiftiDatatypeName = 'int16';
 * console.log(createVolume(new Float32Array(8), [2, 2, 2], { datatype }).datatype);
 * ```
 */
export type NiftiDatatypeName =
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float32'
  | 'float64'
  | 'rgb24'
  | 'complex64';

/**
 * Header fields a user inspects, and the ones a writer preserves; all optional.
 * @example
 * ```ts
 * import { createVolume, type VolumeHeader } from 'mriseq';
 * const header: VolumeHeader = { description: 'made in memory', xyztUnits: 10 };
 * console.log(createVolume(new Float32Array(8), [2, 2, 2], { header }).header?.description);
 * ```
 */
export interface VolumeHeader {
  /** 1 or 2 (NIfTI-1 / NIfTI-2) for volumes read from a file. */
  readonly niftiVersion?: 1 | 2;
  readonly littleEndian?: boolean;
  readonly sformCode?: number;
  readonly qformCode?: number;
  /** scl_slope / scl_inter as stored (already applied to `data`). */
  readonly sclSlope?: number;
  readonly sclInter?: number;
  readonly calMin?: number;
  readonly calMax?: number;
  readonly xyztUnits?: number;
  readonly intentCode?: number;
  readonly intentName?: string;
  readonly description?: string;
  /** The 4x4 qform (rows) when qform_code > 0, else undefined. */
  readonly qform?: readonly (readonly number[])[];
  /** The 4x4 sform (rows) when sform_code > 0, else undefined. */
  readonly sform?: readonly (readonly number[])[];
}

/**
 * One 3D or 4D image in memory: Float32 voxel values in NIfTI order (x fastest, then y, z, t), the
 * voxel size, the voxel-to-world affine (RAS+, mm) and the datatype to write back.
 *
 * @example
 * ```ts
 * import { createVolume, type Volume } from 'mriseq';
 * const vol: Volume = createVolume(new Float32Array(8), [2, 2, 2]);
 * console.log(vol.shape, vol.spacing, vol.datatype); // [2, 2, 2] [1, 1, 1] 'float32'
 * ```
 */
export interface Volume {
  /** Voxel values, x fastest (NIfTI order); length = product of shape. */
  readonly data: Float32Array;
  /** [nx, ny, nz] or [nx, ny, nz, nt]. */
  readonly shape: readonly number[];
  /** Voxel size in mm per spatial axis (and the time step for 4D). */
  readonly spacing: readonly number[];
  /** 4x4 voxel-to-world (RAS+, mm) matrix, rows. */
  readonly affine: readonly (readonly number[])[];
  /** The datatype the data came from (or will be written as). */
  readonly datatype: NiftiDatatypeName;
  /** Header fields kept from the file (absent for volumes made in memory). */
  readonly header?: VolumeHeader;
}

/**
 * A 4x4 voxel-to-world matrix as rows (RAS+, mm): world = A · [i, j, k, 1].
 *
 * @example
 * ```ts
 * import { createVolume, type Affine } from 'mriseq';
 * const affine: Affine = [[2, 0, 0, -10], [0, 2, 0, -10], [0, 0, 3, 0], [0, 0, 0, 1]];
 * console.log(createVolume(new Float32Array(8), [2, 2, 2], { affine }).spacing); // [2, 2, 3]
 * ```
 */
export type Affine = readonly (readonly number[])[];
