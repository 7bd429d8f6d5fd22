import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phantom } from '../../src/phantom/index.js';
import {
  phantomAcceptance,
  formatAcceptance,
  prepareVolume,
  seededRandom,
  type TruthSubject,
} from '../../src/analysis/index.js';
import type { Volume } from '../../src/volume/index.js';

// The acceptance pipeline on a tiny phantom with a stand-in generator whose behaviour is known:
// it translates perfectly between everything except contrast (T1Gd from another source comes out
// as T1), with a little target-dependent error. The measurement must then recover the truth; a
// generator that also reproduced the contrast must fail the AUC check.
function subjects(): TruthSubject[] {
  const p = phantom({ subjects: 3, size: [32, 32, 16], seed: 4 });
  return [0, 1, 2].map((i) => {
    const s = p.subject(i);
    const seqs: Record<string, Volume> = {};
    for (const [k, v] of Object.entries(s.volumes)) if (v) seqs[k] = prepareVolume(v, true);
    return { id: s.id, sequences: seqs, unique: s.truth.unique.t1gd!, lesion: s.truth.lesion };
  });
}

function standIn(subs: TruthSubject[], seesContrast: boolean) {
  const owner = new Map<Volume, TruthSubject>();
  for (const s of subs) for (const v of Object.values(s.sequences)) owner.set(v, s);
  const err: Record<string, number> = { t1: 0.02, t2: 0.06, flair: 0.1, t1gd: 0.02 };
  return async (src: Readonly<Record<string, Volume>>, target: string): Promise<Float32Array> => {
    const [name] = Object.keys(src);
    const s = owner.get(src[name])!;
    const rand = seededRandom(name.length * 31 + target.length);
    const truth =
      target === 't1gd' && name !== 't1gd' && !seesContrast ? s.sequences.t1 : s.sequences[target];
    const e = name === target ? 0.01 : err[target];
    return Float32Array.from(truth.data, (v) => v + e * (rand() - 0.5));
  };
}

test('acceptance measurement recovers the designed truth from a generator blind to contrast', async () => {
  const subs = subjects();
  const r = await phantomAcceptance(subs, standIn(subs, false), { resamples: 50 });
  assert.equal(r.subjects, 3);
  assert.ok(r.lesionAuc.t1gd.mean >= 0.9, formatAcceptance(r));
  assert.ok(r.subtractionAuc > 0.9);
  assert.deepEqual(
    r.checks,
    { aucAtLeast: true, specific: true, uniqueFirst: true, lastLast: true },
    formatAcceptance(r),
  );
  assert.match(formatAcceptance(r), /C_d order: t1gd > .* > t1 /);
});

test('acceptance fails when the generator reproduces the contrast (M_d no longer marks the unique mask)', async () => {
  const subs = subjects();
  const r = await phantomAcceptance(subs, standIn(subs, true), { resamples: 20 });
  assert.ok(!r.checks.aucAtLeast && !r.passed, formatAcceptance(r));
});
