/**
 * A target sequence synthesised for every subject of a cohort as one library call (Node: it
 * writes NIfTI files): generateCohort() is `mriseq generate` without --subject. It writes
 * OUT/<subject>/<target>.nii.gz and OUT/generated.csv (subject, target, sources, file);
 * resumable per subject through the folder's provenance record; with a shard it writes
 * RUN/parts/generate-I-of-N/ for mergeRun.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MriseqError } from '../errors/index.js';
import { initEngine } from '../engine/index.js';
import { Cohort } from '../cohort/index.js';
import { generate, type SubjectVolumes } from '../model/index.js';
import { phantom, type PhantomOptions } from '../phantom/index.js';
import { writeNifti } from '../io/index.js';
import { formatCsv } from '../csv/index.js';
import { generatorFingerprint, loadGenerator } from '../train/node.js';
import { writeFileAtomicSync } from '../reliability/node.js';
import {
  fingerprintJson,
  fingerprintVolumes,
  OutputProvenance,
  recordedOutputs,
  removeOutputFiles,
} from '../reliability/provenance.js';
import type { ShardSpec } from '../scale/index.js';
import { shardFolder, subjectFiles } from '../scale/node.js';

/**
 * Options of {@link generateCohort}: where the subjects are (a manifest or the phantom), the
 * generator, the target and where to write.
 *
 * @example
 * ```ts
 * import { generateCohort, type GenerateCohortOptions } from 'mriseq';
 * const o: GenerateCohortOptions = { run: 'runs/x', phantom: { subjects: 4, size: [32, 32, 16] }, target: 't1gd', out: '/tmp/generated' };
 * await generateCohort(o);
 * ```
 */
export interface GenerateCohortOptions {
  /** Trained generator: a run folder, a checkpoint folder or 'pretrained:NAME' (loadGenerator). */
  run: string;
  /** Cohort manifest (or phantom). */
  manifest?: string;
  /** The in-memory phantom instead of a manifest. */
  phantom?: PhantomOptions;
  /** Sequence to generate. */
  target: string;
  /** Source sequences (default: every other sequence a subject has that the generator reads). */
  sources?: string[];
  /** Output folder. */
  out: string;
  /** With a manifest: split train, val, test or all (default all). */
  split?: string;
  /** Only this shard's subjects, into OUT/parts/generate-I-of-N/. */
  shard?: ShardSpec;
  /** Replace volumes made from other inputs (otherwise such a rerun is refused). */
  redo?: boolean;
  /** Time points of a generated series (default: the subject's own target, else the generator's). */
  timePoints?: number;
  /** How errors name the options (`mriseq generate` passes its flags). */
  names?: { manifest?: string; split?: string };
  /** After each subject (written or kept from an earlier run). */
  onSubject?: (e: { subject: string; done: number; total: number; sources: string[] }) => void;
}

/**
 * What {@link generateCohort} did.
 *
 * @example
 * ```ts
 * import { generateCohort, type GenerateCohortResult } from 'mriseq';
 * const r: GenerateCohortResult = await generateCohort({ run: 'runs/x', manifest: 'data/manifest.csv', target: 't1gd', out: '/tmp/generated' });
 * console.log(r.table, r.subjects);
 * ```
 */
export interface GenerateCohortResult {
  /** The folder written: `out`, or its shard's part folder. */
  dir: string;
  /** The subjects generated (this shard's), canonical order. */
  subjects: string[];
  /** generated.csv in dir. */
  table: string;
}

/**
 * Generates `target` for every subject of a cohort (or of one shard) with a trained generator, as
 * NIfTI in the normalised [-1, 1] space, with a table of what came from which sources. Resumable:
 * a subject recorded as done with the same data is not generated again.
 *
 * @param o - Generator, subjects (manifest or phantom), target, sources, output, split, shard, redo.
 * @returns The folder written, its subjects and its table.
 * @throws {@link MriseqError} without a manifest or phantom, for an unknown split, or for outputs
 *   of other inputs in the folder (without redo).
 * @example
 * ```ts
 * import { generateCohort } from 'mriseq';
 * const r = await generateCohort({
 *   run: 'runs/x',
 *   manifest: 'data/manifest.csv',
 *   target: 't1gd',
 *   out: 'runs/x/generated',
 *   onSubject: (e) => console.log(`${e.done}/${e.total} ${e.subject} from ${e.sources.join('+')}`),
 * });
 * console.log(`${r.dir}: t1gd of ${r.subjects.length} subjects`);
 * ```
 */
