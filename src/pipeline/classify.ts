/**
 * The downstream classifier as one library call (Node: it reads a cohort and writes a folder):
 * classifyCohort() is `mriseq classify`. It trains a 3D ResNet (CBAM attention) on a label column
 * of a manifest (or of the phantom), optionally beside one on MRI + M_d channels, or a
 * hierarchical one (group, then subtype), and writes OUT/metrics.json, predictions_*.csv,
 * model_*.json and, when asked, gradcam/<subject>_gradcam.nii.gz, with the folder's provenance
 * record: a rerun with other inputs into the folder is refused (or, with redo, replaces it).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tf, initEngine } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import { Cohort, resolveSequenceNames } from '../cohort/index.js';
import {
  buildDownstreamDataset,
  runClassifier,
  compareWithMaps,
  runHierarchical,
  treeFromGroups,
  GradCam,
  type DownstreamRun,
  type DownstreamCohort,
} from '../classify/index.js';
import { mapsFromDirectory, saveClassifier, writeGradCamNifti } from '../classify/node.js';
import { formatCsv, type CsvValue } from '../csv/index.js';
import { writeFileAtomicSync } from '../reliability/node.js';
import { cohortStamp, existingFiles, fileFingerprint, openFolderRecord } from '../reliability/provenance.js';
import { own } from '../keys/index.js';

/**
 * Options of {@link classifyCohort}. Numbers are recorded in the folder's provenance as text, as
 * the command line gives them.
 *
 * @example
 * ```ts
 * import { classifyCohort, type ClassifyCohortOptions } from 'mriseq';
 * const o: ClassifyCohortOptions = { phantom: { subjects: 12 }, label: 'highEnhancement', sequences: 't1gd,flair', epochs: 2, out: '/tmp/mriseq-classify' };
 * await classifyCohort(o);
 * ```
 */
export interface ClassifyCohortOptions {
  /** Cohort manifest with label columns (or phantom). */
  manifest?: string;
  /** N simulated subjects of 32x32x16 voxels instead of a manifest (seed default 0). */
  phantom?: { subjects: number; seed?: number };
  /** Label column to predict. */
  label: string;
  /** Input sequences, comma-separated (default: all of the cohort). */
  sequences?: string;
  /** Also train on MRI + M_d channels read from <withMaps>/<subject>/md_<target>.nii.gz. */
  withMaps?: string;
  /** M_d targets to add, comma-separated (default: the chosen sequences). */
  mapTargets?: string;
  /** ResNet depth (default 6). */
  depth?: 6 | 18;
  /** CBAM attention (default true). */
  attention?: boolean;
  /** First-stage width (default 8). */
  width?: number;
  /** Maximum epochs, early stopping on validation loss (default 30). */
  epochs?: number;
  /** Average-pool volumes by this factor first (default 1). */
  downsample?: number;
  /** Held-out fraction, stratified (default 0.3). */
  testFraction?: number;
  /** Seed of split, initialisation and bootstrap (default 0). */
  seed?: number;
  /** Write Grad-CAM NIfTIs of the test subjects. */
  gradcam?: boolean;
  /** Hierarchical: group first, then subtype (label values are the subtypes), e.g. { lung: ['sclc', 'nsclc'] }. */
  groups?: Record<string, string[]>;
  /** Output folder. */
  out: string;
  /** Replace the outputs of other inputs in the folder (otherwise such a rerun is refused). */
  redo?: boolean;
  /** How errors name the options (`mriseq classify` passes its flags). */
  names?: { manifest?: string; label?: string; sequences?: string; mapTargets?: string };
  onEpoch?: (e: { epoch: number; trainLoss: number; valLoss: number }) => void;
}

/**
 * What metrics.json of a hierarchical {@link classifyCohort} holds.
 *
 * @example
 * ```ts
 * import { classifyCohort, type HierarchicalSummary } from 'mriseq';
 * const r = await classifyCohort({ manifest: 'data/manifest.csv', label: 'subtype', groups: { lung: ['sclc', 'nsclc'], other: ['breast'] }, out: '/tmp/h' });
 * const h: HierarchicalSummary | undefined = r.hierarchical;
 * console.log(h?.hierarchical.groupAuc);
 * ```
 */
export interface HierarchicalSummary {
  label: string;
  hierarchical: {
    leaves: string[];
    groups: string[];
    leafAuc: number;
    leafAuc_ci95: [number, number];
    groupAuc: number;
    groupAuc_ci95: [number, number];
    /** One-vs-rest AUC per subtype, in the order of leaves. */
    perLeafAuc: number[];
    testSubjects: number;
  };
}

