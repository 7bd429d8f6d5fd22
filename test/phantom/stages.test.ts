/**
 * simulateSubject's stages, each run on its own: a property each stage must have, checked on its
 * output alone (closed forms written here, not the module's helpers), and a pinned fingerprint of
 * whole subjects (the shipped pretrained weights were trained on these bytes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  resolvePhantomOptions,
  simulateSubject,
  subjectGrid,
  simulateAnatomy,
  simulateLesion,
  simulateTissueProperties,
  simulateContrast,
  simulateBias,
  simulateStages,
  phantomSubjectInfo,
  simulateSequences,
  simulateTruth,
  type ResolvedPhantomOptions,
} from '../../src/phantom/phantom.js';
import { LESION, TISSUE } from '../../src/phantom/index.js';

const SMALL = { size: [32, 32, 16] as [number, number, number], subjects: 50 };

const stagesOf = (index: number, o: ResolvedPhantomOptions) => {
  const st = simulateStages(index, o);
  return { ...st, s: st.signals };
};

test('anatomy: nested structures; the brain is grey/white matter and CSF inside the head, ventricles inside it', () => {
  for (const index of [0, 1, 2]) {
    const o = resolvePhantomOptions({ ...SMALL, seed: 5 });
    const { tissue, inBrain, ventricle } = simulateAnatomy(subjectGrid(o, index));
    let brain = 0;
    let head = 0;
    for (let i = 0; i < tissue.length; i++) {
      if (tissue[i] !== TISSUE.background) head++;
      if (ventricle[i]) {
        assert.equal(inBrain[i], 1, `ventricle outside the brain at ${i}`);
        assert.equal(tissue[i], TISSUE.csf);
      }
      if (!inBrain[i]) {
        assert.ok(
          tissue[i] !== TISSUE.whiteMatter && tissue[i] !== TISSUE.greyMatter,
          `brain tissue outside at ${i}`,
        );
        continue;
      }
      brain++;
      assert.ok(
        ([TISSUE.greyMatter, TISSUE.whiteMatter, TISSUE.csf] as number[]).includes(tissue[i]!),
        `tissue ${tissue[i]}`,
      );
    }
    // a brain well inside a head well inside the field of view
    assert.ok(brain > 0.4 * head && brain < 0.9 * head, `brain ${brain} of head ${head}`);
    assert.ok(head < 0.7 * tissue.length && head > 0.2 * tissue.length, `head ${head}`);
  }
});

test('lesion: inside the brain mask, its tissues match its labels, necrosis only in the necrotic group', () => {
  const o = resolvePhantomOptions({ ...SMALL, seed: 11 });
  for (const lesionGroup of ['necrotic', 'solid'] as const) {
    const grid = subjectGrid(o, 4);
    const anatomy = simulateAnatomy(grid);
    const lesionType = lesionGroup === 'necrotic' ? 'necrotic-compact' : 'solid-compact';
    const { lesion, lesionVoxels } = simulateLesion(grid, anatomy, { lesionGroup, lesionType });
    const expected = {
      [LESION.oedema]: TISSUE.oedema,
      [LESION.cellularCore]: TISSUE.cellularCore,
      [LESION.necroticCore]: TISSUE.necroticCore,
    } as Record<number, number>;
    let count = 0;
    let necrotic = 0;
    for (let i = 0; i < lesion.length; i++) {
      if (lesion[i] === LESION.none) continue;
      count++;
      if (lesion[i] === LESION.necroticCore) necrotic++;
      assert.equal(anatomy.inBrain[i], 1, `lesion outside the brain at ${i}`);
      assert.equal(anatomy.tissue[i], expected[lesion[i]!]);
      assert.equal(anatomy.ventricle[i], 0);
    }
    assert.equal(count, lesionVoxels);
    assert.ok(count > 100, `${lesionGroup}: only ${count} lesion voxels`);
    if (lesionGroup === 'solid') assert.equal(necrotic, 0);
    else assert.ok(necrotic > 0);
  }
});

test('tissue properties: T1 and T2 constant per tissue, PD a mild texture, ADC restricted only in the cellular core', () => {
  const o = resolvePhantomOptions({ ...SMALL, seed: 3 });
  const grid = subjectGrid(o, 6);
  const anatomy = simulateAnatomy(grid);
  const lesion = simulateLesion(grid, anatomy, phantomSubjectInfo(6, o).labels);
  const maps = simulateTissueProperties(grid, anatomy.tissue, lesion);
  const { props, pd, t1, t2, adc, adcNominal } = maps;
  let restricted = 0;
  for (let i = 0; i < pd.length; i++) {
    const t = anatomy.tissue[i]!;
    const p = props[t]!;
    assert.equal(t1[i], Math.fround(p.t1));
    assert.equal(t2[i], Math.fround(p.t2));
    assert.equal(adcNominal[i], Math.fround(p.adc));
    if (t === TISSUE.background) assert.equal(pd[i], 0);
    else assert.ok(Math.abs(pd[i]! / p.pd - 1) <= 0.03 * 2.5 * 3, `pd texture at ${i}`);
    if (adc[i] !== adcNominal[i]) {
      restricted++;
      assert.equal(lesion.lesion[i], LESION.cellularCore, `restricted outside the core at ${i}`);
      assert.ok(Math.abs(adc[i]! / adcNominal[i]! - 0.45) < 1e-6);
    }
  }
  assert.ok(restricted > 0, 'no restricted diffusion');
});

test('contrast: zero outside enhancing voxels, never in the background or the necrotic core', () => {
  const o = resolvePhantomOptions({ ...SMALL, seed: 2 });
  for (const index of [0, 7]) {
    const { info, anatomy, lesion } = simulateStages(index, o);
    // alone, on a fresh stream (in a subject it draws after the tissue properties)
    const enhancement = simulateContrast(
      subjectGrid(o, index),
      anatomy,
      lesion,
      info.labels.enhancingFraction,
      o.uniqueFraction,
    );
    const { contrast, enhancing, headVoxels } = enhancement;
    let inLesion = 0;
    let total = 0;
    for (let i = 0; i < contrast.length; i++) {
      if (!enhancing[i]) {
        assert.equal(contrast[i], 0, `contrast outside enhancing tissue at ${i}`);
        continue;
      }
      total++;
      assert.ok(contrast[i]! >= Math.fround(0.15) && contrast[i]! <= 1, `contrast ${contrast[i]}`);
      assert.notEqual(anatomy.tissue[i], TISSUE.background);
      assert.notEqual(lesion.lesion[i], LESION.necroticCore);
      if (lesion.lesion[i] !== LESION.none) inLesion++;
    }
    // the designed fraction of the lesion enhances (ties at the threshold may add a few)
    const k = Math.round(info.labels.enhancingFraction * lesion.lesionVoxels);
    assert.ok(inLesion >= k && inLesion <= k * 1.02 + 2, `lesion enhancing ${inLesion}, designed ${k}`);
    assert.ok(Math.abs(total / headVoxels - o.uniqueFraction) < 0.01, `head fraction ${total / headVoxels}`);
  }
});

test('bias: positive, exactly 1 at strength 0, log-linear in the strength, and smooth', () => {
  const o = resolvePhantomOptions({ ...SMALL, seed: 9 });
  // the same stream state for each strength: a fresh grid each time
  const a = simulateBias(subjectGrid(o, 1), 0.2);
  const b = simulateBias(subjectGrid(o, 1), 0.5);
  const none = simulateBias(subjectGrid(o, 1), 0);
  assert.ok(none.every((v) => v === 1));
  assert.ok(a.every((v) => v > 0));
  const [nx] = o.size;
  let diff2 = 0;
  let sum = 0;
  let sum2 = 0;
  for (let i = 0; i < a.length; i++) {
    const la = Math.log(a[i]!);
    assert.ok(Math.abs(Math.log(b[i]!) - 2.5 * la) < 1e-5, `not exp(strength * field) at ${i}`);
    sum += la;
    sum2 += la * la;
    if ((i + 1) % nx !== 0) diff2 += (Math.log(a[i + 1]!) - la) ** 2;
  }
  const variance = sum2 / a.length - (sum / a.length) ** 2;
  const meanDiff2 = diff2 / (a.length - a.length / nx);
  // white noise would give 2 x variance; a field of at most 1.2 cycles across 32 voxels far less
  assert.ok(variance > 0 && meanDiff2 < 0.02 * variance, `adjacent ${meanDiff2} vs variance ${variance}`);
});

test('sequences: without noise each voxel is its signal equation times the bias field', () => {
  const o = resolvePhantomOptions({ ...SMALL, seed: 4, noise: 0, bias: 0.3, dwi: true });
  const { s, bias, maps, enhancement } = stagesOf(3, o);
  const volumes = simulateSequences(s, ['t1', 't1gd', 't2', 'dwi']);
  assert.deepEqual(Object.keys(volumes), ['t1', 't1gd', 't2', 'dwi']);
  const se = (pd: number, t1: number, t2: number, tr: number, te: number): number =>
    pd * (1 - Math.exp(-tr / t1)) * Math.exp(-te / t2);
  const R1 = 4.5e-3;
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-5 * Math.max(1e-3, Math.abs(b));
  for (let i = 0; i < bias.length; i++) {
    const [P, T1, T2, D, B] = [maps.pd[i]!, maps.t1[i]!, maps.t2[i]!, maps.adc[i]!, bias[i]!];
    const C = enhancement.contrast[i]!;
    assert.ok(close(volumes.t1!.data[i]!, se(P, T1, T2, 500, 10) * B), `t1 at ${i}`);
    assert.ok(close(volumes.t2!.data[i]!, se(P, T1, T2, 5000, 100) * B), `t2 at ${i}`);
    assert.ok(close(volumes.t1gd!.data[i]!, se(P, 1 / (1 / T1 + R1 * C), T2, 500, 10) * B), `t1gd at ${i}`);
    assert.ok(close(volumes.dwi!.data[i]!, se(P, T1, T2, 5000, 80) * Math.exp(-1000 * D) * B), `dwi at ${i}`);
  }
});

test('truth: segmentation from lesion and enhancement, unique masks only where a unique property departs', () => {
  const o = resolvePhantomOptions({ ...SMALL, seed: 8, dwi: true });
  const { s, lesion, enhancement, maps } = stagesOf(5, o);
  const truth = simulateTruth(s);
  let uniqueT1gd = 0;
  for (let i = 0; i < lesion.lesion.length; i++) {
    const l = lesion.lesion[i]!;
    const expected = l === LESION.none ? 0 : enhancement.enhancing[i] ? 4 : l === LESION.oedema ? 2 : 1;
    assert.equal(truth.seg.data[i], expected, `seg at ${i}`);
    if (truth.unique.t1gd!.data[i]) {
      uniqueT1gd++;
      assert.equal(enhancement.enhancing[i], 1, `unique T1Gd without contrast at ${i}`);
    }
    if (truth.unique.dwi!.data[i]) assert.notEqual(maps.adc[i], maps.adcNominal[i]);
    for (const k of ['t1', 't2', 'flair'] as const) assert.equal(truth.unique[k]!.data[i], 0);
  }
  assert.ok(uniqueT1gd > 0);
  assert.equal(truth.uniqueFraction.t1gd, uniqueT1gd / enhancement.headVoxels);
  assert.equal(truth.biasField.data, s.bias);
});

// Recorded from simulateSubject before it was split into stages (main at 031df64): the stages must
// draw in the same order and compute the same floats, bit for bit.
test('whole subjects keep their pinned fingerprint', () => {
  const cases: [number, Parameters<typeof simulateSubject>[1], string][] = [
    [3, { ...SMALL, seed: 7, dwi: true }, '0deeb35f54517221e2491c8a1f80036a2bd09f2121275c2fbd03e0303384e943'],
    [
      5,
      { size: [24, 28, 12], subjects: 50, seed: 2, dwi: true, dce: { phases: 6, interval: 30 } },
      '754cb103f620cc46dcb6a3e9d391f6a92b4de042d70fdec53340ccc458cfe946',
    ],
  ];
  for (const [index, options, expected] of cases) {
    const h = createHash('sha256');
    const walk = (x: unknown, path: string): void => {
      if (x instanceof Float32Array || x instanceof Uint8Array || x instanceof Float64Array)
        h.update(path).update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
      else if (Array.isArray(x)) x.forEach((v, k) => walk(v, `${path}[${k}]`));
      else if (x && typeof x === 'object')
        for (const k of Object.keys(x).sort()) walk((x as Record<string, unknown>)[k], `${path}.${k}`);
      else h.update(`${path}=${String(x)};`);
    };
    walk(simulateSubject(index, options), '');
    assert.equal(h.digest('hex'), expected, `subject ${index}`);
  }
});
