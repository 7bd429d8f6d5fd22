/**
 * The Volume: one 3D or 4D image in memory, browser-safe (no Node modules), and the helpers cells
 * use on it. Voxel data are Float32 in NIfTI order (x fastest, then y, z, t); the datatype the
 * file had is remembered so a round trip can write it back unchanged.
 */
export type { Volume, VolumeHeader, NiftiDatatypeName, Affine } from './types.js';
export { createVolume, DATATYPE_NAMES, type CreateVolumeOptions } from './create.js';
export {
  sliceVolume,
  extractBox,
  cropVolume,
  padVolume,
  cropOrPad,
  percentile,
  normalizeIntensity,
  volumeStats,
  frameCount,
  volumeFrame,
  reduceFrames,
  type Slice2D,
  type NormalizeOptions,
} from './ops.js';
export {
  resampleVolume,
  reorientToRAS,
  voxelOrientation,
  axisCodes,
  type ResampleOptions,
} from './geometry.js';
export { volumeToTensor, tensorToVolume } from './tensor.js';
export {
  affineZooms,
  invert4,
  matmul4,
  applyAffine,
  closestOrthogonal,
  det3,
  affineDistance,
} from './affine.js';
export {
  AFFINE_TOLERANCE_MM,
  TIME_SERIES_SEQUENCES,
  assertSameGrid,
  assertSubjectVolumes,
  countNonFinite,
  gridProblem,
  roleShapeProblem,
  type GridOf,
} from './grid.js';
