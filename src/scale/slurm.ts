/**
 * SLURM job arrays for sharded mriseq commands: script generation, submission, status, wait,
 * cancel and retry. Node-only (child_process). Talks to the real scheduler through its clients
 * (sbatch, squeue, scontrol, scancel, sacct); there is no home-made scheduler here.
 *
 * Why polling and not `sbatch --wait`: for an array it reports only the highest task exit code,
 * for a merge cancelled by a failed dependency it reports 0, and it polls slowly.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MriseqError } from '../errors/index.js';
import { PARTS_DIR } from './layout.js';
import { writeFileAtomicSync } from '../reliability/node.js';
import { sweepPoints, writeSweepPlan, type SweepConfig, type SweepPlan } from './sweep.js';

export const SLURM_RECORD = 'slurm.json';
export const SLURM_RECORD_FORMAT = 'mriseq-slurm/1';
const SWEEP_PLAN_FILE = join('slurm', 'sweep.json');

/** Resources and pass-through options for every task of the array (the merge gets defaults). */
export interface SlurmResources {
  partition?: string;
  /** Wall time per task, SLURM syntax (e.g. "01:00:00"). */
  time?: string;
  /** Memory per task, SLURM syntax (e.g. "4G"). */
  mem?: string;
  cpus?: number;
  gpus?: number;
  /** Extra sbatch options, passed through verbatim (e.g. "--account=lab", "--qos=short"). */
  sbatchArgs?: string[];
}

/**
 * Options of {@link submit} and {@link submitRun}: the command to shard plus SLURM resources.
 *
 * @example
 * ```ts
 * import { type SubmitOptions } from 'mriseq';
 * const o: SubmitOptions = { run: 'runs/sim', command: ['simulate', '--out', 'runs/sim', '--subjects', '20000'], shards: 50, maxParallel: 10 };
 * console.log(o.shards);
 * ```
 */
export interface SubmitOptions extends SlurmResources {
  /** The run folder: scripts, logs, slurm.json and (by convention) the parts go here. */
  run: string;
  /** The mriseq subcommand and its arguments, e.g. ['simulate', '--out', 'RUN', '--subjects', '100']. */
  command: string[];
  /** Number of shards (array tasks). Default 1. */
  shards?: number;
  /** At most this many tasks at once (%K). Default: all. */
  maxParallel?: number;
  /** Write and return the scripts without submitting. */
  dryRun?: boolean;
  /**
   * How a task starts mriseq (default: this Node and this checkout's bin/mriseq.js, or tsx and
   * src/cli/main.ts when running from source). E.g. ['apptainer', 'exec', 'mriseq.sif', 'mriseq'].
   */
  launcher?: string[];
  /** Submit a merge job (default true). */
  merge?: boolean;
  /** Working directory of the tasks (default: the current one, so relative paths keep meaning). */
  cwd?: string;
  /**
   * A sweep: one array task per configuration (x fold), each in RUN/points/<label>; the merge
   * picks the best by `metric`. Replaces sharding (no --shard is added).
   */
  sweep?: SweepConfig[];
  /** Cross-validation folds: tasks add `--fold k/F` (with or without a sweep). */
  folds?: number;
  /** JSON file in each point's folder holding the validation metric (default summary.json). */
  metricFile?: string;
  /** Dotted path of the metric in that file (default bestPsnr). */
  metric?: string;
  /** Whether lower or higher is better (default max). */
  mode?: 'min' | 'max';
}

export interface Submission {
  arrayJobId: string;
  mergeJobId?: string;
  /** The shard indices this submission ran. */
  shards: number[];
  submittedAt: string;
}

/** RUN/slurm.json. */
export interface SlurmRecord {
  format: typeof SLURM_RECORD_FORMAT;
  run: string;
  cwd: string;
  command: string[];
  shards: number;
  maxParallel: number;
  resources: SlurmResources;
  taskScript: string;
  mergeScript?: string;
  /** Log file pattern; %a is the shard, %A the array job id. */
  logPattern: string;
  submissions: Submission[];
}

export type ShardState =
  | 'PENDING'
  | 'RUNNING'
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELLED'
  | 'TIMEOUT'
  | 'OUT_OF_MEMORY'
  | 'NODE_FAIL'
  | 'UNKNOWN'
  | string;

