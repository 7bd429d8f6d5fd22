/**
 * Shipped generators on disk (Node): models/<name>/ holds a checkpoint (config.json, weights.json,
 * weights.bin in float16) and its model card (model.json). loadPretrained() loads one; the CLI's
 * `--run pretrained:<name>` does the same through loadGenerator. checkPretrainedPhantom() tells
 * whether the phantom a model was trained on is still the phantom this code makes (a design change
 * invalidates it: the card's commands retrain it), and packPretrained() makes such a folder from a
 * finished `mriseq train` run: float16 weights, the acceptance measured with them on held-out
 * subjects, and the card.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MriseqError } from '../errors/index.js';
import { phantom } from '../phantom/index.js';
import { Cohort } from '../cohort/index.js';
import type { Seq2Seq, SubjectVolumes } from '../model/index.js';
import {
  loadCheckpoint,
  MODELS_ROOT,
  pretrainedDir,
  saveCheckpoint,
  trainDataOf,
  type TrainData,
} from '../train/node.js';
import type { TrainState } from '../train/index.js';
import {
  formatAcceptance,
  generatorFunction,
  phantomAcceptance,
  prepareVolume,
  type AcceptanceReport,
  type TruthSubject,
} from '../analysis/index.js';
import type { Volume } from '../volume/index.js';
import { pretrainedEntry, type ModelCard } from './index.js';

export { MODELS_ROOT, pretrainedDir };

/**
 * The model card of a shipped generator.
 * @param name - The shipped generator, with or without 'pretrained:'.
 * @returns Its card (models/<name>/model.json).
 * @throws {@link MriseqError} 'pretrained.missing' when the card is absent, 'pretrained.corrupt' when it is not JSON.
 * @example
 * ```ts
 * import { readModelCard } from 'mriseq';
 * const card = readModelCard('phantom-lite');
 * console.log(card.phantom.size, card.acceptance.heldOut);
 * ```
 */
export function readModelCard(name: string): ModelCard {
  const file = join(pretrainedDir(name), 'model.json');
  if (!existsSync(file))
    throw new MriseqError('shipped generator has no model card', { file, code: 'pretrained.missing' });
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ModelCard;
  } catch (e) {
    throw new MriseqError('model card is not valid JSON', { file, cause: e, code: 'pretrained.corrupt' });
  }
}

/**
 * Loads a shipped generator ('phantom-lite' or 'pretrained:phantom-lite'); its weights' sha256 is checked.
 * @param name - The shipped generator (default 'phantom-lite'), with or without 'pretrained:'.
 * @returns The generator with its shipped weights.
 * @throws {@link MriseqError} for an unknown name, a missing or corrupt folder, or weights whose
 *   sha256 differs from the card's.
 * @example
 * ```ts
 * import { generate, loadPretrained, phantom, initEngine } from 'mriseq';
 * await initEngine();
 * const g = loadPretrained('phantom-lite');
 * const subject = phantom({ size: [64, 64, 32] }).subject(0);
 * const t1gd = await generate(g, subject, { sources: ['t1', 't2', 'flair'], target: 't1gd' });
 * console.log(t1gd.shape);
 * g.dispose();
 * ```
 */
export function loadPretrained(name = 'phantom-lite'): Seq2Seq {
  return loadCheckpoint(pretrainedDir(name)).model;
}

/** The phantom a card describes: training + validation subjects, and held-out ones after them. */
export interface PhantomRecipe {
  seed: number;
  size: [number, number, number];
  train: number;
  validation: number;
}

function phantomOf(p: PhantomRecipe, extra = 0) {
  return phantom({ subjects: p.train + p.validation + extra, seed: p.seed, size: p.size });
}

/** sha256 over subject 0 of a phantom: any change to the phantom's design changes it. */
export function phantomDesignFingerprint(p: Pick<PhantomRecipe, 'seed' | 'size'>): string {
  const s = phantom({ subjects: 1, seed: p.seed, size: p.size }).subject(0);
  return trainDataOf([{ id: s.id, volumes: s.volumes }]).fingerprint;
}

