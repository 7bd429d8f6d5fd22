/**
 * Batch loader statistics: pairs are drawn uniformly among the sequences each subject has, missing
 * sequences are never used, crops are the right voxels of the normalised volume, seeded replay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.js';
import { Cohort, batchLoader } from '../../src/cohort/index.js';
import { normalizeIntensity } from '../../src/volume/index.js';

const SIZE = [24, 24, 12] as const;

test('source/target pairs are uniform over ordered pairs of available sequences; missing never drawn', async () => {
  const cohort = Cohort.fromPhantom({ subjects: 12, seed: 4, size: SIZE, missing: 0.35 });
  const loader = batchLoader(cohort, { seed: 9, crop: [8, 8], batchSize: 8, output: 'array', prefetch: 1 });
  const counts = new Map<string, number>();
  const bySubject = new Map(cohort.subjects.map((s) => [s.id, s]));
  const perSubjectPairs = new Map<string, Map<string, number>>();
  let n = 0;
  for (const b of await loader.take(150)) {
    for (let k = 0; k < b.subjectId.length; k++) {
      const s = bySubject.get(b.subjectId[k]!)!;
      const src = b.sourceSeq[k]!;
      const tgt = b.targetSeq[k]!;
      assert.ok(s.available.includes(src) && s.available.includes(tgt), `${s.id} lacks ${src} or ${tgt}`);
      assert.notEqual(src, tgt);
      assert.equal(b.sourceIndex[k], cohort.sequences.indexOf(src));
      assert.equal(b.targetIndex[k], cohort.sequences.indexOf(tgt));
      const m = perSubjectPairs.get(s.id) ?? new Map<string, number>();
      m.set(`${src}>${tgt}`, (m.get(`${src}>${tgt}`) ?? 0) + 1);
      perSubjectPairs.set(s.id, m);
      counts.set(s.id, (counts.get(s.id) ?? 0) + 1);
      n++;
    }
  }
  await loader.close();
  // Subjects uniform: chi-square with 11 dof, 99.9% quantile 31.3.
  const expected = n / cohort.size;
  let chi = 0;
  for (const s of cohort.subjects) chi += ((counts.get(s.id) ?? 0) - expected) ** 2 / expected;
  assert.ok(chi < 31.3, `subject chi-square ${chi}`);
  // Within a subject with all four sequences, the 12 ordered pairs are uniform (11 dof).
  const full = cohort.subjects.filter((s) => s.available.length === 4);
  assert.ok(full.length > 0 && cohort.subjects.some((s) => s.missing.length > 0));
  let pooled = new Array<number>(12).fill(0);
  const keys: string[] = [];
  for (const a of cohort.sequences) for (const b of cohort.sequences) if (a !== b) keys.push(`${a}>${b}`);
  for (const s of full) pooled = pooled.map((v, i) => v + (perSubjectPairs.get(s.id)?.get(keys[i]!) ?? 0));
  const total = pooled.reduce((a, b) => a + b, 0);
  const chiPairs = pooled.reduce((a, v) => a + (v - total / 12) ** 2 / (total / 12), 0);
  assert.ok(chiPairs < 31.3, `pair chi-square ${chiPairs} over ${total} draws`);
});

test('a 2.5D crop holds c_in adjacent slices of the normalised volume (flips applied to both)', async () => {
  const cohort = Cohort.fromPhantom({ subjects: 3, seed: 2, size: SIZE });
  const loader = batchLoader(cohort, { seed: 1, crop: [10, 12], cIn: 3, batchSize: 2, output: 'array' });
  const [b] = await loader.take(1);
  await loader.close();
  assert.deepEqual(b!.shape, [2, 10, 12, 3]);
  for (let k = 0; k < 2; k++) {
    const { origin, flipX, flipY } = b!.crops[k]!;
    const [x0, y0, z0] = origin;
    for (const [which, seq] of [
      ['source', b!.sourceSeq[k]!],
      ['target', b!.targetSeq[k]!],
    ] as const) {
      const v = normalizeIntensity(await cohort.load(b!.subjectId[k]!, seq));
      const arr = b![which];
      for (let h = 0; h < 10; h++)
        for (let w = 0; w < 12; w++)
          for (let c = 0; c < 3; c++) {
            const x = x0 + (flipX ? 11 - w : w);
            const y = y0 + (flipY ? 9 - h : h);
            const want = v.data[((z0 + c) * SIZE[1] + y) * SIZE[0] + x]!;
            assert.equal(arr[((k * 10 + h) * 12 + w) * 3 + c], want);
          }
    }
  }
  for (const v of b!.source) assert.ok(v >= -1 && v <= 1);
});

test('3D patches, padding with -1, seeded replay independent of prefetch depth', async () => {
  const cohort = Cohort.fromPhantom({ subjects: 4, seed: 5, size: SIZE });
  const a = batchLoader(cohort, { mode: '3d', crop: [16, 32, 20], seed: 3, output: 'array', prefetch: 1 });
  const b = batchLoader(cohort, { mode: '3d', crop: [16, 32, 20], seed: 3, output: 'array', prefetch: 4 });
  const [ba, bb] = [await a.take(3), await b.take(3)];
  await Promise.all([a.close(), b.close()]);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(ba[i]!.shape, [1, 16, 32, 20, 1]);
    assert.deepEqual(ba[i]!.subjectId, bb[i]!.subjectId);
    assert.deepEqual(ba[i]!.source, bb[i]!.source);
  }
  // D=16 > nz=12 and H=32 > ny=24: the volume is centred, the rest is background -1.
  assert.equal(ba[0]!.source[0], -1);
  assert.deepEqual(ba[0]!.crops[0]!.origin.slice(1), [-4, -2]);
});

test('tensor output: [B,H,W,C] tensors; closing disposes prefetched ones', async () => {
  await initEngine();
  const cohort = Cohort.fromPhantom({ subjects: 3, seed: 6, size: SIZE });
  const before = tf.memory().numTensors;
  const loader = batchLoader(cohort, { seed: 2, crop: [16, 16], batchSize: 2 });
  const r = await loader.next();
  assert.ok(!r.done);
  assert.deepEqual(r.value.source.shape, [2, 16, 16, 3]);
  tf.dispose([r.value.source, r.value.target]);
  await loader.close();
  assert.equal(tf.memory().numTensors, before);
});

test('a cohort where nobody has two sequences is refused with a clear error', () => {
  const cohort = Cohort.fromPhantom({ subjects: 3, seed: 6, size: SIZE }).filter(() => false);
  assert.throws(() => batchLoader(cohort, {}), /no subject has enough sequences/);
  assert.throws(() => batchLoader(Cohort.fromPhantom({ subjects: 2, size: SIZE }), { crop: [8] }), /crop/);
});
