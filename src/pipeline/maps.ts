/**
 * M_d maps over a cohort as one library call (Node: it reads a manifest and writes NIfTI files):
 * writeCohortMaps() is `mriseq maps`. Resumable per subject through the folder's provenance
 * record; with a shard it writes RUN/parts/maps-I-of-N/ for mergeRun.
 */
import { join, relative } from 'node:path';
import { Cohort, cohortFold, resolveSequenceNames } from '../cohort/index.js';
import { initEngine } from '../engine/index.js';
import { generatorFingerprint, loadGenerator } from '../train/node.js';
import { asEvaluationCohort, differentiationMaps, pairsFunction, prepareVolume } from '../analysis/index.js';
import { writeDifferentiationMaps } from '../analysis/node.js';
import {
  fingerprintJson,
  fingerprintVolumes,
  OutputProvenance,
  recordedOutputs,
  removeOutputFiles,
} from '../reliability/provenance.js';
import { formatShard, type ShardSpec } from '../scale/index.js';
import { shardFolder, subjectFiles } from '../scale/node.js';
import { assertSameGrid, type Volume } from '../volume/index.js';
import { dict, hasOwnKey, own } from '../keys/index.js';

/**
 * Options of {@link writeCohortMaps}.
 *
 * @example
 * ```ts
 * import { writeCohortMaps, type CohortMapsOptions } from 'mriseq';
 * const o: CohortMapsOptions = { run: 'runs/x', manifest: 'data/manifest.csv', out: 'runs/x/maps', split: 'all', shard: { index: 0, count: 2 } };
 * await writeCohortMaps(o);
 * ```
 */
export interface CohortMapsOptions {
  /** Trained generator: a run folder, a checkpoint folder or 'pretrained:NAME' (loadGenerator). */
  run: string;
  /** Cohort manifest. */
  manifest: string;
  /** Output folder: OUT/<subject>/md_<target>.nii.gz (+ md_regions.json with labels). */
  out: string;
  /** Manifest split: train, val, test or all (default test). */
  split?: string;
  /** Map cross-validation fold K of F (its validation subjects) instead of the split. */
  fold?: ShardSpec;
  /** Only this shard's subjects, into OUT/parts/maps-I-of-N/. */
  shard?: ShardSpec;
  /** Targets, comma-separated (default: every available sequence of each subject). */
  targets?: string;
  /** Label map of the manifest for region statistics (default 'seg'). */
  labels?: string;
  /** Replace maps made from other inputs (otherwise such a rerun is refused). */
  redo?: boolean;
  /** How errors name the options (`mriseq maps` passes its flags). */
  names?: { targets?: string };
  /** After each subject written (not for subjects kept from an earlier run). */
  onSubject?: (e: { subject: string; done: number; total: number; targets: string[] }) => void;
}

/**
 * What {@link writeCohortMaps} did.
 *
 * @example
 * ```ts
 * import { writeCohortMaps, type CohortMapsResult } from 'mriseq';
 * const r: CohortMapsResult = await writeCohortMaps({ run: 'runs/x', manifest: 'data/manifest.csv', out: 'runs/x/maps' });
 * console.log(r.dir, r.subjects.length);
 * ```
 */
export interface CohortMapsResult {
  /** The folder written: `out`, or its shard's part folder. */
  dir: string;
  /** The subjects mapped (this shard's), canonical order. */
  subjects: string[];
}

/** The files the maps write into a folder: <subject>/md_<target>.nii.gz and md_regions.json. */
const mapFiles = (dir: string): string[] => subjectFiles(dir, /^md_.+\.nii\.gz$|^md_regions\.json$/);

/**
 * Imaging-differentiation maps M_d(t) = mean over sources s of |G(x_s, t) - x_t| for every subject
 * of a cohort (or of one shard or fold) and target, as NIfTI in the subject space, with statistics
 * per label region. Resumable: a subject recorded as done with the same data is skipped.
 *
 * @param o - Generator, manifest, output folder, split/fold/shard, targets, labels, redo, progress.
 * @returns The folder written and its subjects.
 * @throws {@link MriseqError} for an unknown target, a label map on another grid, or outputs of other
 *   inputs in the folder (without redo).
 * @example
 * ```ts
 * import { writeCohortMaps } from 'mriseq';
 * const r = await writeCohortMaps({
 *   run: 'runs/x',
 *   manifest: 'data/manifest.csv',
 *   out: 'runs/x/maps',
 *   onSubject: (e) => console.log(`${e.done}/${e.total} ${e.subject}`),
 * });
 * console.log(`${r.dir}: M_d maps of ${r.subjects.length} subjects`);
 * ```
 */
