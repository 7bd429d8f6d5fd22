/**
 * mriseq train / mriseq generate: the generator from the command line.
 */
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { initEngine } from '../../engine/index.js';
import { MriseqError } from '../../errors/index.js';
import { writeNifti } from '../../io/index.js';
import { Cohort } from '../../cohort/index.js';
// registers the cohort's Node adapter (manifest files, NIfTI volumes)
import '../../cohort/node.js';
import { generate, type PresetName, type SubjectVolumes } from '../../model/index.js';
import { phantom } from '../../phantom/index.js';
import { loadGenerator, trainRun } from '../../train/node.js';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomicSync } from '../../reliability/node.js';
import { foldSplit, formatShard } from '../../scale/index.js';
import {
  canonical,
  cohortFold,
  FOLD_HELP,
  foldOption,
  SHARD_HELP,
  shardFolder,
  shardOption,
} from './sharding.js';

/** The subjects of a manifest (through the cohort module), optionally one recorded split. */
async function manifestSubjects(
  file: string,
  split?: 'train' | 'val',
): Promise<{ sequences: string[]; subjects: SubjectVolumes[] }> {
  const cohort = await Cohort.fromManifest(file);
  const hasSplit = cohort.ids.some((id) => cohort.subject(id).split !== null);
  const part = split && hasSplit ? cohort.recordedSplit(split) : split === 'val' ? undefined : cohort;
  const subjects: SubjectVolumes[] = [];
  for (const id of part?.ids ?? []) subjects.push({ id, volumes: await cohort.subject(id).loadAll() });
  return { sequences: [...cohort.sequences], subjects };
}

async function manifestSubject(file: string, id: string): Promise<SubjectVolumes> {
  const cohort = await Cohort.fromManifest(file);
  if (!cohort.has(id))
    throw new MriseqError('no such subject in the manifest', {
      file,
      field: 'id',
      found: id,
      code: 'manifest.subject',
    });
  return { id, volumes: await cohort.subject(id).loadAll() };
}

function phantomSize(text: string | undefined): [number, number, number] | undefined {
  if (!text) return undefined;
  const v = text.split(/[x,]/).map(Number);
  if (v.length !== 3 || v.some((n) => !Number.isInteger(n))) {
    throw new MriseqError('bad phantom size', {
      field: '--size',
      found: text,
      expected: 'NX,NY,NZ e.g. 64,64,32',
    });
  }
  return v as [number, number, number];
}

function positiveInt(text: string, field: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new MriseqError('expected a positive integer', { field, found: text, expected: 'an integer >= 1' });
  return n;
}

interface TrainCliOptions {
  manifest?: string;
  phantom?: string;
  size?: string;
  preset: string;
  steps: string;
  out: string;
  resume?: boolean;
  crop: string;
  seed: string;
  structural: boolean;
  detachCycle?: boolean;
  compile: boolean;
  xla?: boolean;
  json?: boolean;
  fold?: string;
}

/** The fold a run folder was trained on (RUN/fold.json): a resumed run must keep it. */
const FOLD_FILE = 'fold.json';

function checkResumedFold(out: string, fold: string | undefined): void {
  const file = join(out, FOLD_FILE);
  const was = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { fold?: string }).fold
    : undefined;
  if ((was ?? undefined) !== (fold ?? undefined) && existsSync(join(out, 'last'))) {
    throw new MriseqError('this run folder was trained on another fold', {
      file,
      field: '--fold',
      found: fold ?? 'no --fold',
      expected: was ?? 'no --fold',
      code: 'train.fold',
    });
  }
}

