/**
 * The main job as one library call (Node: it writes a run folder): runDemo() measures, on held-out
 * subjects of the simulated cohort, whether the generator recovers what the phantom was built to
 * show: M_d(T1Gd) marks T1Gd's unique signal, and C_d ranks T1Gd first and T1 last. It starts from
 * the shipped generator (pretrained:phantom-lite), optionally fine-tuned; or trains one from
 * scratch (a few hundred steps, which cannot rank the sequences yet: the acceptance needs
 * thousands). `mriseq demo` is this call with a progress bar; a notebook can call it too.
 *
 * RUN/ receives run.json (what ran), train/ (scratch or fine-tune only), analysis/evaluation.csv,
 * ranking.json, acceptance.json, analysis/maps/<subject>/ (M_d per target as NIfTI, the real
 * sequences, T1Gd's true unique mask and the |T1Gd - T1| subtraction), and figures/ when asked
 * (the figures option; `mriseq demo` asks unless --no-figures).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MriseqError } from '../errors/index.js';
import { initEngine } from '../engine/index.js';
import { phantom } from '../phantom/index.js';
import type { Volume } from '../volume/index.js';
import { writeNifti } from '../io/index.js';
import type { Seq2Seq, SubjectVolumes } from '../model/index.js';
import type { TrainProgress } from '../train/index.js';
import { loadGenerator, trainRun } from '../train/node.js';
import {
  acceptanceLines,
  formatAcceptanceTable,
  formatEvaluationCsv,
  generatorFunction,
  phantomAcceptance,
  rankingRecord,
  subtractionMap,
  type AcceptanceLine,
  type AcceptanceReport,
  type TruthSubject,
} from '../analysis/index.js';
import { writeDifferentiationMaps } from '../analysis/node.js';
import { heldOutSubjects, readModelCard } from '../pretrained/node.js';
import { writeFileAtomicSync } from '../reliability/node.js';

import { writeRunFigures, type FiguresResult } from './figures.js';

export { runFigures, writeRunFigures, type FiguresResult } from './figures.js';
export { generateCohort, type GenerateCohortOptions, type GenerateCohortResult } from './generate.js';
export {
  classifyCohort,
  formatGroups,
  type ClassifyCohortOptions,
  type ClassifyCohortResult,
  type HierarchicalSummary,
} from './classify.js';
export { writeCohortMaps, type CohortMapsOptions, type CohortMapsResult } from './maps.js';

/**
 * Options of {@link runDemo}.
 *
 * @example
 * ```ts
 * import { runDemo, type DemoOptions } from 'mriseq';
 * const scratch: DemoOptions = { out: '/tmp/demo-scratch', start: { scratch: true, steps: 20, subjects: 3 }, test: 2, size: [32, 32, 16] };
 * await runDemo(scratch);
 * ```
 */
export interface DemoOptions {
  /** Run folder (default 'runs/demo'). */
  out?: string;
  /** Start from a shipped generator (default 'phantom-lite'), or train from scratch. */
  start?: { pretrained: string; fineTune?: number } | { scratch: true; steps?: number; subjects?: number };
  /** Held-out phantom subjects evaluated (default 12 from a shipped generator, 4 from scratch). */
  test?: number;
  /** Phantom size and seed for a scratch run (a shipped generator brings its own). */
  size?: [number, number, number];
  seed?: number;
  /** Bootstrap resamples of the ranking's CIs (default 500). */
  resamples?: number;
  /**
   * Also write RUN/figures/ (writeRunFigures) at the end: true for PNG + SVG + HTML (PNG and SVG
   * need Chromium), or the static formats to write ([] for HTML only). Default: no figures.
   */
  figures?: boolean | { formats: ('png' | 'svg')[] };
  signal?: AbortSignal;
  /** Stage messages. */
  onStage?: (message: string) => void;
  onTrain?: (e: TrainProgress) => void;
  onSubject?: (e: { subject: string; done: number; total: number }) => void;
}

/**
 * What {@link runDemo} returns.
 *
 * @example
 * ```ts
 * import { runDemo, type DemoResult } from 'mriseq';
 * const r: DemoResult = await runDemo({ out: '/tmp/mriseq-demo', test: 2 });
 * console.log(r.model, r.stopped, r.report?.passed, Object.keys(r.files));
 * ```
 */
export interface DemoResult {
  out: string;
  /** What the generator was: 'pretrained:phantom-lite', '+ fine-tuned N steps', or 'trained from scratch N steps'. */
  model: string;
  /** Training was interrupted (signal): nothing was evaluated; run again to resume. */
  stopped: boolean;
  report?: AcceptanceReport;
  lines?: AcceptanceLine[];
  /** The acceptance as text (what `mriseq demo` prints). */
  text?: string;
  files: Record<string, string>;
  /** What the figures step wrote (only with the figures option). */
  figures?: FiguresResult;
}

