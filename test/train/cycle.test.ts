/**
 * detachCycle: the cycle pass G(y_t, code_s) must train G on generated inputs without rewarding
 * y_t for carrying hidden source information. Reference: the same loss with y_t fed to the cycle
 * as a constant computed outside the tape (so no gradient can flow into it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/index.js';
import { createGenerator, smoothL1 } from '../../src/model/index.js';
import { stepLoss } from '../../src/train/index.js';
import { TINY_GENERATOR } from '../helpers/generator.js';

const tiny = TINY_GENERATOR;

function gradsOf(f: () => tf.Scalar, vars: tf.Variable[]): Map<string, Float32Array> {
  const { value, grads } = tf.variableGrads(f, vars);
  value.dispose();
  const out = new Map<string, Float32Array>();
  for (const [k, g] of Object.entries(grads)) {
    out.set(k, g.dataSync() as Float32Array);
    g.dispose();
  }
  return out;
}

/** max over parameters of |a - b| / (max |b| + 1e-12) */
function relDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [k, gb] of b) {
    const ga = a.get(k) ?? new Float32Array(gb.length);
    let d = 0;
    let m = 0;
    for (let i = 0; i < gb.length; i++) {
      d = Math.max(d, Math.abs(ga[i] - gb[i]));
      m = Math.max(m, Math.abs(gb[i]));
    }
    if (m > 1e-7) worst = Math.max(worst, d / m);
  }
  return worst;
}

test('detachCycle: gradients equal the loss with y_t fed to the cycle as a constant; without it they differ', () => {
  const g = createGenerator('lite', tiny);
  const vars = [...g.variables.values()];
  const xs = tf.randomUniform([1, 1, 16, 16, 1], -1, 1, 'float32', 1);
  const xt = tf.randomUniform([1, 1, 16, 16, 1], -1, 1, 'float32', 2);
  const sample = { xs, xt, source: 't1', target: 't2', nts: 1, ntt: 1 };
  const o = { structuralWeight: 0 };
  const ytConst = tf.tidy(() => g.apply(xs, 't2', 1));
  const reference = gradsOf(() => {
    const yt = g.apply(xs, 't2', 1);
    const ys = g.apply(xs, 't1', 1);
    const yc = g.apply(ytConst, 't1', 1);
    return tf.addN([
      tf.mul(tf.add(smoothL1(yt, xt), smoothL1(ys, xs)), 10),
      tf.mul(smoothL1(yc, xs), 10),
    ]) as tf.Scalar;
  }, vars);
  const detached = gradsOf(() => stepLoss(g, { ...o, detachCycle: true }, sample).total, vars);
  const full = gradsOf(() => stepLoss(g, { ...o, detachCycle: false }, sample).total, vars);
  const dDetached = relDiff(detached, reference);
  const dFull = relDiff(full, reference);
  assert.ok(dDetached < 1e-4, `detached cycle vs reference: ${dDetached}`);
  assert.ok(dFull > 1e-2, `the full cycle should differ from the reference: ${dFull}`);
  // the loss value itself does not depend on the switch
  const a = tf.tidy(() => stepLoss(g, { ...o, detachCycle: true }, sample).total.dataSync()[0]);
  const b = tf.tidy(() => stepLoss(g, { ...o, detachCycle: false }, sample).total.dataSync()[0]);
  assert.ok(Math.abs(a - b) < 1e-6 * Math.abs(b), `${a} vs ${b}`);
  for (const t of [xs, xt, ytConst]) t.dispose();
  g.dispose();
});
