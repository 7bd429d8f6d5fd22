/**
 * Training, checkpoints and inference on the phantom: a tiny generator overfits one subject
 * (validation PSNR rises by several dB), a checkpoint loads in a new process and reproduces the
 * outputs, an interrupted + resumed run equals an uninterrupted one, corrupt or mismatched
 * checkpoints give MriseqError, generate() returns a volume on the subject's grid that equals
 * the model applied to the slice stacks directly.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter, tf } from '../../src/engine/index.js';
import { centredStacks, createGenerator, generate, type Seq2SeqConfig } from '../../src/model/index.js';
import { normalizeIntensity } from '../../src/volume/index.js';
import { phantom } from '../../src/phantom/index.js';
import { psnrOf, train } from '../../src/train/index.js';
import { loadCheckpoint, saveCheckpoint, trainRun } from '../../src/train/node.js';
import { MriseqError } from '../../src/errors/index.js';
import { SMALL_GENERATOR } from '../helpers/generator.js';
import { acquireRunLock, LOCK_FILE } from '../../src/reliability/node.js';

setEngineAdapter(nodeEngineAdapter);

before(async () => {
  await initEngine();
});

const tiny = SMALL_GENERATOR;
const subject = phantom({ subjects: 1, size: [24, 24, 8], seed: 3 }).subject(0);
const tmp = mkdtempSync(join(tmpdir(), 'mriseq-train-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

test('a tiny generator overfits one phantom subject: t1 -> t2 PSNR gains >= 6 dB and exceeds 14 dB in 40 steps', async () => {
  const one = { id: subject.id, volumes: { t1: subject.volumes.t1, t2: subject.volumes.t2 } };
  const g = createGenerator('lite', { ...tiny, seed: 1 });
  const xs = normalizeIntensity(subject.volumes.t1!);
  const xt = normalizeIntensity(subject.volumes.t2!);
  const before = await generate(g, one, { sources: ['t1'], target: 't2', normalized: false });
  const p0 = psnrOf(tf.tensor(before.data), tf.tensor(xt.data));
  const r = await train(g, [one], {
    steps: 40,
    crop: 24,
    lr: 2e-3,
    seed: 2,
    validation: [one],
    validateEvery: 20,
  });
  const after = await generate(g, one, { sources: ['t1'], target: 't2' });
  const p1 = psnrOf(tf.tensor(after.data), tf.tensor(xt.data));
  // stepMs is a progress field for bars and curves; its size is the bench's business, not a test's.
  assert.ok(
    r.history.every((e) => Number.isFinite(e.loss.total) && Number.isFinite(e.stepMs) && e.stepMs >= 0),
  );
  assert.ok(p1 - p0 >= 6 && p1 > 14, `PSNR ${p0.toFixed(2)} -> ${p1.toFixed(2)} dB`);
  void xs;
  g.dispose();
});

test("generate() with c_in 3 predicts each slice as the centre of its own stack (the authors' 2.5D inference)", async () => {
  const g = createGenerator('lite', { ...tiny, cIn: 3, cDec: [16, 8, 3], seed: 4 });
  const small = { id: 's', volumes: { t1: subject.volumes.t1, flair: subject.volumes.flair } };
  const [nx, ny, nz] = subject.volumes.t1!.shape; // 24 x 24 x 8
  const out = await generate(g, small, { sources: ['t1', 'flair'], target: 't2', batchSize: 3 });
  assert.deepEqual(out.shape, [nx, ny, nz]);
  assert.deepEqual(out.affine, subject.volumes.t1!.affine);
  const a = normalizeIntensity(subject.volumes.t1!).data;
  const b = normalizeIntensity(subject.volumes.flair!).data;
  // The authors' stacks [j, j + 3): slice j + 1 is channel 1 of stack j; the two end slices are
  // channel 0 of the first stack and channel 2 of the last.
  const predict = (z0: number) => {
    const stack = new Float32Array(2 * ny * nx * 3);
    for (const [ti, d] of [a, b].entries())
      for (let y = 0; y < ny; y++)
        for (let x = 0; x < nx; x++)
          for (let c = 0; c < 3; c++)
            stack[((ti * ny + y) * nx + x) * 3 + c] = d[(z0 + c) * nx * ny + y * nx + x];
    return tf.tidy(() => g.apply(tf.tensor(stack, [1, 2, ny, nx, 3]), 't2').dataSync());
  };
  let m = 0;
  for (let z = 0; z < nz; z++) {
    const j = z === 0 ? 0 : z === nz - 1 ? nz - 3 : z - 1;
    const direct = predict(j);
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++)
        m = Math.max(m, Math.abs(direct[(y * nx + x) * 3 + (z - j)] - out.data[z * nx * ny + y * nx + x]));
  }
  assert.ok(m < 1e-5, `max diff ${m}`);
  // non-overlapping stacks (mriseq 0.1) give other values: the test tells the two apart
  const first = predict(3);
  let d = 0;
  for (let i = 0; i < nx * ny; i++) d = Math.max(d, Math.abs(first[i * 3 + 0] - out.data[3 * nx * ny + i]));
  assert.ok(d > 1e-4, `stack 3-5 channel 0 vs slice 3 as a centre: ${d}`);
  await assert.rejects(generate(g, small, { sources: ['t2'], target: 't1' }), MriseqError);
  g.dispose();
});

test('centredStacks: every slice once, centred where it can be, inside the volume, thin volumes too', () => {
  assert.deepEqual(
    centredStacks(5, 3).map((s) => [s.slice, s.start, s.channel]),
    [
      [0, 0, 0],
      [1, 0, 1],
      [2, 1, 1],
      [3, 2, 1],
      [4, 2, 2],
    ],
  );
  assert.deepEqual(
    centredStacks(3, 1).map((s) => [s.start, s.channel]),
    [
      [0, 0],
      [1, 0],
      [2, 0],
    ],
  );
  assert.deepEqual(
    centredStacks(2, 5).map((s) => [s.start, s.channel]),
    [
      [0, 0],
      [0, 1],
    ],
  );
});

test('checkpoint round trip: a new process loads it and reproduces the outputs', () => {
  const g = createGenerator('lite', { ...tiny, seed: 5 });
  const dir = join(tmp, 'ckpt');
  saveCheckpoint(dir, g);
  const shape = [1, 1, 8, 8, 1];
  const x = tf.tensor(
    Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.37)),
    shape,
  );
  const mine = Array.from(g.apply(x, 'flair').dataSync());
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'checkpoint-child.ts'), dir, JSON.stringify(shape), 'flair'],
    {
      encoding: 'utf8',
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const theirs = JSON.parse(r.stdout) as { y: number[]; params: number };
  assert.equal(theirs.params, g.countParams());
  let m = 0;
  for (let i = 0; i < mine.length; i++) m = Math.max(m, Math.abs(mine[i] - theirs.y[i]));
  assert.ok(m < 1e-6, `max diff ${m}`);
  g.dispose();
});

test('corrupt, truncated or mismatched checkpoints give MriseqError naming the file', () => {
  const g = createGenerator('lite', { ...tiny, seed: 6 });
  const dir = join(tmp, 'bad');
  saveCheckpoint(dir, g);
  const bin = join(dir, 'weights.bin');
  const good = readFileSync(bin);
  const flipped = Buffer.from(good);
  flipped[100] ^= 0xff;
  writeFileSync(bin, flipped);
  assert.throws(
    () => loadCheckpoint(dir),
    (e: unknown) => e instanceof MriseqError && e.code === 'checkpoint.corrupt' && e.file === bin,
  );
  writeFileSync(bin, good.subarray(0, good.length - 8));
  assert.throws(
    () => loadCheckpoint(dir),
    (e: unknown) => e instanceof MriseqError && e.code === 'checkpoint.corrupt',
  );
  writeFileSync(bin, good);
  assert.equal(loadCheckpoint(dir).model.countParams(), g.countParams());
  // a config whose shapes disagree with the stored weights
  const cfgFile = join(dir, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as { config: Seq2SeqConfig };
  cfg.config.cW = 5;
  writeFileSync(cfgFile, JSON.stringify(cfg));
  assert.throws(
    () => loadCheckpoint(dir),
    (e: unknown) => e instanceof MriseqError && e.code === 'checkpoint.mismatch',
  );
  writeFileSync(cfgFile, '{not json');
  assert.throws(() => loadCheckpoint(dir), MriseqError);
  assert.throws(() => loadCheckpoint(join(tmp, 'nowhere')), MriseqError);
  g.dispose();
});

test('resume: interrupted at step 3 and resumed from disk equals an uninterrupted 6-step run', async () => {
  const subjects = [{ id: subject.id, volumes: subject.volumes }];
  const common = {
    steps: 6,
    crop: 16,
    seed: 9,
    lr: 1e-3,
    validation: subjects,
    validateEvery: 2,
    modelOverrides: { ...tiny, seed: 8 },
  };
  const a = await trainRun(subjects, { ...common, out: join(tmp, 'runA') });
  const ac = new AbortController();
  const b1 = await trainRun(subjects, {
    ...common,
    out: join(tmp, 'runB'),
    signal: ac.signal,
    onProgress: (e) => e.step === 3 && ac.abort(),
  });
  assert.equal(b1.stopped, true);
  assert.equal(b1.steps, 3);
  b1.model.dispose();
  const b2 = await trainRun(subjects, { ...common, out: join(tmp, 'runB'), resume: true });
  assert.equal(b2.resumedFrom, 3);
  assert.equal(b2.steps, 6);
  const wa = a.model.getWeights();
  const wb = b2.model.getWeights();
  let m = 0;
  for (const k of Object.keys(wa))
    for (let i = 0; i < wa[k].data.length; i++) m = Math.max(m, Math.abs(wa[k].data[i] - wb[k].data[i]));
  assert.ok(m <= 1e-6, `max weight difference ${m}`);
  // the final loss of step 6 agrees too, and the best checkpoint was chosen the same way
  assert.ok(Math.abs(a.finalLoss!.total - b2.finalLoss!.total) <= 1e-5);
  assert.equal(a.bestStep, b2.bestStep);
  const best = loadCheckpoint(join(tmp, 'runA'));
  assert.ok(best.dir.endsWith('best'));
  a.model.dispose();
  b2.model.dispose();
});

test("a run resumed, or a finished run reused, on other volumes is refused, naming the checkpoint's data.json", async () => {
  const subjects = [{ id: subject.id, volumes: subject.volumes }];
  const out = join(tmp, 'runData');
  const opts = { steps: 2, crop: 16, seed: 1, modelOverrides: { ...tiny, seed: 1 }, out, resume: true };
  const ac = new AbortController();
  const r1 = await trainRun(subjects, { ...opts, signal: ac.signal, onProgress: () => ac.abort() });
  assert.equal(r1.steps, 1);
  r1.model.dispose();
  // the same subject id with one voxel changed: an interrupted run does not continue on it
  const t1 = subject.volumes.t1!;
  const data = Float32Array.from(t1.data);
  data[100] += 1;
  const changed = [{ id: subject.id, volumes: { ...subject.volumes, t1: { ...t1, data } } }];
  const refuse = (e: unknown) =>
    e instanceof MriseqError &&
    e.code === 'train.data' &&
    /other data \(same subject ids, different volumes\)/.test(e.message) &&
    // the record that travels with the checkpoint's weights
    e.message.includes(join(out, 'last', 'data.json'));
  await assert.rejects(trainRun(changed, opts), refuse);
  // the data it started on: it resumes and finishes
  const r2 = await trainRun(subjects, opts);
  assert.equal(r2.resumedFrom, 1);
  assert.equal(r2.steps, 2);
  r2.model.dispose();
  // a finished run is not taken as done for other subjects either
  const other = phantom({ subjects: 1, size: [24, 24, 8], seed: 4 }).subject(0);
  const renamed = [{ id: 'other', volumes: other.volumes }];
  await assert.rejects(
    trainRun(renamed, opts),
    (e: unknown) => refuse(e) === false && e instanceof MriseqError && /different subjects/.test(e.message),
  );
  // and a finished run on its own data is still taken as done
  const r3 = await trainRun(subjects, opts);
  assert.equal(r3.resumedFrom, 2);
  r3.model.dispose();
});

test('a run folder in use by another writer is refused with "in use", and free again afterwards', async () => {
  const subjects = [{ id: subject.id, volumes: subject.volumes }];
  const out = join(tmp, 'runLocked');
  const opts = { steps: 1, crop: 16, seed: 1, modelOverrides: { ...tiny, seed: 1 }, out };
  const holder = acquireRunLock(out, 'another mriseq train');
  await assert.rejects(
    () => trainRun(subjects, opts),
    (e: unknown) => e instanceof MriseqError && e.code === 'run.in_use',
  );
  holder.release();
  const r = await trainRun(subjects, opts);
  assert.equal(r.steps, 1);
  r.model.dispose();
  assert.ok(!existsSync(join(out, LOCK_FILE)), 'the lock is released when training ends');
});

test('4D DCE through the time axis: trains on a dce source/target and generates a 4D series; 3D model trains and generates', async () => {
  const s = phantom({ subjects: 1, size: [16, 16, 8], dce: { phases: 3 }, seed: 4 }).subject(0);
  const only = { id: s.id, volumes: { t2: s.volumes.t2, dce: s.volumes.dce } };
  const g = createGenerator('lite', { ...tiny, sequences: ['t2', 'dce'], seed: 2 });
  const r = await train(g, [only], { steps: 4, crop: 16, seed: 1 });
  assert.equal(r.history.length, 4);
  assert.ok(
    r.history.some((e) => e.source === 'dce' || e.target === 'dce'),
    'dce drawn',
  );
  assert.ok(r.history.every((e) => Number.isFinite(e.loss.total)));
  const dce = await generate(g, only, { sources: ['t2'], target: 'dce' });
  assert.deepEqual(dce.shape, [16, 16, 8, 3]);
  assert.equal(dce.spacing[3], 60);
  const t2 = await generate(g, only, { sources: ['dce'], target: 't2' });
  assert.deepEqual(t2.shape, [16, 16, 8]);
  g.dispose();
  const g3 = createGenerator('lite', { ...tiny, ndims: 3, seed: 2 });
  const r3 = await train(g3, [{ id: s.id, volumes: { t1: s.volumes.t1, t2: s.volumes.t2 } }], {
    steps: 2,
    crop: 16,
    seed: 1,
  });
  assert.ok(r3.history.every((e) => Number.isFinite(e.loss.total)));
  const v3 = await generate(g3, s, { sources: ['t1'], target: 't2' });
  assert.deepEqual(v3.shape, [16, 16, 8]);
  g3.dispose();
});
