import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { MriseqError } from '../../errors/index.js';
import { intOption } from '../options.js';
import { withRunLock, writeFileAtomicSync } from '../../reliability/node.js';
import {
  cancelRun,
  failureError,
  formatStatus,
  mergeRun,
  foldSplit,
  parseFold,
  selftestSubjects,
  mergeSweep,
  readSweepFile,
  readSweepPlan,
  sweepPoints,
  parseShard,
  retryRun,
  runSelftest,
  runStatus,
  submitRun,
  waitRun,
  type RunStatus,
} from '../../scale/node.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function badMode(mode: string): never {
  throw new MriseqError('unknown mode', {
    field: '--mode',
    found: JSON.stringify(mode),
    expected: 'min or max',
    code: 'cli.option',
  });
}

function progressLine(s: RunStatus): string {
  const parts = Object.entries(s.counts).map(([k, v]) => `${v} ${k.toLowerCase()}`);
  return `shards: ${parts.join(', ')}${s.merge ? `; merge ${s.merge.state.toLowerCase()}` : ''}`;
}

async function waitAndReport(run: string, opts: { failFast?: boolean; interval?: number }): Promise<void> {
  let lastLine = '';
  const s = await waitRun(run, {
    failFast: opts.failFast,
    interval: opts.interval,
    onProgress: (x) => {
      const line = progressLine(x);
      if (line !== lastLine) console.error(`[mriseq slurm] ${line}`);
      lastLine = line;
    },
  });
  if (!s.ok) {
    console.error(formatStatus(s));
    throw failureError(s);
  }
  console.log(`all ${s.shards.length} shard(s) completed${s.merge ? ', merge completed' : ''}: ${s.run}`);
}

