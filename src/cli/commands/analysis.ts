/**
 * Analysis commands: `mriseq rank` (contribution ranking from a metrics table) and
 * `mriseq compare` (PSNR/SSIM/MAE of one NIfTI against another).
 */
import type { Command } from 'commander';
import { formatRanking, rankSequences, type SequenceRanking } from '../../analysis/index.js';
import { readEvaluationCsv } from '../../analysis/node.js';
import { MriseqError } from '../../errors/index.js';

function intOption(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new MriseqError('not a non-negative integer', {
      field: name,
      found: v,
      expected: 'an integer >= 0',
      code: 'cli.option',
    });
  return n;
}

/** The JSON form of a ranking: per sequence C_t, C_d, their CIs and ranks, plus the matrix A. */
export function rankingJson(r: SequenceRanking): Record<string, unknown> {
  return {
    sequences: r.sequences.map((s) => ({
      sequence: s.sequence,
      C_t: s.C_t,
      C_t_ci: s.C_t_ci,
      C_d: s.C_d,
      C_d_ci: s.C_d_ci,
      rank: s.rank,
      rank_t: s.rank_t,
      p_first: s.p_first,
    })),
    order: r.order,
    metrics: r.matrix.metrics,
    A: {
      rows: 'source',
      columns: 'target',
      sequences: r.matrix.sequences,
      values: r.matrix.A.map((l) => l.map((v) => (Number.isNaN(v) ? null : v))),
    },
    subjects: r.subjects,
    resamples: r.resamples,
    seed: r.seed,
    level: r.level,
  };
}

export function registerAnalysis(program: Command): void {
  program
    .command('rank')
    .description(
      'rank sequences by contribution: C_d (unique information, high first) and C_t (value as a source), with bootstrap CIs over subjects',
    )
    .requiredOption(
      '--metrics <csv>',
      'evaluation table: columns subject,source,target,psnr,ssim[,mae][,lpips]',
    )
    .option(
      '--use <metrics>',
      'comma-separated metric columns (default: psnr,ssim plus mae/lpips when present)',
    )
    .option('--resamples <n>', 'bootstrap resamples over subjects', '1000')
    .option('--seed <n>', 'bootstrap seed', '0')
    .option('--json', 'print one JSON object')
    .action((opts: { metrics: string; use?: string; resamples: string; seed: string; json?: boolean }) => {
      const rows = readEvaluationCsv(opts.metrics);
      const metrics = opts.use?.split(',').map((s) => s.trim().toLowerCase());
      if (metrics)
        for (const m of metrics)
          if (!rows.every((r) => typeof r[m] === 'number'))
            throw new MriseqError(`metric column "${m}" is missing or not numeric in every row`, {
              file: opts.metrics,
              field: '--use',
              found: m,
              code: 'cli.option',
            });
      const r = rankSequences(rows, {
        metrics,
        resamples: intOption(opts.resamples, '--resamples'),
        seed: intOption(opts.seed, '--seed'),
      });
      console.log(opts.json ? JSON.stringify(rankingJson(r)) : formatRanking(r));
    });
}
