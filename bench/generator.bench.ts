/**
 * Whole generator training steps (issue 6): the lite preset at 64 and 128 px, batch 1, one
 * source -> one target, three forward passes (translation, self-reconstruction, cycle), one
 * backward pass and Adam, against the same architecture and step in PyTorch
 * (bench/torch_generator.py) in the same run. Each step runs eager (one tfjs op after another)
 * and compiled (the step recorded once as one TensorFlow function, src/train/compiled.ts; the
 * recording happens in the untimed warm-up); MRISEQ_BENCH_XLA=1 adds XLA's CPU JIT on top. Two
 * more rows (issue 29): where a step's time goes (ops, time inside TensorFlow, dispatch share) and
 * its memory against PyTorch's. And the presets' step cost against lite's.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { graphsAvailable, initEngine, tf } from '../src/engine/index.js';
import { allocatorEnv, withoutAllocatorEnv } from '../src/engine/malloc-node.js';
import { createGenerator, type PresetName } from '../src/model/index.js';
import { CompiledStep, FlatAdam, trainingStep } from '../src/train/index.js';
import { median } from './alternate.js';
import type { BenchContext, CustomWorkload, TensorWorkload } from './index.js';
import { TORCH_PYTHON, torchMissing, torchWaitPolicy } from './torch.js';

type Mode = 'eager' | 'compiled' | 'xla';

function stepWorkload(size: number, mode: Mode): TensorWorkload {
  const label = mode === 'eager' ? '' : ` ${mode}`;
  return {
    name: `generator step lite ${size}px${label}`,
    description: `lite Seq2Seq (3,316,416 params), 1x${size}x${size}: 3 forward + 1 backward + Adam (${mode})`,
    // The pure-JS cpu backend takes minutes per step; wasm is timed with few repetitions at 64 px.
    // Compiled steps exist on the native backend only.
    reps: mode === 'eager' ? { cpu: 0, wasm: size <= 64 ? 2 : 0 } : { cpu: 0, wasm: 0 },
    setup: () => stepper('lite', size, mode),
    torch: { module: join(__dirname, 'torch_generator.py'), case: String(size) },
  };
}

/**
 * One default-recipe training step of a preset at size x size (batch 1, c_in channels), eager or
 * compiled.
 */
function stepper(preset: PresetName, size: number, mode: Mode = 'eager') {
  const model = createGenerator(preset, { seed: 0 });
  const c = model.config.cIn;
  const adam = new FlatAdam([...model.variables.values()], [...model.variables.keys()]);
  const xs = tf.randomUniform([1, 1, size, size, c], -1, 1, 'float32', 1);
  const xt = tf.randomUniform([1, 1, size, size, c], -1, 1, 'float32', 2);
  const compiled = mode === 'eager' ? undefined : CompiledStep.create(model, adam, { xla: mode === 'xla' });
  if (mode !== 'eager' && !compiled)
    throw new Error(graphsAvailable() ? 'no native Adam' : 'no graph functions in this binding');
  let t = 0;
  // the default recipe's loss: the structural term on y_t and y_s (as the PyTorch twin)
  const o = { beta1: 0.9, beta2: 0.999, structuralWeight: 0.01, structuralCycle: false };
  const sample = { xs, xt, source: 't1', target: 't2', nts: 1, ntt: 1 };
  return {
    params: model.countParams(),
    step: () => {
      t++;
      if (compiled) compiled.step(t, 2e-4, o, sample);
      else trainingStep(model, adam, t, 2e-4, o, sample);
    },
    dispose: () => {
      compiled?.dispose();
      adam.dispose();
      xs.dispose();
      xt.dispose();
      model.dispose();
    },
  };
}

interface CountingBinding {
  executeOp(...args: unknown[]): unknown;
}

/**
 * Where a step's time goes: the TensorFlow ops it issues through the binding (eager: one per op;
 * compiled: the function call and the Variables' fresh reads), the time spent inside those calls,
 * and the step at 8 px, whose compute is negligible, so that its time is dispatch (the share of
 * dispatch at a size is t(8 px) / t(size)).
 */