export function registerModel(program: Command): void {
  program
    .command('train')
    .description('train the Seq2Seq generator (resumable; writes RUN/last, RUN/best, RUN/summary.json)')
    .option('--manifest <file>', 'cohort manifest (train split trains, val split validates)')
    .option('--phantom <n>', 'train on n in-memory phantom subjects instead (the last one validates)')
    .option('--size <nx,ny,nz>', 'phantom volume size', '64,64,32')
    .option('--preset <name>', "generator preset: 'lite' or 'reference'", 'lite')
    .option('--steps <n>', 'training steps', '1000')
    .option('--crop <n>', 'random crop edge in voxels', '192')
    .option('--seed <n>', 'sampling and weight seed', '0')
    .option('--no-structural', 'switch off the SSIM structural loss term')
    .option('--detach-cycle', 'stop the cycle loss from reaching the translation output (see README)')
    .option('--no-compile', 'run each step op by op (eager) instead of as one compiled TensorFlow function')
    .option('--xla', "also compile the step with XLA's CPU JIT (slow to start; see docs/speed.md)")
    .requiredOption('--out <dir>', 'run folder')
    .option('--resume', 'continue from RUN/last')
    .option('--json', 'print one JSON line per step instead of a progress bar')
    .option(
      '--fold <k/f>',
      `${FOLD_HELP}; trains on the other folds, validates on fold K (with --phantom: all subjects are dealt); records RUN/fold.json`,
    )
    .action(async (o: TrainCliOptions) => {
      const fold = foldOption(o.fold);
      const report = await initEngine();
      const steps = positiveInt(o.steps, '--steps');
      const seed = Number(o.seed);
      let sequences: string[];
      let trainSet: SubjectVolumes[];
      let valSet: SubjectVolumes[];
      if (o.resume) checkResumedFold(o.out, fold && formatShard(fold));
      if (o.phantom !== undefined && fold) {
        const ph = phantom({
          subjects: positiveInt(o.phantom, '--phantom'),
          seed,
          size: phantomSize(o.size),
        });
        sequences = ph.sequences;
        const split = foldSplit(canonical(ph.ids()), fold);
        trainSet = split.train.map((id) => ph.subject(id));
        valSet = split.validation.map((id) => ph.subject(id));
      } else if (o.manifest && fold) {
        const cohort = await Cohort.fromManifest(o.manifest);
        sequences = [...cohort.sequences];
        const split = cohortFold(cohort, fold);
        const load = async (id: string): Promise<SubjectVolumes> => ({
          id,
          volumes: await cohort.subject(id).loadAll(),
        });
        trainSet = [];
        for (const id of split.train) trainSet.push(await load(id));
        valSet = [];
        for (const id of split.validation) valSet.push(await load(id));
      } else if (o.phantom !== undefined) {
        const n = positiveInt(o.phantom, '--phantom');
        const ph = phantom({ subjects: n, seed, size: phantomSize(o.size) });
        sequences = ph.sequences;
        const all = ph.ids().map((id) => ph.subject(id));
        valSet = n > 1 ? all.slice(-1) : [];
        trainSet = n > 1 ? all.slice(0, -1) : all;
      } else if (o.manifest) {
        const tr = await manifestSubjects(o.manifest, 'train');
        sequences = tr.sequences;
        trainSet = tr.subjects;
        valSet = (await manifestSubjects(o.manifest, 'val')).subjects;
      } else {
        throw new MriseqError('say what to train on', {
          field: '--manifest',
          expected: '--manifest FILE or --phantom N',
        });
      }
      if (fold && (trainSet.length === 0 || valSet.length === 0)) {
        throw new MriseqError(
          `fold ${o.fold} leaves no subject to ${trainSet.length === 0 ? 'train' : 'validate'} on`,
          {
            file: o.manifest,
            field: '--fold',
            found: `${trainSet.length} training, ${valSet.length} validation subjects`,
            expected: 'at least one of each: fewer folds or more subjects',
            code: 'train.fold',
          },
        );
      }
      if (o.preset !== 'lite' && o.preset !== 'reference') {
        throw new MriseqError('unknown preset', {
          field: '--preset',
          found: o.preset,
          expected: "'lite' or 'reference'",
        });
      }
      const bar = o.json
        ? undefined
        : new SingleBar(
            {
              format: 'train |{bar}| {value}/{total} | loss {loss} | {ms} ms/step | val PSNR {psnr}',
              hideCursor: true,
            },
            Presets.shades_classic,
          );
      if (!o.json) console.error(report.summary);
      const ac = new AbortController();
      const onSig = () => ac.abort();
      process.once('SIGINT', onSig);
      let started = false;
      try {
        const r = await trainRun(trainSet, {
          out: o.out,
          model: o.preset as PresetName,
          modelOverrides: { sequences, seed },
          steps,
          seed,
          crop: Number(o.crop),
          structuralWeight: o.structural ? 0.01 : 0,
          detachCycle: o.detachCycle === true,
          compile: o.compile === false ? false : o.xla ? 'xla' : true,
          validation: valSet,
          resume: o.resume,
          signal: ac.signal,
          onProgress: (e) => {
            if (o.json) {
              console.log(JSON.stringify(e));
              return;
            }
            if (e.compileNote) console.error(`mriseq: ${e.compileNote}`);
            if (!started) {
              bar?.start(e.steps, e.step - 1, { loss: '-', ms: '-', psnr: '-' });
              started = true;
            }
            bar?.update(e.step, {
              loss: e.loss.total.toFixed(4),
              ms: e.stepMs.toFixed(0),
              psnr: e.bestPsnr?.toFixed(2) ?? '-',
            });
          },
        });
        bar?.stop();
        if (fold) {
          writeFileAtomicSync(
            join(o.out, FOLD_FILE),
            JSON.stringify(
              {
                fold: formatShard(fold),
                train: trainSet.map((x) => x.id),
                validation: valSet.map((x) => x.id),
              },
              null,
              1,
            ) + '\n',
          );
        }
        const line = {
          out: r.out,
          steps: r.steps,
          stopped: r.stopped,
          resumedFrom: r.resumedFrom,
          bestPsnr: r.bestPsnr,
          bestStep: r.bestStep,
          finalLoss: r.finalLoss?.total ?? null,
        };
        console.log(
          o.json
            ? JSON.stringify(line)
            : `${r.stopped ? 'stopped' : 'done'}: ${r.steps} steps in ${r.out} (best val PSNR ${r.bestPsnr?.toFixed(2) ?? 'n/a'} at step ${r.bestStep ?? 'n/a'}); resume with --resume`,
        );
      } finally {
        bar?.stop();
        process.off('SIGINT', onSig);
      }
    });

  program
    .command('generate')
    .description(
      'synthesise a target sequence with a trained generator, as NIfTI: for one subject (--subject, --out FILE), or for every subject of a cohort (no --subject: OUT/<subject>/<target>.nii.gz and OUT/generated.csv)',
    )
    .requiredOption('--run <dir>', 'run folder (uses best/) or checkpoint folder')
    .option('--manifest <file>', 'cohort manifest')
    .option('--phantom <n>', 'use the in-memory phantom with n subjects instead')
    .option('--size <nx,ny,nz>', 'phantom volume size', '64,64,32')
    .option('--seed <n>', 'phantom seed', '0')
    .option('--subject <id>', 'subject id (default: every subject of the cohort)')
    .requiredOption('--target <seq>', 'sequence to generate')
    .option('--sources <a,b>', 'source sequences (default: every other sequence the subject has)')
    .requiredOption(
      '--out <path>',
      'output .nii or .nii.gz with --subject, else a folder (intensities in the normalised [-1, 1] space)',
    )
    .option('--split <name>', 'without --subject: manifest split train, val, test or all', 'all')
    .option('--shard <i/n>', `without --subject: ${SHARD_HELP}`)
    .action(
      async (o: {
        run: string;
        manifest?: string;
        phantom?: string;
        size?: string;
        seed: string;
        subject?: string;
        target: string;
        sources?: string;
        out: string;
        split: string;
        shard?: string;
      }) => {
        const shard = shardOption(o.shard);
        if (o.subject === undefined) return generateCohort(o, shard);
        if (shard) {
          throw new MriseqError('--shard selects subjects of a cohort: leave out --subject', {
            field: '--shard',
            found: `${o.shard} with --subject ${o.subject}`,
            code: 'cli.option',
          });
        }
        await initEngine();
        const model = loadGenerator(o.run);
        let subject: SubjectVolumes;
        if (o.phantom !== undefined) {
          const ph = phantom({
            subjects: positiveInt(o.phantom, '--phantom'),
            seed: Number(o.seed),
            size: phantomSize(o.size),
          });
          subject = ph.subject(o.subject);
        } else if (o.manifest) {
          subject = await manifestSubject(o.manifest, o.subject);
        } else {
          throw new MriseqError('say where the subject is', {
            field: '--manifest',
            expected: '--manifest FILE or --phantom N',
          });
        }
        const have = Object.keys(subject.volumes).filter(
          (k) => subject.volumes[k] && model.config.sequences.includes(k),
        );
        const sources = o.sources
          ? o.sources.split(',').map((s) => s.trim())
          : have.filter((k) => k !== o.target);
        const vol = await generate(model, subject, { sources, target: o.target });
        await writeNifti(o.out, vol);
        console.log(`wrote ${o.out}: ${o.target} from ${sources.join('+')} (${vol.shape.join('x')})`);
      },
    );
}

