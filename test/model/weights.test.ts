/**
 * The weights file format: float16 packing against numpy's astype(float16) (round to nearest
 * even, subnormals, overflow to Inf, NaN) bit for bit, decoding against numpy's float16 -> float32,
 * and a float16 checkpoint that loads back within half-precision rounding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { setEngineAdapter } from '../../src/engine/index.js';
import {
  createGenerator,
  decodeWeights,
  encodeWeights,
  fromFloat16Bits,
  Rng,
  toFloat16Bits,
} from '../../src/model/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/node.js';
import { MriseqError } from '../../src/errors/index.js';
import { missingPython, runPython } from '../helpers/python.js';
import { TINY_GENERATOR } from '../helpers/generator.js';

setEngineAdapter(nodeEngineAdapter);

function samples(): number[] {
  const r = new Rng(9);
  const v: number[] = [
    0,
    1,
    -1,
    65504,
    65519,
    65520,
    1e6,
    -1e6,
    6.1e-5,
    5.96e-8,
    2.98e-8,
    2.99e-8,
    1e-9,
    Infinity,
    -Infinity,
  ];
  // exact ties between two half-precision neighbours, both parities
  for (const k of [1, 2, 3, 1000, 1001]) v.push((1 + (2 * k + 1) / 2048) * 2 ** -3);
  for (let i = 0; i < 2000; i++) v.push(r.normal() * 10 ** (r.int(12) - 8));
  return v.map(Math.fround);
}

test(
  'float16 packing equals numpy astype(float16) bit for bit; decoding equals numpy',
  { skip: missingPython('numpy') },
  () => {
    const v = samples();
    const ours = v.map(toFloat16Bits);
    const ref = runPython<{ bits: number[]; back: (number | string)[] }>(
      `
import json, sys, numpy as np
v = np.array(json.load(sys.stdin), dtype=np.float32)
h = v.astype(np.float16)
back = h.astype(np.float32).tolist()
print(json.dumps({'bits': h.view(np.uint16).tolist(), 'back': [x if np.isfinite(x) else str(x) for x in back]}))
`,
      v.map((x) => (Number.isFinite(x) ? x : x > 0 ? 1e39 : -1e39)),
    );
    ours.forEach((b, i) =>
      assert.equal(b, ref.bits[i], `${v[i]}: ${b.toString(16)} vs ${ref.bits[i].toString(16)}`),
    );
    ours.forEach((b, i) => {
      const want = ref.back[i];
      const got = fromFloat16Bits(b);
      if (typeof want === 'string') assert.equal(String(got), want === 'inf' ? 'Infinity' : '-Infinity');
      else assert.equal(got, want);
    });
    assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN))));
    // JSON has no -0: checked here
    assert.equal(toFloat16Bits(-0), 0x8000);
    assert.ok(Object.is(fromFloat16Bits(0x8000), -0));
  },
);

test('a float16 checkpoint is half the size and loads back within half-precision rounding', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-w16-'));
  try {
    const g = createGenerator('lite', { ...TINY_GENERATOR, seed: 2 });
    saveCheckpoint(join(dir, 'a'), g);
    saveCheckpoint(join(dir, 'b'), g, { dtype: 'float16' });
    const a = loadCheckpoint(join(dir, 'a')).model.getWeights();
    const b = loadCheckpoint(join(dir, 'b')).model.getWeights();
    for (const [k, w] of Object.entries(a)) {
      for (let i = 0; i < w.data.length; i++) {
        const x = w.data[i];
        assert.equal(b[k].data[i], fromFloat16Bits(toFloat16Bits(x)), k);
        assert.ok(Math.abs(b[k].data[i] - x) <= Math.abs(x) * 2 ** -11 + 2 ** -25, k);
      }
    }
    g.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a manifest with an unknown dtype or an entry past the end is refused', () => {
  const { bytes, manifest } = encodeWeights(
    { a: { shape: [2], data: Float32Array.of(1, 2) } },
    ['a'],
    'float16',
  );
  assert.equal(bytes.length, 4);
  assert.throws(() => decodeWeights(bytes, { ...manifest, dtype: 'int8' }), MriseqError);
  assert.throws(
    () => decodeWeights(bytes, { ...manifest, tensors: [{ name: 'a', shape: [3], offset: 0, length: 3 }] }),
    MriseqError,
  );
  assert.deepEqual(Array.from(decodeWeights(bytes, manifest).a.data), [1, 2]);
});
