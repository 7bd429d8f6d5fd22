/**
 * `mriseq figures --run RUN --out DIR`: every figure of a run folder (writeRunFigures in
 * src/pipeline/figures.ts, where the inputs it reads are listed), under the folder's run lock.
 */
import type { Command } from 'commander';
import { REDO_HELP } from './sharding.js';
import { withRunLock } from '../../reliability/node.js';
import { writeRunFigures } from '../../pipeline/node.js';

// the library's, under their old address
export { runFigures, writeRunFigures, type FiguresResult } from '../../pipeline/node.js';

export function registerFigures(program: Command): void {
  program
    .command('figures')
    .description('write every figure of a run folder as PNG + SVG + interactive HTML, with an index.html')
    .requiredOption(
      '--run <dir>',
      'run folder (history.jsonl, evaluation.csv, ranking.json, maps/, roc.json, ...)',
    )
    .requiredOption('--out <dir>', 'output folder')
    .option('--no-static', 'skip PNG/SVG (no Chromium needed): interactive HTML only')
    .option('--redo', REDO_HELP)
    .action(
      // the run lock of the folder written (two figure writers would interleave index.html)
      withRunLock(
        'figures',
        (opts: { out: string }) => opts.out,
        async (opts: { run: string; out: string; static: boolean; redo?: boolean }) => {
          const r = await writeRunFigures(opts.run, opts.out, {
            formats: opts.static ? ['png', 'svg'] : [],
            redo: opts.redo,
          });
          for (const w of r.written)
            console.log(`wrote ${w.name}: ${[w.png, w.svg, w.html].filter(Boolean).join(', ')}`);
          for (const s of r.skipped) console.log(`skipped ${s.name}: ${s.reason}`);
          console.log(`index: ${r.index}`);
        },
      ),
    );
}
