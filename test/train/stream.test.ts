/**
 * Training streams its subjects through a cache bounded in bytes (issue 25, item 9): the bytes the
 * cache holds never exceed the budget while training over more subjects than fit (subjects are
 * reloaded when drawn again), and the weights are the same as with everything in memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../../src/engine/index.js';
import { createGenerator } from '../../src/model/index.js';
import { phantom } from '../../src/phantom/index.js';
import { trainSteps, type TrainProgress } from '../../src/train/train.js';
import type { SubjectStream } from '../../src/train/pool.js';
import { simulateToDisk } from '../../src/cohort/node.js';
import { runCli } from '../helpers/cli.js';

const tiny = {
  cEnc: [2, 2, 2],
  cDec: [2, 2, 1],
  cLstm: 2,
  lstmLayers: 1,
  nresEnc: 1,
  nresDec: 1,
  cS: 4,
  cW: 2,
};

test('the training cache never holds more than its budget; reloads give the same weights as all in memory', async () => {
  await initEngine();
  const ph = phantom({ subjects: 7, size: [16, 16, 8], seed: 3 });
  const subjects = ph.ids().map((id) => ph.subject(id));
  const train = subjects.slice(0, 6);
  const val = subjects.slice(6);
  // one subject's normalised sequences (the ones the generator knows)
  const model0 = createGenerator('lite', { ...tiny, seed: 2, sequences: ph.sequences });
  const perSubject = ph.sequences.reduce(
    (n, q) => n + (train[0]!.volumes[q as 't1']?.data.byteLength ?? 0),
    0,
  );
  model0.dispose();
  const budget = Math.floor(perSubject * 2.5);
  const run = async (stream: boolean, cacheBytes?: number) => {
    const model = createGenerator('lite', { ...tiny, seed: 2, sequences: ph.sequences });
    let loads = 0;
    const source: SubjectStream = {
      ids: train.map((s) => s.id),
      available: (id) => train.find((s) => s.id === id)!.sequences,
      load: async (id) => {
        loads++;
        return train.find((s) => s.id === id)!;
      },
    };
    const events: TrainProgress[] = [];
    const it = trainSteps(model, stream ? source : train, {
      steps: 10,
      crop: 16,
      seed: 5,
      validation: val,
      validateEvery: 5,
      cacheBytes,
    });
    for (let r = await it.next(); !r.done; r = await it.next()) events.push(r.value);
    const weights = model.getWeights();
    model.dispose();
    return { events, loads, weights };
  };
  const bounded = await run(true, budget);
  assert.equal(bounded.events.length, 10);
  for (const e of bounded.events)
    assert.ok(e.cachedBytes! <= budget, `step ${e.step}: ${e.cachedBytes} > ${budget}`);
  assert.ok(Math.max(...bounded.events.map((e) => e.cachedBytes!)) > 0);
  const drawn = new Set(bounded.events.map((e) => e.subject)).size;
  assert.ok(drawn > 2, `more subjects drawn (${drawn}) than the budget holds (2)`);
  assert.ok(
    bounded.loads > drawn,
    `evicted subjects were reloaded (${bounded.loads} loads of ${drawn} subjects)`,
  );
  // the same draws and weights as with every subject in memory and no bound
  const unbounded = await run(false, Infinity);
  assert.deepEqual(
    unbounded.events.map((e) => [e.subject, e.source, e.target, e.loss.total]),
    bounded.events.map((e) => [e.subject, e.source, e.target, e.loss.total]),
  );
  for (const [k, w] of Object.entries(unbounded.weights))
    assert.deepEqual(Array.from(bounded.weights[k]!.data), Array.from(w.data), k);
});

test('mriseq train streams a manifest through --cache-mb: the cache stays within it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-stream-'));
  try {
    const sim = await simulateToDisk({
      out: join(dir, 'data'),
      subjects: 8,
      size: [16, 16, 8],
      seed: 2,
      split: false,
    });
    const mb = 0.08; // about two subjects of 16x16x8 x 4 sequences
    const r = await runCli([
      'train',
      '--manifest',
      sim.manifestPath,
      '--steps',
      '6',
      '--crop',
      '16',
      '--out',
      join(dir, 'run'),
      '--json',
      '--cache-mb',
      String(mb),
    ]);
    assert.equal(r.code, 0, r.err);
    const steps = r.out
      .split('\n')
      .map((l) => JSON.parse(l) as { step?: number; cachedBytes?: number })
      .filter((e) => e.step !== undefined);
    assert.equal(steps.length, 6);
    for (const e of steps) assert.ok(e.cachedBytes! <= mb * 2 ** 20, `${e.cachedBytes}`);
    // the budget is stated in --help
    const help = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(__dirname, '../../src/cli/main.ts'), 'train', '--help'],
      {
        encoding: 'utf8',
      },
    );
    assert.match(help.stdout, /--cache-mb <n>\s+memory budget \(MiB\)[\s\S]*?\(default: "1024"\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
