/**
 * Generators this project trains and ships (models/<name>/ in the package), browser-safe: the
 * catalog, the model card every shipped model carries, and the `pretrained:<name>` form that the
 * CLI's --run and loadGenerator accept. Loading from disk lives in ./node.ts; a browser fetches
 * the same files (config.json, weights.json, weights.bin, model.json) and decodes them with
 * decodeWeights from the model module.
 */
import { MriseqError } from '../errors/index.js';

/**
 * What a shipped model is, how it was made, and what it measured (models/<name>/model.json).
 * @example
 * ```ts
 * import { readModelCard, type ModelCard } from 'mriseq';
 * const card: ModelCard = readModelCard('phantom-lite');
 * console.log(card.parameters, card.dtype, card.training.steps, card.training.commands);
 * ```
 */
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

/**
 * One shipped generator: its name, folder under models/ and what it is.
 *
 * @example
 * ```ts
 * import { PRETRAINED_MODELS, type PretrainedEntry } from 'mriseq';
 * const e: PretrainedEntry = PRETRAINED_MODELS[0]!;
 * console.log(e.name, e.folder);
 * ```
 */
export interface PretrainedEntry {
  name: string;
  /** Folder under the package's models/. */
  folder: string;
  description: string;
}

/**
 * The shipped generators.
 * Each is loadable by name with {@link loadPretrained}, or as 'pretrained:<name>' wherever a
 * checkpoint path is accepted.
 *
 * @example
 * ```ts
 * import { PRETRAINED_MODELS } from 'mriseq';
 * for (const m of PRETRAINED_MODELS) console.log(m.name, '-', m.description);
 * ```
 */
export const PRETRAINED_MODELS: readonly PretrainedEntry[] = [
  {
    name: 'phantom-lite',
    folder: 'phantom-lite',
    description:
      "lite generator trained to the phantom acceptance on the default simulated cohort (t1, t1gd, t2, flair; 64x64x32), the authors' recipe",
  },
];

export const PRETRAINED_PREFIX = 'pretrained:';

/**
 * The entry a name (or 'pretrained:<name>') names, or a MriseqError listing the shipped ones.
 * @param nameOrRef - 'phantom-lite' or 'pretrained:phantom-lite'.
 * @returns The {@link PretrainedEntry}.
 * @throws {@link MriseqError} when no shipped generator has that name (the message lists them).
 * @example
 * ```ts
 * import { pretrainedEntry } from 'mriseq';
 * console.log(pretrainedEntry('pretrained:phantom-lite').folder); // 'phantom-lite'
 * ```
 */
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