/**
 * One shard's latest attempt.
 *
 * @example
 * ```ts
 * import { runStatus, type ShardStatus } from 'mriseq';
 * const failed: ShardStatus[] = (await runStatus('runs/sim')).failed;
 * failed.forEach((f) => console.log(f.shard, f.jobId, f.reason, f.log));
 * ```
 */
export interface ShardStatus {
  shard: number;
  state: ShardState;
  jobId: string;
  reason?: string;
  log: string;
}

/**
 * What {@link runStatus} and {@link waitRun} report about a run.
 *
 * @example
 * ```ts
 * import { runStatus, type RunStatus } from 'mriseq';
 * const s: RunStatus = await runStatus('runs/sim');
 * console.log(s.done, s.ok, s.merge?.state);
 * ```
 */
export interface RunStatus {
  run: string;
  command: string[];
  shards: ShardStatus[];
  merge?: { jobId: string; state: ShardState; reason?: string; log: string };
  counts: Record<string, number>;
  /** No job of this run is pending or running. */
  done: boolean;
  failed: ShardStatus[];
  ok: boolean;
}

const TERMINAL = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'SPECIAL_EXIT',
  'REVOKED',
]);
export function isTerminal(state: ShardState): boolean {
  return TERMINAL.has(state);
}
export function isFailure(state: ShardState): boolean {
  return isTerminal(state) && state !== 'COMPLETED';
}

// ---- running the SLURM clients -----------------------------------------------------------------

export interface Exec {
  (cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

export const execSlurm: Exec = (cmd, args) =>
  new Promise((res) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      if (e && e.code === 'ENOENT') {
        res({
          code: 127,
          stdout: '',
          stderr: `${cmd}: command not found (is SLURM installed on this machine?)`,
        });
        return;
      }
      res({
        code: e ? (typeof e.code === 'number' ? e.code : 1) : 0,
        stdout: String(stdout),
        stderr: String(stderr),
      });
    });
  });

async function mustRun(exec: Exec, cmd: string, args: string[]): Promise<string> {
  const r = await exec(cmd, args);
  if (r.code !== 0) {
    throw new MriseqError(`${cmd} failed`, {
      field: [cmd, ...args].join(' '),
      found: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ') || `exit ${r.code}`,
      code: 'scale.slurm',
    });
  }
  return r.stdout;
}

// ---- scripts -----------------------------------------------------------------------------------

/** POSIX shell single-quoting. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * One argument of an `#SBATCH` line as sbatch reads it (src/sbatch/opt.c, _get_argument):
 * whitespace separates arguments and an unquoted `#` starts a comment, except inside double
 * quotes, where `\"` and `\\` stand for themselves.
 */
