/**
 * Lists of sequence names given on the command line: the cohort module's resolveSequenceNames
 * (exact, else case-insensitive when that picks one; an unknown name is an error naming the flag).
 */
export { resolveSequenceNames as resolveNames } from '../../cohort/index.js';