const breakdown: CustomWorkload = {
  name: 'generator step breakdown',
  description:
    'TensorFlow ops per step, ms inside TensorFlow, ms at 8 px (dispatch only) and the dispatch share at 64/128 px, eager and compiled',
  async run(ctx: BenchContext) {
    await initEngine({ backend: 'tensorflow', threads: ctx.threads });
    const be = tf.backend() as unknown as { binding: CountingBinding };
    const result: Record<string, Record<string, { ms: number; ops: number; insideMs: number }>> = {};
    for (const mode of ['eager', 'compiled'] as const) {
      result[mode] = {};
      for (const size of [8, 64, 128]) {
        const s = stepper('lite', size, mode);
        try {
          for (let i = 0; i < ctx.warm + 1; i++) s.step();
          const real = be.binding;
          let ops = 0;
          let inside = 0;
          const counting = Object.create(real, {
            executeOp: {
              value: (...args: unknown[]) => {
                ops++;
                const t0 = performance.now();
                try {
                  return real.executeOp(...args);
                } finally {
                  inside += performance.now() - t0;
                }
              },
            },
          }) as CountingBinding;
          const ms: number[] = [];
          const insideMs: number[] = [];
          const n = 5;
          be.binding = counting;
          try {
            for (let i = 0; i < n; i++) {
              inside = 0;
              const t0 = performance.now();
              s.step();
              ms.push(performance.now() - t0);
              insideMs.push(inside);
            }
          } finally {
            be.binding = real;
          }
          // the step with the median time, and its time inside TensorFlow
          const k = ms.indexOf(median(ms.length % 2 ? ms : ms.slice(1)));
          result[mode][size] = { ms: ms[k]!, ops: ops / n, insideMs: insideMs[k]! };
        } finally {
          s.dispose();
        }
      }
    }
    const line = (mode: string) => {
      const r = result[mode]!;
      const share = (size: number) => `${Math.round((100 * r[8]!.ms) / r[size]!.ms)}%`;
      return (
        `${mode}: ${Math.round(r[64]!.ops)} TensorFlow ops per step; 64 px ${r[64]!.ms.toFixed(1)} ms ` +
        `(${r[64]!.insideMs.toFixed(1)} inside TensorFlow), 128 px ${r[128]!.ms.toFixed(1)} ms ` +
        `(${r[128]!.insideMs.toFixed(1)}), 8 px ${r[8]!.ms.toFixed(1)} ms: dispatch ~${share(64)} at 64 px, ~${share(128)} at 128 px`
      );
    };
    return { summary: `\n  ${line('eager')}\n  ${line('compiled')}`, result };
  },
};

/**
 * Memory of training steps: each side in a fresh process (bench/step-memory.ts and
 * bench/torch/step_memory.py), peak resident memory during steps minus resident memory once the
 * library is loaded, the median of MRISEQ_BENCH_MEMORY_RUNS processes each (default 3, taken in
 * turns: resident memory at load varies by 10-20 MB between processes). Rows: mriseq as it runs
 * by default (jemalloc where installed: src/engine/malloc-node.ts), on glibc's malloc, and on glibc
 * giving freed blocks of 64 KiB and more back ("lean": MRISEQ_MALLOC=lean); PyTorch as its users
 * run it (glibc), on the same jemalloc as mriseq, and with lean's thresholds (MALLOC_MMAP_THRESHOLD_
 * / MALLOC_TRIM_THRESHOLD_). The summary adds, per compiled and PyTorch row, the page faults and
 * system ms per step (what giving memory back costs) and, on glibc, the MB malloc has in use above
 * the base and keeps freed after the steps (glibc's counters; jemalloc has its own).
 */
