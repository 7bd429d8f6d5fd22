/**
 * Provenance records of commands that write a whole folder at once (classify, cluster, figures):
 * the library's (src/reliability/provenance.ts), which the pipelines use.
 */
export {
  openFolderRecord,
  existingFiles as existing,
  cohortStamp,
  fileFingerprint,
  type FolderRecord,
} from '../../reliability/provenance.js';
