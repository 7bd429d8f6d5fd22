/**
 * `npm run bench`: times every workload of every `bench/*.bench.ts` module on each available tensor
 * backend and against PyTorch, in one run. `--json` prints one JSON object instead of the table;
 * `--only <text>` keeps workloads whose name contains the text; `--backends a,b` limits the tensor
 * backends timed (default: tensorflow, wasm, cpu).
 *
 * Adding workloads: create `bench/<topic>.bench.ts` exporting
 *
 *   export const workloads: BenchWorkload[] = [...];
 *
 * where each item is either
 *   - a TensorWorkload `{ name, description?, setup(ctx), torch?(ctx), backends?, reps? }`:
 *     `setup` runs with the backend already active and returns `{ step, dispose }`; `step()` must
 *     finish its work (on asynchronous backends read results with dataSync; Node's backends are
 *     synchronous) and tidy its tensors. `torch` names the same work in PyTorch: a Python module
 *     whose `build(case, args)` returns a function running one repetition (bench/torch/conv.py).
 *     The runner warms both sides `ctx.warm` times, then times `ctx.reps` repetitions (or
 *     `reps[backend]`; 0 skips that backend) in turns of up to TURN, each turn followed by one of
 *     PyTorch, and reports the medians and the median of the turns' ratios (bench/alternate.ts);
 *   - or a CustomWorkload `{ name, description?, run(ctx) }` that measures itself and resolves to
 *     `{ summary: string, ...numbers }`, printed as its own line and included in the JSON.
 * Modules are imported in file-name order; a module that fails to load or a workload that throws
 * is reported and the others still run.
 */
import { readdirSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { engineReport, initEngine, setEngineAdapter, tf } from '../src/engine/index.js';
import { relaunchWithAllocator } from '../src/engine/malloc-node.js';
import { nodeEngineAdapter } from '../src/engine/node.js';
import { alternate, median } from './alternate.js';
import { TorchWorker, torchMissing, type TorchCase } from './torch.js';

export interface BenchContext {
  /** Threads for every engine and for PyTorch (MRISEQ_BENCH_THREADS, default 2). */
  threads: number;
  warm: number;
  reps: number;
  /** The backend active during setup/step ('torch' inside torch hooks). */
  backend: string;
}

export interface TensorWorkload {
  name: string;
  description?: string;
  setup(ctx: BenchContext): { step: () => void | Promise<void>; dispose: () => void };
  torch?: TorchCase;
  /** Backends to run on (default: every one that starts). */
  backends?: string[];
  /** Timed repetitions per backend, overriding ctx.reps; 0 skips the backend. */
  reps?: Partial<Record<string, number>>;
}

export interface CustomWorkload {
  name: string;
  description?: string;
  run(ctx: BenchContext): Promise<{ summary: string } & Record<string, unknown>>;
}

export type BenchWorkload = TensorWorkload | CustomWorkload;

const ALL_BACKENDS = ['tensorflow', 'wasm', 'cpu'];

interface TensorRow {
  name: string;
  description?: string;
  /** Median ms per backend. */
  ms: Record<string, number | null>;
  /** PyTorch's median ms in the repetitions paired with the first backend timed. */
  torchMs: number | null;
  /** PyTorch's median ms in the repetitions paired with each backend. */
  torchMsBy: Record<string, number | null>;
  /** Median over the turns of (backend's median ms / PyTorch's median ms in the turn after it). */
  ratio: Record<string, number | null>;
  notes: string[];
}

/** Repetitions per turn and least timed work per turn (bench/alternate.ts says why). */
const TURN = 3;
const TURN_MS = 250;

async function loadModules(
  log: (s: string) => void,
): Promise<{ file: string; workloads: BenchWorkload[] }[]> {
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort();
  const out: { file: string; workloads: BenchWorkload[] }[] = [];
  for (const file of files) {
    try {
      const m = (await import(join(__dirname, file))) as { workloads?: BenchWorkload[] };
      if (!Array.isArray(m.workloads)) throw new Error('exports no `workloads` array');
      out.push({ file, workloads: m.workloads });
    } catch (e) {
      log(`bench/${file}: not loaded (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const backendsArg = args.includes('--backends') ? args[args.indexOf('--backends') + 1] : undefined;
  const BACKENDS = backendsArg
    ? backendsArg.split(',').filter((b) => ALL_BACKENDS.includes(b))
    : ALL_BACKENDS;
  const log = (s: string): void => {
    // Progress goes to stderr so that --json keeps stdout to one object.
    process.stderr.write(s + '\n');
  };
  setEngineAdapter(nodeEngineAdapter);
  const threads = Number(process.env.MRISEQ_BENCH_THREADS ?? 2);
  const base = {
    threads,
    warm: Number(process.env.MRISEQ_BENCH_WARM ?? 2),
    reps: Number(process.env.MRISEQ_BENCH_REPS ?? 9),
  };

  const engines: Record<string, string> = {};
  const available: string[] = [];
  for (const b of BACKENDS) {
    try {
      const r = await initEngine({ backend: b, threads });
      engines[b] = r.summary;
      available.push(b);
    } catch (e) {
      engines[b] = `not available: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  const noTorch = torchMissing();
  const worker = noTorch ? undefined : new TorchWorker(threads);
  const torchInfo = worker ? await worker.info() : undefined;

  const modules = await loadModules(log);
  const rows: TensorRow[] = [];
  const custom: ({ name: string; description?: string } & Record<string, unknown>)[] = [];
  for (const { file, workloads } of modules) {
    for (const w of workloads) {
      if (only && !w.name.includes(only)) continue;
      if ('run' in w) {
        log(`${w.name} (${file})`);
        try {
          const r = await w.run({ ...base, backend: engineReport()?.backend ?? 'none' });
          custom.push({ name: w.name, description: w.description, ...r });
        } catch (e) {
          custom.push({
            name: w.name,
            description: w.description,
            summary: `failed: ${String(e)}`,
            error: String(e),
          });
        }
        continue;
      }
      const row: TensorRow = {
        name: w.name,
        description: w.description,
        ms: {},
        torchMs: null,
        torchMsBy: {},
        ratio: {},
        notes: [],
      };
      let torchReady = false;
      if (w.torch && worker) {
        try {
          await worker.setup(w.torch, base.warm);
          torchReady = true;
        } catch (e) {
          row.notes.push(`torch: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      for (const b of w.backends ?? BACKENDS) {
        const reps = w.reps?.[b] ?? base.reps;
        if (!available.includes(b) || reps === 0) {
          row.ms[b] = null;
          if (reps === 0 && available.includes(b)) row.notes.push(`${b}: skipped (too slow for a bench run)`);
          continue;
        }
        log(`${w.name} on ${b}`);
        await initEngine({ backend: b, threads });
        const ctx = { ...base, backend: b };
        let s: ReturnType<TensorWorkload['setup']> | undefined;
        try {
          s = w.setup(ctx);
          const r = await alternate(() => s!.step(), torchReady ? worker : undefined, {
            reps,
            warm: base.warm,
            turn: TURN,
            turnMs: TURN_MS,
          });
          row.ms[b] = median(r.mine);
          if (r.theirs.length) {
            row.torchMsBy[b] = median(r.theirs);
            row.ratio[b] = median(r.turnRatios);
            row.torchMs ??= row.torchMsBy[b]!;
          }
        } catch (e) {
          row.ms[b] = null;
          row.notes.push(`${b}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
        } finally {
          s?.dispose();
        }
      }
      for (const b of Object.keys(row.ms)) row.ratio[b] ??= null;
      rows.push(row);
    }
  }

  worker?.close();
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    loadavg1m: Number(loadavg()[0]!.toFixed(2)),
    node: process.version,
    tfjs: tf.version_core,
    threads,
    warm: base.warm,
    reps: base.reps,
  };
  if (json) {
    console.log(
      JSON.stringify(
        {
          machine,
          engines,
          torch: noTorch ?? { ...torchInfo, waitPolicy: worker?.waitPolicy },
          pairing: 'alternate',
          workloads: rows,
          custom,
        },
        null,
        1,
      ),
    );
    return;
  }
  const fmt = (ms: number | null, ratio: number | null): string =>
    ms === null
      ? '-'
      : `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)}` + (ratio === null ? '' : ` (${ratio.toFixed(2)}x)`);
  console.log(
    `mriseq bench: ${machine.cores} cores (${machine.cpu}), load ${machine.loadavg1m}, ${threads} threads everywhere; ` +
      `each side in ${Math.ceil(base.reps / TURN)} alternating turns of >= ${TURN} repetitions and >= ${TURN_MS} ms ` +
      "after one untimed; ms = median repetition, ratio = median of the turns' ratios",
  );
  if (torchInfo)
    console.log(
      `  torch: PyTorch ${torchInfo.torch}, ${torchInfo.threads} threads, OpenMP wait policy ${worker!.waitPolicy}, ` +
        `malloc ${torchInfo.malloc ?? '?'}`,
    );
  for (const [b, s] of Object.entries(engines)) console.log(`  ${b}: ${s}`);
  if (noTorch) console.log(`  torch: ${noTorch}`);
  console.log('');
  console.log(`| workload | ${BACKENDS.map((b) => `${b} ms (x torch)`).join(' | ')} | PyTorch ms |`);
  console.log(`|---|${BACKENDS.map(() => '---|').join('')}---|`);
  for (const r of rows)
    console.log(
      `| ${r.name} | ${BACKENDS.map((b) => fmt(r.ms[b] ?? null, r.ratio[b] ?? null)).join(' | ')} | ${fmt(r.torchMs, null)} |`,
    );
  const notes = rows.flatMap((r) => r.notes.map((n) => `${r.name}: ${n}`));
  if (notes.length) console.log('\n' + notes.map((n) => `note: ${n}`).join('\n'));
  for (const c of custom) console.log(`\n${c.name}: ${String(c.summary)}`);
}

// mriseq's own processes run on jemalloc by default (src/engine/malloc-node.ts), which only a
// process's start can give: this one starts once more with it, as the CLI does.
if (!relaunchWithAllocator())
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