/** The training data a card's phantom describes, as `mriseq train --phantom N --validation V` takes it. */
export function phantomTrainData(p: PhantomRecipe): TrainData {
  const ph = phantomOf(p);
  const all: SubjectVolumes[] = ph.ids().map((id) => {
    const s = ph.subject(id);
    return { id: s.id, volumes: s.volumes };
  });
  return trainDataOf(all.slice(0, p.train), all.slice(p.train));
}

/**
 * What {@link checkPretrainedPhantom} returns.
 *
 * @example
 * ```ts
 * import { checkPretrainedPhantom, type PretrainedPhantomCheck } from 'mriseq';
 * const c: PretrainedPhantomCheck = checkPretrainedPhantom('phantom-lite');
 * console.log(c.design.expected === c.design.found);
 * ```
 */
export interface PretrainedPhantomCheck {
  ok: boolean;
  design: { expected: string; found: string; ok: boolean };
  /** Only with { data: true } (simulates every training subject: ~0.2 s each). */
  data?: { expected: string; found: string; ok: boolean };
  /** What retrains the model when the phantom changed. */
  retrain: string[];
}

/**
 * Is a shipped generator's phantom the one this code makes? The design check simulates one
 * subject; `data: true` recomputes the whole training set's fingerprint.
 * @param name - The shipped generator.
 * @param opts - `data: true` also recomputes the training set's fingerprint (slower: simulates every training subject).
 * @returns Whether the fingerprints match, each found and expected value, and the commands that retrain it.
 * @throws {@link MriseqError} as {@link readModelCard}.
 * @example
 * ```ts
 * import { checkPretrainedPhantom } from 'mriseq';
 * const c = checkPretrainedPhantom('phantom-lite');
 * if (!c.ok) console.log('the phantom changed; retrain with:\n' + c.retrain.join('\n'));
 * ```
 */
export function checkPretrainedPhantom(name: string, opts: { data?: boolean } = {}): PretrainedPhantomCheck {
  const card = readModelCard(name);
  const found = phantomDesignFingerprint(card.phantom);
  const design = { expected: card.phantom.design, found, ok: found === card.phantom.design };
  let data: PretrainedPhantomCheck['data'];
  if (opts.data) {
    const f = phantomTrainData(card.phantom).fingerprint;
    data = { expected: card.phantom.data, found: f, ok: f === card.phantom.data };
  }
  return { ok: design.ok && (data?.ok ?? true), design, data, retrain: card.training.commands };
}

/**
 * The held-out subjects of a card's phantom, with their truth, normalised.
 * @param p - The phantom recipe (seed, size, train and validation counts), e.g. a card's `phantom`.
 * @param count - How many held-out subjects.
 * @param start - First subject index (default right after the training and validation subjects).
 * @returns The subjects with their volumes normalised to [-1, 1] and their truth, as the acceptance reads them.
 * @example
 * ```ts
 * import { heldOutSubjects, readModelCard } from 'mriseq';
 * const subjects = heldOutSubjects(readModelCard('phantom-lite').phantom, 2);
 * console.log(subjects.map((s) => s.id));
 * ```
 */
export function heldOutSubjects(
  p: PhantomRecipe,
  count: number,
  start = p.train + p.validation,
): TruthSubject[] {
  const ph = phantom({ subjects: start + count, seed: p.seed, size: p.size });
  return Array.from({ length: count }, (_, k) => {
    const s = ph.subject(start + k);
    const sequences: Record<string, Volume> = {};
    for (const [n, v] of Object.entries(s.volumes)) if (v) sequences[n] = prepareVolume(v, true);
    return { id: s.id, sequences, unique: s.truth.unique.t1gd!, lesion: s.truth.lesion };
  });
}

