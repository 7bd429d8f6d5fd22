/**
 * Which subjects and sequences a training run uses, as one library call: a cohort (a manifest's
 * recorded train/val split, or one cross-validation fold) or the phantom (its last subjects
 * validate, or one fold), narrowed to the chosen sequences. `mriseq train` is this call plus the
 * training; a notebook calls it to train on exactly what the command line would. Browser-safe: a
 * manifest file is read through Cohort.fromManifest (the Node entry installs its reader).
 */
import { MriseqError } from '../errors/index.js';
import { own } from '../keys/index.js';
import { Cohort, cohortFold, resolveSequenceNames } from '../cohort/index.js';
import { phantom, Phantom, type PhantomOptions } from '../phantom/index.js';
import { compareSubjectIds, foldSplit, formatShard, parseFold, type ShardSpec } from '../scale/index.js';
import type { SubjectVolumes } from '../model/index.js';
import type { SubjectStream, TrainSubjects } from './pool.js';

/**
 * The options of {@link selectTrainingData} whose errors name them (see its `optionNames`).
 * @example
 * ```ts
 * import { type TrainingDataOption } from 'mriseq';
 * const flags: Partial<Record<TrainingDataOption, string>> = { fold: '--fold', sequences: '--sequences' };
 * console.log(flags.fold);
 * ```
 */
export type TrainingDataOption = 'manifest' | 'phantom' | 'sequences' | 'validation' | 'fold';

/**
 * Options of {@link selectTrainingData}: one source (`manifest`, `cohort` or `phantom`), and
 * optionally a fold, the sequences and (phantom without a fold) the validation count.
 *
 * @example
 * ```ts
 * import { type TrainingDataOptions } from 'mriseq';
 * const byFold: TrainingDataOptions = { manifest: 'data/manifest.csv', fold: '1/5', sequences: 't1,t2,flair' };
 * const phantomRun: TrainingDataOptions = { phantom: { subjects: 24, size: [64, 64, 32] }, validation: 4 };
 * console.log(byFold.fold, phantomRun.validation);
 * ```
 */
export interface TrainingDataOptions {
  /**
   * A manifest file, read with Cohort.fromManifest(file, { cacheBytes: 0 }): training streams its
   * subjects through its own memory budget, so the cohort's cache is off.
   */
  manifest?: string;
  /** A cohort already open (instead of `manifest`). */
  cohort?: Cohort;
  /** The phantom (a Phantom, or the options of one) instead of a cohort: subjects in memory. */
  phantom?: Phantom | PhantomOptions;
  /**
   * Cross-validation fold K of F ('K/F' or a ShardSpec): fold K validates, the others train. A
   * cohort's recorded test split stays out of every fold; the phantom's subjects are all dealt.
   * Without a fold a cohort trains on its recorded train split and validates on its val split (no
   * split column: every subject trains, none validates).
   */
  fold?: string | ShardSpec;
  /**
   * The sequences to train on: a list or comma-separated text, matched as
   * {@link resolveSequenceNames} does; kept in the data's order. Default: every sequence the data have.
   */
  sequences?: string | readonly string[];
  /** Phantom without a fold: how many of its subjects (the last ones) validate (default 1; none with one subject). */
  validation?: number;
  /** How errors name the options (default: their names here; `mriseq train` passes its flags). */
  optionNames?: Partial<Record<TrainingDataOption, string>>;
}

/**
 * What {@link selectTrainingData} chose: the sequences, the training and validation subjects
 * (in memory for the phantom, streamed from files for a manifest) and their ids.
 *
 * @example
 * ```ts
 * import { selectTrainingData, type TrainingData } from 'mriseq';
 * const data: TrainingData = await selectTrainingData({ phantom: { subjects: 3, size: [16, 16, 8] } });
 * console.log(data.sequences, data.trainIds, data.validationIds);
 * ```
 */
export interface TrainingData {
  /** The sequences the run trains on, in the data's order. */
  sequences: string[];
  /** Training subjects, each with only `sequences`. */
  train: TrainSubjects;
  /** Validation subjects (possibly none), each with only `sequences`. */
  validation: TrainSubjects;
  trainIds: string[];
  validationIds: string[];
  /** The fold, when one was asked for. */
  fold?: ShardSpec;
}

/** A subject with only the named sequences (the others, and a phantom's truth, are let go). */
function only(s: SubjectVolumes, sequences: readonly string[]): SubjectVolumes {
  return {
    id: s.id,
    // own(): a sequence named `constructor` that this subject lacks must not find Object's
    volumes: Object.fromEntries(
      sequences.flatMap((q) => {
        const v = own(s.volumes, q);
        return v ? [[q, v]] : [];
      }),
    ),
  };
}

/**
 * A cohort's subjects as training streams them, with only the named sequences: loaded when drawn
 * (the training cache holds them).
 */
function cohortStream(cohort: Cohort, ids: readonly string[], sequences: readonly string[]): SubjectStream {
  return {
    ids: [...ids],
    available: (id) => cohort.subject(id).available.filter((q) => sequences.includes(q)),
    load: async (id) => only({ id, volumes: await cohort.subject(id).loadAll() }, sequences),
  };
}

