/**
 * The compiled training step (src/train/compiled.ts) against the eager step it is recorded from:
 * 50 steps of the lite generator on random phantom crops, sources and targets give the same losses,
 * weights and Adam moments bit for bit (a run whose initial weights differ by one float32
 * rounding ends far apart: the training is chaotic, so equality is the only tolerance that means
 * anything); 3D volumes likewise; with 4D (time) sources and targets the first step's losses and
 * gradients agree to float32 rounding; checkpoints of an eager run resume
 * compiled and the other way round; a step that cannot be recorded raises CompileError before
 * anything ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeGraphs } from '../helpers/graphs.js';
import { SMALL_GENERATOR } from '../helpers/generator.js';
import { tf } from '../../src/engine/index.js';
import { createGenerator, type NamedWeights, type Seq2SeqConfig } from '../../src/model/index.js';
import { phantom } from '../../src/phantom/index.js';
import {
  CompiledStep,
  CompileError,
  FlatAdam,
  train,
  trainingStep,
  type TrainCheckpoint,
  type TrainOptions,
} from '../../src/train/index.js';

const skip = nativeGraphs();

const cohort = phantom({ subjects: 2, size: [40, 40, 12], seed: 3 });
const subjects = [0, 1].map((i) => {
  const s = cohort.subject(i);
  return { id: s.id, volumes: s.volumes };
});

function maxDiff(a: NamedWeights, b: NamedWeights): number {
  let m = 0;
  for (const k of Object.keys(a))
    for (let i = 0; i < a[k]!.data.length; i++) m = Math.max(m, Math.abs(a[k]!.data[i]! - b[k]!.data[i]!));
  return m;
}

interface Run {
  losses: number[][];
  weights: NamedWeights;
  m: NamedWeights;
  v: NamedWeights;
  compiled: number;
}

async function run(
  config: Partial<Seq2SeqConfig>,
  subs: typeof subjects,
  o: TrainOptions,
  perturb = false,
): Promise<Run> {
  const g = createGenerator('lite', config);
  if (perturb) {
    const w = g.getWeights();
    for (const k of Object.keys(w)) w[k]!.data = w[k]!.data.map((x) => Math.fround(x * (1 + 2 ** -23)));
    g.setWeights(w);
  }
  let last: TrainCheckpoint | undefined;
  const r = await train(g, subs, { ...o, onCheckpoint: (c) => void (last = c) });
  g.dispose();
  const l = r.history.map((e) => Object.values(e.loss));
  return {
    losses: l,
    weights: last!.weights,
    m: last!.state.m,
    v: last!.state.v,
    compiled: r.history.filter((e) => e.compiled).length,
  };
}

test(
  '50 compiled steps equal 50 eager steps bit for bit (lite, random crops, sources and targets); a one-rounding perturbation does not',
  { skip: skip() },
  async () => {
    const o: TrainOptions = { steps: 50, crop: 16, seed: 2, lr: 2e-4 };
    const eager = await run({ seed: 1 }, subjects, { ...o, compile: false });
    const compiled = await run({ seed: 1 }, subjects, { ...o, compile: true });
    assert.equal(eager.compiled, 0);
    assert.equal(compiled.compiled, 50, 'every step ran compiled');
    assert.deepEqual(compiled.losses, eager.losses, 'losses of every step');
    assert.equal(maxDiff(compiled.weights, eager.weights), 0, 'weights');
    assert.equal(maxDiff(compiled.m, eager.m), 0, 'first moments');
    assert.equal(maxDiff(compiled.v, eager.v), 0, 'second moments');
    // What float32 rounding alone does to this training: every initial weight one rounding off.
    const perturbed = await run({ seed: 1 }, subjects, { ...o, compile: false }, true);
    const d = maxDiff(perturbed.weights, eager.weights);
    assert.ok(d > 1e-4, `a one-rounding perturbation moved the weights by ${d}`);
  },
);

test('one recording per code pairing: the codes, learning rate and data are fed', { skip: skip() }, () => {
  const g = createGenerator('lite', { seed: 4 });
  const adam = new FlatAdam([...g.variables.values()], [...g.variables.keys()]);
  const step = CompiledStep.create(g, adam)!;
  const xs = tf.randomUniform([1, 1, 16, 16, 1], -1, 1, 'float32', 1);
  const xt = tf.randomUniform([1, 1, 16, 16, 1], -1, 1, 'float32', 2);
  const o = { beta1: 0.9, beta2: 0.999, structuralWeight: 0.01 };
  const pairs = [
    ['t1', 't2'],
    ['t2', 'flair'],
    ['flair', 'flair'],
    ['t1gd', 't1'],
    ['t1', 't1'],
  ];
  pairs.forEach(([s, t], k) =>
    step.step(k + 1, 1e-4 * (k + 1), o, { xs, xt, source: s!, target: t!, nts: 1, ntt: 1 }),
  );
  const keys = step.recordings().map((r) => r.key);
  assert.equal(keys.length, 2, keys.join('; '));
  assert.ok(keys.some((k) => k.includes(' same ')) && keys.some((k) => k.includes(' two ')));
  for (const r of step.recordings())
    assert.ok(r.stats.recorded > 500 && r.stats.sideEffects === g.variables.size);
  step.dispose();
  adam.dispose();
  g.dispose();
  tf.dispose([xs, xt]);
});

test(
  "mriseq 0.1's recipe (the structural term on the cycle too) compiles to the eager step bit for bit, in its own recording",
  { skip: skip() },
  async () => {
    const o: TrainOptions = { steps: 8, crop: 16, seed: 3, recipe: 'mriseq-0.1' };
    const eager = await run({ ...SMALL_GENERATOR, seed: 1 }, subjects, { ...o, compile: false });
    const compiled = await run({ ...SMALL_GENERATOR, seed: 1 }, subjects, { ...o, compile: true });
    assert.equal(compiled.compiled, 8);
    assert.deepEqual(compiled.losses, eager.losses);
    assert.equal(maxDiff(compiled.weights, eager.weights), 0);
    // one CompiledStep asked for both forms of the structural term records each
    const g = createGenerator('lite', { ...SMALL_GENERATOR, seed: 4 });
    const adam = new FlatAdam([...g.variables.values()], [...g.variables.keys()]);
    const step = CompiledStep.create(g, adam)!;
    const xs = tf.randomUniform([1, 1, 16, 16, 1], -1, 1, 'float32', 1);
    const xt = tf.randomUniform([1, 1, 16, 16, 1], -1, 1, 'float32', 2);
    const sample = { xs, xt, source: 't1', target: 't2', nts: 1, ntt: 1 };
    const base = { beta1: 0.9, beta2: 0.999, structuralWeight: 0.01 };
    const two = step.step(1, 0, { ...base, structuralCycle: false }, sample);
    const three = step.step(2, 0, { ...base, structuralCycle: true }, sample);
    assert.equal(step.recordings().length, 2);
    // lr 0 leaves the weights alone: the same translation loss, a larger structural term
    assert.equal(three[1], two[1]);
    assert.ok(three[4]! > two[4]! * 1.2, `structural ${two[4]} -> ${three[4]}`);
    step.dispose();
    adam.dispose();
    g.dispose();
    tf.dispose([xs, xt]);
  },
);

test('3D volumes: compiled steps equal eager steps bit for bit', { skip: skip() }, async () => {
  const s = phantom({ subjects: 1, size: [16, 16, 8], seed: 4 }).subject(0);
  const vol = [{ id: s.id, volumes: { t1: s.volumes.t1, t2: s.volumes.t2 } }];
  const cfg = { ...SMALL_GENERATOR, ndims: 3 as const, seed: 2 };
  const o: TrainOptions = { steps: 3, crop: 16, seed: 1 };
  const e = await run(cfg, vol as typeof subjects, { ...o, compile: false });
  const c = await run(cfg, vol as typeof subjects, o);
  assert.equal(c.compiled, 3);
  assert.deepEqual(c.losses, e.losses);
  assert.equal(maxDiff(c.weights, e.weights), 0);
});

test(
  '4D (time) sources and targets: the compiled step gives the eager losses and gradients to float32 rounding',
  { skip: skip() },
  () => {
    // With several time points the compiled step is not bit for bit (losses 1e-7 relative apart when
    // the source has 3 time points; docs/speed.md): the first step's losses and Adam moments
    // (0.1 x gradient) are compared, per parameter relative to its largest moment.
    const cfg = { ...SMALL_GENERATOR, sequences: ['t2', 'dce'], seed: 2 };
    const x3 = tf.randomNormal([1, 3, 16, 16, 1], 0, 1, 'float32', 7);
    const x1 = tf.randomNormal([1, 1, 16, 16, 1], 0, 1, 'float32', 8);
    const o = { beta1: 0.9, beta2: 0.999, structuralWeight: 0.01 };
    const cases = [
      { xs: x1, xt: x3, source: 't2', target: 'dce', nts: 1, ntt: 3 },
      { xs: x3, xt: x1, source: 'dce', target: 't2', nts: 3, ntt: 1 },
    ];
    for (const sample of cases) {
      const make = () => {
        const g = createGenerator('lite', cfg);
        return { g, adam: new FlatAdam([...g.variables.values()], [...g.variables.keys()]) };
      };
      const e = make();
      const c = make();
      const step = CompiledStep.create(c.g, c.adam)!;
      const le = trainingStep(e.g, e.adam, 1, 2e-4, o, sample);
      const lc = step.step(1, 2e-4, o, sample);
      le.forEach((v, i) =>
        assert.ok(
          Math.abs(lc[i]! - v) <= 1e-6 * Math.abs(v),
          `${sample.source} -> ${sample.target} loss ${i}: ${lc[i]} vs ${v}`,
        ),
      );
      const me = e.adam.state().m;
      const mc = c.adam.state().m;
      let checked = 0;
      for (const k of Object.keys(me)) {
        const a = me[k]!.data;
        const b = mc[k]!.data;
        const scale = a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        if (scale === 0) continue;
        checked++;
        for (let i = 0; i < a.length; i++)
          assert.ok(
            Math.abs(a[i]! - b[i]!) <= 1e-4 * scale,
            `${k}[${i}]: ${b[i]} vs ${a[i]} (largest ${scale})`,
          );
      }
      assert.ok(checked > 40, `${checked} parameters with gradients`);
      step.dispose();
      for (const x of [e, c]) {
        x.adam.dispose();
        x.g.dispose();
      }
    }
    tf.dispose([x1, x3]);
  },
);

test(
  'checkpoints are interchangeable: 3 eager steps resumed compiled (and the reverse) equal 6 straight steps',
  { skip: skip() },
  async () => {
    const o: TrainOptions = { steps: 6, crop: 16, seed: 5, lr: 1e-3 };
    const straight = await run({ seed: 7 }, subjects, { ...o, compile: false });
    for (const [first, second] of [
      [false, true],
      [true, false],
    ] as const) {
      const g = createGenerator('lite', { seed: 7 });
      const ac = new AbortController();
      let state: TrainCheckpoint | undefined;
      await train(g, subjects, {
        ...o,
        compile: first,
        signal: ac.signal,
        onProgress: (e) => e.step === 3 && ac.abort(),
        onCheckpoint: (c) => void (state = c),
      });
      assert.equal(state!.state.step, 3);
      g.setWeights(state!.weights);
      let last: TrainCheckpoint | undefined;
      const r = await train(g, subjects, {
        ...o,
        compile: second,
        resume: state!.state,
        onCheckpoint: (c) => void (last = c),
      });
      assert.equal(r.history.filter((e) => e.compiled).length, second ? 3 : 0);
      assert.deepEqual(
        r.history.map((e) => Object.values(e.loss)),
        straight.losses.slice(3),
        `losses after resuming (${first ? 'compiled' : 'eager'} then ${second ? 'compiled' : 'eager'})`,
      );
      assert.equal(maxDiff(last!.weights, straight.weights), 0);
      assert.equal(maxDiff(last!.state.m, straight.m), 0);
      g.dispose();
    }
  },
);

test('a step that cannot be recorded raises CompileError before anything ran', { skip: skip() }, () => {
  const g = createGenerator('lite', { seed: 4 });
  // an optimizer over all but one parameter: that one would be frozen into the function
  const names = [...g.variables.keys()].slice(1);
  const adam = new FlatAdam(
    names.map((n) => g.variables.get(n)!),
    names,
  );
  const step = CompiledStep.create(g, adam)!;
  const before = g.getWeights();
  const xs = tf.randomUniform([1, 1, 16, 16, 1], -1, 1, 'float32', 1);
  const o = { beta1: 0.9, beta2: 0.999, structuralWeight: 0.01 };
  assert.throws(
    () => step.step(1, 1e-3, o, { xs, xt: xs, source: 't1', target: 't2', nts: 1, ntt: 1 }),
    (e: unknown) => e instanceof CompileError && /frozen/.test(e.message),
  );
  assert.equal(maxDiff(g.getWeights(), before), 0, 'nothing was updated');
  step.dispose();
  adam.dispose();
  g.dispose();
  xs.dispose();
});
