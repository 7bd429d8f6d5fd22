/**
 * Sweeps and cross-validation folds as array tasks. Node-only.
 *
 * A sweep file is a JSON list of configurations; each is an object of the subcommand's options
 * (`{"name": "small-lr", "lr": 0.0005, "steps": 2000, "amp": true}` becomes
 * `--lr 0.0005 --steps 2000 --amp`; false/null leave the option out; a list repeats it; "name"
 * labels the point). With F folds, task t runs configuration floor(t / F) on fold t mod F
 * (`--fold k/F`); without a sweep file, the tasks are the F folds of the one command. Every task
 * writes to `RUN/points/<label>/` (its own run folder: `--out` is added), where the command
 * leaves a JSON file with its validation metric (default: train's summary.json, bestPsnr, higher
 * is better). The merge averages the metric over the folds of each configuration, writes
 * `RUN/sweep-results.csv` and `RUN/best.json` (the best configuration by its fold mean, and the
 * best single fold run of it, `bestRun`, whose folder holds the weights), and names points that
 * produced no metric.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MriseqError } from '../errors/index.js';
import { writeFileAtomicSync } from '../reliability/node.js';
import { formatCsv } from '../csv/index.js';

export type SweepValue = string | number | boolean | null | (string | number)[];
export type SweepConfig = { name?: string } & Record<string, SweepValue | undefined>;

/** RUN/slurm/sweep.json: what a sweep task needs to know which point it is. */
export interface SweepPlan {
  format: 'mriseq-sweep/1';
  run: string;
  command: string[];
  configs: SweepConfig[];
  folds: number;
  metricFile: string;
  metric: string;
  mode: 'min' | 'max';
}

export interface SweepPoint {
  task: number;
  config: number;
  fold?: number;
  label: string;
  args: string[];
}

export function readSweepFile(file: string): SweepConfig[] {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new MriseqError('unreadable sweep file', {
      file,
      expected: 'a JSON list of configurations',
      code: 'scale.sweep',
      cause: e,
    });
  }
  if (!Array.isArray(v) || v.length === 0) {
    throw new MriseqError('not a sweep file', {
      file,
      found: Array.isArray(v) ? 'an empty list' : typeof v,
      expected: 'a non-empty JSON list of objects',
      code: 'scale.sweep',
    });
  }
  v.forEach((c: unknown, i) => {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) {
      throw new MriseqError('a configuration must be an object of options', {
        file,
        field: `[${i}]`,
        found: JSON.stringify(c),
        code: 'scale.sweep',
      });
    }
    for (const [k, x] of Object.entries(c)) {
      const ok =
        ['string', 'number', 'boolean'].includes(typeof x) ||
        x === null ||
        (Array.isArray(x) && x.every((y) => typeof y === 'string' || typeof y === 'number'));
      if (!ok || !/^[A-Za-z][A-Za-z0-9-]*$/.test(k)) {
        throw new MriseqError('unusable option in a configuration', {
          file,
          field: `[${i}].${k}`,
          found: JSON.stringify(x),
          expected: 'an option name with a string, number, boolean, null or list value',
          code: 'scale.sweep',
        });
      }
    }
  });
  return v as SweepConfig[];
}

/** Command-line options for one configuration. */
export function configArgs(c: SweepConfig): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(c)) {
    if (k === 'name' || v === undefined || v === null || v === false) continue;
    const flag = `--${k}`;
    if (v === true) out.push(flag);
    else if (Array.isArray(v)) for (const x of v) out.push(flag, String(x));
    else out.push(flag, String(v));
  }
  return out;
}

function label(configs: SweepConfig[], ci: number): string {
  const name = configs[ci].name;
  const safe = name && /^[A-Za-z0-9._-]+$/.test(name) ? name : `config-${ci}`;
  return configs.length === 1 && !name ? 'run' : safe;
}

/** Every array task of a sweep (configs x folds). */
export function sweepPoints(plan: Pick<SweepPlan, 'configs' | 'folds' | 'run' | 'command'>): SweepPoint[] {
  const points: SweepPoint[] = [];
  const f = Math.max(plan.folds, 1);
  for (let ci = 0; ci < plan.configs.length; ci++) {
    for (let k = 0; k < f; k++) {
      const base = label(plan.configs, ci);
      const lab = plan.folds > 1 ? `${base}-fold-${k}-of-${plan.folds}` : base;
      const args = [...plan.command, ...configArgs(plan.configs[ci])];
      if (plan.folds > 1) args.push('--fold', `${k}/${plan.folds}`);
      args.push('--out', join(resolve(plan.run), 'points', lab));
      // a retried point (a task that timed out) continues its own run: a fresh train refuses a
      // folder that holds one, and on an empty folder --resume starts afresh
      if (plan.command[0] === 'train' && !args.includes('--resume')) args.push('--resume');
      points.push({ task: ci * f + k, config: ci, fold: plan.folds > 1 ? k : undefined, label: lab, args });
    }
  }
  const labels = new Set(points.map((p) => p.label));
  if (labels.size !== points.length) {
    throw new MriseqError('two configurations have the same name', {
      field: 'name',
      expected: 'unique names',
      code: 'scale.sweep',
    });
  }
  return points;
}

