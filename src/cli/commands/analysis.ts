/**
 * Analysis commands: `mriseq rank` (contribution ranking from a metrics table) and
 * `mriseq compare` (PSNR/SSIM/MAE of one NIfTI against another).
 */
import type { Command } from 'commander';
import {
  formatRanking,
  parseOrientations,
  SYNTHESIS_METRICS,
  rankingRecord,
  rankSequences,
  ROW_SETS,
  SERIES_FRAMES,
  type SeriesFrames,
  type RowSet,
} from '../../analysis/index.js';
import { evaluateToCsv, openEvaluationProvenance, readEvaluationCsv } from '../../analysis/node.js';
import {
  asEvaluationCohort,
  compareVolumes,
  evaluationColumns,
  evaluationTemplate,
  formatEvaluationCsv,
  LPIPS_SKIPPED,
  prepareVolume,
  type EvaluationCohort,
} from '../../analysis/index.js';
import {
  cohortFold,
  FOLD_HELP,
  foldOption,
  REDO_HELP,
  SHARD_HELP,
  shardFolder,
  shardOption,
  shardTable,
} from './sharding.js';
import { Cohort } from '../../cohort/index.js';
import { initEngine } from '../../engine/index.js';
import { loadGenerator } from '../../train/node.js';
import { formatShard } from '../../scale/index.js';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { MriseqError } from '../../errors/index.js';
import { intOption, listOption } from '../options.js';
import { withRunLock, writeFileAtomicSync } from '../../reliability/node.js';
import { writeCohortMaps } from '../../pipeline/node.js';
import { readNifti } from '../../io/index.js';
import { hasOwnKey } from '../../keys/index.js';
import { resolveNames } from './names.js';

export function registerAnalysis(program: Command): void {
  registerEvaluate(program);
  registerRank(program);
  registerMaps(program);
  registerCompare(program);
}

// The run lock is taken on the folder a command writes (its shard's part folder when sharded, so
// parallel shards of one run never refuse each other).
const evaluateFolder = (o: { out: string; shard?: string }): string =>
  shardFolder('evaluate', dirname(o.out), [], shardOption(o.shard)).dir;
const mapsFolder = (o: { out: string; shard?: string }): string =>
  shardFolder('maps', o.out, [], shardOption(o.shard)).dir;

function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description(
      'synthesis quality: psnr, ssim, mae of G(source -> target) against the real target for every subject and pair of available sequences (resumable: rows already in --out are skipped)',
    )
    .requiredOption('--run <dir>', 'trained generator: a run folder (best/ weights) or a checkpoint folder')
    .requiredOption('--manifest <file>', 'cohort manifest')
    .requiredOption('--out <csv>', 'evaluation table to write (one row per subject, source, target)')
    .option('--split <name>', 'manifest split to evaluate: train, val, test or all', 'test')
    .option('--sequences <list>', 'comma-separated sequences (default: all the generator knows)')
    .option('--slices', 'SSIM as the mean of 2D SSIMs over axial slices (default: one 3D 7x7x7 window)')
    .option('--shard <i/n>', SHARD_HELP)
    .option('--fold <k/f>', `${FOLD_HELP}; evaluates fold K (the run's validation fold) instead of --split`)
    .option('--redo', REDO_HELP)
    .action(
      withRunLock(
        'evaluate',
        evaluateFolder,
        async (o: {
          run: string;
          manifest: string;
          out: string;
          split: string;
          sequences?: string;
          slices?: boolean;
          shard?: string;
          fold?: string;
          redo?: boolean;
        }) => {
          const shard = shardOption(o.shard);
          const fold = foldOption(o.fold);
          await initEngine();
          const model = loadGenerator(o.run);
          const cohort = await Cohort.fromManifest(o.manifest);
          const base = asEvaluationCohort(cohort);
          const sequences = resolveNames(o.sequences, model.config.sequences, '--sequences');
          const all = fold ? cohortFold(cohort, fold).validation : await base.subjectIds(o.split);
          // canonical subject order, so the table is the same whether written by one process or merged
          const plan = shardTable('evaluate', o.out, all, shard);
          const part: EvaluationCohort = { ...base, subjectIds: () => plan.ids };
          console.error(`mriseq: ${LPIPS_SKIPPED}`);
          const tableOptions = {
            out: plan.file,
            redo: o.redo,
            sequences,
            metricOptions: { slices: o.slices ?? false },
            timePoints: model.config.timePoints,
            // which subjects the table is about (a shard's part records the same as the whole)
            inputs: { subjects: fold ? `fold ${formatShard(fold)}` : `split ${o.split}` },
          };
          if (plan.ids.length === 0) {
            openEvaluationProvenance(model, tableOptions);
            // a shard (or fold) without subjects still writes the header every other part has
            const header = evaluationColumns([evaluationTemplate(model.config.timePoints, sequences)]);
            writeFileAtomicSync(plan.file, formatEvaluationCsv([], header));
            plan.finish();
            console.log(
              `${plan.file}: 0 rows (no subject in ${shard ? `shard ${o.shard}` : `fold ${o.fold}`})`,
            );
            return;
          }
          const t = await evaluateToCsv(model, part, {
            ...tableOptions,
            onSubject: (e) => console.error(`evaluate: ${e.done}/${e.total} ${e.subject} (+${e.rows} rows)`),
          });
          plan.finish();
          console.log(
            `${t.path}: ${t.rows.length} rows (${t.added} new, ${t.resumed} kept from an earlier run)`,
          );
        },
      ),
    );
}

