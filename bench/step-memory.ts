/**
 * Memory of generator training steps in a fresh process, for `npm run bench` (the "generator
 * step memory" rows): `node --import tsx bench/step-memory.ts <eager|compiled> <size> [steps]`
 * prints one JSON line: resident memory once the library is loaded (baseMB), after the model,
 * optimizer and data are set up (setupMB), after two warm-up steps (warmMB), and the highest
 * during the steps that follow (peakMB: VmHWM, reset through /proc/self/clear_refs). What training
 * costs beyond the library is peakMB - baseMB. Where it sits, from glibc's counters (mallinfo2)
 * at the base and after the steps: bytes in use (inUseMB) and freed but kept by malloc (keptMB);
 * and what giving memory back costs: minor page faults and system CPU ms per measured step; user
 * CPU ms and the median wall ms of a measured step; the malloc in use (allocator). The malloc is
 * the environment's: run as it is, this script gets glibc's; bench/generator.bench.ts gives it
 * jemalloc's LD_PRELOAD as mriseq's launchers do, or MRISEQ_MALLOC=glibc / lean. The PyTorch twin is
 * bench/torch/step_memory.py (the same fields).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { initEngine, setEngineAdapter, tf } from '../src/engine/index.js';
import { mallocInUse } from '../src/engine/malloc-node.js';
import { nodeEngineAdapter } from '../src/engine/node.js';
import { createGenerator } from '../src/model/index.js';
import { CompiledStep, FlatAdam, trainingStep } from '../src/train/index.js';

function status(key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`no ${key} in /proc/self/status`);
  return Number(m[1]) / 1024;
}

/** glibc's malloc counters through the patched binding, MB (undefined where it has none). */
function mallinfo(): { inUseMB: number; keptMB: number } | undefined {
  const b = (
    tf.backend() as unknown as { binding?: { mriseqMallinfo?: () => Record<string, number> | null } }
  ).binding;
  const m = b?.mriseqMallinfo?.();
  return m ? { inUseMB: m.inUse! / 2 ** 20, keptMB: m.free! / 2 ** 20 } : undefined;
}

function minorFaults(): number {
  // /proc/self/stat: the 10th field, counted after the command name's closing parenthesis
  return Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[7]);
}

async function main(): Promise<void> {
  const [mode, sizeArg, stepsArg] = process.argv.slice(2);
  const size = Number(sizeArg ?? 64);
  const steps = Number(stepsArg ?? 5);
  setEngineAdapter(nodeEngineAdapter);
  await initEngine({ backend: 'tensorflow', threads: Number(process.env.MRISEQ_BENCH_THREADS ?? 2) });
  const base = status('VmRSS');
  const baseMalloc = mallinfo();
  const model = createGenerator('lite', { seed: 0 });
  const adam = new FlatAdam([...model.variables.values()], [...model.variables.keys()]);
  const compiled = mode === 'compiled' ? CompiledStep.create(model, adam) : undefined;
  if (mode === 'compiled' && !compiled) throw new Error('no graph functions here');
  const xs = tf.randomUniform([1, 1, size, size, 1], -1, 1, 'float32', 1);
  const xt = tf.randomUniform([1, 1, size, size, 1], -1, 1, 'float32', 2);
  const o = { beta1: 0.9, beta2: 0.999, structuralWeight: 0.01, structuralCycle: false };
  const sample = { xs, xt, source: 't1', target: 't2', nts: 1, ntt: 1 };
  const setup = status('VmRSS');
  const step = (t: number) =>
    compiled ? compiled.step(t, 2e-4, o, sample) : trainingStep(model, adam, t, 2e-4, o, sample);
  step(1);
  step(2);
  const warm = status('VmRSS');
  writeFileSync('/proc/self/clear_refs', '5');
  const f0 = minorFaults();
  const c0 = process.cpuUsage();
  const wall: number[] = [];
  for (let t = 3; t < 3 + steps; t++) {
    const w0 = performance.now();
    step(t);
    wall.push(performance.now() - w0);
  }
  const peak = status('VmHWM');
  const faultsPerStep = (minorFaults() - f0) / steps;
  const cpu = process.cpuUsage(c0);
  const sysMsPerStep = cpu.system / 1000 / steps;
  const userMsPerStep = cpu.user / 1000 / steps;
  wall.sort((a, b) => a - b);
  const msPerStep = wall[Math.floor(wall.length / 2)];
  const m = mallinfo();
  console.log(
    JSON.stringify({
      mode,
      size,
      steps,
      baseMB: base,
      setupMB: setup,
      warmMB: warm,
      peakMB: peak,
      baseInUseMB: baseMalloc?.inUseMB,
      baseKeptMB: baseMalloc?.keptMB,
      inUseMB: m?.inUseMB,
      keptMB: m?.keptMB,
      faultsPerStep,
      sysMsPerStep,
      userMsPerStep,
      msPerStep,
      allocator: mallocInUse(),
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
