/**
 * mriseq train / mriseq generate: the generator from the command line.
 */
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { initEngine } from '../../engine/index.js';
import { MriseqError } from '../../errors/index.js';
import { intOption, numberOption, sizeOption } from '../options.js';
import { writeNifti } from '../../io/index.js';
import { Cohort } from '../../cohort/index.js';
import { generate, PRESET_NAMES, type PresetName, type SubjectVolumes } from '../../model/index.js';
import { phantom, type PhantomOptions } from '../../phantom/index.js';
import { loadGenerator, trainRun } from '../../train/node.js';
import { DEFAULT_TRAIN_CACHE_BYTES, selectTrainingData } from '../../train/index.js';
import { generateCohort as generateCohortFiles } from '../../pipeline/node.js';
import { FOLD_HELP, foldOption, REDO_HELP, SHARD_HELP, shardOption } from './sharding.js';

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

/** The phantom options every command with --phantom shares (--size, --seed, --dwi, --dce). */
interface PhantomCliOptions {
  phantom?: string;
  size?: string;
  seed: string;
  dwi?: boolean;
  dce?: boolean;
}

function cliPhantomOptions(o: PhantomCliOptions): PhantomOptions {
  return {
    subjects: intOption(o.phantom ?? '', '--phantom', 1),
    seed: intOption(o.seed, '--seed'),
    size: o.size ? sizeOption(o.size) : undefined,
    dwi: o.dwi ?? false,
    dce: o.dce ?? false,
  };
}

function cliPhantom(o: PhantomCliOptions) {
  return phantom(cliPhantomOptions(o));
}

/** How `mriseq train`'s errors name selectTrainingData's options: by their flags. */
const TRAIN_FLAGS = {
  manifest: '--manifest',
  phantom: '--phantom',
  sequences: '--sequences',
  validation: '--validation',
  fold: '--fold',
} as const;

interface TrainCliOptions extends PhantomCliOptions {
  manifest?: string;
  preset: string;
  sequences?: string;
  ndims: string;
  patch?: string;
  validation: string;
  recipe: string;
  steps: string;
  out: string;
  resume?: boolean;
  redo?: boolean;
  cacheMb: string;
  crop: string;
  structural: boolean;
  detachCycle?: boolean;
  compile: boolean;
  xla?: boolean;
  json?: boolean;
  fold?: string;
}

