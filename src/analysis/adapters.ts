/**
 * Adapters from the library's own Seq2Seq generator and Cohort to the small interfaces evaluate()
 * and differentiationMap() use, so a cell can write `evaluate(model, cohort, { split: 'test' })`.
 * Browser-safe.
 */
import { MriseqError } from '../errors/index.js';
import { generate as generateVolume, generatePairs, Seq2Seq } from '../model/index.js';
import type { Cohort } from '../cohort/index.js';
import type { EvaluationCohort, EvaluationModel } from './evaluate.js';
import type { GenerateFn } from './maps.js';
import { normalizeIntensity, type Volume } from '../volume/index.js';
import { dict } from '../keys/index.js';

/**
 * G(x_sources, code_target) of a trained generator as a GenerateFn. Inputs are expected already in
 * [-1, 1] (evaluate and the acceptance normalise them first), so no second normalisation happens.
 */
export function generatorFunction(model: Seq2Seq): GenerateFn {
  return (sources, target, like) =>
    generateVolume(
      model,
      { id: 'subject', volumes: sources },
      {
        sources: Object.keys(sources),
        target,
        normalized: true,
        timePoints: like && like.shape.length > 3 ? like.shape[3] : 1,
      },
    );
}

export function asEvaluationModel(model: Seq2Seq | EvaluationModel): EvaluationModel {
  if (model instanceof Seq2Seq)
    return {
      sequences: model.config.sequences,
      generate: generatorFunction(model),
      generatePairs: pairsFunction(model),
    };
  return model;
}

/**
 * Several (source, target) generations of one subject at once (inputs already in [-1, 1]), each
 * source's slices encoded once for all its targets; output time points follow the real targets.
 */
export function pairsFunction(model: Seq2Seq): NonNullable<EvaluationModel['generatePairs']> {
  return (sequences, pairs, options) =>
    generatePairs(
      model,
      { id: 'subject', volumes: sequences },
      {
        pairs: [...pairs],
        normalized: true,
        signal: options?.signal,
        timePoints: Object.fromEntries(
          pairs.map(([, t]) => {
            const v = sequences[t];
            return [t, v && v.shape.length > 3 ? v.shape[3]! : 1];
          }),
        ),
      },
    );
}

/**
 * A Cohort's subjects for evaluation, normalised to [-1, 1] as the science spec says: `split` is a
 * split recorded in the manifest ('train', 'val', 'test') or 'all'.
 */
export function asEvaluationCohort(cohort: Cohort | EvaluationCohort): EvaluationCohort {
  if (!('recordedSplit' in cohort)) return cohort;
  return {
    subjectIds: (split = 'test') => {
      if (split === 'all') return cohort.ids;
      if (split !== 'train' && split !== 'val' && split !== 'test')
        throw new MriseqError('unknown split', {
          field: 'split',
          found: split,
          expected: 'train, val, test or all',
          code: 'analysis.split',
        });
      const ids = cohort.recordedSplit(split).ids;
      if (ids.length === 0)
        throw new MriseqError(`no subject is recorded in the ${split} split`, {
          field: 'split',
          found: split,
          expected: "a manifest with a split column, or split 'all', or cohort.split(...).test",
          code: 'analysis.split',
        });
      return ids;
    },
    // A Cohort holds raw intensities: always apply the spec's normalisation (a raw scan stored
    // in [0, 1] would fool a range test).
    loadSubject: async (id) => {
      const raw = await cohort.subject(id).loadAll();
      const sequences = dict<Volume>();
      for (const [k, v] of Object.entries(raw)) sequences[k] = normalizeIntensity(v);
      return { id, sequences };
    },
    availableSequences: (id) => cohort.subject(id).available,
    stamp: (id) => cohort.stamp(id, cohort.subject(id).available),
  };
}