export async function generateCohort(o: GenerateCohortOptions): Promise<GenerateCohortResult> {
  const split = o.split ?? 'all';
  let all: string[];
  let load: (id: string) => Promise<SubjectVolumes>;
  let stampOf: (id: string) => Promise<string | undefined>;
  if (o.phantom !== undefined) {
    const ph = phantom(o.phantom);
    all = ph.ids();
    load = async (id) => ph.subject(id);
    // the phantom is a function of its options
    stampOf = async (id) => fingerprintJson([JSON.stringify(ph.options), id]);
  } else if (o.manifest) {
    const cohort = await Cohort.fromManifest(o.manifest);
    if (!['train', 'val', 'test', 'all'].includes(split)) {
      throw new MriseqError('unknown split', {
        field: o.names?.split ?? 'split',
        found: split,
        expected: 'train, val, test or all',
        code: 'cli.option',
      });
    }
    all = split === 'all' ? cohort.ids : cohort.recordedSplit(split as 'train' | 'val' | 'test').ids;
    load = async (id) => ({ id, volumes: await cohort.subject(id).loadAll() });
    stampOf = async (id) => {
      const s = await cohort.stamp(id, cohort.subject(id).available);
      return s === undefined ? undefined : fingerprintJson(s);
    };
  } else {
    throw new MriseqError('say where the subjects are', {
      field: o.names?.manifest ?? 'manifest',
      expected: '--manifest FILE or --phantom N',
    });
  }
  await initEngine();
  const model = loadGenerator(o.run);
  const plan = shardFolder('generate', o.out, all, o.shard);
  const given = o.sources;
  const generatedFile = (dir: string) =>
    subjectFiles(dir, new RegExp(`^${o.target.replace(/[^A-Za-z0-9_]/g, '\\$&')}\\.nii\\.gz$`));
  const prov = OutputProvenance.open(
    join(plan.dir, 'generate.provenance.json'),
    'generate',
    {
      model: generatorFingerprint(model),
      target: o.target,
      sources: given ?? null,
      // only when given (as the command line's text): a record made before it existed still matches
      ...(o.timePoints !== undefined ? { timePoints: String(o.timePoints) } : {}),
      subjects: o.phantom !== undefined ? 'phantom' : `split ${split}`,
    },
    {
      redo: o.redo,
      hasOutputs: () => generatedFile(plan.dir).length > 0 || existsSync(join(plan.dir, 'generated.csv')),
      removeOutputs: (previous) =>
        removeOutputFiles(plan.dir, [
          ...recordedOutputs(previous),
          ...generatedFile(plan.dir),
          'generated.csv',
        ]),
      what: `the volumes in ${plan.dir}`,
    },
  );
  const sourcesOf = (subject: SubjectVolumes) =>
    given ??
    Object.keys(subject.volumes).filter(
      (s) => subject.volumes[s] && model.config.sequences.includes(s) && s !== o.target,
    );
  const rows: string[][] = [];
  let k = 0;
  for (const id of plan.ids) {
    k++;
    const rel = join(id, `${o.target}.nii.gz`);
    const file = join(plan.dir, rel);
    const stamp = await stampOf(id);
    let subject: SubjectVolumes | undefined;
    const loaded = async () => (subject ??= await load(id));
    const dataOf = (s: SubjectVolumes) => fingerprintVolumes(Object.entries(s.volumes));
    // a subject is done when its entry is in the record (written after its volume)
    if (!(await prov.verify(id, stamp, async () => dataOf(await loaded())))) {
      const s = await loaded();
      mkdirSync(dirname(file), { recursive: true });
      await writeNifti(
        file,
        await generate(model, s, { sources: sourcesOf(s), target: o.target, timePoints: o.timePoints }),
      );
      prov.done(id, { data: dataOf(s), stamp, outputs: [rel] });
    }
    const sources = given ?? sourcesOf(await loaded());
    rows.push([id, o.target, sources.join('+'), `${id}/${o.target}.nii.gz`]);
    o.onSubject?.({ subject: id, done: k, total: plan.ids.length, sources });
  }
  const table = join(plan.dir, 'generated.csv');
  writeFileAtomicSync(table, formatCsv(['subject', 'target', 'sources', 'file'], rows));
  plan.finish();
  return { dir: plan.dir, subjects: plan.ids, table };
}
