/**
 * The small trained setup that the per-subject command tests (evaluate, maps, generate; sharded,
 * killed, scheduled) start from: a phantom cohort written by `mriseq simulate` and a generator
 * trained one step on it by `mriseq train`, both run in this process. 16x16x8 voxels and a 16 px
 * crop are the smallest the lite generator takes, so the setup costs seconds; the tests compare
 * outputs of the same model with each other, never with trained quality.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './cli.js';

export interface PhantomRun {
  /** The folder `mriseq simulate` wrote. */
  data: string;
  /** Its manifest.csv. */
  manifest: string;
  /** The folder of the one-step training run (the `--run` of evaluate, maps, generate). */
  model: string;
}

export interface PhantomRunOptions {
  subjects: number;
  /** false: `--no-split` (every subject in one pool, no split column). Default true. */
  split?: boolean;
}

/** Runs `mriseq args` in this process; fails the test with the command and its stderr unless it exits 0. */
export async function cliOk(args: string[]): Promise<string> {
  const r = await runCli(args);
  assert.equal(r.code, 0, `mriseq ${args.join(' ')}\n${r.err}`);
  return r.out;
}

/** Where makePhantomRun(dir) puts its cohort and model (known before the setup has run). */
export function phantomRunPaths(dir: string): PhantomRun {
  const data = join(dir, 'data');
  return { data, manifest: join(data, 'manifest.csv'), model: join(dir, 'model') };
}

/** `mriseq train` for one step on a manifest's training subjects into `out`, JSON progress. */
export function trainArgs(manifest: string, out: string): string[] {
  return ['train', '--manifest', manifest, '--steps', '1', '--crop', '16', '--out', out, '--json'];
}

/** `mriseq evaluate` of `run` over every subject of `manifest` (all splits), writing table `out`. */
export function evaluateArgs(
  run: string,
  manifest: string,
  out: string,
  sequences: string[] = ['t1', 't2', 'flair'],
): string[] {
  return [
    'evaluate',
    '--run',
    run,
    '--manifest',
    manifest,
    '--out',
    out,
    '--split',
    'all',
    '--sequences',
    sequences.join(','),
  ];
}

/** Simulates `subjects` phantom subjects (seed 5) under dir and trains a generator one step on them. */
export async function makePhantomRun(dir: string, options: PhantomRunOptions): Promise<PhantomRun> {
  const paths = phantomRunPaths(dir);
  await cliOk([
    'simulate',
    '--out',
    paths.data,
    '--subjects',
    String(options.subjects),
    '--size',
    '16,16,8',
    '--seed',
    '5',
    '--quiet',
    ...(options.split === false ? ['--no-split'] : []),
  ]);
  await cliOk(trainArgs(paths.manifest, paths.model));
  return paths;
}

/**
 * A manifest's rows as {id, split}, read from the CSV text itself (an independent reference for
 * the library's reading: the phantom's ids and splits need no quoting).
 */
export function manifestRows(manifest: string): { id: string; split: string }[] {
  const [head, ...rows] = readFileSync(manifest, 'utf8').trim().split('\n');
  const cols = head.split(',');
  return rows.map((r) => {
    const f = r.split(',');
    return { id: f[cols.indexOf('id')], split: f[cols.indexOf('split')] };
  });
}