const LEAN_GLIBC = { MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '65536' };
const memory: CustomWorkload = {
  name: 'generator step memory',
  description: 'peak resident memory of lite steps beyond the loaded library, MB (fresh processes)',
  async run(ctx: BenchContext) {
    type M = {
      baseMB: number;
      peakMB: number;
      baseInUseMB?: number;
      inUseMB?: number;
      keptMB?: number;
      faultsPerStep: number;
      sysMsPerStep: number;
      allocator?: string;
    };
    const runs = Number(process.env.MRISEQ_BENCH_MEMORY_RUNS ?? 3);
    const rows: Record<string, Record<string, number>> = {};
    const notes: string[] = [];
    const parse = (out: string) => JSON.parse(out.trim().split('\n').pop()!) as M;
    const note = (size: number, name: string, ms: M[]) => {
      const m = ms[0]!;
      const glibc =
        m.allocator === 'glibc' && m.inUseMB !== undefined && m.baseInUseMB !== undefined
          ? `in use +${Math.round(m.inUseMB - m.baseInUseMB)}, kept free ${Math.round(m.keptMB ?? NaN)}, `
          : '';
      notes.push(
        `${size}px ${name} (${m.allocator ?? '?'}): ${glibc}${Math.round(median(ms.map((x) => x.faultsPerStep)))} faults, ` +
          `${median(ms.map((x) => x.sysMsPerStep)).toFixed(0)} system ms per step; ` +
          `runs ${ms.map((x) => Math.round(x.peakMB - x.baseMB)).join(', ')} MB`,
      );
    };
    const plain = withoutAllocatorEnv(process.env);
    const jemalloc = allocatorEnv({ ...plain, MRISEQ_MALLOC: 'default' }).set;
    const mine: [string, string, NodeJS.ProcessEnv][] = [
      ['eager', 'eager', process.env],
      ['compiled', 'compiled', process.env],
      ['compiled glibc', 'compiled', { ...plain, MRISEQ_MALLOC: 'glibc' }],
      ['compiled lean', 'compiled', { ...plain, MRISEQ_MALLOC: 'lean' }],
    ];
    const theirs: [string, NodeJS.ProcessEnv][] = torchMissing()
      ? []
      : [
          ['torch', plain],
          ...(Object.keys(jemalloc).length
            ? [['torch jemalloc', { ...plain, ...jemalloc }] as [string, NodeJS.ProcessEnv]]
            : []),
          ['torch lean', { ...plain, ...LEAN_GLIBC }],
        ];
    const wait = torchWaitPolicy();
    const waitEnv = wait === 'default' ? {} : { OMP_WAIT_POLICY: wait };
    for (const size of [64, 128]) {
      const got: Record<string, M[]> = {};
      for (let run = 0; run < runs; run++) {
        for (const [name, mode, env] of mine) {
          const p = spawnSync(
            process.execPath,
            ['--import', 'tsx', join(__dirname, 'step-memory.ts'), mode, String(size)],
            {
              encoding: 'utf8',
              env: { ...env, MRISEQ_BENCH_THREADS: String(ctx.threads), TF_CPP_MIN_LOG_LEVEL: '3' },
            },
          );
          if (p.status !== 0) throw new Error(`step-memory ${name} ${size}: ${p.stderr.slice(-300)}`);
          (got[name] ??= []).push(parse(p.stdout));
        }
        for (const [name, env] of theirs) {
          const p = spawnSync(
            TORCH_PYTHON,
            [join(__dirname, 'torch', 'step_memory.py'), String(size), '5', String(ctx.threads)],
            {
              encoding: 'utf8',
              // spinning OpenMP threads on a loaded machine take a 128 px step from 0.3 to 10 s
              env: { ...env, OMP_NUM_THREADS: String(ctx.threads), ...waitEnv },
            },
          );
          if (p.status !== 0) throw new Error(`torch step_memory ${name} ${size}: ${p.stderr.slice(-300)}`);
          (got[name] ??= []).push(parse(p.stdout));
        }
      }
      const r: Record<string, number> = {};
      for (const [name, ms] of Object.entries(got)) {
        r[name] = median(ms.map((m) => m.peakMB - m.baseMB));
        if (name !== 'eager') note(size, name, ms);
      }
      rows[`${size}px`] = r;
    }
    const summary =
      Object.entries(rows)
        .map(
          ([k, r]) =>
            `${k}: ${Object.entries(r)
              .map(([m, v]) => `${m} ${Math.round(v)} MB`)
              .join(', ')}`,
        )
        .join('; ') + `\n  ${notes.join('\n  ')}`;
    return { summary, rows };
  },
};

// XLA's rows compile for tens of seconds per size and lost to the plain compiled step
// (docs/speed.md): MRISEQ_BENCH_XLA=1 adds them.
const modes: Mode[] =
  process.env.MRISEQ_BENCH_XLA === '1' ? ['eager', 'compiled', 'xla'] : ['eager', 'compiled'];

/**
 * The presets' step cost (issue 23): the authors' 'reference' configuration (6 + 6 residual
 * blocks, c_in 3, 155,159,760 parameters) and 'reference-small' (3 + 3, mriseq 0.1's 'reference')
 * against 'lite' in the same process, interleaved turn by turn so that this machine's drift hits
 * all three alike; ms and the ratio to lite's step.
 */
const presetsWorkload: CustomWorkload = {
  name: 'generator step presets 64px',
  description:
    "lite vs reference-small vs reference (the authors' 6 + 6 configuration), one 64 px 2.5D step each, interleaved",
  async run() {
    if (tf.getBackend() !== 'tensorflow')
      return { summary: 'skipped: the reference presets are timed on the native engine only' };
    const presets: PresetName[] = ['lite', 'reference-small', 'reference'];
    const s = presets.map((p) => stepper(p, 64));
    try {
      for (const x of s) x.step(); // warm: kernels, oneDNN primitives
      const ms: number[][] = presets.map(() => []);
      for (let turn = 0; turn < 3; turn++)
        s.forEach((x, i) => {
          for (let r = 0; r < 2; r++) {
            const t0 = performance.now();
            x.step();
            ms[i].push(performance.now() - t0);
          }
        });
      const med = ms.map((m) => median(m));
      const out: Record<string, number> = {};
      presets.forEach((p, i) => {
        out[`${p}Ms`] = med[i];
        out[`${p}Params`] = s[i].params;
        out[`${p}VsLite`] = med[i] / med[0];
      });
      return {
        summary: presets
          .map(
            (p, i) =>
              `${p} ${med[i].toFixed(0)} ms (${(med[i] / med[0]).toFixed(1)}x lite, ${s[i].params.toLocaleString('en')} params)`,
          )
          .join('; '),
        ...out,
      };
    } finally {
      for (const x of s) x.dispose();
    }
  },
};

export const workloads: (TensorWorkload | CustomWorkload)[] = [
  ...[64, 128].flatMap((size) => modes.map((mode) => stepWorkload(size, mode))),
  breakdown,
  memory,
  presetsWorkload,
];