export function sbatchArg(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * Refuses a value that would reach a generated script with a control character: a newline ends
 * a `#SBATCH` line or a comment and would run the rest as a command; no quoting makes `#SBATCH`
 * lines safe from it, and no path or option needs one.
 */
export function scriptSafe(value: string, field: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this looks for
  const m = /[\u0000-\u001f\u007f]/.exec(value);
  if (m)
    throw new MriseqError('a control character cannot go into a job script', {
      field,
      found: `${JSON.stringify(value)} (character ${JSON.stringify(m[0])} at ${m.index})`,
      expected: 'text without newlines, tabs or other control characters',
      code: 'scale.submit.unsafe',
    });
  return value;
}

function projectRoot(): string {
  // src/scale or dist/scale: the checkout is two levels up
  return resolve(__dirname, '..', '..');
}

/** How a task starts the same mriseq as the one submitting. */
export function defaultLauncher(): string[] {
  const root = projectRoot();
  if (__filename.endsWith('.ts')) {
    return [
      process.execPath,
      '--import',
      join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs'),
      join(root, 'src', 'cli', 'main.ts'),
    ];
  }
  return [process.execPath, join(root, 'bin', 'mriseq.js')];
}

/** The lines that give a task the submitter's Node, the project's venv and engine settings. */
function environmentLines(): string[] {
  const root = projectRoot();
  const lines = [`export PATH=${shq(dirname(process.execPath))}:"$PATH"`];
  const venv = join(root, '.venv');
  if (existsSync(join(venv, 'bin'))) {
    lines.push(`export VIRTUAL_ENV=${shq(venv)}`, `export PATH="$VIRTUAL_ENV/bin:$PATH"`);
  }
  // Engine choice, TensorFlow's logging and library paths as the submitter has them. Not
  // CUDA_VISIBLE_DEVICES: SLURM sets that per task from --gpus.
  const keys = Object.keys(process.env)
    .filter(
      (k) =>
        /^(MRISEQ_|TF_(CPP|ENABLE|FORCE|GPU|NUM|XLA|INTRA|INTER|DETERMINISTIC|USE))/.test(k) ||
        k === 'LD_LIBRARY_PATH',
    )
    .sort();
  if (!keys.includes('TF_CPP_MIN_LOG_LEVEL'))
    lines.push('export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"');
  for (const k of keys) lines.push(`export ${k}=${shq(process.env[k] ?? '')}`);
  // TensorFlow and BLAS should use the CPUs SLURM gave the task, not every core of the node.
  lines.push('if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK; fi');
  return lines;
}

function directives(name: string, res: SlurmResources, log: string, extra: string[] = []): string[] {
  const d = [`--job-name=${name}`, `--output=${log}`, ...extra];
  if (res.partition) d.push(`--partition=${res.partition}`);
  if (res.time) d.push(`--time=${res.time}`);
  if (res.mem) d.push(`--mem=${res.mem}`);
  if (res.cpus) d.push(`--cpus-per-task=${res.cpus}`);
  if (res.gpus) d.push(`--gpus=${res.gpus}`);
  for (const a of res.sbatchArgs ?? []) d.push(a);
  // each directive one sbatch argument, whatever spaces, quotes or '#' the value holds
  return d.map((x) => `#SBATCH ${sbatchArg(scriptSafe(x, 'sbatch option'))}`);
}

/** The command's name in part folders: the subcommand ('selftest' for `slurm selftest`). */
export function subcommandName(command: string[]): string {
  const name = (command[0] === 'slurm' ? command[1] : command[0]) ?? '';
  if (!/^[a-z][a-z0-9-]*$/.test(name)) {
    throw new MriseqError('not an mriseq subcommand', {
      field: 'SUBCOMMAND',
      found: JSON.stringify(name),
      expected: 'e.g. simulate, evaluate (given after --)',
      code: 'scale.submit.command',
    });
  }
  return name;
}

export interface SlurmScripts {
  taskScript: string;
  taskText: string;
  mergeScript?: string;
  mergeText?: string;
  logPattern: string;
}

/** Builds (does not write) the array and merge scripts for `opts`. */
export function buildScripts(
  opts: SubmitOptions,
): SlurmScripts & { record: Omit<SlurmRecord, 'submissions'>; plan?: SweepPlan } {
  const run = scriptSafe(resolve(opts.run), '--run');
  const cwd = scriptSafe(resolve(opts.cwd ?? process.cwd()), 'working directory');
  opts.command.forEach((a, i) => scriptSafe(a, `SUBCOMMAND argument ${i + 1}`));
  opts.launcher?.forEach((a, i) => scriptSafe(a, `launcher argument ${i + 1}`));
  const name = subcommandName(opts.command);
  const sweeping = opts.sweep !== undefined || (opts.folds ?? 0) > 1;
  const plan: SweepPlan | undefined = sweeping
    ? {
        format: 'mriseq-sweep/1',
        run,
        command: [...opts.command],
        configs: opts.sweep ?? [{}],
        folds: opts.folds ?? 0,
        metricFile: opts.metricFile ?? 'summary.json',
        metric: opts.metric ?? 'bestPsnr',
        mode: opts.mode ?? 'max',
      }
    : undefined;
  if (plan && opts.command.includes('--out')) {
    throw new MriseqError('a sweep sets --out itself', {
      field: '--out',
      expected: 'no --out: each point writes to RUN/points/<label>',
      code: 'scale.submit.out',
    });
  }
  const points = plan ? sweepPoints(plan) : undefined;
  const n = points ? points.length : (opts.shards ?? 1);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new MriseqError('shard count must be a positive integer', {
      field: '--shards',
      found: String(opts.shards),
      code: 'scale.submit',
    });
  }
  const k = Math.min(opts.maxParallel ?? n, n);
  if (!Number.isSafeInteger(k) || k < 1) {
    throw new MriseqError('--max-parallel must be a positive integer', {
      field: '--max-parallel',
      found: String(opts.maxParallel),
      code: 'scale.submit',
    });
  }
  if (opts.command.includes('--shard')) {
    throw new MriseqError('the subcommand must not carry its own --shard', {
      field: 'SUBCOMMAND ARGS',
      expected: 'no --shard: each array task adds --shard $SLURM_ARRAY_TASK_ID/N',
      code: 'scale.submit.command',
    });
  }
  const outAt = opts.command.indexOf('--out');
  const outPath =
    outAt >= 0 && opts.command[outAt + 1] !== undefined ? resolve(cwd, opts.command[outAt + 1]) : undefined;
  // --out is the run folder, or a file directly in it (a table such as evaluate's, whose parts
  // go to RUN/parts): anything deeper would put the parts where the merge of RUN never looks
  if (!plan && outPath !== undefined && outPath !== run && dirname(outPath) !== run) {
    throw new MriseqError('the subcommand writes somewhere else than the run folder', {
      field: '--out',
      found: outPath,
      expected: `${run} or a file directly in it (the --run folder, whose parts the merge reads)`,
      code: 'scale.submit.out',
    });
  }
  const launcher = opts.launcher ?? defaultLauncher();
  const slurmDir = join(run, 'slurm');
  const logPattern = join(slurmDir, 'logs', `${name}-%a.%A.log`);
  const resources: SlurmResources = {
    partition: opts.partition,
    time: opts.time,
    mem: opts.mem,
    cpus: opts.cpus,
    gpus: opts.gpus,
    sbatchArgs: opts.sbatchArgs ?? [],
  };
  const header = (what: string): string[] => [
    '#!/bin/bash',
    `# ${what}, written by \`mriseq slurm submit\`. Tasks need the same shared filesystem as ${shq(cwd)}.`,
  ];
  const env = environmentLines();
  const taskText = [
    ...header(`Array job: ${n} shard(s) of \`mriseq ${name}\``),
    ...directives(`mriseq-${name}`, resources, logPattern, [`--array=0-${n - 1}%${k}`]),
    'set -euo pipefail',
    ...env,
    `cd ${shq(cwd)}`,
    'I=$SLURM_ARRAY_TASK_ID',
    ...(plan
      ? [
          `echo "[mriseq] sweep point $I of ${n} (${name}) on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ), job $SLURM_ARRAY_JOB_ID"`,
          `exec ${[...launcher, 'slurm', 'sweep-task', run].map(shq).join(' ')} "$I"`,
        ]
      : [
          // a retried shard starts from an empty part, so no file of the failed attempt survives
          `PART=${shq(join(run, PARTS_DIR, `${name}-`))}"$I"${shq(`-of-${n}`)}`,
          'rm -rf "$PART"',
          `echo "[mriseq] shard $I/${n} of ${name} on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ), job $SLURM_ARRAY_JOB_ID"`,
          `exec ${[...launcher, ...opts.command].map(shq).join(' ')} --shard "$I/${n}"`,
        ]),
    '',
  ].join('\n');
  const mergeLog = join(slurmDir, 'logs', `merge-${name}.%j.log`);
  const mergeText = [
    ...header(`Merge of the ${n} part(s) of \`mriseq ${name}\``),
    ...directives(
      `mriseq-merge-${name}`,
      { partition: opts.partition, time: opts.time, sbatchArgs: opts.sbatchArgs },
      mergeLog,
    ),
    'set -euo pipefail',
    ...env,
    `cd ${shq(cwd)}`,
    `echo "[mriseq] merging ${name} on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"`,
    `exec ${[...launcher, 'merge', run, ...(plan ? ['--sweep'] : ['--command', name, '--shards', String(n)])].map(shq).join(' ')}`,
    '',
  ].join('\n');
  const taskScript = join(slurmDir, `${name}.array.sbatch`);
  const mergeScript = opts.merge === false ? undefined : join(slurmDir, `${name}.merge.sbatch`);
  return {
    taskScript,
    taskText,
    mergeScript,
    mergeText: mergeScript ? mergeText : undefined,
    logPattern,
    plan,
    record: {
      format: SLURM_RECORD_FORMAT,
      run,
      cwd,
      command: [...opts.command],
      shards: n,
      maxParallel: k,
      resources,
      taskScript,
      mergeScript,
      logPattern,
    },
  };
}