export function registerModel(program: Command): void {
  program
    .command('train')
    .description('train the Seq2Seq generator (resumable; writes RUN/last, RUN/best, RUN/summary.json)')
    .option('--manifest <file>', 'cohort manifest (train split trains, val split validates)')
    .option(
      '--phantom <n>',
      'train on n in-memory phantom subjects instead (the last --validation of them validate)',
    )
    .option('--validation <n>', 'with --phantom: how many of the n subjects validate', '1')
    .option('--size <nx,ny,nz>', 'phantom volume size', '64,64,32')
    .option('--dwi', 'with --phantom: add DWI')
    .option('--dce', 'with --phantom: add the 4D DCE series (6 phases)')
    .option(
      '--sequences <list>',
      'train on these sequences only, e.g. t1,t2,dwi,dce (default: every sequence of the data); a 4D one (dce) enters and leaves as a series',
    )
    .option('--preset <name>', `generator preset: ${PRESET_NAMES.join(', ')}`, 'lite')
    .option(
      '--ndims <n>',
      '2: slices (2D/2.5D, random --crop); 3: the 3D generator on random --patch cubes',
      '2',
    )
    .option(
      '--patch <n>',
      'with --ndims 3: edge of the random 3D training patch in voxels, capped to the volume (default 32)',
    )
    .option('--steps <n>', 'training steps', '1000')
    .option('--crop <n>', 'with --ndims 2: random crop edge in voxels', '192')
    .option('--seed <n>', 'sampling and weight seed (and the phantom seed)', '0')
    .option(
      '--recipe <name>',
      "training recipe: 'authors' (their script: per-epoch poly decay 0.9, flips, empty crops skipped) or 'mriseq-0.1'",
      'authors',
    )
    .option('--no-structural', 'switch off the SSIM structural loss term')
    .option(
      '--detach-cycle',
      'stop the cycle loss from reaching the translation output (see docs/generator.md)',
    )
    .option('--no-compile', 'run each step op by op (eager) instead of as one compiled TensorFlow function')
    .option('--xla', "also compile the step with XLA's CPU JIT (slow to start; see docs/speed.md)")
    .requiredOption('--out <dir>', 'run folder')
    .option('--resume', 'continue from RUN/last')
    .option(
      '--cache-mb <n>',
      `memory budget (MiB) for training subjects held at once, normalised float32: subjects are read from the manifest's files when drawn and dropped when the budget needs the room, so memory stays within it however large the split (a budget below one subject still trains, reading on every draw)`,
      String(DEFAULT_TRAIN_CACHE_BYTES / 2 ** 20),
    )
    .option(
      '--redo',
      'start a fresh run in a folder holding another run: its checkpoints (last/, best/, summary.json, data.json, fold.json) are removed first (without it that is refused)',
    )
    .option('--json', 'print one JSON line per step instead of a progress bar')
    .option(
      '--fold <k/f>',
      `${FOLD_HELP}; trains on the other folds, validates on fold K (with --phantom: all subjects are dealt); records RUN/fold.json`,
    )
    .action(async (o: TrainCliOptions) => {
      const fold = foldOption(o.fold);
      const report = await initEngine();
      const steps = intOption(o.steps, '--steps', 1);
      const seed = intOption(o.seed, '--seed');
      const cacheMb = numberOption(o.cacheMb, '--cache-mb', 0);
      const ndims = o.ndims === '2' ? 2 : o.ndims === '3' ? 3 : undefined;
      if (ndims === undefined)
        throw new MriseqError('unknown generator dimensionality', {
          field: '--ndims',
          found: o.ndims,
          expected: '2 (slices) or 3 (volumes)',
          code: 'cli.option',
        });
      if (o.patch !== undefined && ndims !== 3)
        throw new MriseqError("--patch sizes the 3D generator's training patches", {
          field: '--patch',
          found: `${o.patch} with --ndims ${o.ndims}`,
          expected: '--ndims 3 --patch N (2D training crops are --crop)',
          code: 'cli.option',
        });
      if ((o.dwi || o.dce) && o.phantom === undefined)
        throw new MriseqError('--dwi and --dce describe the phantom: they go with --phantom', {
          field: o.dce ? '--dce' : '--dwi',
          expected: '--phantom N (a manifest lists its own sequences: its dwi and dce columns)',
          code: 'cli.option',
        });
      // --phantom wins over --manifest; --validation counts only for the phantom without a fold
      const data = await selectTrainingData({
        ...(o.phantom !== undefined
          ? {
              phantom: cliPhantomOptions(o),
              validation: fold ? undefined : intOption(o.validation, '--validation'),
            }
          : { manifest: o.manifest }),
        fold,
        sequences: o.sequences,
        optionNames: TRAIN_FLAGS,
      });
      const { sequences, train: trainSet, validation: valSet } = data;
      if (!(PRESET_NAMES as readonly string[]).includes(o.preset)) {
        throw new MriseqError('unknown preset', {
          field: '--preset',
          found: o.preset,
          expected: PRESET_NAMES.join(', '),
          code: 'cli.option',
        });
      }
      if (o.recipe !== 'authors' && o.recipe !== 'mriseq-0.1') {
        throw new MriseqError('unknown training recipe', {
          field: '--recipe',
          found: o.recipe,
          expected: 'authors, mriseq-0.1',
          code: 'cli.option',
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
          // mriseq 0.1's recipe started the code's linear maps its own way too
          modelOverrides: {
            sequences,
            seed,
            linearInit: o.recipe === 'mriseq-0.1' ? 'scaled' : 'pytorch',
            // the 3D generator sees one channel (a volume), whatever the preset's 2.5D stack
            ...(ndims === 3 ? { ndims, cIn: 1 } : {}),
          },
          steps,
          seed,
          crop: ndims === 3 ? intOption(o.patch ?? '32', '--patch', 4) : intOption(o.crop, '--crop', 4),
          structuralWeight: o.structural ? 0.01 : 0,
          detachCycle: o.detachCycle === true,
          compile: o.compile === false ? false : o.xla ? 'xla' : true,
          recipe: o.recipe,
          validation: valSet,
          cacheBytes: cacheMb * 2 ** 20,
          resume: o.resume,
          redo: o.redo,
          // a fold is recorded in RUN/fold.json; a resumed run must keep it
          fold: data,
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
    .option('--dwi', 'with --phantom: the phantom has DWI')
    .option('--dce', 'with --phantom: the phantom has the 4D DCE series')
    .option('--subject <id>', 'subject id (default: every subject of the cohort)')
    .requiredOption('--target <seq>', 'sequence to generate')
    .option('--sources <a,b>', 'source sequences (default: every other sequence the subject has)')
    .requiredOption(
      '--out <path>',
      'output .nii or .nii.gz with --subject, else a folder (intensities in the normalised [-1, 1] space; a 4D target such as dce is written as a 4D series)',
    )
    .option(
      '--time-points <n>',
      "time points of the generated series (default: the subject's own target, else what the generator was trained with, else 1)",
    )
    .option('--split <name>', 'without --subject: manifest split train, val, test or all', 'all')
    .option('--shard <i/n>', `without --subject: ${SHARD_HELP}`)
    .option('--redo', `without --subject: ${REDO_HELP}`)
    .action(
      async (
        o: PhantomCliOptions & {
          run: string;
          manifest?: string;
          subject?: string;
          target: string;
          sources?: string;
          out: string;
          split: string;
          shard?: string;
          redo?: boolean;
          timePoints?: string;
        },
      ) => {
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
          subject = cliPhantom(o).subject(o.subject);
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
        const vol = await generate(model, subject, {
          sources,
          target: o.target,
          timePoints: timePointsOption(o),
        });
        await writeNifti(o.out, vol);
        console.log(`wrote ${o.out}: ${o.target} from ${sources.join('+')} (${vol.shape.join('x')})`);
      },
    );
}

function timePointsOption(o: { timePoints?: string }): number | undefined {
  return o.timePoints === undefined ? undefined : intOption(o.timePoints, '--time-points', 1);
}

/**
 * `mriseq generate` without --subject: the target for every subject of the cohort (or of one
 * shard), the library's generateCohort.
 */
async function generateCohort(
  o: PhantomCliOptions & {
    run: string;
    manifest?: string;
    target: string;
    sources?: string;
    out: string;
    split: string;
    redo?: boolean;
    timePoints?: string;
  },
  shard: ReturnType<typeof shardOption>,
): Promise<void> {
  const r = await generateCohortFiles({
    run: o.run,
    manifest: o.manifest,
    phantom: o.phantom !== undefined ? cliPhantomOptions(o) : undefined,
    target: o.target,
    sources: o.sources ? o.sources.split(',').map((s) => s.trim()) : undefined,
    out: o.out,
    split: o.split,
    shard,
    redo: o.redo,
    timePoints: timePointsOption(o),
    names: { manifest: '--manifest', split: '--split' },
    onSubject: (e) =>
      console.error(`generate: ${e.done}/${e.total} ${e.subject}: ${o.target} from ${e.sources.join('+')}`),
  });
  console.log(`${r.dir}: ${o.target} of ${r.subjects.length} subjects`);
}