export function registerScale(program: Command): void {
  const slurm = program
    .command('slurm')
    .description('run a sharded command as a SLURM job array with a merge step');

  slurm
    .command('submit')
    .description(
      'submit SUBCOMMAND as N array tasks (each given --shard I/N) and a merge that runs when all succeeded',
    )
    .argument('<subcommand...>', 'the mriseq subcommand and its arguments, after --')
    .requiredOption('--run <dir>', 'run folder: scripts, logs, slurm.json, parts')
    .option('--shards <n>', 'number of shards (array tasks)', (v: string) => intOption(v, '--shards', 1), 1)
    .option('--max-parallel <k>', 'at most K tasks at once', (v: string) => intOption(v, '--max-parallel', 1))
    .option('--partition <p>', 'SLURM partition')
    .option('--time <t>', 'wall time per task, e.g. 01:00:00')
    .option('--mem <m>', 'memory per task, e.g. 4G')
    .option('--cpus <c>', 'CPUs per task', (v: string) => intOption(v, '--cpus', 1))
    .option('--gpus <g>', 'GPUs per task', (v: string) => intOption(v, '--gpus', 1))
    .option(
      '--sbatch-arg <arg>',
      'extra sbatch option, repeatable (e.g. --sbatch-arg=--account=lab)',
      collect,
      [],
    )
    .option('--sweep <file>', 'JSON list of configurations: one array task per configuration (x fold)')
    .option('--folds <f>', 'cross-validation folds: tasks add --fold k/F', (v: string) =>
      intOption(v, '--folds', 1),
    )
    .option('--metric <path>', 'sweep: validation metric (dotted path in --metric-file)', 'bestPsnr')
    .option('--metric-file <name>', "sweep: JSON file in each point's folder", 'summary.json')
    .option('--mode <min|max>', 'sweep: whether lower or higher is better', 'max')
    .option('--no-merge', 'do not submit the merge job')
    .option('--dry-run', 'print the scripts, submit nothing')
    .option('--wait', 'wait for the array and the merge; exit non-zero naming failed shards')
    .option('--fail-fast', 'with --wait: cancel the rest at the first failed shard')
    .option('--interval <s>', 'seconds between polls', Number, 2)
    .action(
      async (
        subcommand: string[],
        o: {
          run: string;
          shards: number;
          maxParallel?: number;
          partition?: string;
          time?: string;
          mem?: string;
          cpus?: number;
          gpus?: number;
          sbatchArg: string[];
          sweep?: string;
          folds?: number;
          metric: string;
          metricFile: string;
          mode: string;
          merge: boolean;
          dryRun?: boolean;
          wait?: boolean;
          failFast?: boolean;
          interval: number;
        },
      ) => {
        const r = await submitRun({
          run: o.run,
          command: subcommand,
          shards: o.shards,
          maxParallel: o.maxParallel,
          partition: o.partition,
          time: o.time,
          mem: o.mem,
          cpus: o.cpus,
          gpus: o.gpus,
          sbatchArgs: o.sbatchArg,
          sweep: o.sweep ? readSweepFile(o.sweep) : undefined,
          folds: o.folds,
          metric: o.metric,
          metricFile: o.metricFile,
          mode: o.mode === 'min' ? 'min' : o.mode === 'max' ? 'max' : badMode(o.mode),
          merge: o.merge,
          dryRun: o.dryRun,
        });
        if (!r.submitted) {
          console.log(`# ${r.scripts.taskScript}\n${r.scripts.taskText}`);
          if (r.scripts.mergeScript) console.log(`# ${r.scripts.mergeScript}\n${r.scripts.mergeText ?? ''}`);
          return;
        }
        const sub = r.record.submissions.at(-1);
        console.log(
          `submitted array ${sub?.arrayJobId} (${r.record.shards} shards)${sub?.mergeJobId ? `, merge ${sub.mergeJobId}` : ''}: ${r.record.run}`,
        );
        if (o.wait) await waitAndReport(o.run, o);
      },
    );

  slurm
    .command('status')
    .description('state of every shard and of the merge')
    .argument('<run>')
    .option('--json', 'machine-readable')
    .action(async (run: string, o: { json?: boolean }) => {
      const s = await runStatus(run);
      console.log(o.json ? JSON.stringify(s, null, 1) : formatStatus(s));
    });

  slurm
    .command('wait')
    .description('wait until the run is done; exit non-zero naming failed shards and their logs')
    .argument('<run>')
    .option('--fail-fast', 'cancel the rest at the first failed shard')
    .option('--interval <s>', 'seconds between polls', Number, 2)
    .action(async (run: string, o: { failFast?: boolean; interval: number }) => waitAndReport(run, o));

  slurm
    .command('cancel')
    .description('scancel every job of the run and wait until none is left')
    .argument('<run>')
    .action(async (run: string) => {
      const s = await cancelRun(run);
      console.log(formatStatus(s));
    });

  slurm
    .command('retry')
    .description('resubmit only the failed shards, then the merge')
    .argument('<run>')
    .option('--wait', 'wait for them')
    .option('--fail-fast', 'with --wait: cancel the rest at the first failed shard')
    .option('--interval <s>', 'seconds between polls', Number, 2)
    .action(async (run: string, o: { wait?: boolean; failFast?: boolean; interval: number }) => {
      const r = await retryRun(run);
      if (!r.submitted) console.log('nothing to retry: every shard and the merge completed');
      else {
        const sub = r.record.submissions.at(-1);
        console.log(
          `resubmitted shard(s) ${r.resubmitted.join(', ') || 'none'} as ${sub?.arrayJobId}${sub?.mergeJobId ? `, merge ${sub.mergeJobId}` : ''}`,
        );
      }
      if (o.wait) await waitAndReport(run, o);
    });

  slurm
    .command('selftest')
    .description('a tiny per-subject command following the shard convention (for checking a cluster)')
    .requiredOption('--out <dir>', 'run folder')
    .option('--subjects <n>', 'number of subjects', (v: string) => intOption(v, '--subjects', 1), 8)
    .option('--seed <s>', 'seed', Number, 0)
    .option('--size <n>', 'cube edge length', (v: string) => intOption(v, '--size', 1), 32)
    .option('--shard <i/n>', 'only this shard of the subjects')
    .option('--fail-while <file>', 'fail while this file exists')
    .option('--fail-shards <list>', 'with --fail-while: only these shard indices fail (comma separated)')
    .option('--sleep <s>', 'sleep this many seconds first', Number, 0)
    .action(
      async (o: {
        out: string;
        subjects: number;
        seed: number;
        size: number;
        shard?: string;
        failWhile?: string;
        failShards?: string;
        sleep: number;
      }) => {
        const r = await runSelftest({
          sleep: o.sleep,
          out: o.out,
          subjects: o.subjects,
          seed: o.seed,
          size: o.size,
          shard: o.shard ? parseShard(o.shard) : undefined,
          failWhile: o.failWhile,
          failShards: o.failShards?.split(',').map(Number),
        });
        console.log(`wrote ${r.subjects.length} subject(s) to ${r.dir}`);
      },
    );

  slurm
    .command('selftest-fit')
    .description(
      'a stand-in for a training run (for checking sweeps and folds): writes summary.json with bestPsnr = 30 - (x-2)^2 + validation share',
    )
    .requiredOption('--out <dir>', 'run folder')
    .requiredOption('--x <x>', 'the swept parameter', Number)
    .option('--fold <k/f>', 'cross-validation fold (0-based)')
    .option(
      '--subjects <n>',
      'cohort size for the fold split',
      (v: string) => intOption(v, '--subjects', 1),
      20,
    )
    .action((o: { out: string; x: number; fold?: string; subjects: number }) => {
      const ids = selftestSubjects(o.subjects);
      const validation = o.fold ? foldSplit(ids, parseFold(o.fold)).validation.length : 0;
      const bestPsnr = 30 - (o.x - 2) ** 2 + validation / o.subjects;
      writeFileAtomicSync(
        join(o.out, 'summary.json'),
        JSON.stringify({ bestPsnr, x: o.x, fold: o.fold ?? null, validation }, null, 1) + '\n',
      );
      console.log(`bestPsnr ${bestPsnr}`);
    });

  slurm
    .command('sweep-task')
    .description('(run by an array task) run sweep point I of RUN/slurm/sweep.json')
    .argument('<run>')
    .argument('<index>')
    .action(async (run: string, index: string) => {
      const points = sweepPoints(readSweepPlan(run));
      const p = points[Number(index)];
      if (!p) {
        throw new MriseqError('no such sweep point', {
          field: 'index',
          found: index,
          expected: `0..${points.length - 1}`,
          code: 'scale.sweep',
        });
      }
      console.log(`[mriseq] sweep point ${p.label}: mriseq ${p.args.join(' ')}`);
      // the same Node, flags and entry as this process, so the point runs this very mriseq
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...p.args], {
        stdio: 'inherit',
      });
      const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? 1)));
      if (code !== 0) process.exitCode = code;
    });

  program
    .command('merge')
    .description(
      'combine the shard parts under RUN/parts into RUN, checking every subject is there exactly once',
    )
    .argument('<run>')
    .option('--command <name>', 'only the parts of this subcommand')
    .option('--shards <n>', 'only parts of this shard count', (v: string) => intOption(v, '--shards', 1))
    .option('--sweep', 'merge a sweep/fold run: pick the best configuration by the validation metric')
    .action(
      // merge writes into RUN: locked like any other writer of the run folder
      withRunLock(
        'merge',
        (run: string) => run,
        (run: string, o: { command?: string; shards?: number; sweep?: boolean }) => {
          if (o.sweep) {
            const r = mergeSweep(run);
            for (const x of r.results)
              console.log(`${x.name}: ${r.metric} ${x.mean} (${x.values.join(', ')})`);
            console.log(
              `best (${r.mode} ${r.metric}): ${r.best.name} = ${r.best.mean}: ${r.best.args.join(' ')}`,
            );
            console.log(`best run: ${r.bestRun.label} (${r.metric} ${r.bestRun.value}) in ${r.bestRun.dir}`);
            return;
          }
          const r = mergeRun(run, { command: o.command, shards: o.shards });
          for (const c of r.commands) {
            console.log(
              `merged ${c.command}: ${c.shards} shards, ${c.subjects} subjects, ${c.files} files into ${r.run}`,
            );
          }
        },
      ),
    );
}
