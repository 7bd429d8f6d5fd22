/**
 * mriseq demo: the main job on the simulated cohort (runDemo in src/pipeline): start from the
 * shipped generator (or train one from scratch), evaluate every source -> target pair on held-out
 * subjects, rank the sequences (C_t, C_d), score M_d against the phantom's truth, write the maps
 * and the figures. Parsing and a progress bar around one library call.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { intOption, sizeOption } from '../options.js';
import { runDemo, type DemoOptions } from '../../pipeline/node.js';

interface DemoCliOptions {
  out: string;
  fromScratch?: boolean;
  pretrained: string;
  fineTune: string;
  subjects: string;
  test?: string;
  steps: string;
  size: string;
  seed: string;
  figures: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the main job on the simulated cohort: from the shipped generator (or --from-scratch), evaluate, rank, map against the known truth, write figures',
    )
    .option('--out <dir>', 'output folder', 'runs/demo')
    .option('--pretrained <name>', 'shipped generator to start from', 'phantom-lite')
    .option('--fine-tune <n>', 'fine-tune the shipped generator this many steps first', '0')
    .option('--from-scratch', 'train a new lite generator instead (brief: it cannot rank the sequences yet)')
    .option('--steps <n>', 'with --from-scratch: training steps (the acceptance needs >= 3000)', '300')
    .option('--subjects <n>', 'with --from-scratch: phantom training subjects', '24')
    .option('--test <n>', 'held-out phantom subjects evaluated (default 12, or 4 from scratch)')
    .option('--size <nx,ny,nz>', 'with --from-scratch: phantom volume size', '64,64,32')
    .option('--seed <n>', 'with --from-scratch: phantom and training seed', '0')
    .option('--no-figures', 'skip the figures (PNG/SVG need Chromium)')
    .action(async (o: DemoCliOptions) => {
      const size = sizeOption(o.size, '--size', { min: 16, multipleOf: 4 });
      const start: DemoOptions['start'] = o.fromScratch
        ? {
            scratch: true,
            steps: intOption(o.steps, '--steps', 1),
            subjects: intOption(o.subjects, '--subjects', 2),
          }
        : { pretrained: o.pretrained, fineTune: intOption(o.fineTune, '--fine-tune', 0) };
      const bar = new SingleBar(
        { format: '{stage} |{bar}| {value}/{total} {info}', hideCursor: true, stopOnComplete: true },
        Presets.shades_classic,
      );
      let barFor = '';
      const progress = (stage: string, value: number, total: number, info: string) => {
        if (barFor !== stage) {
          bar.stop();
          bar.start(total, value, { stage, info });
          barFor = stage;
        }
        bar.update(value, { info });
      };
      const ac = new AbortController();
      const onSig = () => ac.abort();
      process.once('SIGINT', onSig);
      // PNG/SVG need Chromium: without it the figures are skipped with a note (after the results)
      const chromium = existsSync('/usr/bin/chromium') || Boolean(process.env.MRISEQ_CHROMIUM);
      let r;
      try {
        r = await runDemo({
          out: o.out,
          start,
          test: o.test === undefined ? undefined : intOption(o.test, '--test', 1),
          size,
          seed: intOption(o.seed, '--seed', 0),
          figures: o.figures && chromium,
          signal: ac.signal,
          onStage: (m) => {
            bar.stop();
            barFor = '';
            console.error(m);
          },
          onTrain: (e) =>
            progress(
              'train',
              e.step,
              e.steps,
              `loss ${e.loss.total.toFixed(4)}, ${e.stepMs.toFixed(0)} ms/step`,
            ),
          onSubject: (e) => progress('evaluate', e.done, e.total, e.subject),
        });
      } finally {
        bar.stop();
        process.off('SIGINT', onSig);
      }
      if (r.stopped) {
        console.error('interrupted during training; run the same command again to resume');
        process.exitCode = 130;
        return;
      }
      console.log(`\n${r.model}, ${r.report!.subjects} held-out phantom subjects:`);
      console.log(r.text);
      console.log(`\nC_d order: ${r.report!.ranking.order.join(' > ')}`);
      console.log(`tables, ranking and maps: ${join(r.out, 'analysis')}`);
      if (r.figures) console.log(`figures: ${r.figures.index} (${r.figures.written.length} written)`);
      else if (o.figures) console.error('figures skipped: Chromium not found (apt-get install chromium)');
    });
}
