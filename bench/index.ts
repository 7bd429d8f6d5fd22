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
 *     synchronous) and tidy its tensors. The runner times
 *     `ctx.warm` untimed then `ctx.reps` timed steps (or `reps[backend]`; 0 skips that backend) and
 *     reports the median. `torch(ctx)` returns PyTorch's median ms for the same work (see
 *     bench/torch.ts and bench/torch/conv.py; run it with `ctx.threads` threads), and the table
 *     shows each backend's ratio to it;
 *   - or a CustomWorkload `{ name, description?, run(ctx) }` that measures itself and resolves to
 *     `{ summary: string, ...numbers }`, printed as its own line and included in the JSON.
 * Modules are imported in file-name order; a module that fails to load or a workload that throws
 * is reported and the others still run.
 */
import { readdirSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { engineReport, initEngine, setEngineAdapter, tf } from '../src/engine/index.js';
import { nodeEngineAdapter } from '../src/engine/node.js';
import { torchMissing } from './torch.js';

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
  torch?: (ctx: BenchContext) => Promise<number | undefined>;
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface TensorRow {
  name: string;
  description?: string;
  ms: Record<string, number | null>;
  torchMs: number | null;
  ratio: Record<string, number | null>;
  notes: string[];
}

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
        ratio: {},
        notes: [],
      };
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
          for (let i = 0; i < Math.min(base.warm, reps); i++) await s.step();
          const t: number[] = [];
          for (let i = 0; i < reps; i++) {
            const t0 = performance.now();
            await s.step();
            t.push(performance.now() - t0);
          }
          row.ms[b] = median(t);
        } catch (e) {
          row.ms[b] = null;
          row.notes.push(`${b}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
        } finally {
          s?.dispose();
        }
      }
      if (w.torch && !noTorch) {
        log(`${w.name} on PyTorch`);
        try {
          row.torchMs = (await w.torch({ ...base, backend: 'torch' })) ?? null;
        } catch (e) {
          row.notes.push(`torch: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      for (const [b, ms] of Object.entries(row.ms))
        row.ratio[b] = ms !== null && row.torchMs ? ms / row.torchMs : null;
      rows.push(row);
    }
  }

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
      JSON.stringify({ machine, engines, torch: noTorch ?? 'ok', workloads: rows, custom }, null, 1),
    );
    return;
  }
  const fmt = (ms: number | null, ratio: number | null): string =>
    ms === null
      ? '-'
      : `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)}` + (ratio === null ? '' : ` (${ratio.toFixed(2)}x)`);
  console.log(
    `mriseq bench: ${machine.cores} cores (${machine.cpu}), load ${machine.loadavg1m}, ${threads} threads everywhere, median of ${base.reps} warm runs`,
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

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