/**
 * What run.json records: enough to say what a figures page or a table came from.
 * @example
 * ```ts
 * import { type DemoRecord } from 'mriseq';
 * import { readFileSync } from 'node:fs';
 * const record = JSON.parse(readFileSync('runs/demo/run.json', 'utf8')) as DemoRecord;
 * console.log(record.model, record.phantom.heldOut, record.seconds);
 * ```
 */
export interface DemoRecord {
  model: string;
  start: 'pretrained' | 'scratch';
  pretrained?: { name: string; sha256: string; trainedSteps: number; commit: string };
  trainSteps: number;
  phantom: { seed: number; size: [number, number, number]; heldOut: { start: number; count: number } };
  date: string;
  seconds: number;
}

/**
 * Runs the demo; see the file comment.
 * The main job as one call: from the shipped generator (optionally fine-tuned) or a scratch
 * training, it evaluates held-out phantom subjects, ranks the sequences by C_d, writes M_d maps and
 * checks the phantom acceptance (M_d(T1Gd) marks T1Gd's unique signal, C_d ranks T1Gd first and T1 last).
 *
 * @param o - Run folder, start (pretrained or scratch), test subjects, resamples, signal, callbacks.
 * @returns What ran, whether it was stopped, the acceptance report and its text, and the files written.
 * @throws {@link MriseqError} for a scratch run with fewer than 2 training subjects, or as {@link trainRun} and {@link loadPretrained}.
 * @example
 * ```ts
 * import { runDemo } from 'mriseq';
 * const r = await runDemo({ out: '/tmp/mriseq-demo', test: 2, resamples: 50, onStage: console.log });
 * console.log(r.text);
 * ```
 */