function registerMaps(program: Command): void {
  program
    .command('maps')
    .description(
      'imaging-differentiation maps M_d(t) = mean over sources s of |G(x_s, t) - x_t| per subject and target, written as NIfTI in the subject space (DIR/<subject>/md_<target>.nii.gz) with statistics per label region',
    )
    .requiredOption('--run <dir>', 'trained generator: a run folder or a checkpoint folder')
    .requiredOption('--manifest <file>', 'cohort manifest')
    .requiredOption('--out <dir>', 'output folder')
    .option('--split <name>', 'manifest split: train, val, test or all', 'test')
    .option('--targets <list>', 'comma-separated targets (default: every available sequence)')
    .option('--labels <key>', 'label map of the manifest for region statistics', 'seg')
    .option('--shard <i/n>', SHARD_HELP)
    .option('--fold <k/f>', `${FOLD_HELP}; maps fold K instead of --split`)
    .option('--redo', REDO_HELP)
    .action(
      withRunLock(
        'maps',
        mapsFolder,
        async (o: {
          run: string;
          manifest: string;
          out: string;
          split: string;
          targets?: string;
          labels: string;
          shard?: string;
          fold?: string;
          redo?: boolean;
        }) => {
          const r = await writeCohortMaps({
            run: o.run,
            manifest: o.manifest,
            out: o.out,
            split: o.split,
            fold: foldOption(o.fold),
            shard: shardOption(o.shard),
            targets: o.targets,
            labels: o.labels,
            redo: o.redo,
            names: { targets: '--targets' },
            onSubject: (e) =>
              console.error(`maps: ${e.done}/${e.total} ${e.subject}: ${e.targets.join(', ')}`),
          });
          console.log(`${r.dir}: M_d maps of ${r.subjects.length} subjects`);
        },
      ),
    );
}

/** The registry's orientations in words, e.g. 'psnr, ssim higher; mae, lpips lower'. */
function orientationsNote(): string {
  const names = (o: number) => SYNTHESIS_METRICS.filter((m) => m.orientation === o).map((m) => m.name);
  return `${names(1).join(', ')} higher; ${names(-1).join(', ')} lower`;
}