export function readSweepPlan(run: string): SweepPlan {
  const file = join(resolve(run), 'slurm', 'sweep.json');
  if (!existsSync(file))
    throw new MriseqError('not a sweep run', {
      file,
      expected: 'written by mriseq slurm submit --sweep/--folds',
      code: 'scale.sweep',
    });
  return JSON.parse(readFileSync(file, 'utf8')) as SweepPlan;
}

export function writeSweepPlan(plan: SweepPlan): void {
  writeFileAtomicSync(join(resolve(plan.run), 'slurm', 'sweep.json'), JSON.stringify(plan, null, 1) + '\n');
}

function pick(obj: unknown, path: string): number | undefined {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return typeof cur === 'number' && Number.isFinite(cur) ? cur : undefined;
}

export interface SweepResult {
  config: number;
  name: string;
  args: string[];
  /** The metric of each fold (one value without folds). */
  values: number[];
  mean: number;
}

/** One array task's run folder and its metric. */
export interface SweepRun {
  label: string;
  config: number;
  fold?: number;
  value: number;
  /** The run folder (RUN/points/<label>): its weights are the ones to use or to evaluate. */
  dir: string;
}

export interface SweepReport {
  metric: string;
  mode: 'min' | 'max';
  results: SweepResult[];
  best: SweepResult;
  /** The best single run (fold) of the best configuration. */
  bestRun: SweepRun;
}

/** Reads every point's metric, picks the best configuration, writes sweep-results.csv and best.json. */
export function mergeSweep(run: string): SweepReport {
  const plan = readSweepPlan(run);
  const points = sweepPoints(plan);
  const missing: string[] = [];
  const byConfig = new Map<number, number[]>();
  const runs: SweepRun[] = [];
  for (const p of points) {
    const file = join(resolve(plan.run), 'points', p.label, plan.metricFile);
    let value: number | undefined;
    if (existsSync(file)) {
      try {
        value = pick(JSON.parse(readFileSync(file, 'utf8')), plan.metric);
      } catch {
        value = undefined;
      }
    }
    if (value === undefined) missing.push(`${p.label} (${file})`);
    else {
      byConfig.set(p.config, [...(byConfig.get(p.config) ?? []), value]);
      const dir = join(resolve(plan.run), 'points', p.label);
      runs.push({
        label: p.label,
        config: p.config,
        ...(p.fold !== undefined ? { fold: p.fold } : {}),
        value,
        dir,
      });
    }
  }
  if (missing.length) {
    throw new MriseqError(`no ${plan.metric} from ${missing.length} sweep point(s): ${missing.join(', ')}`, {
      field: plan.metric,
      expected: `a number at ${plan.metric} in each point's ${plan.metricFile}`,
      code: 'scale.sweep.metric',
    });
  }
  const results: SweepResult[] = plan.configs.map((c, ci) => {
    const values = byConfig.get(ci) ?? [];
    return {
      config: ci,
      name: c.name ?? `config-${ci}`,
      args: configArgs(c),
      values,
      mean: values.reduce((a, b) => a + b, 0) / values.length,
    };
  });
  const better = (a: number, b: number): boolean => (plan.mode === 'min' ? a < b : a > b);
  // ties go to the earlier configuration, so the choice is deterministic
  const best = results.reduce((b, r) => (better(r.mean, b.mean) ? r : b));
  const bestRun = runs
    .filter((r) => r.config === best.config)
    .reduce((b, r) => (better(r.value, b.value) ? r : b));
  const folds = Math.max(plan.folds, 1);
  const header = [
    'config',
    'name',
    'args',
    ...Array.from({ length: folds }, (_, k) => (plan.folds > 1 ? `fold_${k}` : plan.metric)),
    'mean',
  ];
  const rows = results.map((r) => [r.config, r.name, r.args.join(' '), ...r.values, r.mean]);
  writeFileAtomicSync(join(plan.run, 'sweep-results.csv'), formatCsv(header, rows));
  const report: SweepReport = { metric: plan.metric, mode: plan.mode, results, best, bestRun };
  writeFileAtomicSync(
    join(plan.run, 'best.json'),
    JSON.stringify({ metric: plan.metric, mode: plan.mode, best, bestRun }, null, 1) + '\n',
  );
  return report;
}