/**
 * What {@link classifyCohort} did: metrics.json's content and the runs (their models are saved as
 * model_*.json and disposed).
 *
 * @example
 * ```ts
 * import { classifyCohort, type ClassifyCohortResult } from 'mriseq';
 * const r: ClassifyCohortResult = await classifyCohort({ phantom: { subjects: 12 }, label: 'highEnhancement', epochs: 2, out: '/tmp/c' });
 * for (const run of r.runs) console.log(run.name, run.evaluation.auc, run.evaluation.ci95);
 * ```
 */
export interface ClassifyCohortResult {
  /** metrics.json. */
  metrics: string;
  /** What metrics.json holds. */
  summary: Record<string, unknown>;
  /** The flat runs: 'MRI', and 'MRI + M_d' with withMaps (empty when hierarchical). */
  runs: DownstreamRun[];
  /** With groups: the hierarchical summary (also metrics.json). */
  hierarchical?: HierarchicalSummary;
}

function runJson(r: DownstreamRun): Record<string, unknown> {
  const e = r.evaluation;
  return {
    name: r.name,
    channels: r.channels,
    classes: r.classNames,
    trainSubjects: r.trainSubjects,
    testSubjects: r.testIds.length,
    epochs: r.epochs,
    auc: e.auc,
    auc_ci95: e.ci95,
    bootstrap: { resamples: e.resamples, seed: e.seed },
    perClassAuc: e.perClassAuc,
    precision: e.report.precision,
    recall: e.report.recall,
    f1: e.report.f1,
    support: e.report.support,
    confusion: e.report.confusion,
    accuracy: e.report.accuracy,
    roc: e.roc,
  };
}

/** predictions_*.csv: label values and class names are the user's text, escaped by the CSV writer. */
function predictionsCsv(r: DownstreamRun, labels: ReadonlyMap<string, CsvValue>): string {
  return formatCsv(
    ['id', 'label', ...r.classNames.map((c) => `p_${c}`)],
    r.testIds.map((id, i) => [id, labels.get(id) ?? '', ...r.probabilities[i].map((p) => p.toFixed(6))]),
  );
}

/** The files classify writes into its folder (those that exist). */
function classifyFiles(dir: string): string[] {
  const cams = existsSync(join(dir, 'gradcam'))
    ? readdirSync(join(dir, 'gradcam'))
        .filter((f) => f.endsWith('_gradcam.nii.gz'))
        .map((f) => join('gradcam', f))
    : [];
  return [
    ...existingFiles(dir, [
      'metrics.json',
      'predictions_mri.csv',
      'predictions_mri_md.csv',
      'model_mri.json',
      'model_mri_md.json',
    ]),
    ...cams,
  ];
}

/** The manifest (or phantom) the classifier reads. */
async function openCohort(o: ClassifyCohortOptions): Promise<Cohort> {
  if (o.manifest) return Cohort.fromManifest(o.manifest);
  if (o.phantom)
    return Cohort.fromPhantom({
      subjects: o.phantom.subjects,
      seed: o.phantom.seed ?? 0,
      size: [32, 32, 16],
    });
  throw new MriseqError('no cohort given', {
    field: o.names?.manifest ?? 'manifest',
    expected: '--manifest FILE or --phantom N',
    code: 'cli.option',
  });
}

/** { g1: ['a', 'b'], g2: ['c'] } -> 'g1=a,b;g2=c' (the command line's form, which the record holds). */
export function formatGroups(groups: Readonly<Record<string, readonly string[]>>): string {
  return Object.entries(groups)
    .map(([g, subs]) => `${g}=${subs.join(',')}`)
    .join(';');
}

/**
 * Trains and evaluates the downstream classifier on a cohort's label column and writes its
 * results folder; see the file comment. A flat run trains on the chosen sequences ('MRI'), and with
 * withMaps also on MRI + M_d ('MRI + M_d', on the same split); with groups a hierarchical
 * classifier (group AUC, subtype AUC).
 *
 * @param o - Cohort, label, sequences, maps, model and training options, output folder, redo.
 * @returns metrics.json and its content, and the runs (AUC with bootstrap CI, report, ROC).
 * @throws {@link MriseqError} for an unknown label column or sequence, no cohort, or outputs of
 *   other inputs in the folder (without redo).
 * @example
 * ```ts
 * import { classifyCohort } from 'mriseq';
 * const r = await classifyCohort({
 *   phantom: { subjects: 12 },
 *   label: 'highEnhancement',
 *   sequences: 't1gd,flair',
 *   epochs: 2,
 *   out: '/tmp/mriseq-classify',
 * });
 * console.log(r.runs[0].evaluation.auc, r.metrics);
 * ```
 */
