/**
 * The host's interrupt (src/interrupt): a kernel's stop button reaches mriseq's long-running
 * loops. Training stops between steps, keeping the steps done; a map and an evaluation stop
 * between generations with their "interrupted" error; an interrupt that arrives as a message
 * (a timer here, a worker message in the browser) gets in while the loop runs. Batched
 * generation (issue 29) stops between its batches, inside one generation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { setInterruptSignal, stopRequested } from '../../src/interrupt/index.js';
import { phantom } from '../../src/phantom/index.js';
import { createGenerator, generate, generatePairs } from '../../src/model/index.js';
import { SMALL_GENERATOR } from '../helpers/generator.js';
import { trainSteps, train } from '../../src/train/index.js';
import { differentiationMap, evaluate, generatorFunction } from '../../src/analysis/index.js';
import { normalizeIntensity } from '../../src/volume/index.js';
import { MriseqError } from '../../src/errors/index.js';

setEngineAdapter(nodeEngineAdapter);
before(async () => {
  await initEngine();
});
after(() => setInterruptSignal(undefined));

const ph = phantom({ subjects: 2, size: [16, 16, 8], seed: 5 });
const subjects = [0, 1].map((i) => ({ id: ph.subject(i).id, volumes: ph.subject(i).volumes }));

test('no host signal, or one not aborted: nothing is requested; an own signal still counts', () => {
  setInterruptSignal(undefined);
  assert.equal(stopRequested(), false);
  const host = new AbortController();
  setInterruptSignal(host.signal);
  assert.equal(stopRequested(), false);
  const own = new AbortController();
  own.abort();
  assert.equal(stopRequested(own.signal), true);
  host.abort();
  assert.equal(stopRequested(), true);
});

test('training stops between steps when the host interrupts, and keeps the steps done', async () => {
  const host = new AbortController();
  setInterruptSignal(host.signal);
  const model = createGenerator('lite', { ...SMALL_GENERATOR, sequences: ph.sequences, seed: 1 });
  const steps: number[] = [];
  // The interrupt comes as a message from outside the loop (a timer), after the second step.
  const r = await train(model, subjects, {
    steps: 50,
    crop: 16,
    seed: 1,
    onProgress: (e) => {
      steps.push(e.step);
      if (e.step === 2) setTimeout(() => host.abort(), 0);
    },
  });
  assert.equal(r.stopped, true);
  assert.ok(r.steps >= 2 && r.steps <= 3, `stopped within one step of the interrupt (${r.steps})`);
  assert.deepEqual(
    steps,
    Array.from({ length: r.steps }, (_, i) => i + 1),
  );
  // A fresh signal for the next cell: training runs again from where it is.
  setInterruptSignal(new AbortController().signal);
  const it = trainSteps(model, subjects, { steps: 2, crop: 16, seed: 2 });
  let n = 0;
  for await (const e of it) n = e.step;
  assert.equal(n, 2);
  model.dispose();
});

test('a differentiation map and an evaluation stop between generations with their interrupted error', async () => {
  const model = createGenerator('lite', { ...SMALL_GENERATOR, sequences: ph.sequences, seed: 1 });
  const gen = generatorFunction(model);
  const seqs = Object.fromEntries(
    Object.entries(subjects[0].volumes).map(([k, v]) => [k, normalizeIntensity(v!)]),
  );
  const host = new AbortController();
  setInterruptSignal(host.signal);
  let calls = 0;
  const counting: typeof gen = async (...a) => {
    if (++calls === 2) setTimeout(() => host.abort(), 0);
    return gen(...a);
  };
  await assert.rejects(
    differentiationMap(seqs, 't1gd', counting),
    (e: unknown) => e instanceof MriseqError && e.code === 'maps.aborted',
  );
  assert.ok(calls >= 2 && calls <= 3, `stopped after the generation under way (${calls} made)`);
  setInterruptSignal(host.signal); // still aborted
  const cohort = {
    subjectIds: async () => [subjects[1].id],
    loadSubject: async () => ({ id: subjects[1].id, sequences: seqs }),
  };
  await assert.rejects(
    evaluate({ sequences: ph.sequences, generate: gen }, cohort, { split: 'test' }),
    (e: unknown) => e instanceof MriseqError && e.code === 'analysis.aborted',
  );
  setInterruptSignal(undefined);
  model.dispose();
});

test('a batched generation stops between its batches on the host interrupt or its own signal', async () => {
  const model = createGenerator('lite', { ...SMALL_GENERATOR, sequences: ph.sequences, seed: 1 });
  const subject = subjects[0];
  const opts = { sources: ['t1'], target: 't2', batchSize: 1 };
  // uninterrupted: the 8 slices of the 16x16x8 subject, one batch each
  const whole = await generate(model, subject, opts);
  assert.equal(whole.data.length, 16 * 16 * 8);
  const host = new AbortController();
  setInterruptSignal(host.signal);
  // the interrupt arrives as a message while the first batch runs
  setTimeout(() => host.abort(), 0);
  await assert.rejects(
    generate(model, subject, opts),
    (e: unknown) =>
      e instanceof MriseqError &&
      e.code === 'generate.aborted' &&
      /after 1 of 8 slice stacks/.test(e.message),
  );
  setInterruptSignal(undefined);
  const own = new AbortController();
  setTimeout(() => own.abort(), 0);
  await assert.rejects(
    generate(model, subject, { ...opts, signal: own.signal }),
    (e: unknown) => e instanceof MriseqError && e.code === 'generate.aborted',
  );
  model.dispose();
});

test('an evaluation stops inside a batched generation, before any row of it', async () => {
  const model = createGenerator('lite', { ...SMALL_GENERATOR, sequences: ph.sequences, seed: 1 });
  setInterruptSignal(undefined);
  const seqs = Object.fromEntries(
    Object.entries(subjects[1].volumes).map(([k, v]) => [k, normalizeIntensity(v!)]),
  );
  const own = new AbortController();
  const cohort = {
    subjectIds: async () => [subjects[1].id],
    loadSubject: async () => {
      // fires after evaluate's yield before the first source, during its first generation
      setTimeout(() => setTimeout(() => own.abort(), 0), 0);
      return { id: subjects[1].id, sequences: seqs };
    },
  };
  const batched = {
    sequences: ph.sequences,
    generate: generatorFunction(model),
    // one slice stack per batch, so a generation has batches to stop between
    generatePairs: (
      sequences: Readonly<Record<string, (typeof seqs)[string]>>,
      pairs: readonly [string, string][],
      o?: { signal?: AbortSignal },
    ) =>
      generatePairs(
        model,
        { id: 's', volumes: sequences },
        { pairs: [...pairs], normalized: true, batchSize: 1, signal: o?.signal },
      ),
  };
  let rows = 0;
  await assert.rejects(
    evaluate(batched, cohort, { split: 'test', signal: own.signal, onRow: () => void rows++ }),
    (e: unknown) => e instanceof MriseqError && e.code === 'analysis.aborted',
  );
  assert.equal(rows, 0, "stopped inside the first source's generations");
  model.dispose();
});