export async function writeCohortMaps(o: CohortMapsOptions): Promise<CohortMapsResult> {
  const split = o.split ?? 'test';
  const labelKey = o.labels ?? 'seg';
  const fold = o.fold;
  await initEngine();
  const model = loadGenerator(o.run);
  const cohort = await Cohort.fromManifest(o.manifest);
  const all = fold ? cohortFold(cohort, fold).validation : await asEvaluationCohort(cohort).subjectIds(split);
  const plan = shardFolder('maps', o.out, all, o.shard);
  const ids = plan.ids;
  const pairs = pairsFunction(model);
  const wanted = resolveSequenceNames(o.targets, cohort.sequences, o.names?.targets ?? 'targets');
  const prov = OutputProvenance.open(
    join(plan.dir, 'maps.provenance.json'),
    'maps',
    {
      model: generatorFingerprint(model),
      subjects: fold ? `fold ${formatShard(fold)}` : `split ${split}`,
      targets: wanted ?? null,
      labels: labelKey,
    },
    {
      redo: o.redo,
      // the maps themselves (a lone region table is removed with them, never trusted alone)
      hasOutputs: () => mapFiles(plan.dir).some((f) => f.endsWith('.nii.gz')),
      removeOutputs: (previous) =>
        removeOutputFiles(plan.dir, [...recordedOutputs(previous), ...mapFiles(plan.dir)]),
      what: `the maps in ${plan.dir}`,
    },
  );
  // what a subject's maps are made from: the sequences the model reads and the label map
  const load = async (id: string) => {
    const subject = cohort.subject(id);
    const raw = await subject.loadAll();
    const labels = hasOwnKey(subject.masks, labelKey) ? await subject.mask(labelKey) : undefined;
    const data = fingerprintVolumes([
      ...Object.entries(raw).filter(([s]) => model.config.sequences.includes(s)),
      [`mask:${labelKey}`, labels],
    ]);
    return { raw, labels, data };
  };
  let k = 0;
  for (const id of ids) {
    k++;
    const subject = cohort.subject(id);
    const targets = (wanted ?? subject.available).filter((t) => subject.available.includes(t));
    const masks = hasOwnKey(subject.masks, labelKey) ? [labelKey] : [];
    const s = await cohort.stamp(id, subject.available, masks);
    const stamp = s === undefined ? undefined : fingerprintJson(s);
    // Resumable: a subject is done when its entry is in the record (written after its files)
    if (await prov.verify(id, stamp, async () => (await load(id)).data)) continue;
    const { raw, labels, data } = await load(id);
    const seqs = dict<Volume>();
    for (const [s, v] of Object.entries(raw))
      if (model.config.sequences.includes(s)) seqs[s] = prepareVolume(v, true);
    // every (source, target) volume of the subject at once: one encoding per source
    const made = await pairs(
      seqs,
      Object.keys(seqs).flatMap((s) =>
        targets.filter((t) => own(seqs, t)).map((t) => [s, t] as [string, string]),
      ),
    );
    const maps = await differentiationMaps(seqs, async (src, t) => made.get(`${Object.keys(src)[0]}>${t}`)!, {
      targets,
    });
    // the region table reads the label map voxel by voxel on the maps' grid
    if (labels)
      assertSameGrid(id, [...Object.entries(raw).slice(0, 1), [labelKey, labels]], (k) =>
        cohort.fileOf(id, k, k === labelKey ? 'mask' : 'sequence'),
      );
    const written = await writeDifferentiationMaps(plan.dir, id, maps, { labels });
    prov.done(id, {
      data,
      stamp,
      outputs: [
        ...Object.values(written.files).map((f) => relative(plan.dir, f)),
        ...(labels ? [join(id, 'md_regions.json')] : []),
      ],
    });
    o.onSubject?.({ subject: id, done: k, total: ids.length, targets });
  }
  plan.finish();
  return { dir: plan.dir, subjects: ids };
}
