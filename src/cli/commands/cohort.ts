import type { Command } from 'commander';
import { MriseqError } from '../../errors/index.js';
import { numberOption, sizeOption } from '../options.js';
import { formatProblem, parseShard } from '../../cohort/index.js';
import { checkManifest, scanManifest, simulateToDisk, writeManifest } from '../../cohort/node.js';

function parseSplit(text: string): { train: number; val: number; test: number } {
  const f = text.split(',').map((p) => Number(p.trim()));
  if (f.length !== 3 || f.some((v) => !(v >= 0)) || !(f[0]! + f[1]! + f[2]! > 0))
    throw new MriseqError('invalid split', {
      field: '--split',
      found: text,
      expected: 'three non-negative fractions train,val,test',
      code: 'cli.split',
    });
  return { train: f[0]!, val: f[1]!, test: f[2]! };
}

export function registerCohort(program: Command): void {
  program
    .command('simulate')
    .description('write the simulated cohort (phantom) as NIfTI in a BraTS-style layout plus manifest.csv')
    .requiredOption('--out <dir>', 'output folder')
    .option('--subjects <n>', 'number of subjects', '100')
    .option('--seed <s>', 'cohort seed', '0')
    .option('--size <x,y,z>', 'volume size in voxels', '64,64,32')
    .option('--missing <p>', 'probability that each sequence is missing (at least 2 stay)', '0')
    .option('--unique-fraction <f>', "fraction of head voxels in T1Gd's unique mask", '0.2')
    .option('--dwi', 'add DWI as a fifth sequence')
    .option('--dce', 'add a 4D DCE series')
    .option(
      '--split <train,val,test>',
      'split column fractions, stratified by lesionType, seeded',
      '0.7,0.15,0.15',
    )
    .option('--no-split', 'write no split column')
    .option(
      '--shard <i/n>',
      'only subjects with shardOf(id, n) == i (0-based), writing manifest.shard-i-of-n.csv',
    )
    .option('--quiet', 'no progress lines')
    .action(
      async (o: {
        out: string;
        subjects: string;
        seed: string;
        size: string;
        missing: string;
        uniqueFraction: string;
        dwi?: boolean;
        dce?: boolean;
        shard?: string;
        split: string | false;
        quiet?: boolean;
      }) => {
        const subjects = numberOption(o.subjects, '--subjects', 1, 1e7, true);
        let last = 0;
        const r = await simulateToDisk({
          out: o.out,
          subjects,
          seed: numberOption(o.seed, '--seed', 0, 2 ** 52, true),
          size: sizeOption(o.size, '--size', { min: 8 }),
          missing: numberOption(o.missing, '--missing', 0, 0.99),
          uniqueFraction: numberOption(o.uniqueFraction, '--unique-fraction', 0, 0.6),
          dwi: o.dwi ?? false,
          dce: o.dce ?? false,
          shard: o.shard ? parseShard(o.shard) : undefined,
          split: o.split === false ? false : parseSplit(o.split),
          onProgress: (done, total) => {
            const now = Date.now();
            if (!o.quiet && (now - last > 2000 || done === total)) {
              last = now;
              console.error(`simulate: ${done}/${total} subjects`);
            }
          },
        });
        console.log(`wrote ${r.written} subjects (${r.skipped} already complete) and ${r.manifestPath}`);
      },
    );

  const manifest = program.command('manifest').description('build and validate data manifests');
  manifest
    .command('scan')
    .description('build a manifest from a folder (BraTS layout: <id>/<id>_{t1,t1ce,t2,flair,seg}.nii.gz)')
    .argument('<dir>', 'folder with one sub-folder per subject')
    .option('--layout <layout>', 'folder layout', 'brats')
    .option('--out <file>', 'manifest to write (.csv or .json; default <dir>/manifest.csv)')
    .action(async (dir: string, o: { layout: string; out?: string }) => {
      if (o.layout !== 'brats')
        throw new MriseqError('unknown layout', {
          field: '--layout',
          found: o.layout,
          expected: 'brats',
          code: 'manifest.layout',
        });
      const m = await scanManifest(dir, {
        layout: 'brats',
        onWarning: (w) => console.error(`mriseq: warning: ${w.file}: ${w.problem}`),
      });
      const out = o.out ?? `${dir.replace(/\/+$/, '')}/manifest.csv`;
      await writeManifest(out, m);
      const missing = m.subjects.reduce((a, s) => a + Object.values(s.sequences).filter((p) => !p).length, 0);
      console.log(
        `${m.subjects.length} subjects, sequences ${m.sequences.join(', ')}, ${missing} missing -> ${out}`,
      );
    });
  manifest
    .command('check')
    .description('validate a manifest and the files it names; reports every problem with row and column')
    .argument('<file>', 'manifest (.csv or .json)')
    .option('--allow-outside', 'allow paths outside the manifest folder')
    .option('--full', 'decode every volume (catches truncated data)')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, o: { allowOutside?: boolean; full?: boolean; json?: boolean }) => {
      const r = await checkManifest(file, { allowOutside: o.allowOutside, full: o.full });
      if (o.json) console.log(JSON.stringify(r));
      else {
        for (const p of r.problems) console.log(`${file}: ${formatProblem(p)}`);
        console.log(
          `${r.subjects} subjects, ${r.files} files, ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`,
        );
      }
      if (!r.ok)
        throw new MriseqError(`${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} found`, {
          file,
          code: 'manifest.check',
        });
    });
}