/**
 * Subjects a shipped generator never saw, as a Cohort (split 'test' recorded on every subject):
 * `count` phantom subjects of its card's phantom from `start` (default: right after the ones its
 * card's acceptance measured, so notebooks and the card do not share subjects).
 * @param name - A shipped model's name.
 * @param count - How many subjects.
 * @param start - The first subject's index (default: after the card's held-out acceptance subjects).
 * @returns A phantom cohort of subjects the generator never saw, all in split 'test'.
 * @throws {@link MriseqError} when `start` would include a training or validation subject.
 * @example
 * ```ts
 * import { pretrainedCohort } from 'mriseq';
 * const cohort = pretrainedCohort('phantom-lite', 4);
 * console.log(cohort.ids);
 * ```
 */
export function pretrainedCohort(name = 'phantom-lite', count = 12, start?: number): Cohort {
  const card = readModelCard(name);
  const from = start ?? card.acceptance.heldOut.start + card.acceptance.heldOut.count;
  if (from < card.phantom.train + card.phantom.validation)
    throw new MriseqError('these subjects trained or validated the generator', {
      field: 'start',
      found: String(from),
      expected: `>= ${card.phantom.train + card.phantom.validation}`,
      code: 'pretrained.heldout',
    });
  const ph = phantom({ subjects: from + count, seed: card.phantom.seed, size: card.phantom.size });
  const held = new Set(ph.ids().slice(from));
  return Cohort.fromPhantom(ph)
    .filter((e) => held.has(e.id))
    .withSplit({ fractions: { train: 0, val: 0, test: 1 } });
}

/**
 * Options of {@link packPretrained}: the phantom recipe plus the model's name and where to write.
 *
 * @example
 * ```ts
 * import { type PackOptions } from 'mriseq';
 * const o: PackOptions = { name: 'phantom-lite', seed: 0, size: [64, 64, 32], train: 200, validation: 4, heldOut: 30 };
 * console.log(o.name);
 * ```
 */
export interface PackOptions extends PhantomRecipe {
  /** Name of the shipped model (a PRETRAINED_MODELS entry). */
  name: string;
  /** Held-out subjects the acceptance is measured on (default 30). */
  heldOut?: number;
  /** Folder to write (default the package's models/<name>). */
  out?: string;
  /** The run folder as written in the card's commands (default runs/<name>). */
  runName?: string;
  commit?: string;
  minutes?: number;
  load?: string;
  onSubject?: (e: { subject: string; done: number; total: number }) => void;
}

/**
 * Makes a shipped model from a finished `mriseq train --phantom` run: checks that the run was
 * trained on the phantom described (its data.json against a fresh simulation), rounds the best
 * weights to float16, measures the phantom acceptance with the rounded weights on held-out
 * subjects, and writes the checkpoint and its card atomically. Returns the card.
 * @param run - The run folder of a finished `mriseq train --phantom` run.
 * @param o - The phantom it was trained on, the model's name, held-out count, output folder, provenance.
 * @returns The card written and the acceptance report it records.
 * @throws {@link MriseqError} when the run has no data.json, was trained on another phantom, has not
 *   finished, or does not pass the acceptance (then nothing is written).
 * @example
 * ```ts
 * import { packPretrained } from 'mriseq';
 * const { card } = await packPretrained('runs/phantom-lite', {
 *   name: 'phantom-lite', seed: 0, size: [64, 64, 32], train: 200, validation: 4, out: '/tmp/phantom-lite',
 * });
 * console.log(card.sha256);
 * ```
 */
