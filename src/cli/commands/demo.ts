/**
 * mriseq demo: the main job on the simulated cohort, end to end and resumable: simulate a phantom
 * cohort, train the lite generator briefly, evaluate every source -> target pair on held-out
 * subjects, rank the sequences (C_t, C_d), compute M_d maps (NIfTI), and write the figures.
 */
import type { Command } from 'commander';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { initEngine } from '../../engine/index.js';
import { MriseqError } from '../../errors/index.js';
import { writeFileAtomicSync } from '../../reliability/node.js';
import { phantom } from '../../phantom/index.js';
import type { Volume } from '../../volume/index.js';
import { loadGenerator, trainRun } from '../../train/node.js';
import {
  differentiationMap,
  formatAcceptance,
  formatEvaluationCsv,
  generatorFunction,
  phantomAcceptance,
  prepareVolume,
  type TruthSubject,
} from '../../analysis/index.js';
import { writeDifferentiationMaps } from '../../analysis/node.js';
import { writeRunFigures } from './figures.js';

interface DemoOptions {
  out: string;
  subjects: string;
  test: string;
  steps: string;
  size: string;
  seed: string;
  figures: boolean;
}

function int(text: string, field: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new MriseqError('expected an integer', { field, found: text, expected: `an integer >= ${min}` });
  return n;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the main job on the simulated cohort: simulate, train briefly, evaluate, rank, map, write figures (resumable)',
    )
    .option('--out <dir>', 'output folder', 'runs/demo')
    .option('--subjects <n>', 'phantom subjects used for training', '24')
    .option('--test <n>', 'held-out phantom subjects evaluated and mapped', '4')
    .option('--steps <n>', 'training steps (the acceptance recipe uses >= 3000)', '300')
    .option('--size <nx,ny,nz>', 'phantom volume size', '64,64,32')
    .option('--seed <n>', 'phantom and training seed', '0')
    .option('--no-figures', 'skip the PNG/SVG/HTML figures (they need Chromium)')
    .action(async (o: DemoOptions) => {
      const nTrain = int(o.subjects, '--subjects', 2);
      const nTest = int(o.test, '--test', 1);
      const steps = int(o.steps, '--steps', 1);
      const seed = int(o.seed, '--seed', 0);
      const size = o.size.split(/[x,]/).map(Number);
      if (size.length !== 3 || size.some((v) => !Number.isInteger(v) || v < 16 || v % 4 !== 0))
        throw new MriseqError('bad phantom size', {
          field: '--size',
          found: o.size,
          expected: 'three multiples of 4, each >= 16, e.g. 64,64,32',
        });
      console.error((await initEngine()).summary);
      const out = o.out;
      const trainDir = join(out, 'train');
      mkdirSync(trainDir, { recursive: true });

      // 1. The simulated cohort: training subjects, one validation subject, held-out test subjects.
      const cohort = phantom({ subjects: nTrain + 1 + nTest, seed, size: size as [number, number, number] });
      const subject = (i: number) => {
        const s = cohort.subject(i);
        return { id: s.id, volumes: s.volumes };
      };
      const train = Array.from({ length: nTrain }, (_, i) => subject(i));
      const validation = [subject(nTrain)];
      console.error(
        `phantom: ${nTrain} training, 1 validation, ${nTest} test subjects of ${size.join('x')} voxels, sequences ${cohort.sequences.join(', ')}`,
      );

      // 2. Train the lite generator briefly (resumes where an interrupted demo stopped).
      const history = join(trainDir, 'history.jsonl');
      const bar = new SingleBar(
        { format: 'train |{bar}| {value}/{total} | loss {loss} | {ms} ms/step', hideCursor: true },
        Presets.shades_classic,
      );
      let started = false;
      const ac = new AbortController();
      const onSig = () => ac.abort();
      process.once('SIGINT', onSig);
      try {
        const r = await trainRun(train, {
          out: trainDir,
          model: 'lite',
          modelOverrides: { sequences: cohort.sequences, seed },
          steps,
          seed,
          crop: Math.min(size[0], size[1]),
          validation,
          resume: true,
          signal: ac.signal,
          onProgress: (e) => {
            if (!started) {
              bar.start(e.steps, e.step - 1, { loss: '-', ms: '-' });
              started = true;
            }
            bar.update(e.step, { loss: e.loss.total.toFixed(4), ms: e.stepMs.toFixed(0) });
            appendFileSync(history, JSON.stringify(e) + '\n');
          },
        });
        bar.stop();
        r.model.dispose();
        if (r.stopped) {
          console.error(`interrupted at step ${r.steps}; run the same command again to resume`);
          process.exitCode = 130;
          return;
        }
      } finally {
        bar.stop();
        process.off('SIGINT', onSig);
      }

      // 3. Evaluate every pair on the held-out subjects, rank, and score M_d against the truth.
      const model = loadGenerator(trainDir);
      const generate = generatorFunction(model);
      const held: TruthSubject[] = [];
      const labels: Volume[] = [];
      for (let k = 0; k < nTest; k++) {
        const s = cohort.subject(nTrain + 1 + k);
        const sequences: Record<string, Volume> = {};
        for (const [name, v] of Object.entries(s.volumes)) if (v) sequences[name] = prepareVolume(v, true);
        held.push({ id: s.id, sequences, unique: s.truth.unique.t1gd!, lesion: s.truth.lesion });
        labels.push(s.truth.tissue);
      }
      const report = await phantomAcceptance(held, generate, {
        resamples: 500,
        seed,
        onSubject: (e) => console.error(`evaluate: ${e.done}/${e.total} ${e.subject}`),
      });
      const analysis = join(out, 'analysis');
      mkdirSync(analysis, { recursive: true });
      writeFileAtomicSync(join(analysis, 'evaluation.csv'), formatEvaluationCsv(report.rows));
      writeFileAtomicSync(join(analysis, 'ranking.json'), JSON.stringify(report.ranking, null, 1));
      const text = formatAcceptance(report);
      writeFileAtomicSync(
        join(analysis, 'acceptance.json'),
        JSON.stringify(
          {
            note:
              steps < 3000
                ? `brief demo training (${steps} steps); the phantom acceptance is judged after >= 3000 steps on >= 30 held-out subjects`
                : undefined,
            text,
            lesionAuc: report.lesionAuc,
            headAuc: report.headAuc,
            subtractionAuc: report.subtractionAuc,
            order: report.ranking.order,
            checks: report.checks,
          },
          null,
          1,
        ),
      );

      // 4. M_d maps of the first held-out subject, as NIfTI in its space (+ the real sequences).
      const first = held[0];
      const maps: Record<string, Volume> = {};
      for (const t of Object.keys(first.sequences))
        maps[t] = await differentiationMap(first.sequences, t, generate);
      const mapsDir = join(analysis, 'maps');
      await writeDifferentiationMaps(mapsDir, first.id, maps, { labels: labels[0] });
      const { writeNifti } = await import('../../io/index.js');
      for (const [t, v] of Object.entries(first.sequences))
        await writeNifti(join(mapsDir, first.id, `${t}.nii.gz`), v, { datatype: 'float32' });
      model.dispose();

      console.log(text);
      console.log(`tables, ranking and maps: ${analysis}`);

      // 5. Figures.
      if (o.figures) {
        if (!existsSync('/usr/bin/chromium') && !process.env.MRISEQ_CHROMIUM) {
          console.error('figures skipped: Chromium not found (apt-get install chromium)');
          return;
        }
        const figs = await writeRunFigures(out, join(out, 'figures'));
        console.log(`figures: ${figs.index} (${figs.written.length} written)`);
      }
    });
}
