/**
 * The Volume: one 3D or 4D image in memory, browser-safe (no Node modules).
 * Voxel data are Float32 in NIfTI order (x fastest, then y, z, t); the datatype the file had is
 * remembered so a round trip can write it back unchanged.
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
}
