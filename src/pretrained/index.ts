/**
 * Generators this project trains and ships (models/<name>/ in the package), browser-safe: the
 * catalog, the model card every shipped model carries, and the `pretrained:<name>` form that the
 * CLI's --run and loadGenerator accept. Loading from disk lives in ./node.ts; a browser fetches
 * the same files (config.json, weights.json, weights.bin, model.json) and decodes them with
 * decodeWeights from the model module.
 */
import { MriseqError } from '../errors/index.js';

/** What a shipped model is, how it was made, and what it measured (models/<name>/model.json). */
export interface ModelCard {
  name: string;
  description: string;
  preset: string;
  parameters: number;
  /** Element type of weights.bin. */
  dtype: 'float32' | 'float16';
  /** sha256 of weights.bin (also in weights.json). */
  sha256: string;
  training: {
    /** The commands that made this folder, in order, from the repository root. */
    commands: string[];
    recipe: string;
    steps: number;
    bestStep: number | null;
    bestValidationPsnr: number | null;
    seed: number;
    crop: number;
    /** Commit of the code that trained it, the date, wall time and the machine's load then. */
    commit: string;
    date: string;
    minutes: number;
    load: string;
  };
  /** The simulated cohort it was trained on. */
  phantom: {
    seed: number;
    size: [number, number, number];
    /** Subjects 0..train-1 trained, the next `validation` validated. */
    train: number;
    validation: number;
    /** sha256 over subject 0 of that phantom (ids, shapes, affines, voxels): changes with its design. */
    design: string;
    /** sha256 over every training and validation subject (the run's data.json). */
    data: string;
  };
  /** The phantom acceptance measured with these (rounded) weights on held-out subjects. */
  acceptance: {
    /** Phantom subjects start..start+count-1 of the same seed: never trained or validated on. */
    heldOut: { start: number; count: number };
    lesionAuc: Record<string, { mean: number; sd: number; min: number }>;
    subtractionAuc: number;
    order: string[];
    Cd: Record<string, number>;
    rows: string;
    metrics: string[];
    checks: Record<string, boolean>;
    passed: boolean;
  };
}

export interface PretrainedEntry {
  name: string;
  /** Folder under the package's models/. */
  folder: string;
  description: string;
}

/** The shipped generators. */
export const PRETRAINED_MODELS: readonly PretrainedEntry[] = [
  {
    name: 'phantom-lite',
    folder: 'phantom-lite',
    description:
      "lite generator trained to the phantom acceptance on the default simulated cohort (t1, t1gd, t2, flair; 64x64x32), the authors' recipe",
  },
];

export const PRETRAINED_PREFIX = 'pretrained:';

/** The entry a name (or 'pretrained:<name>') names, or a MriseqError listing the shipped ones. */
export function pretrainedEntry(nameOrRef: string): PretrainedEntry {
  const name = nameOrRef.startsWith(PRETRAINED_PREFIX)
    ? nameOrRef.slice(PRETRAINED_PREFIX.length)
    : nameOrRef;
  const e = PRETRAINED_MODELS.find((m) => m.name === name);
  if (!e)
    throw new MriseqError('no shipped generator of that name', {
      field: 'pretrained',
      found: name,
      expected: PRETRAINED_MODELS.map((m) => m.name).join(', '),
      code: 'pretrained.name',
    });
  return e;
}

/** Whether a --run value names a shipped generator ('pretrained:<name>'). */
export function isPretrainedRef(path: string): boolean {
  return path.startsWith(PRETRAINED_PREFIX);
}
