/**
 * mulberry32 (the resumable generator) and FNV-1a (stream names, shards) against independent
 * Python implementations with arbitrary-precision integers masked to 32 bits, and FNV-1a against
 * its published test vectors; the one-integer state must resume a stream exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mulberry32, hashString, mulberry32, normalFrom, permutation } from '../../src/random/index.js';
import { missingPython, runPython } from '../helpers/python.js';

const PY = `
import json, sys
M = 0xFFFFFFFF
def imul(a, b): return (a * b) & M
def mulberry(seed, n):
    a = seed & M; out = []
    for _ in range(n):
        a = (a + 0x6D2B79F5) & M
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + imul(t ^ (t >> 7), t | 61)) & M)) & M
        out.append(((t ^ (t >> 14)) & M) / 4294967296)
    return out
def fnv(s):
    h = 0x811C9DC5
    for b in s.encode('utf-8'):
        h ^= b; h = (h * 0x01000193) & M
    return h
d = json.load(sys.stdin)
print(json.dumps({'m': {str(s): mulberry(s, 12) for s in d['seeds']}, 'fnv': [fnv(s) for s in d['texts']]}))
`;

test(
  'mulberry32 and FNV-1a (UTF-8) match an independent implementation',
  { skip: missingPython('json') },
  () => {
    const seeds = [0, 1, 42, 0x5eed, 0xffffffff];
    const texts = ['', 'a', 'sim-00042', 'fold:sub-7', 'Gehirn-Übersicht', '脑'];
    const ref = runPython<{ m: Record<string, number[]>; fnv: number[] }>(PY, { seeds, texts });
    for (const s of seeds) {
      const f = mulberry32(s);
      const o = new Mulberry32(s);
      const want = ref.m[String(s)] as number[];
      assert.deepEqual(
        want.map(() => f()),
        want,
        `mulberry32(${s})`,
      );
      assert.deepEqual(
        want.map(() => o.next()),
        want,
        `new Mulberry32(${s})`,
      );
    }
    assert.deepEqual(texts.map(hashString), ref.fnv);
  },
);

test('FNV-1a gives the published 32-bit test vectors', () => {
  // From the FNV reference test suite (Fowler/Noll/Vo): FNV-1a 32 of "", "a" and "foobar".
  assert.equal(hashString(''), 0x811c9dc5);
  assert.equal(hashString('a'), 0xe40c292c);
  assert.equal(hashString('foobar'), 0xbf9cf968);
});

test('a stream resumed from its saved state continues exactly', () => {
  const a = new Mulberry32(123);
  for (let i = 0; i < 17; i++) a.next();
  const b = new Mulberry32(a.state);
  assert.deepEqual(
    Array.from({ length: 50 }, () => a.next()),
    Array.from({ length: 50 }, () => b.next()),
  );
});

test('normals are standard, int/pick stay in range, permutations are permutations', () => {
  const r = new Mulberry32(9);
  let s = 0;
  let s2 = 0;
  const n = 100000;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
    const k = r.int(5);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 5);
  }
  assert.ok(Math.abs(s / n) < 0.02, `mean ${s / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 0.03, `variance ${s2 / n}`);
  // A uniform draw of exactly 0 would give -log(0) = Infinity: it is redrawn.
  const draws = [0, 0, 0.5, 0.25];
  assert.ok(Number.isFinite(normalFrom(() => draws.shift() as number)));
  const p = permutation(100, mulberry32(4));
  assert.deepEqual(
    [...p].sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.notDeepEqual(
    p,
    Array.from({ length: 100 }, (_, i) => i),
  );
});