/**
 * The training and validation subjects a run uses, as `mriseq train` chooses them: from a manifest
 * (or an open cohort), its recorded train and val splits or one cross-validation fold; from the
 * phantom, its last `validation` subjects or one fold; each subject narrowed to the chosen
 * sequences. Pass the result's `train` to trainRun/train and its `validation` as their
 * `validation` option.
 * @param options - The source, fold, sequences and validation count.
 * @returns The sequences, the subjects and their ids.
 * @throws {@link MriseqError} when no source or two are given, a sequence is unknown or the list
 * names none, the validation count is not below the phantom's subjects, or a fold leaves no
 * subject to train or validate on ('train.fold').
 * @example
 * ```ts
 * import { selectTrainingData, trainRun } from 'mriseq';
 * const data = await selectTrainingData({ phantom: { subjects: 6, size: [32, 32, 16] }, fold: '0/3', sequences: 't1,t2' });
 * console.log(data.trainIds, data.validationIds); // fold 0 of 3 validates, the others train
 * await trainRun(data.train, { out: '/tmp/mriseq-fold0', steps: 2, validation: data.validation, modelOverrides: { sequences: data.sequences }, fold: data });
 * ```
 */
export async function selectTrainingData(options: TrainingDataOptions): Promise<TrainingData> {
  const name = (o: TrainingDataOption) => options.optionNames?.[o] ?? o;
  const sources = (['manifest', 'cohort', 'phantom'] as const).filter((k) => options[k] !== undefined);
  if (sources.length !== 1)
    throw new MriseqError(sources.length ? 'give one source of subjects' : 'say what to train on', {
      field: sources.length ? sources.join(', ') : name('manifest'),
      expected: `${name('manifest')} FILE or ${name('phantom')} N`,
      code: sources.length ? 'train.data' : undefined,
    });
  const fold = typeof options.fold === 'string' ? parseFold(options.fold) : options.fold;
  const file = options.manifest;
  const choose = (offered: readonly string[]): string[] => {
    const text = Array.isArray(options.sequences) ? options.sequences.join(',') : options.sequences;
    const field = name('sequences');
    const wanted = resolveSequenceNames(text as string | undefined, offered, field);
    if (wanted === undefined) return [...offered];
    if (wanted.length === 0)
      throw new MriseqError(`${field} names no sequence`, {
        file,
        field,
        found: JSON.stringify(text),
        expected: `a comma-separated subset of ${offered.join(', ')}`,
        code: 'cli.option',
      });
    return offered.filter((q) => wanted.includes(q));
  };
  let out: TrainingData;
  if (options.phantom !== undefined) {
    const ph = options.phantom instanceof Phantom ? options.phantom : phantom(options.phantom);
    let trainIds: string[];
    let validationIds: string[];
    if (fold) {
      ({ train: trainIds, validation: validationIds } = foldSplit(
        [...ph.ids()].sort(compareSubjectIds),
        fold,
      ));
    } else {
      const n = ph.size;
      const nVal = options.validation ?? 1;
      if (n > 1 && !(Number.isSafeInteger(nVal) && nVal >= 0 && nVal < n))
        throw new MriseqError('bad number of validation subjects', {
          field: name('validation'),
          found: String(nVal),
          expected: `an integer in 0..${n - 1} (fewer than ${name('phantom')})`,
          code: 'cli.option',
        });
      const v = n > 1 ? nVal : 0;
      const ids = ph.ids();
      trainIds = ids.slice(0, n - v);
      validationIds = ids.slice(n - v);
    }
    const sequences = choose(ph.sequences);
    out = {
      sequences,
      train: trainIds.map((id) => only(ph.subject(id), sequences)),
      validation: validationIds.map((id) => only(ph.subject(id), sequences)),
      trainIds,
      validationIds,
      fold,
    };
  } else {
    const cohort = options.cohort ?? (await Cohort.fromManifest(file!, { cacheBytes: 0 }));
    const sequences = choose(cohort.sequences);
    let trainIds: string[];
    let validationIds: string[];
    if (fold) {
      ({ train: trainIds, validation: validationIds } = cohortFold(cohort, fold));
    } else if (cohort.ids.some((id) => cohort.subject(id).split !== null)) {
      trainIds = cohort.recordedSplit('train').ids;
      validationIds = cohort.recordedSplit('val').ids;
    } else {
      // no split column: every subject trains, none validates
      trainIds = cohort.ids;
      validationIds = [];
    }
    out = {
      sequences,
      train: cohortStream(cohort, trainIds, sequences),
      validation: cohortStream(cohort, validationIds, sequences),
      trainIds,
      validationIds,
      fold,
    };
  }
  const [nTrain, nVal] = [out.trainIds.length, out.validationIds.length];
  if (fold && (nTrain === 0 || nVal === 0)) {
    throw new MriseqError(
      `fold ${formatShard(fold)} leaves no subject to ${nTrain === 0 ? 'train' : 'validate'} on`,
      {
        file,
        field: name('fold'),
        found: `${nTrain} training, ${nVal} validation subjects`,
        expected: 'at least one of each: fewer folds or more subjects',
        code: 'train.fold',
      },
    );
  }
  return out;
}
