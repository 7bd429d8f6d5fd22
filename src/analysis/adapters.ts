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
import { dict, own } from '../keys/index.js';

/**
 * G(x_sources, code_target) of a trained generator as a GenerateFn. Inputs are expected already in
 * [-1, 1] (evaluate and the acceptance normalise them first), so no second normalisation happens.
 * @param model - A trained generator.
 * @returns A {@link GenerateFn}: the target generated from the given sources (already in [-1, 1]).
 * @example
 * ```ts
 * import { generatorFunction, loadPretrained, normalizeIntensity, phantom, initEngine } from 'mriseq';
 * await initEngine();
 * const g = loadPretrained();
 * const s = phantom({ size: [64, 64, 32] }).subject(0);
 * const t1gd = await generatorFunction(g)({ t1: normalizeIntensity(s.volumes.t1!) }, 't1gd');
 * console.log(t1gd instanceof Float32Array ? t1gd.length : t1gd.shape);
 * g.dispose();
 * ```
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
        // the real target's length when known, else what the generator was trained with
        timePoints: like ? (like.shape.length > 3 ? like.shape[3] : 1) : undefined,
      },
    );
}

/**
 * What {@link evaluate} needs from a model: its sequences and a {@link GenerateFn}.
 *
 * @param model - A {@link Seq2Seq} (wrapped with {@link generatorFunction}) or an EvaluationModel (returned as is).
 * @returns The EvaluationModel.
 * @example
 * ```ts
 * import { asEvaluationModel, createGenerator, initEngine } from 'mriseq';
 * await initEngine();
 * const g = createGenerator('lite');
 * console.log(asEvaluationModel(g).sequences);
 * g.dispose();
 * ```
 */
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
 *
 * @param model - A trained generator.
 * @returns An EvaluationModel's generatePairs: (sequences, pairs, { signal }) to volumes keyed
 *   `${source}>${target}`.
 * @example
 * ```ts
 * import { createGenerator, normalizeIntensity, pairsFunction, phantom, initEngine } from 'mriseq';
 * await initEngine();
 * const model = createGenerator('lite');
 * const s = phantom({ size: [32, 32, 8] }).subject(0);
 * const sequences = { t1: normalizeIntensity(s.volumes.t1!), t1gd: normalizeIntensity(s.volumes.t1gd!) };
 * const made = await pairsFunction(model)(sequences, [['t1', 't1gd'], ['t1gd', 't1gd']]);
 * console.log([...made.keys()]); // ['t1>t1gd', 't1gd>t1gd']
 * model.dispose();
 * ```
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
            const v = own(sequences, t);
            return [t, v && v.shape.length > 3 ? v.shape[3]! : 1];
          }),
        ),
      },
    );
}

/**
 * A Cohort's subjects for evaluation, normalised to [-1, 1] as the science spec says: `split` is a
 * split recorded in the manifest ('train', 'val', 'test') or 'all'.
 * @param cohort - A {@link Cohort} (wrapped) or an EvaluationCohort (returned as is).
 * @returns The EvaluationCohort; its `subjectIds(split)` takes 'train', 'val', 'test' (default) or 'all'.
 * @throws {@link MriseqError} 'analysis.split' (from `subjectIds`) for another split name, or a split no subject is recorded in.
 * @example
 * ```ts
 * import { asEvaluationCohort, Cohort } from 'mriseq';
 * const ec = asEvaluationCohort(Cohort.fromPhantom({ subjects: 3, size: [32, 32, 16] }));
 * const ids = await ec.subjectIds('all');
 * console.log(ids, Object.keys((await ec.loadSubject(ids[0]!)).sequences));
 * ```
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