/** A cell of generated.csv: quoted when it holds a separator, quote or line break. */
function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * `mriseq generate` without --subject: the target for every subject of the cohort (or of one
 * shard), OUT/<subject>/<target>.nii.gz plus OUT/generated.csv (subject, target, sources, file).
 * Resumable: a subject whose volume exists is not generated again.
 */
async function generateCohort(
  o: {
    run: string;
    manifest?: string;
    phantom?: string;
    size?: string;
    seed: string;
    target: string;
    sources?: string;
    out: string;
    split: string;
  },
  shard: ReturnType<typeof shardOption>,
): Promise<void> {
  let all: string[];
  let load: (id: string) => Promise<SubjectVolumes>;
  if (o.phantom !== undefined) {
    const ph = phantom({
      subjects: positiveInt(o.phantom, '--phantom'),
      seed: Number(o.seed),
      size: phantomSize(o.size),
    });
    all = ph.ids();
    load = async (id) => ph.subject(id);
  } else if (o.manifest) {
    const cohort = await Cohort.fromManifest(o.manifest);
    if (!['train', 'val', 'test', 'all'].includes(o.split)) {
      throw new MriseqError('unknown split', {
        field: '--split',
        found: o.split,
        expected: 'train, val, test or all',
        code: 'cli.option',
      });
    }
    all = o.split === 'all' ? cohort.ids : cohort.recordedSplit(o.split as 'train' | 'val' | 'test').ids;
    load = async (id) => ({ id, volumes: await cohort.subject(id).loadAll() });
  } else {
    throw new MriseqError('say where the subjects are', {
      field: '--manifest',
      expected: '--manifest FILE or --phantom N',
    });
  }
  await initEngine();
  const model = loadGenerator(o.run);
  const plan = shardFolder('generate', o.out, all, shard);
  const rows = ['subject,target,sources,file'];
  let k = 0;
  for (const id of plan.ids) {
    k++;
    const subject = await load(id);
    const have = Object.keys(subject.volumes).filter(
      (s) => subject.volumes[s] && model.config.sequences.includes(s),
    );
    const sources = o.sources
      ? o.sources.split(',').map((s) => s.trim())
      : have.filter((s) => s !== o.target);
    const rel = `${id}/${o.target}.nii.gz`;
    const file = join(plan.dir, rel);
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      await writeNifti(file, await generate(model, subject, { sources, target: o.target }));
    }
    rows.push([id, o.target, sources.join('+'), rel].map(csvCell).join(','));
    console.error(`generate: ${k}/${plan.ids.length} ${id}: ${o.target} from ${sources.join('+')}`);
  }
  writeFileAtomicSync(join(plan.dir, 'generated.csv'), rows.join('\n') + '\n');
  plan.finish();
  console.log(`${plan.dir}: ${o.target} of ${plan.ids.length} subjects`);
}