function parseJobId(out: string, what: string): string {
  const id = out.trim().split('\n').pop()?.split(';')[0]?.trim() ?? '';
  if (!/^\d+$/.test(id)) {
    throw new MriseqError(`sbatch --parsable gave no job id for the ${what}`, {
      found: JSON.stringify(out.trim()),
      code: 'scale.slurm',
    });
  }
  return id;
}

/** Compresses shard indices into SLURM's array syntax: [0,1,2,5] -> "0-2,5". */
export function arraySpec(indices: number[]): string {
  const s = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

async function submitJobs(record: SlurmRecord, shards: number[], exec: Exec): Promise<Submission> {
  const k = Math.min(record.maxParallel, shards.length);
  const arrayOut = await mustRun(exec, 'sbatch', [
    '--parsable',
    `--array=${arraySpec(shards)}%${k}`,
    record.taskScript,
  ]);
  const arrayJobId = parseJobId(arrayOut, 'array');
  let mergeJobId: string | undefined;
  if (record.mergeScript) {
    try {
      const mergeOut = await mustRun(exec, 'sbatch', [
        '--parsable',
        `--dependency=afterok:${arrayJobId}`,
        // without it a failed shard leaves the merge PENDING forever (DependencyNeverSatisfied)
        '--kill-on-invalid-dep=yes',
        record.mergeScript,
      ]);
      mergeJobId = parseJobId(mergeOut, 'merge');
    } catch (e) {
      await exec('scancel', [arrayJobId]);
      throw e;
    }
  }
  return {
    arrayJobId,
    mergeJobId,
    shards: [...shards].sort((a, b) => a - b),
    submittedAt: new Date().toISOString(),
  };
}

export function readRecord(run: string): SlurmRecord {
  const file = join(resolve(run), SLURM_RECORD);
  if (!existsSync(file)) {
    throw new MriseqError('not a SLURM run folder', {
      file,
      expected: `${SLURM_RECORD} written by mriseq slurm submit`,
      code: 'scale.record',
    });
  }
  const r = JSON.parse(readFileSync(file, 'utf8')) as SlurmRecord;
  if (r.format !== SLURM_RECORD_FORMAT) {
    throw new MriseqError('unknown SLURM record format', {
      file,
      field: 'format',
      found: String(r.format),
      expected: SLURM_RECORD_FORMAT,
      code: 'scale.record',
    });
  }
  return r;
}

function writeRecord(r: SlurmRecord): void {
  writeFileAtomicSync(join(r.run, SLURM_RECORD), JSON.stringify(r, null, 1) + '\n');
}

export interface SubmitResult {
  record: SlurmRecord;
  scripts: SlurmScripts;
  submitted: boolean;
}

/**
 * Writes the scripts into RUN/slurm, submits the array and the merge, records the job ids.
 * @param opts - {@link SubmitOptions}.
 * @param exec - Runner of SLURM commands (default: the real ones).
 * @returns The run's record (scripts written, job ids).
 * @throws {@link MriseqError} when the run still has jobs queued or running, or a SLURM command fails.
 * @example
 * ```ts
 * import { submitRun } from 'mriseq';
 * const r = await submitRun({ run: 'runs/eval', command: ['evaluate', '--out', 'runs/eval'], shards: 4, dryRun: true });
 * console.log(r);
 * ```
 */
export async function submitRun(opts: SubmitOptions, exec: Exec = execSlurm): Promise<SubmitResult> {
  const built = buildScripts(opts);
  const scripts: SlurmScripts = {
    taskScript: built.taskScript,
    taskText: built.taskText,
    mergeScript: built.mergeScript,
    mergeText: built.mergeText,
    logPattern: built.logPattern,
  };
  const record: SlurmRecord = { ...built.record, submissions: [] };
  if (opts.dryRun) return { record, scripts, submitted: false };
  const prev = existsSync(join(record.run, SLURM_RECORD)) ? readRecord(record.run) : undefined;
  if (prev) {
    const st = await runStatus(record.run, exec);
    if (!st.done) {
      throw new MriseqError('this run still has jobs queued or running', {
        file: join(record.run, SLURM_RECORD),
        expected: 'mriseq slurm wait/cancel RUN first, or another --run folder',
        code: 'scale.submit.busy',
      });
    }
  }
  mkdirSync(join(record.run, 'slurm', 'logs'), { recursive: true });
  writeFileAtomicSync(built.taskScript, built.taskText);
  if (built.mergeScript && built.mergeText) writeFileAtomicSync(built.mergeScript, built.mergeText);
  if (built.plan) writeSweepPlan(built.plan);
  const sub = await submitJobs(record, [...Array(record.shards).keys()], exec);
  record.submissions.push(sub);
  writeRecord(record);
  return { record, scripts, submitted: true };
}

// ---- status ------------------------------------------------------------------------------------

interface JobRow {
  id: string;
  state: string;
  reason: string;
  arrayJob: string;
  task?: number[];
}

function expandTasks(spec: string): number[] | undefined {
  const s = spec.replace(/[[\]]/g, '').replace(/%\d+$/, '');
  if (s === '' || s === 'N/A') return undefined;
  const out: number[] = [];
  for (const piece of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(piece);
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    for (let i = a; i <= b; i += step) out.push(i);
  }
  return out;
}

async function queryJobs(ids: string[], exec: Exec): Promise<JobRow[]> {
  const rows: JobRow[] = [];
  const known = new Set<string>();
  const parse = (out: string): void => {
    for (const line of out.split('\n')) {
      const f = line.trim().split('|');
      if (f.length < 5) continue;
      rows.push({
        id: f[0],
        state: f[1].replace(/\+$/, ''),
        reason: f[2],
        arrayJob: f[3],
        task: expandTasks(f[4]),
      });
      known.add(f[3]);
      known.add(f[0]);
    }
  };
  for (const id of ids) {
    // one id per call: an id the controller has forgotten (MinJobAge) fails the whole call
    const r = await exec('squeue', ['--states=all', '-h', '-o', '%i|%T|%r|%F|%K', '-j', id]);
    if (r.code === 0) parse(r.stdout);
  }
  const forgotten = ids.filter((id) => !known.has(id));
  if (forgotten.length) {
    // accounting, where the cluster has it, remembers jobs the controller has dropped
    const r = await exec('sacct', ['-n', '-P', '-X', '-o', 'JobID,State,Reason', '-j', forgotten.join(',')]);
    if (r.code === 0) {
      for (const line of r.stdout.split('\n')) {
        const [jid, stateRaw, reason] = line.trim().split('|');
        if (!jid) continue;
        const m = /^(\d+)(?:_(\[?[\d,%-]+\]?))?$/.exec(jid);
        if (!m) continue;
        const state = (stateRaw ?? '').split(' ')[0].replace(/\+$/, '');
        rows.push({
          id: jid,
          state,
          reason: reason ?? '',
          arrayJob: m[1],
          task: m[2] ? expandTasks(m[2]) : undefined,
        });
      }
    }
  }
  return rows;
}

function logFor(pattern: string, shard: number, jobId: string): string {
  return pattern.replace(/%a/g, String(shard)).replace(/%A/g, jobId);
}

/** A file only a finished shard leaves: its part marker, or a per-shard table written in place. */
function finishedOutput(record: SlurmRecord, shard: number): string | undefined {
  if (existsSync(join(record.run, SWEEP_PLAN_FILE))) return undefined;
  const name = subcommandName(record.command);
  const marker = join(record.run, PARTS_DIR, `${name}-${shard}-of-${record.shards}`, '_shard.json');
  if (existsSync(marker)) return marker;
  const suffix = `.shard-${shard}-of-${record.shards}.`;
  try {
    const hit = readdirSync(record.run).find((f) => f.includes(suffix));
    return hit ? join(record.run, hit) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The state of every shard (its latest attempt) and of the latest merge.
 * @param run - The run folder.
 * @param exec - Runner of SLURM commands.
 * @returns Every shard's state (latest attempt), the merge's, counts per state, and whether all is done and ok.
 * @throws {@link MriseqError} 'not a SLURM run folder' when the folder holds no submitted run.
 * @example
 * ```ts
 * import { runStatus } from 'mriseq';
 * const s = await runStatus('runs/sim');
 * for (const f of s.failed) console.log(`shard ${f.shard} ${f.state}: see ${f.log}`);
 * ```
 */
export async function runStatus(run: string, exec: Exec = execSlurm): Promise<RunStatus> {
  const record = readRecord(run);
  const latest = new Map<number, string>();
  for (const s of record.submissions) for (const i of s.shards) latest.set(i, s.arrayJobId);
  const last = record.submissions.at(-1);
  const ids = [...new Set([...latest.values(), ...(last?.mergeJobId ? [last.mergeJobId] : [])])];
  const rows = await queryJobs(ids, exec);
  const shards: ShardStatus[] = [];
  for (let i = 0; i < record.shards; i++) {
    const jobId = latest.get(i);
    if (!jobId) continue;
    const row = rows.find((r) => r.arrayJob === jobId && r.task?.includes(i));
    // The controller forgets finished jobs after MinJobAge (300 s by default) and many clusters
    // have no accounting: then a shard's finished output is the evidence that it completed.
    const evidence = row ? undefined : finishedOutput(record, i);
    shards.push({
      shard: i,
      state: row?.state ?? (evidence ? 'COMPLETED' : 'UNKNOWN'),
      jobId,
      reason:
        row && row.reason !== 'None'
          ? row.reason
          : evidence
            ? `job forgotten by SLURM; found ${evidence}`
            : undefined,
      log: logFor(record.logPattern, i, jobId),
    });
  }
  let merge: RunStatus['merge'];
  if (last?.mergeJobId) {
    const row = rows.find((r) => r.id === last.mergeJobId);
    const name = basename(record.taskScript).replace(/\.array\.sbatch$/, '');
    merge = {
      jobId: last.mergeJobId,
      state: row?.state ?? 'UNKNOWN',
      reason: row && row.reason !== 'None' ? row.reason : undefined,
      log: join(record.run, 'slurm', 'logs', `merge-${name}.${last.mergeJobId}.log`),
    };
  }
  const counts: Record<string, number> = {};
  for (const s of shards) counts[s.state] = (counts[s.state] ?? 0) + 1;
  // UNKNOWN (forgotten by the controller, no accounting) counts as done: nothing more will happen
  const active = (st: string): boolean => !isTerminal(st) && st !== 'UNKNOWN';
  const done = shards.every((s) => !active(s.state)) && !(merge && active(merge.state));
  const failed = shards.filter((s) => isFailure(s.state));
  return {
    run: record.run,
    command: record.command,
    shards,
    merge,
    counts,
    done,
    failed,
    ok:
      done &&
      failed.length === 0 &&
      shards.every((s) => s.state === 'COMPLETED') &&
      (!merge || merge.state === 'COMPLETED'),
  };
}

export function formatStatus(s: RunStatus): string {
  const lines = [`run ${s.run}: mriseq ${s.command.join(' ')}`];
  const counts = Object.entries(s.counts)
    .map(([k, v]) => `${v} ${k.toLowerCase()}`)
    .join(', ');
  lines.push(`shards: ${s.shards.length} (${counts || 'none'})`);
  for (const sh of s.shards) {
    if (sh.state !== 'COMPLETED')
      lines.push(`  shard ${sh.shard}: ${sh.state}${sh.reason ? ` (${sh.reason})` : ''}  log ${sh.log}`);
  }
  if (s.merge)
    lines.push(
      `merge: ${s.merge.state}${s.merge.reason ? ` (${s.merge.reason})` : ''}  job ${s.merge.jobId}`,
    );
  return lines.join('\n');
}

// ---- wait, cancel, retry -----------------------------------------------------------------------

export interface WaitOptions {
  /** Seconds between polls (default 2). */
  interval?: number;
  /** scancel everything left at the first failed shard. */
  failFast?: boolean;
  /** Give up after this many seconds (default: never). */
  timeout?: number;
  onProgress?: (s: RunStatus) => void;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((res) => {
    const t = setTimeout(res, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      res();
    });
  });

/**
 * Polls until no job of the run is pending or running. A merge left PENDING with
 * DependencyNeverSatisfied (a scheduler that ignored --kill-on-invalid-dep) is cancelled here.
 * @param run - The run folder.
 * @param opts - `interval` and `timeout` in seconds, `failFast`, `onProgress`, `signal`.
 * @param exec - Runner of SLURM commands.
 * @returns The final {@link RunStatus} (check `ok`).
 * @throws {@link MriseqError} 'gave up waiting' when the timeout passes first.
 * @example
 * ```ts
 * import { waitRun } from 'mriseq';
 * const s = await waitRun('runs/sim', { onProgress: (x) => console.log(x.counts) });
 * console.log(s.ok ? 'merged' : `${s.failed.length} shards failed`);
 * ```
 */
export async function waitRun(
  run: string,
  opts: WaitOptions = {},
  exec: Exec = execSlurm,
): Promise<RunStatus> {
  const t0 = Date.now();
  let cancelled = false;
  for (;;) {
    let s = await runStatus(run, exec);
    opts.onProgress?.(s);
    if (opts.failFast && s.failed.length && !s.done && !cancelled) {
      await cancelRun(run, exec, { wait: false });
      cancelled = true;
    }
    if (
      s.merge?.state === 'PENDING' &&
      s.merge.reason === 'DependencyNeverSatisfied' &&
      s.shards.every((x) => isTerminal(x.state))
    ) {
      await exec('scancel', [s.merge.jobId]);
      s = await runStatus(run, exec);
    }
    if (s.done) return s;
    if (opts.signal?.aborted) return s;
    if (opts.timeout !== undefined && Date.now() - t0 > opts.timeout * 1000) {
      throw new MriseqError('gave up waiting', {
        file: join(resolve(run), SLURM_RECORD),
        found: formatStatus(s),
        code: 'scale.wait.timeout',
      });
    }
    await sleep((opts.interval ?? 2) * 1000, opts.signal);
  }
}

/** The error a failed run gives: names the failed shards and their logs. */
export function failureError(s: RunStatus): MriseqError {
  const shards = s.failed.map((f) => `shard ${f.shard} ${f.state} (log ${f.log})`).join('; ');
  const merge =
    s.merge && s.merge.state !== 'COMPLETED'
      ? `; merge ${s.merge.state}${s.merge.reason ? ` (${s.merge.reason})` : ''}`
      : '';
  return new MriseqError(
    `${s.failed.length} of ${s.shards.length} shard(s) failed: ${shards}${merge}; fix and run mriseq slurm retry ${s.run}`,
    {
      code: 'scale.failed',
    },
  );
}

/**
 * scancels every job of the run (arrays and merges) and, by default, waits until none is left.
 * @param run - The run folder.
 * @param exec - Runner of SLURM commands.
 * @param opts - `wait: false` returns without waiting for the jobs to leave the queue.
 * @returns The status after cancelling.
 * @example
 * ```ts
 * import { cancelRun } from 'mriseq';
 * console.log((await cancelRun('runs/sim')).done);
 * ```
 */
export async function cancelRun(
  run: string,
  exec: Exec = execSlurm,
  opts: { wait?: boolean } = {},
): Promise<RunStatus> {
  const record = readRecord(run);
  const ids = [
    ...new Set(record.submissions.flatMap((s) => [s.arrayJobId, ...(s.mergeJobId ? [s.mergeJobId] : [])])),
  ];
  if (ids.length) await exec('scancel', ids);
  if (opts.wait === false) return runStatus(run, exec);
  for (let i = 0; ; i++) {
    const s = await runStatus(run, exec);
    if (s.done || i > 300) return s;
    await sleep(200);
  }
}

/**
 * Resubmits only the shards whose latest attempt failed (then the merge); a no-op when all completed.
 * @param run - The run folder.
 * @param exec - Runner of SLURM commands.
 * @returns The updated record, the shards resubmitted, and whether anything was submitted.
 * @throws {@link MriseqError} when jobs of the run are still queued or running.
 * @example
 * ```ts
 * import { retryRun } from 'mriseq';
 * const { resubmitted } = await retryRun('runs/sim');
 * console.log('resubmitted shards', resubmitted);
 * ```
 */
export async function retryRun(
  run: string,
  exec: Exec = execSlurm,
): Promise<{ record: SlurmRecord; resubmitted: number[]; submitted: boolean }> {
  const s = await runStatus(run, exec);
  if (!s.done) {
    throw new MriseqError('this run still has jobs queued or running', {
      file: join(s.run, SLURM_RECORD),
      expected: 'mriseq slurm wait RUN (or cancel) before retry',
      code: 'scale.retry.busy',
    });
  }
  const record = readRecord(run);
  const again = s.shards.filter((x) => x.state !== 'COMPLETED').map((x) => x.shard);
  const mergeNeeded =
    record.mergeScript !== undefined && (again.length > 0 || s.merge?.state !== 'COMPLETED');
  if (again.length === 0 && !mergeNeeded) return { record, resubmitted: [], submitted: false };
  let sub: Submission;
  if (again.length) {
    sub = await submitJobs(record, again, exec);
  } else {
    // every shard is done: only the merge has to run again
    const out = await mustRun(exec, 'sbatch', ['--parsable', record.mergeScript as string]);
    const prev = record.submissions.at(-1) as Submission;
    sub = {
      arrayJobId: prev.arrayJobId,
      mergeJobId: parseJobId(out, 'merge'),
      shards: [],
      submittedAt: new Date().toISOString(),
    };
  }
  record.submissions.push(sub);
  writeRecord(record);
  return { record, resubmitted: again, submitted: true };
}
