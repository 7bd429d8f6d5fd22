import { MriseqError } from '../errors/index.js';
import { spacingAffine, affineZooms } from './affine.js';
import type { Affine, NiftiDatatypeName, Volume, VolumeHeader } from './types.js';

/**
 * Every NIfTI datatype name mriseq reads and writes, in NIfTI code order.
 *
 * @example
 * ```ts
 * import { DATATYPE_NAMES } from 'mriseq/browser';
 * console.log(DATATYPE_NAMES.includes('int16')); // true
 * ```
 */
export const DATATYPE_NAMES: readonly NiftiDatatypeName[] = [
  'uint8',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
  'rgb24',
  'complex64',
];

/**
 * Options of {@link createVolume}.
 *
 * @example
 * ```ts
 * import { createVolume, type CreateVolumeOptions } from 'mriseq';
 * const options: CreateVolumeOptions = { spacing: [1, 1, 3], datatype: 'int16', name: 'mask' };
 * createVolume(new Int16Array(8), [2, 2, 2], options);
 * ```
 */
export interface CreateVolumeOptions {
  /** Voxel size per axis; default: from the affine's column norms, else 1. */
  spacing?: readonly number[];
  /** 4x4 voxel-to-world rows; default: diagonal from spacing, origin at voxel 0. */
  affine?: Affine;
  /** Datatype to remember for writing; default 'float32'. */
  datatype?: NiftiDatatypeName;
  header?: VolumeHeader;
  /** Names the source in error messages. */
  name?: string;
}

/**
 * Builds a validated Volume from voxel values in NIfTI order (x fastest). Accepts any numeric
 * array; Float32Array input is used without copying.
 * @param data - Voxel values, x fastest: index = x + nx·(y + ny·(z + nz·t)).
 * @param shape - [nx, ny, nz] or [nx, ny, nz, nt], positive integers.
 * @param options - Spacing (mm), affine, datatype to remember, header, and a name for errors.
 * @returns The Volume (the data array is shared when it is a Float32Array).
 * @throws {@link MriseqError} 'volume.shape' when the shape is not 3D/4D positive integers or the
 *   data length is not their product.
 * @example
 * ```ts
 * import { createVolume } from 'mriseq';
 * const vol = createVolume(new Float32Array(4 * 4 * 2), [4, 4, 2], { spacing: [1, 1, 2] });
 * console.log(vol.shape, vol.affine[2]); // [4, 4, 2] [0, 0, 2, 0]
 * ```
 */
export function createVolume(
  data: Float32Array | ArrayLike<number>,
  shape: readonly number[],
  options: CreateVolumeOptions = {},
): Volume {
  const file = options.name;
  if (!Array.isArray(shape) || shape.length < 3 || shape.length > 4) {
    throw new MriseqError('a volume is 3D or 4D', {
      file,
      field: 'shape',
      found: JSON.stringify(shape),
      expected: '[nx, ny, nz] or [nx, ny, nz, nt]',
      code: 'volume.shape',
    });
  }
  shape.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 1)
      throw new MriseqError('impossible dimension', {
        file,
        field: `shape[${i}]`,
        found: String(n),
        expected: 'a positive integer',
        code: 'volume.shape',
      });
  });
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) {
    throw new MriseqError('data length does not match the shape', {
      file,
      field: 'data',
      found: `${data.length} values`,
      expected: `${n} (= ${shape.join(' x ')})`,
      code: 'volume.data',
    });
  }
  const datatype = options.datatype ?? 'float32';
  if (!DATATYPE_NAMES.includes(datatype)) {
    throw new MriseqError('unknown datatype', {
      file,
      field: 'datatype',
      found: String(datatype),
      expected: DATATYPE_NAMES.join(', '),
      code: 'volume.datatype',
    });
  }
  let affine: number[][];
  if (options.affine !== undefined) {
    const a = options.affine;
    const ok =
      a.length === 4 &&
      a.every((row) => row.length === 4 && row.every((v) => Number.isFinite(v))) &&
      a[3][0] === 0 &&
      a[3][1] === 0 &&
      a[3][2] === 0 &&
      a[3][3] === 1;
    if (!ok)
      throw new MriseqError('invalid affine', {
        file,
        field: 'affine',
        found: JSON.stringify(a),
        expected: '4x4 finite rows with last row [0, 0, 0, 1]',
        code: 'volume.affine',
      });
    affine = a.map((row) => [...row]);
  } else {
    affine = spacingAffine(options.spacing ?? [1, 1, 1]);
  }
  const spacing = options.spacing ? [...options.spacing] : affineZooms(affine);
  if (spacing.length < 3) spacing.push(...Array(3 - spacing.length).fill(1));
  if (shape.length === 4 && spacing.length < 4) spacing.push(1);
  spacing.length = Math.min(spacing.length, shape.length);
  spacing.forEach((s, i) => {
    if (!Number.isFinite(s) || s <= 0)
      throw new MriseqError('voxel spacing must be positive', {
        file,
        field: `spacing[${i}]`,
        found: String(s),
        expected: 'a finite number > 0',
        code: 'volume.spacing',
      });
  });
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  return { data: f32, shape: [...shape], spacing, affine, datatype, header: options.header };
}

/** Number of voxels in one 3D frame. */
export function frameSize(vol: Volume): number {
  return vol.shape[0] * vol.shape[1] * vol.shape[2];
}

/** Copy of a volume with new data / geometry, keeping what is not given. */
export function withData(
  vol: Volume,
  data: Float32Array,
  shape: readonly number[] = vol.shape,
  affine: Affine = vol.affine,
  spacing?: readonly number[],
): Volume {
  const sp = spacing ?? [...affineZooms(affine), ...(shape.length === 4 ? [vol.spacing[3] ?? 1] : [])];
  return {
    data,
    shape: [...shape],
    spacing: sp,
    affine: affine.map((r) => [...r]),
    datatype: vol.datatype,
    // the stored qform/sform no longer describe the new grid; codes and scaling stay
    header: vol.header && { ...vol.header, qform: undefined, sform: undefined },
  };
}
