/**
 * mriseq pretrained: the generators this project ships (models/<name>/). `list`, `info NAME`,
 * `check NAME` (is the phantom it was trained on still this code's phantom?) and `pack RUN`
 * (make a shipped model from a finished `mriseq train --phantom` run). Use one anywhere a run
 * folder goes with `--run pretrained:<name>`.
 */
import type { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { initEngine } from '../../engine/index.js';
import { MriseqError } from '../../errors/index.js';
import { intOption, sizeOption } from '../options.js';
import { PRETRAINED_MODELS } from '../../pretrained/index.js';
import { checkPretrainedPhantom, packPretrained, readModelCard } from '../../pretrained/node.js';
import { formatAcceptance } from '../../analysis/index.js';

export function registerPretrained(program: Command): void {
  const cmd = program
    .command('pretrained')
    .description('the generators mriseq ships: use one with --run pretrained:<name>');
  cmd
    .command('list')
    .description('the shipped generators')
    .action(() => {
      for (const m of PRETRAINED_MODELS) console.log(`${m.name}\t${m.description}`);
    });
  cmd
    .command('info')
    .description("a shipped generator's model card: how it was trained and what it measured")
    .argument('<name>')
    .option('--json', 'print the card as JSON')
    .action((name: string, o: { json?: boolean }) => {
      const c = readModelCard(name);
      if (o.json) return console.log(JSON.stringify(c, null, 1));
      const a = c.acceptance;
      console.log(
        [
          `${c.name}: ${c.description}`,
          `${c.preset}, ${c.parameters.toLocaleString('en')} parameters, ${c.dtype} (sha256 ${c.sha256.slice(0, 16)}...)`,
          `trained ${c.training.steps} steps (${c.training.recipe} recipe, best step ${c.training.bestStep}), seed ${c.training.seed}, ${c.training.date}, commit ${c.training.commit}`,
          `phantom seed ${c.phantom.seed}, ${c.phantom.size.join('x')}, ${c.phantom.train} training + ${c.phantom.validation} validation subjects`,
          `acceptance on ${a.heldOut.count} held-out subjects (${a.heldOut.start}..${a.heldOut.start + a.heldOut.count - 1}): ` +
            `M_d(t1gd) lesion AUC ${a.lesionAuc.t1gd?.mean.toFixed(3)}, C_d order ${a.order.join(' > ')}, ${a.passed ? 'all checks pass' : 'FAILS'}`,
          'retrain:',
          ...c.training.commands.map((x) => `  ${x}`),
        ].join('\n'),
      );
    });
  cmd
    .command('check')
    .description('is the phantom a shipped generator was trained on still the phantom this code makes?')
    .argument('<name>')
    .option('--data', 'recompute the fingerprint of every training subject too (slower)')
    .action((name: string, o: { data?: boolean }) => {
      const r = checkPretrainedPhantom(name, { data: o.data });
      if (!r.ok)
        throw new MriseqError(
          `the phantom changed since ${name} was trained: retrain it with\n  ${r.retrain.join('\n  ')}`,
          {
            field: r.design.ok ? 'phantom.data' : 'phantom.design',
            found: (r.design.ok ? r.data!.found : r.design.found).slice(0, 16),
            expected: (r.design.ok ? r.data!.expected : r.design.expected).slice(0, 16),
            code: 'pretrained.stale',
          },
        );
      console.log(
        `${name}: trained on this code's phantom (design${r.data ? ' and training data' : ''} fingerprints match)`,
      );
    });
  cmd
    .command('pack')
    .description(
      'make a shipped generator from a finished `mriseq train --phantom` run: float16 weights, acceptance measured with them, model card',
    )
    .argument('<run>', 'the run folder')
    .requiredOption(
      '--name <name>',
      `shipped model name (${PRETRAINED_MODELS.map((m) => m.name).join(', ')})`,
    )
    .option('--seed <n>', 'phantom seed of the run', '0')
    .option('--size <nx,ny,nz>', 'phantom size of the run', '64,64,32')
    .requiredOption('--train <n>', 'training subjects of the run (its --phantom minus --validation)')
    .requiredOption('--validation <n>', 'validation subjects of the run')
    .option('--held-out <n>', 'held-out subjects for the acceptance', '30')
    .option('--out <dir>', 'write here instead of the package models/ folder')
    .option('--minutes <m>', 'wall time of the training, for the card')
    .option(
      '--load <text>',
      "the machine's load during the training, for the card (default: the load average now)",
    )
    .action(
      async (
        run: string,
        o: {
          name: string;
          seed: string;
          size: string;
          train: string;
          validation: string;
          heldOut: string;
          out?: string;
          minutes?: string;
          load?: string;
        },
      ) => {
        console.error((await initEngine()).summary);
        let commit = 'unknown';
        try {
          commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
        } catch {
          // not a git checkout: the card says unknown
        }
        const { card, report } = await packPretrained(run, {
          name: o.name,
          seed: intOption(o.seed, '--seed', 0),
          size: sizeOption(o.size, '--size', { min: 4 }),
          train: intOption(o.train, '--train', 1),
          validation: intOption(o.validation, '--validation', 0),
          heldOut: intOption(o.heldOut, '--held-out', 1),
          out: o.out,
          commit,
          minutes: o.minutes === undefined ? undefined : Number(o.minutes),
          load:
            o.load ??
            `load average ${loadavg()
              .map((x) => x.toFixed(1))
              .join(' / ')} when packed`,
          onSubject: (e) => console.error(`acceptance: ${e.done}/${e.total} ${e.subject}`),
        });
        console.log(formatAcceptance(report));
        console.log(`${card.name}: packed (${card.dtype}, sha256 ${card.sha256.slice(0, 16)}...)`);
      },
    );
}
