/**
 * The step's loss comes from one list (src/train/train.ts, STEP_LOSS): each named part is the term
 * its name says, computed here independently (SmoothL1 in plain float64 over the generator's
 * outputs), the total is the science spec's weighted sum of the parts, an unweighted term is not
 * computed, and the reported LossTerms carry the list's names in its order.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter, tf } from '../../src/engine/index.js';
import { createGenerator } from '../../src/model/index.js';
import { phantom } from '../../src/phantom/index.js';
import { stepLoss, train } from '../../src/train/index.js';
import { stepImages, TINY_GENERATOR } from '../helpers/generator.js';

setEngineAdapter(nodeEngineAdapter);
before(async () => {
  await initEngine();
});

/** PyTorch's SmoothL1Loss (beta 1, mean), in float64. */
function smoothL1Ref(y: tf.Tensor, x: tf.Tensor): number {
  const a = y.dataSync();
  const b = x.dataSync();
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    s += d < 1 ? 0.5 * d * d : d - 0.5;
  }
  return s / a.length;
}

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('each part of the step loss is the term its name says, and the total their weighted sum', () => {
  const g = createGenerator('lite', TINY_GENERATOR);
  const { sample, xs, xt, yt, ys, yc, tensors } = stepImages(g, [7, 8]);
  const want = {
    translation: smoothL1Ref(yt, xt),
    selfReconstruction: smoothL1Ref(ys, xs),
    cycle: smoothL1Ref(yc, xs),
  };
  for (const w of [0.5, 0]) {
    const [total, translation, selfReconstruction, cycle, structural] = tf.tidy(() =>
      stepLoss(g, { structuralWeight: w }, sample).parts.map((p) => p.dataSync()[0]!),
    );
    close(translation!, want.translation, 'translation');
    close(selfReconstruction!, want.selfReconstruction, 'selfReconstruction');
    close(cycle!, want.cycle, 'cycle');
    if (w === 0) assert.equal(structural, 0, 'an unweighted term is not computed');
    else assert.ok(structural! > 0 && structural! < 4, `structural ${structural}`);
    close(
      total!,
      10 * (translation! + selfReconstruction!) + 10 * cycle! + w * structural!,
      `total (w ${w})`,
    );
  }
  for (const t of tensors) t.dispose();
  g.dispose();
});

test("a training step reports the total and every term of the list under its name, in the list's order", async () => {
  const s = phantom({ subjects: 1, size: [32, 32, 8], seed: 1 }).subject(0);
  const g = createGenerator('lite', TINY_GENERATOR);
  const r = await train(g, [{ id: s.id, volumes: s.volumes }], {
    steps: 2,
    crop: 16,
    seed: 1,
    compile: false,
  });
  g.dispose();
  assert.equal(r.history.length, 2);
  for (const e of r.history) {
    assert.deepEqual(Object.keys(e.loss), [
      'total',
      'translation',
      'selfReconstruction',
      'cycle',
      'structural',
    ]);
    const l = e.loss;
    close(l.total, 10 * (l.translation + l.selfReconstruction) + 10 * l.cycle + 0.01 * l.structural, 'total');
  }
});
