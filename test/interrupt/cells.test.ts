/**
 * The host's interrupt signal as the kernels install it per cell (src/interrupt): every
 * long-running entry point takes it when the caller passes no signal, stops at its next step, and
 * runs as before when there is none. A caller's own signal wins over the host's; work takes the
 * signal once, at its start, so work a cell left running stays tied to that cell.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interruptSignal, setInterruptSignal, signalOrInterrupt } from '../../src/interrupt/index.js';
import { initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { differentiationMap, evaluate } from '../../src/analysis/index.js';
import { simulateToDisk } from '../../src/cohort/node.js';
import { ResNet3d, trainClassifier } from '../../src/classify/index.js';
import { ContrastiveAutoencoder, trainContrastiveAutoencoder } from '../../src/cluster/index.js';
import { createGenerator } from '../../src/model/index.js';
import { TINY_GENERATOR } from '../helpers/generator.js';
import { trainSteps } from '../../src/train/index.js';
import { phantom } from '../../src/phantom/index.js';
import { createVolume } from '../../src/volume/index.js';
import { MriseqError } from '../../src/errors/index.js';

setEngineAdapter(nodeEngineAdapter);

/**
 * Runs fn with the host's signal (aborted or not) installed as the Jupyter kernel does for a cell
 * (a function returning it).
 */
async function inCell<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  setInterruptSignal(() => signal);
  try {
    return await fn();
  } finally {
    setInterruptSignal(undefined);
  }
}

const aborted = () => {
  const ac = new AbortController();
  ac.abort();
  return ac.signal;
};

test('signalOrInterrupt: the caller first, else the host (a signal or a function returning one), else none', () => {
  assert.equal(interruptSignal(), undefined);
  const mine = new AbortController().signal;
  const host = new AbortController().signal;
  setInterruptSignal(() => host);
  try {
    assert.equal(signalOrInterrupt(mine), mine);
    assert.equal(signalOrInterrupt(), host);
    setInterruptSignal(host);
    assert.equal(signalOrInterrupt(), host);
    // what is installed but is not a signal is ignored, never a crash in a loop
    setInterruptSignal(() => ({}) as AbortSignal);
    assert.equal(signalOrInterrupt(), undefined);
  } finally {
    setInterruptSignal(undefined);
  }
  assert.equal(signalOrInterrupt(), undefined);
});

test("work keeps the signal of the cell that started it: a later cell's interrupt does not stop it, its own does", async () => {
  const v = createVolume(
    Float32Array.from({ length: 8 * 8 * 8 }, (_, i) => (i % 7) / 7),
    [8, 8, 8],
  );
  const seqs = { t1: v, t2: v, flair: v };
  const cell1 = new AbortController();
  const cell2 = new AbortController();
  let calls = 0;
  // cell 1 starts a map and leaves it running; cell 2 begins (its own signal) and is interrupted
  // during the second generation; the map goes on until cell 1's signal aborts.
  const gen = async () => {
    calls++;
    if (calls === 1) {
      setInterruptSignal(cell2.signal);
      cell2.abort();
    }
    if (calls === 2) cell1.abort();
    return v;
  };
  setInterruptSignal(() => cell1.signal);
  try {
    await assert.rejects(
      differentiationMap(seqs, 't2', gen),
      (e: unknown) => e instanceof MriseqError && e.code === 'maps.aborted',
    );
  } finally {
    setInterruptSignal(undefined);
  }
  assert.equal(calls, 2, 'ran on after the later cell was interrupted, stopped at the step after its own');
});

test("maps and evaluation stop on the host's signal; a live one lets them finish", async () => {
  const v = createVolume(
    Float32Array.from({ length: 8 * 8 * 8 }, (_, i) => (i % 7) / 7),
    [8, 8, 8],
  );
  const seqs = { t1: v, t2: v };
  const gen = async () => v;
  await assert.rejects(
    inCell(aborted(), () => differentiationMap(seqs, 't2', gen)),
    (e: unknown) => e instanceof MriseqError && e.code === 'maps.aborted',
  );
  const map = await inCell(new AbortController().signal, () => differentiationMap(seqs, 't2', gen));
  assert.equal(map.data.length, v.data.length);
  const model = { sequences: ['t1', 't2'], generate: gen };
  const cohort = { subjectIds: () => ['s1'], loadSubject: async (id: string) => ({ id, sequences: seqs }) };
  await assert.rejects(
    inCell(aborted(), () => evaluate(model, cohort)),
    (e: unknown) => e instanceof MriseqError && e.code === 'analysis.aborted',
  );
  // the caller's live signal wins over an aborted host one
  const rows = await inCell(aborted(), () =>
    evaluate(model, cohort, { signal: new AbortController().signal }),
  );
  assert.ok(rows.length > 0);
});

test('simulation stops before writing a subject', async () => {
  const out = mkdtempSync(join(tmpdir(), 'mriseq-interrupt-sim-'));
  try {
    await assert.rejects(
      inCell(aborted(), () => simulateToDisk({ out, subjects: 2, size: [16, 16, 8], seed: 1 })),
      (e: unknown) => e instanceof MriseqError && /simulation interrupted/.test(e.message),
    );
    assert.deepEqual(
      readdirSync(out).filter((f) => f.startsWith('sub') || f.startsWith('sim')),
      [],
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("generator, classifier and autoencoder training stop at their first step on the host's signal", async () => {
  await initEngine();
  const s = phantom({ subjects: 1, size: [16, 16, 8], seed: 2 }).subject(0);
  const g = createGenerator('lite', { ...TINY_GENERATOR, seed: 1 });
  const it = trainSteps(g, [{ id: s.id, volumes: s.volumes }], { steps: 5, crop: 16 });
  const r = await inCell(aborted(), async () => {
    for (;;) {
      const x = await it.next();
      if (x.done) return x.value;
    }
  });
  assert.equal(r.stopped, true);
  assert.equal(r.steps, 0);
  g.dispose();

  const model = new ResNet3d({
    inputChannels: ['t1'],
    classNames: ['a', 'b'],
    depth: 6,
    baseWidth: 2,
    attention: false,
  });
  const data = {
    shape: [8, 8, 8, 1] as [number, number, number, number],
    inputs: [0, 1, 2, 3, 4, 5].map((i) => new Float32Array(512).fill(i % 2)),
    labels: [0, 1, 0, 1, 0, 1],
  };
  const c = await inCell(aborted(), () => trainClassifier(model, data, { epochs: 3, batchSize: 2 }));
  assert.equal(c.stoppedBy, 'aborted');

  const ae = new ContrastiveAutoencoder({ inputShape: [8, 8], widths: [4], latentDim: 4, projectionDim: 4 });
  const imgs = { shape: [8, 8], inputs: [0, 1, 2, 3].map((i) => new Float32Array(64).fill(i / 4)) };
  const a = await inCell(aborted(), () => trainContrastiveAutoencoder(ae, imgs, { epochs: 2, batchSize: 2 }));
  assert.equal(a.aborted, true);
  assert.equal(a.history.length, 0);
});