function registerRank(program: Command): void {
  program
    .command('rank')
    .description(
      'rank sequences by contribution: C_d (unique information, high first) and C_t (value as a source), with bootstrap CIs over subjects',
    )
    .argument(
      '[table]',
      'evaluation table (CSV): columns subject,source,target,psnr,ssim[,mae][,lpips][,...]',
    )
    .option(
      '--metrics <list>',
      "metric columns, e.g. psnr,ssim,lpips (default: psnr,ssim,lpips when the table has lpips, else psnr,ssim,mae with MAE standing in for LPIPS). A file name here is read as the table (mriseq 0.1's form)",
    )
    .option('--use <list>', 'same as --metrics (mriseq 0.1)')
    .option(
      '--orientation <name=higher|lower...>',
      `orientation of a metric the registry does not know (${orientationsNote()})`,
    )
    .option(
      '--rows <set>',
      "rows that enter: 'cross' (source != target, the authors' protocol) or 'all'",
      'cross',
    )
    .option(
      '--frames <which>',
      "a series target (DCE): 'all' scores the mean over every phase, 'after-first' leaves out the first (pre-contrast) phase",
      'all',
    )
    .option('--resamples <n>', 'bootstrap resamples over subjects', '1000')
    .option('--seed <n>', 'bootstrap seed', '0')
    .option('--json', 'print one JSON object (the form of ranking.json)')
    .action(
      (
        table: string | undefined,
        opts: {
          metrics?: string;
          use?: string;
          orientation?: string[];
          rows: string;
          frames: string;
          resamples: string;
          seed: string;
          json?: boolean;
        },
      ) => {
        let list = opts.metrics ?? opts.use;
        // mriseq 0.1 took the table as --metrics FILE
        if (!table && list && (/\.csv$/i.test(list) || existsSync(list))) {
          table = list;
          list = opts.use;
        }
        if (!table)
          throw new MriseqError('say which evaluation table to rank', {
            field: 'table',
            expected: 'mriseq rank EVALUATION.csv [--metrics psnr,ssim,mae]',
            code: 'cli.option',
          });
        if (!(ROW_SETS as readonly string[]).includes(opts.rows))
          throw new MriseqError('unknown row set', {
            field: '--rows',
            found: opts.rows,
            expected: ROW_SETS.join(', '),
            code: 'cli.option',
          });
        if (!(SERIES_FRAMES as readonly string[]).includes(opts.frames))
          throw new MriseqError('unknown series summary', {
            field: '--frames',
            found: opts.frames,
            expected: SERIES_FRAMES.join(', '),
            code: 'cli.option',
          });
        const rows = readEvaluationCsv(table);
        const metrics = listOption(list);
        if (metrics)
          for (const m of metrics)
            if (!rows.every((r) => typeof r[m] === 'number'))
              throw new MriseqError(`metric column "${m}" is missing or not numeric in every row`, {
                file: table,
                field: '--metrics',
                found: m,
                code: 'cli.option',
              });
        const orientations = parseOrientations(
          (opts.orientation ?? []).flatMap((o) => o.split(',')).filter((o) => o.trim()),
        );
        const r = rankSequences(rows, {
          metrics,
          orientations,
          rows: opts.rows as RowSet,
          frames: opts.frames as SeriesFrames,
          resamples: intOption(opts.resamples, '--resamples'),
          seed: intOption(opts.seed, '--seed'),
        });
        console.log(opts.json ? JSON.stringify(rankingRecord(r)) : formatRanking(r));
      },
    );
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description(
      'PSNR (data range 2), SSIM (scikit-image defaults, 3D window 7) and MAE of B against A (A is the reference)',
    )
    .argument('<A>', 'reference NIfTI (.nii or .nii.gz)')
    .argument('<B>', 'NIfTI to score against A, same grid')
    .option(
      '--normalize <mode>',
      'auto: a volume with values outside [-1, 1] is first normalised (clip to [0, 2*p99], scale to [-1, 1]), one in [-1, 1] (a generated image) is used as is; always; never',
      'auto',
    )
    .option('--mask <nifti>', 'only voxels where this mask is non-zero count')
    .option('--slices', 'SSIM as the mean of 2D SSIMs over axial slices (default: one 3D 7x7x7 window)')
    .option('--json', 'print one JSON object')
    .action(
      async (
        a: string,
        b: string,
        opts: { normalize: string; mask?: string; slices?: boolean; json?: boolean },
      ) => {
        const modes: Record<string, boolean | 'auto'> = { auto: 'auto', always: true, never: false };
        if (!hasOwnKey(modes, opts.normalize))
          throw new MriseqError('unknown normalisation mode', {
            field: '--normalize',
            found: opts.normalize,
            expected: 'auto, always or never',
            code: 'cli.option',
          });
        const mode = modes[opts.normalize];
        const va = await readNifti(a);
        const vb = await readNifti(b);
        if (va.shape.join('x') !== vb.shape.join('x'))
          throw new MriseqError('the two images have different grids', {
            file: b,
            field: 'shape',
            found: vb.shape.join('x'),
            expected: `${va.shape.join('x')} (as ${a})`,
            code: 'compare.shape',
          });
        const mask = opts.mask ? await readNifti(opts.mask) : undefined;
        if (mask && mask.data.length !== va.data.length)
          throw new MriseqError('mask grid differs from the images', {
            file: opts.mask,
            field: 'shape',
            found: mask.shape.join('x'),
            expected: va.shape.join('x'),
            code: 'compare.shape',
          });
        const s = compareVolumes(prepareVolume(va, mode), prepareVolume(vb, mode), {
          mask: mask?.data,
          slices: opts.slices ?? false,
        });
        const normalized = mode === true ? 'both' : mode === false ? 'none' : 'auto';
        if (opts.json) console.log(JSON.stringify({ reference: a, test: b, normalize: normalized, ...s }));
        else console.log(`psnr ${s.psnr.toFixed(4)} dB\nssim ${s.ssim.toFixed(6)}\nmae  ${s.mae.toFixed(6)}`);
      },
    );
}