export async function classifyCohort(o: ClassifyCohortOptions): Promise<ClassifyCohortResult> {
  const depth = o.depth ?? 6;
  const attention = o.attention ?? true;
  const width = o.width ?? 8;
  const epochs = o.epochs ?? 30;
  const downsample = o.downsample ?? 1;
  const testFraction = o.testFraction ?? 0.3;
  const seed = o.seed ?? 0;
  await initEngine();
  const cohort = await openCohort(o);
  if (!cohort.labelNames.includes(o.label))
    throw new MriseqError('label column not in the manifest', {
      file: o.manifest,
      field: o.names?.label ?? 'label',
      found: o.label,
      expected: cohort.labelNames.join(', ') || 'a manifest with label columns',
      code: 'cli.label',
    });
  const sequences = resolveSequenceNames(
    o.sequences,
    cohort.sequences,
    o.names?.sequences ?? 'sequences',
  ) ?? [...cohort.sequences];
  const mapTargets = () =>
    resolveSequenceNames(o.mapTargets, cohort.sequences, o.names?.mapTargets ?? 'mapTargets') ?? sequences;
  // everything the results depend on; another run into this folder must not mix with them
  const record = openFolderRecord(
    o.out,
    'classify',
    {
      data: await cohortStamp(cohort),
      label: o.label,
      sequences,
      maps: o.withMaps ? resolve(o.withMaps) : null,
      mapsRecord: o.withMaps ? fileFingerprint(join(o.withMaps, 'maps.provenance.json')) : null,
      mapTargets: o.mapTargets ?? null,
      depth: String(depth),
      attention,
      width: String(width),
      epochs: String(epochs),
      downsample: String(downsample),
      testFraction: String(testFraction),
      seed: String(seed),
      gradcam: o.gradcam === true,
      groups: o.groups ? formatGroups(o.groups) : null,
    },
    o.redo,
    classifyFiles,
  );
  const run = {
    model: { depth, attention, baseWidth: width, spatialKernel: 3 },
    train: { epochs, onEpoch: o.onEpoch },
    testFraction,
    seed,
    downsample,
  };
  const dc = cohort as unknown as DownstreamCohort;
  const labels = new Map<string, CsvValue>(
    cohort.subjects.map((s) => [s.id, own(s.labels, o.label) ?? null]),
  );
  const metrics = join(o.out, 'metrics.json');
  if (o.groups) {
    const data = await buildDownstreamDataset(dc, { label: o.label, sequences, downsample });
    const h = await runHierarchical(data, treeFromGroups(o.label, o.groups), run);
    const summary: HierarchicalSummary = {
      label: o.label,
      hierarchical: {
        leaves: h.leaves,
        groups: h.groups,
        leafAuc: h.leafAuc.auc,
        leafAuc_ci95: h.leafAuc.ci95,
        groupAuc: h.groupAuc.auc,
        groupAuc_ci95: h.groupAuc.ci95,
        perLeafAuc: h.perLeafAuc,
        testSubjects: h.testIds.length,
      },
    };
    writeFileAtomicSync(metrics, JSON.stringify(summary, null, 1));
    record.finish(['metrics.json']);
    h.classifier.dispose();
    return { metrics, summary: { ...summary }, runs: [], hierarchical: summary };
  }
  const runs: DownstreamRun[] = [];
  try {
    if (o.withMaps) {
      const cmp = await compareWithMaps(dc, {
        ...run,
        label: o.label,
        sequences,
        mapTargets: mapTargets(),
        maps: mapsFromDirectory(o.withMaps),
      });
      runs.push(cmp.mri, cmp.mriWithMaps);
    } else {
      const data = await buildDownstreamDataset(dc, { label: o.label, sequences, downsample });
      runs.push(await runClassifier('MRI', data, run));
    }
    const summary = { label: o.label, runs: runs.map(runJson) };
    writeFileAtomicSync(metrics, JSON.stringify(summary, null, 1));
    for (const r of runs) {
      const tag = r.name === 'MRI' ? 'mri' : 'mri_md';
      writeFileAtomicSync(join(o.out, `predictions_${tag}.csv`), predictionsCsv(r, labels));
      saveClassifier(r.model, join(o.out, `model_${tag}.json`));
    }
    if (o.gradcam) {
      const r = runs[runs.length - 1];
      const data = await buildDownstreamDataset(dc, {
        label: o.label,
        sequences,
        mapTargets: o.withMaps ? mapTargets() : [],
        maps: o.withMaps ? mapsFromDirectory(o.withMaps) : undefined,
        ids: r.testIds,
        downsample,
      });
      const cam = new GradCam(r.model);
      for (let i = 0; i < data.inputs.length; i++) {
        const x = tf.tensor5d(data.inputs[i], [1, ...data.shape]);
        const res = cam.compute(x);
        x.dispose();
        await writeGradCamNifti(
          res.maps[0],
          data.references[i],
          join(o.out, 'gradcam', `${data.ids[i]}_gradcam.nii.gz`),
        );
      }
    }
    record.finish(classifyFiles(o.out));
    return { metrics, summary, runs };
  } finally {
    for (const r of runs) r.model.dispose();
  }
}
