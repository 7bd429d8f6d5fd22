/**
 * File I/O (Node only): NIfTI-1/2 reading (.nii, .nii.gz, .hdr/.img) and NIfTI-1 writing.
 * Browser code reads bytes it already holds with readNiftiBytes from a Node-free build later;
 * the Volume helpers themselves live in ../volume.
 */
export {
  readNifti,
  readNiftiBytes,
  readNiftiHeader,
  writeNifti,
  encodeNifti,
  convertNifti,
  defaultMaxBytes,
  affineToQuaternion,
  type ReadNiftiOptions,
  type WriteNiftiOptions,
  type NiftiHeader,
} from './nifti.js';
export { DATATYPES, bestAffine, type DatatypeInfo } from './nifti-header.js';