export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const t0 = Date.now();
  const say = o.onStage ?? (() => undefined);
  const out = o.out ?? 'runs/demo';
  const start = o.start ?? { pretrained: 'phantom-lite' };
  say((await initEngine()).summary);
  mkdirSync(out, { recursive: true });
  const files: Record<string, string> = {};

  let model: Seq2Seq;
  let description: string;
  let record: Omit<DemoRecord, 'date' | 'seconds'>;
  let held: TruthSubject[];
  let labels: Volume[];
  const trainDir = join(out, 'train');
  const train = async (subjects: SubjectVolumes[], run: Parameters<typeof trainRun>[1]) => {
    const history = join(trainDir, 'history.jsonl');
    files.history = history;
    mkdirSync(trainDir, { recursive: true });
    const r = await trainRun(subjects, {
      ...run,
      onProgress: (e) => {
        appendFileSync(history, JSON.stringify(e) + '\n');
        o.onTrain?.(e);
      },
    });
    r.model.dispose();
    return r.stopped;
  };

  if ('pretrained' in start) {
    const card = readModelCard(start.pretrained);
    const nTest = o.test ?? 12;
    const from = card.acceptance.heldOut.start;
    held = heldOutSubjects(card.phantom, nTest, from);
    const ph = phantom({ subjects: from + nTest, seed: card.phantom.seed, size: card.phantom.size });
    labels = held.map((_, k) => ph.subject(from + k).truth.tissue);
    const fine = start.fineTune ?? 0;
    description = `pretrained:${card.name}`;
    if (fine > 0) {
      // a short fine-tune on the subjects it was trained on (held-out ones stay unseen)
      say(`fine-tuning ${description} for ${fine} steps`);
      const subjects = ph
        .ids()
        .slice(0, card.phantom.train)
        .map((id) => ph.subject(id));
      const validation = ph
        .ids()
        .slice(card.phantom.train, card.phantom.train + card.phantom.validation)
        .map((id) => ph.subject(id));
      if (
        await train(subjects, {
          out: trainDir,
          from: description,
          steps: fine,
          seed: card.training.seed,
          crop: card.training.crop,
          lr: 2e-5,
          validation,
          resume: true,
          signal: o.signal,
        })
      )
        return { out, model: description, stopped: true, files };
      model = loadGenerator(trainDir);
      description += ` + fine-tuned ${fine} steps`;
    } else model = loadGenerator(description);
    record = {
      model: description,
      start: 'pretrained',
      pretrained: {
        name: card.name,
        sha256: card.sha256,
        trainedSteps: card.training.steps,
        commit: card.training.commit,
      },
      trainSteps: fine,
      phantom: { seed: card.phantom.seed, size: card.phantom.size, heldOut: { start: from, count: nTest } },
    };
  } else {
    const nTrain = start.subjects ?? 24;
    const steps = start.steps ?? 300;
    const nTest = o.test ?? 4;
    const seed = o.seed ?? 0;
    const size = o.size ?? [64, 64, 32];
    if (!Number.isInteger(nTrain) || nTrain < 2)
      throw new MriseqError('a scratch demo needs at least 2 training subjects', {
        field: 'subjects',
        found: String(nTrain),
        code: 'demo.options',
      });
    const ph = phantom({ subjects: nTrain + 1 + nTest, seed, size });
    const subject = (i: number) => ph.subject(i);
    say(
      `phantom: ${nTrain} training, 1 validation, ${nTest} test subjects of ${size.join('x')} voxels; training ${steps} lite steps from scratch`,
    );
    if (
      await train(
        Array.from({ length: nTrain }, (_, i) => subject(i)),
        {
          out: trainDir,
          model: 'lite',
          modelOverrides: { sequences: ph.sequences, seed },
          steps,
          seed,
          crop: Math.min(size[0], size[1]),
          validation: [subject(nTrain)],
          resume: true,
          signal: o.signal,
        },
      )
    )
      return { out, model: `trained from scratch`, stopped: true, files };
    model = loadGenerator(trainDir);
    description = `trained from scratch ${steps} steps`;
    const recipe = { seed, size, train: nTrain, validation: 1 };
    held = heldOutSubjects(recipe, nTest, nTrain + 1);
    labels = held.map((_, k) => subject(nTrain + 1 + k).truth.tissue);
    record = {
      model: description,
      start: 'scratch',
      trainSteps: steps,
      phantom: { seed, size, heldOut: { start: nTrain + 1, count: nTest } },
    };
  }

  // Evaluate every pair, rank, score M_d against the truth; keep the first subject's maps.
  say(`evaluating ${description} on ${held.length} held-out phantom subjects`);
  const analysis = join(out, 'analysis');
  const mapsDir = join(analysis, 'maps');
  let report: AcceptanceReport;
  try {
    report = await phantomAcceptance(held, generatorFunction(model), {
      resamples: o.resamples ?? 500,
      seed: 0,
      signal: o.signal,
      onSubject: o.onSubject,
      onMaps: async (e) => {
        if (e.subject !== held[0].id) return;
        const first = held[0];
        await writeDifferentiationMaps(mapsDir, first.id, e.maps, { labels: labels[0] });
        const dir = join(mapsDir, first.id);
        for (const [t, v] of Object.entries(first.sequences))
          await writeNifti(join(dir, `${t}.nii.gz`), v, { datatype: 'float32' });
        await writeNifti(join(dir, 'truth_unique_t1gd.nii.gz'), first.unique, { datatype: 'uint8' });
        if (first.sequences.t1gd && first.sequences.t1)
          await writeNifti(
            join(dir, 'subtraction_t1gd_t1.nii.gz'),
            subtractionMap(first.sequences.t1gd, first.sequences.t1),
            { datatype: 'float32' },
          );
        files.maps = dir;
      },
    });
  } finally {
    model.dispose();
  }
  mkdirSync(analysis, { recursive: true });
  files.evaluation = join(analysis, 'evaluation.csv');
  writeFileAtomicSync(files.evaluation, formatEvaluationCsv(report.rows));
  files.ranking = join(analysis, 'ranking.json');
  writeFileAtomicSync(files.ranking, JSON.stringify(rankingRecord(report.ranking), null, 1));
  const lines = acceptanceLines(report);
  const text = formatAcceptanceTable(report);
  files.acceptance = join(analysis, 'acceptance.json');
  writeFileAtomicSync(
    files.acceptance,
    JSON.stringify(
      {
        model: description,
        subjects: report.subjects,
        lines,
        lesionAuc: report.lesionAuc,
        headAuc: report.headAuc,
        subtractionAuc: report.subtractionAuc,
        order: report.ranking.order,
        checks: report.checks,
        passed: report.passed,
        note:
          record.start === 'scratch' && record.trainSteps < 3000
            ? `trained ${record.trainSteps} steps from scratch: the phantom acceptance is judged after >= 3000 steps (the shipped generator trained thousands: npx mriseq pretrained info phantom-lite)`
            : undefined,
      },
      null,
      1,
    ),
  );
  files.run = join(out, 'run.json');
  const full: DemoRecord = {
    ...record,
    date: new Date().toISOString(),
    seconds: Math.round((Date.now() - t0) / 1000),
  };
  writeFileAtomicSync(files.run, JSON.stringify(full, null, 1));
  let figures: FiguresResult | undefined;
  if (o.figures) {
    say('writing figures');
    figures = await writeRunFigures(
      out,
      join(out, 'figures'),
      o.figures === true ? {} : { formats: o.figures.formats },
    );
    files.figures = figures.index;
  }
  return { out, model: description, stopped: false, report, lines, text, files, figures };
}
