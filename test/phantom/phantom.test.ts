/**
 * The phantom's physics and ground truth, checked against closed forms written here (not the
 * module's own helpers), plus determinism and laziness.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  phantom,
  simulateSubject,
  phantomSubjectInfo,
  TISSUE,
  TISSUE_PROPERTIES,
  LESION,
  LESION_HIERARCHY,
  type PhantomSubject,
} from '../../src/phantom/index.js';

const SMALL = { size: [32, 32, 16] as const, subjects: 50 };
const CLEAN = { ...SMALL, noise: 0, bias: 0 };

// Closed forms of shared/spec/phantom.md with the protocol's TR/TE/TI in ms (3 T).
const se = (pd: number, t1: number, t2: number, tr: number, te: number): number =>
  pd * (1 - Math.exp(-tr / t1)) * Math.exp(-te / t2);
const ir = (pd: number, t1: number, t2: number, tr: number, te: number, ti: number): number =>
  pd * Math.abs(1 - 2 * Math.exp(-ti / t1) + Math.exp(-tr / t1)) * Math.exp(-te / t2);
const R1 = 4.5e-3; // per mM per ms

function hashSubject(s: PhantomSubject): string {
  const h = createHash('sha256');
  for (const k of Object.keys(s.volumes).sort())
    h.update(k).update(new Uint8Array(s.volumes[k as 't1']!.data.buffer));
  h.update(new Uint8Array(s.truth.tissue.data.buffer)).update(
    new Uint8Array(s.truth.unique.t1gd!.data.buffer),
  );
  return h.digest('hex');
}

const relClose = (a: number, b: number, tol = 1e-5): boolean =>
  Math.abs(a - b) <= tol * Math.max(1e-3, Math.abs(b));

test('same seed gives the same bytes; another seed or index gives different ones', () => {
  const a = hashSubject(simulateSubject(3, { ...SMALL, seed: 7, dwi: true }));
  const b = hashSubject(phantom({ ...SMALL, seed: 7, dwi: true }).subject('sim-00003'));
  assert.equal(a, b);
  assert.notEqual(a, hashSubject(simulateSubject(3, { ...SMALL, seed: 8, dwi: true })));
  assert.notEqual(a, hashSubject(simulateSubject(4, { ...SMALL, seed: 7, dwi: true })));
  // A subject does not depend on the cohort's size.
  assert.equal(a, hashSubject(simulateSubject(3, { ...SMALL, subjects: 20000, seed: 7, dwi: true })));
});

test('a 20,000-subject phantom costs nothing until a subject is asked for', () => {
  const ph = phantom({ subjects: 20000, seed: 1 });
  assert.equal(ph.size, 20000);
  assert.equal(ph.id(19999), 'sim-19999');
  assert.equal(ph.indexOf('sim-19999'), 19999);
  assert.equal(ph.indexOf('sim-20000'), -1);
  const info = ph.info(12345);
  assert.deepEqual(info.sequences, ['t1', 't1gd', 't2', 'flair']);
  assert.throws(() => ph.subject('nope'), /no such phantom subject/);
});

test('each tissue follows its signal equation (no noise, no bias)', () => {
  const s = simulateSubject(0, { ...CLEAN, dwi: true });
  const { pd, t1, t2, adc, contrast } = s.truth.maps;
  const tissue = s.truth.tissue.data;
  const ti = s.truth.flairTI;
  const seen = new Set<number>();
  for (let i = 0; i < tissue.length; i++) {
    const P = pd.data[i]!;
    const T1 = t1.data[i]!;
    const T2 = t2.data[i]!;
    const C = contrast.data[i]!;
    if (tissue[i] === TISSUE.background) {
      assert.equal(s.volumes.t1!.data[i], 0);
      continue;
    }
    seen.add(tissue[i]!);
    assert.ok(relClose(s.volumes.t1!.data[i]!, se(P, T1, T2, 500, 10)), `t1 at ${i}`);
    assert.ok(relClose(s.volumes.t2!.data[i]!, se(P, T1, T2, 5000, 100)), `t2 at ${i}`);
    assert.ok(relClose(s.volumes.flair!.data[i]!, ir(P, T1, T2, 9000, 120, ti), 1e-4), `flair at ${i}`);
    const t1post = 1 / (1 / T1 + R1 * C);
    assert.ok(relClose(s.volumes.t1gd!.data[i]!, se(P, t1post, T2, 500, 10)), `t1gd at ${i}`);
    const dwi = se(P, T1, T2, 5000, 80) * Math.exp(-1000 * adc.data[i]!);
    assert.ok(relClose(s.volumes.dwi!.data[i]!, dwi), `dwi at ${i}`);
  }
  // Every tissue class occurs (the lesion type of subject 0 decides whether necrosis exists).
  for (const t of [TISSUE.scalp, TISSUE.csf, TISSUE.greyMatter, TISSUE.whiteMatter, TISSUE.cellularCore])
    assert.ok(seen.has(t));
  // Native properties are the tissue's: T1 of white matter near its 3 T value.
  const wm = tissue.findIndex((v) => v === TISSUE.whiteMatter);
  assert.ok(Math.abs(t1.data[wm]! - 900) < 200);
});

test('FLAIR nulls CSF: TI = T1_csf ln(2 / (1 + exp(-TR/T1_csf)))', () => {
  const s = simulateSubject(1, CLEAN);
  const tissue = s.truth.tissue.data;
  let maxFlair = 0;
  for (const v of s.volumes.flair!.data) maxFlair = Math.max(maxFlair, v);
  let csf = 0;
  for (let i = 0; i < tissue.length; i++) {
    if (tissue[i] !== TISSUE.csf) continue;
    csf++;
    assert.ok(s.volumes.flair!.data[i]! < 1e-6 * maxFlair, `CSF voxel ${i} not nulled`);
    assert.ok(s.volumes.t2!.data[i]! > 0.3, 'CSF is bright on T2');
    const T1 = s.truth.maps.t1.data[i]!;
    assert.ok(relClose(s.truth.flairTI, T1 * Math.log(2 / (1 + Math.exp(-9000 / T1))), 1e-6));
  }
  assert.ok(csf > 100);
});

test('only T1Gd changes where contrast is present', () => {
  const opts = { ...CLEAN, dwi: true };
  const s = simulateSubject(2, opts);
  const c = s.truth.maps.contrast.data;
  let enhancing = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i]! > 0) {
      enhancing++;
      assert.ok(s.volumes.t1gd!.data[i]! > s.volumes.t1!.data[i]!, 'contrast shortens T1: brighter T1Gd');
    } else {
      assert.equal(s.volumes.t1gd!.data[i], s.volumes.t1!.data[i]);
    }
    // The other sequences are the native-tissue equation, whatever C is.
    const P = s.truth.maps.pd.data[i]!;
    if (P > 0)
      assert.ok(
        relClose(
          s.volumes.t2!.data[i]!,
          se(P, s.truth.maps.t1.data[i]!, s.truth.maps.t2.data[i]!, 5000, 100),
        ),
      );
  }
  assert.ok(enhancing > 0);
  // Enhancement is not a tissue of its own: enhancing and non-enhancing voxels of one lesion
  // compartment share PD-free T1 and T2.
  const lesion = s.truth.lesion.data;
  const t1ByCompartment = new Map<number, Set<number>>();
  for (let i = 0; i < c.length; i++) {
    if (!lesion[i]) continue;
    const set = t1ByCompartment.get(lesion[i]!) ?? new Set();
    set.add(s.truth.maps.t1.data[i]!);
    t1ByCompartment.set(lesion[i]!, set);
  }
  for (const set of t1ByCompartment.values()) assert.equal(set.size, 1);
});

test('unique masks mark exactly the voxels whose value depends on a property only that sequence sees', () => {
  const s = simulateSubject(5, { ...CLEAN, dwi: true });
  const { contrast, adc } = s.truth.maps;
  const tissue = s.truth.tissue.data;
  const u = s.truth.unique;
  let nUnique = 0;
  let nDwi = 0;
  for (let i = 0; i < tissue.length; i++) {
    // T1Gd: set C to 0 and see whether the T1Gd value moves (that value is exactly the T1 image).
    const dependsOnC = s.volumes.t1gd!.data[i] !== s.volumes.t1!.data[i];
    assert.equal(u.t1gd!.data[i] === 1, dependsOnC, `t1gd mask at ${i}`);
    assert.equal(u.t1gd!.data[i] === 1, contrast.data[i]! > 0);
    // DWI: does the signal move when ADC takes the tissue's nominal value (visible through T1/T2)?
    const nominal = TISSUE_PROPERTIES[tissue[i]!]!.adc;
    const P = s.truth.maps.pd.data[i]!;
    const base = se(P, s.truth.maps.t1.data[i]!, s.truth.maps.t2.data[i]!, 5000, 80);
    // (the map is float32, so compare beyond float32 rounding of the nominal value)
    const dependsOnAdc =
      P > 0 &&
      Math.abs(base * Math.exp(-1000 * adc.data[i]!) - base * Math.exp(-1000 * nominal)) > 1e-6 * base;
    assert.equal(u.dwi!.data[i] === 1, dependsOnAdc, `dwi mask at ${i}`);
    if (dependsOnAdc) {
      nDwi++;
      assert.equal(s.truth.lesion.data[i], LESION.cellularCore);
    }
    assert.equal(u.t1!.data[i], 0);
    assert.equal(u.t2!.data[i], 0);
    assert.equal(u.flair!.data[i], 0);
    nUnique += u.t1gd!.data[i]!;
  }
  assert.ok(nUnique > 0);
  assert.ok(nDwi > 0, 'subject 5 has restricted diffusion');
  assert.deepEqual(s.truth.importanceOrder[0], 't1gd');
  assert.deepEqual(s.truth.importanceOrder.at(-1), 't1');
});

test('T1Gd unique signal reaches the requested fraction of the head; lesion enhancement stays 14-30%', () => {
  for (const uniqueFraction of [0.2, 0.05]) {
    for (const index of [0, 1, 2]) {
      const s = simulateSubject(index, { ...SMALL, uniqueFraction });
      const tissue = s.truth.tissue.data;
      let head = 0;
      let uniq = 0;
      let lesion = 0;
      let enhLesion = 0;
      for (let i = 0; i < tissue.length; i++) {
        if (tissue[i] === TISSUE.background) continue;
        head++;
        uniq += s.truth.unique.t1gd!.data[i]!;
        if (s.truth.lesion.data[i]) {
          lesion++;
          if (s.truth.maps.contrast.data[i]! > 0) enhLesion++;
        }
      }
      assert.ok(
        Math.abs(uniq / head - uniqueFraction) < 0.01,
        `unique fraction ${uniq / head} for target ${uniqueFraction}`,
      );
      const f = enhLesion / lesion;
      assert.ok(f >= 0.13 && f <= 0.31, `lesion enhancing fraction ${f}`);
      assert.ok(Math.abs(f - s.labels.enhancingFraction) < 0.02);
      assert.equal(s.labels.highEnhancement, f > 0.21 ? 1 : 0);
    }
  }
});

test('no tissue predicts enhancement: each tissue enhances near the head-wide rate, the lesion well below half', () => {
  // phantom.md: enhancement must not be predictable from the other sequences. When most of the
  // CSF enhanced (dura, choroid plexus), "bright on T2 -> bright on T1Gd" was learnable and the
  // generator painted enhancement over the whole T2-bright lesion.
  const count = new Map<number, [number, number]>();
  let head = 0;
  let enh = 0;
  for (const index of [0, 1, 2, 3, 4, 5]) {
    const s = simulateSubject(index, { uniqueFraction: 0.2 });
    const tissue = s.truth.tissue.data;
    for (let i = 0; i < tissue.length; i++) {
      const t = tissue[i]!;
      if (t === TISSUE.background) continue;
      const e = s.truth.maps.contrast.data[i]! > 0 ? 1 : 0;
      head++;
      enh += e;
      const c = count.get(t) ?? [0, 0];
      c[0]++;
      c[1] += e;
      count.set(t, c);
    }
  }
  const rate = enh / head;
  for (const t of [TISSUE.scalp, TISSUE.csf, TISSUE.greyMatter, TISSUE.whiteMatter]) {
    const [n, e] = count.get(t)!;
    assert.ok(Math.abs(e / n - rate) < 0.06, `tissue ${t}: enhancing fraction ${e / n} vs head ${rate}`);
  }
  for (const t of [TISSUE.oedema, TISSUE.cellularCore]) {
    const [n, e] = count.get(t)!;
    assert.ok(e / n < 0.4, `lesion tissue ${t}: enhancing fraction ${e / n} (must stay well below 0.5)`);
  }
  assert.equal(count.get(TISSUE.necroticCore)?.[1] ?? 0, 0, 'necrosis never enhances');
});

test('Rician noise: background magnitude has mean sigma*sqrt(pi/2)', () => {
  const s = simulateSubject(0, { ...SMALL, noise: 0.05, bias: 0 });
  const sigma = s.truth.noiseSigma.t2!;
  let sum = 0;
  let sum2 = 0;
  let m = 0;
  const tissue = s.truth.tissue.data;
  for (let i = 0; i < tissue.length; i++) {
    if (tissue[i] !== TISSUE.background) continue;
    const v = s.volumes.t2!.data[i]!;
    sum += v;
    sum2 += v * v;
    m++;
  }
  const mean = sum / m;
  // Rayleigh: mean sigma sqrt(pi/2), second moment 2 sigma^2.
  assert.ok(Math.abs(mean / (sigma * Math.sqrt(Math.PI / 2)) - 1) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(sum2 / m / (2 * sigma * sigma) - 1) < 0.05);
});

test('labels: a two-level hierarchy with balanced classes; missingness is recorded and keeps two sequences', () => {
  const o = { subjects: 2000, seed: 3, missing: 0.4, dwi: true };
  const groups = new Map<string, number>();
  let missing = 0;
  for (let i = 0; i < 2000; i++) {
    const info = phantomSubjectInfo(i, o);
    const sub = LESION_HIERARCHY[info.labels.lesionGroup] as readonly string[];
    assert.ok(sub.includes(info.labels.lesionType));
    groups.set(info.labels.lesionType, (groups.get(info.labels.lesionType) ?? 0) + 1);
    assert.ok(info.sequences.length >= 2);
    assert.equal(info.sequences.length + info.missing.length, 5);
    missing += info.missing.length;
  }
  for (const n of groups.values()) assert.ok(n > 400 && n < 600, `class size ${n}`);
  // Dropping 40% of 5, then restoring to keep 2, gives slightly under 0.4.
  const rate = missing / (2000 * 5);
  assert.ok(rate > 0.33 && rate < 0.4, `missing rate ${rate}`);
  const s = simulateSubject(0, { ...o, size: [24, 24, 12] });
  assert.deepEqual(Object.keys(s.volumes).sort(), [...s.sequences].sort());
  // Missingness does not change the anatomy.
  const full = simulateSubject(0, { ...o, missing: 0, size: [24, 24, 12] });
  assert.deepEqual(full.truth.tissue.data, s.truth.tissue.data);
});

test('DCE kinetics: drawn apart from the lesion type (a label only the DCE shows), washout half the time, no volume of the phantom without DCE moves', () => {
  const byType = new Map<string, { washout: number; n: number }>();
  const curves = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const l = phantomSubjectInfo(i, { subjects: 4000, seed: 5 }).labels;
    assert.equal(l.washout, l.kinetics === 'washout' ? 1 : 0);
    const t = byType.get(l.lesionType) ?? { washout: 0, n: 0 };
    t.washout += l.washout;
    t.n++;
    byType.set(l.lesionType, t);
    curves.set(l.kinetics, (curves.get(l.kinetics) ?? 0) + 1);
  }
  // washout ~ Binomial(n, 1/2) within every lesion type: |rate - 0.5| < 5 SDs
  for (const [type, t] of byType)
    assert.ok(Math.abs(t.washout / t.n - 0.5) < 5 * Math.sqrt(0.25 / t.n), `${type}: ${t.washout}/${t.n}`);
  for (const k of ['plateau', 'persistent'] as const)
    assert.ok(Math.abs(curves.get(k)! / 4000 - 0.25) < 5 * Math.sqrt(0.1875 / 4000), `${k} ${curves.get(k)}`);
  // the kinetics stream is its own: anatomy, labels and missingness of other streams are the same
  // with and without a DCE series
  const a = simulateSubject(3, { ...CLEAN, missing: 0.3 });
  const b = simulateSubject(3, { ...CLEAN, missing: 0.3, dce: true });
  assert.deepEqual(b.truth.tissue.data, a.truth.tissue.data);
  assert.deepEqual(b.volumes.t1gd?.data, a.volumes.t1gd?.data);
  assert.deepEqual({ ...b.labels }, { ...a.labels });
});

test('DCE: 4D series, pre-contrast first phase, lesion curves as labelled', () => {
  const o = { ...CLEAN, dce: { phases: 6, interval: 60 } };
  let checked = 0;
  for (let index = 0; index < 8 && checked < 2; index++) {
    const s = simulateSubject(index, o);
    const d = s.volumes.dce!;
    assert.deepEqual(d.shape, [32, 32, 16, 6]);
    assert.equal(d.spacing[3], 60);
    const n = 32 * 32 * 16;
    for (let i = 0; i < n; i += 97) assert.ok(relClose(d.data[i]!, s.volumes.t1!.data[i]!));
    const lesion = s.truth.lesion.data;
    const i = lesion.findIndex((l, k) => l !== 0 && s.truth.maps.contrast.data[k]! > 0);
    const curve = Array.from({ length: 6 }, (_, k) => d.data[k * n + i]!);
    const peak = curve.indexOf(Math.max(...curve));
    if (s.labels.kinetics === 'washout') {
      assert.ok(peak < 5 && curve[5]! < curve[peak]!, `washout ${curve}`);
      checked++;
    } else if (s.labels.kinetics === 'persistent') {
      assert.equal(peak, 5);
      checked++;
    }
  }
  assert.equal(checked, 2);
});
