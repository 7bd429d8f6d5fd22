/**
 * Run in a fresh process by checkpoint.test.ts: loads a checkpoint and prints the generator's
 * output on a fixed input, so the test compares it with the process that saved it.
 */
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter, tf } from '../../src/engine/index.js';
import { loadCheckpoint } from '../../src/train/node.js';

setEngineAdapter(nodeEngineAdapter);

async function main(): Promise<void> {
  await initEngine();
  const c = loadCheckpoint(process.argv[2]);
  const shape = JSON.parse(process.argv[3]) as number[];
  const n = shape.reduce((a, b) => a + 0 * b + 0, 0) || shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)),
    shape,
  );
  const y = c.model.apply(x, process.argv[4]);
  process.stdout.write(
    JSON.stringify({
      y: Array.from(y.dataSync()),
      step: c.state?.step ?? null,
      params: c.model.countParams(),
    }),
  );
}
main().catch((e: unknown) => {
  process.stderr.write(String(e instanceof Error ? e.message : e));
  process.exit(3);
});
