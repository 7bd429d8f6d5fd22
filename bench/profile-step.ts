/**
 * Kernel census of one generator training step (lite preset): kernels per step by name (from
 * tf.profile, nested kernels included) and the median step time. Used to check that changes to
 * the model or the training step cut the number of kernels. Run:
 *   node --import tsx bench/profile-step.ts [size=64] [reps=5]
 */
import { initEngine, setEngineAdapter, tf } from '../src/engine/index.js';
import { nodeEngineAdapter } from '../src/engine/node.js';
import { createGenerator } from '../src/model/index.js';
import { FlatAdam, trainingStep } from '../src/train/index.js';

async function main(): Promise<void> {
  const size = Number(process.argv[2] ?? 64);
  const reps = Number(process.argv[3] ?? 5);
  setEngineAdapter(nodeEngineAdapter);
  const r = await initEngine({ threads: Number(process.env.MRISEQ_BENCH_THREADS ?? 2) });
  const model = createGenerator('lite', { seed: 0 });
  const adam = new FlatAdam([...model.variables.values()], [...model.variables.keys()]);
  const xs = tf.randomUniform([1, 1, size, size, 1], -1, 1, 'float32', 1);
  const xt = tf.randomUniform([1, 1, size, size, 1], -1, 1, 'float32', 2);
  const o = { beta1: 0.9, beta2: 0.999, structuralWeight: 0.01 };
  let t = 0;
  const step = (): Float32Array =>
    trainingStep(model, adam, ++t, 2e-4, o, { xs, xt, source: 't1', target: 't2', nts: 1, ntt: 1 });
  step();
  const info = await tf.profile(() => void step());
  const byName = new Map<string, { n: number; ms: number }>();
  for (const k of info.kernels) {
    const e = byName.get(k.name) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byName.set(k.name, e);
  }
  const tensors0 = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const rows = [...byName.entries()].sort((a, b) => b[1].n - a[1].n);
  console.log(r.summary);
  console.log(
    `kernels per step: ${info.kernels.length}; tensors leaked per step: ${(tf.memory().numTensors - tensors0) / reps}`,
  );
  console.log(
    `step ms (${size}px): median ${times[times.length >> 1]!.toFixed(1)}, all ${times.map((x) => x.toFixed(0)).join(' ')}`,
  );
  console.log(rows.map(([k, v]) => `${k} ${v.n}`).join(', '));
  const total = rows.reduce((a, [, v]) => a + v.ms, 0);
  const byTime = [...rows].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20);
  console.log(
    `kernel ms in the profiled step: ${total.toFixed(0)}; by time: ` +
      byTime.map(([k, v]) => `${k} ${v.ms.toFixed(1)}`).join(', '),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