export async function packPretrained(
  run: string,
  o: PackOptions,
): Promise<{ card: ModelCard; report: AcceptanceReport }> {
  const entry = pretrainedEntry(o.name);
  const dataFile = join(run, 'data.json');
  if (!existsSync(dataFile))
    throw new MriseqError('the run has no data.json: it was not written by mriseq train', {
      file: dataFile,
      code: 'pretrained.run',
    });
  const recorded = JSON.parse(readFileSync(dataFile, 'utf8')) as TrainData;
  const data = phantomTrainData(o);
  if (recorded.fingerprint !== data.fingerprint)
    throw new MriseqError('the run was not trained on the phantom described', {
      file: dataFile,
      field: 'fingerprint',
      found: recorded.fingerprint.slice(0, 16),
      expected: `${data.fingerprint.slice(0, 16)} (phantom seed ${o.seed}, ${o.train} + ${o.validation} subjects of ${o.size.join('x')})`,
      code: 'pretrained.run',
    });
  const last = loadCheckpoint(run, 'last');
  const state = last.state as TrainState | undefined;
  last.model.dispose();
  if (!state || state.step < state.steps)
    throw new MriseqError('the run has not finished training', {
      file: join(run, 'last', 'state.json'),
      found: state ? `step ${state.step} of ${state.steps}` : 'no training state',
      code: 'pretrained.run',
    });
  const best = loadCheckpoint(run, 'best').model;
  const tmp = `${o.out ?? join(MODELS_ROOT, entry.folder)}.pack-${process.pid}`;
  try {
    // Round once to float16 through the file format itself, and measure what ships.
    saveCheckpoint(tmp, best, { dtype: 'float16' });
  } finally {
    best.dispose();
  }
  const rounded = loadCheckpoint(tmp).model;
  const count = o.heldOut ?? 30;
  const start = o.train + o.validation;
  let report: AcceptanceReport;
  try {
    report = await phantomAcceptance(heldOutSubjects(o, count, start), generatorFunction(rounded), {
      resamples: 1000,
      onSubject: o.onSubject,
    });
  } catch (e) {
    rounded.dispose();
    throw e;
  }
  const sha256 = createHash('sha256')
    .update(readFileSync(join(tmp, 'weights.bin')))
    .digest('hex');
  const runName = o.runName ?? `runs/${o.name}`;
  const opt = state.options;
  const card: ModelCard = {
    name: o.name,
    description: entry.description,
    preset: rounded.config.cIn === 1 && rounded.config.cEnc[0] === 16 ? 'lite' : 'custom',
    parameters: rounded.countParams(),
    dtype: 'float16',
    sha256,
    training: {
      commands: [
        `npx mriseq train --phantom ${o.train + o.validation} --validation ${o.validation} --seed ${o.seed} --size ${o.size.join(',')} --steps ${state.steps} --crop ${opt.crop} --recipe ${opt.lrSchedule === 'epoch' ? 'authors' : 'mriseq-0.1'} --out ${runName}`,
        `npx mriseq pretrained pack ${runName} --name ${o.name} --seed ${o.seed} --size ${o.size.join(',')} --train ${o.train} --validation ${o.validation} --held-out ${count}`,
      ],
      recipe: opt.lrSchedule === 'epoch' ? 'authors' : 'mriseq-0.1',
      steps: state.steps,
      bestStep: state.bestStep,
      bestValidationPsnr: state.bestPsnr,
      seed: opt.seed,
      crop: opt.crop,
      commit: o.commit ?? 'unknown',
      date: new Date().toISOString().slice(0, 10),
      minutes: o.minutes ?? NaN,
      load: o.load ?? 'not recorded',
    },
    phantom: {
      seed: o.seed,
      size: o.size,
      train: o.train,
      validation: o.validation,
      design: phantomDesignFingerprint(o),
      data: data.fingerprint,
    },
    acceptance: {
      heldOut: { start, count },
      lesionAuc: report.lesionAuc,
      subtractionAuc: report.subtractionAuc,
      order: report.ranking.order,
      Cd: Object.fromEntries(report.ranking.sequences.map((s) => [s.sequence, s.C_d])),
      rows: report.ranking.matrix.rows,
      metrics: report.ranking.matrix.metrics,
      checks: report.checks,
      passed: report.passed,
    },
  };
  if (!report.passed) {
    rounded.dispose();
    throw new MriseqError('the run does not pass the phantom acceptance: not packed', {
      file: run,
      found: formatAcceptance(report),
      expected: 'every check passing',
      code: 'pretrained.acceptance',
    });
  }
  // Written as a whole: a reader sees the old folder or the new one, never a mix.
  saveCheckpoint(o.out ?? join(MODELS_ROOT, entry.folder), rounded, {
    dtype: 'float16',
    files: { 'model.json': JSON.stringify(card, null, 1) + '\n' },
  });
  rounded.dispose();
  rmSync(tmp, { recursive: true, force: true });
  return { card, report };
}
