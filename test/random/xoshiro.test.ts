/**
 * The phantom's generator is standard xoshiro128** seeded by splitmix32: checked against an
 * independent Python implementation (arbitrary-precision integers masked to 32 bits), so the JS
 * 32-bit arithmetic cannot silently drift.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, splitmix32 } from '../../src/random/index.js';
import { missingPython, runPython } from '../helpers/python.js';

const PY = `
import json, sys
M = 0xFFFFFFFF
def rotl(x, k): return ((x << k) | (x >> (32 - k))) & M
def xo(s, n):
    s = list(s); out = []
    for _ in range(n):
        out.append((rotl((s[1] * 5) & M, 7) * 9) & M)
        t = (s[1] << 9) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 11)
    return out
def sm(x):
    z = (x + 0x9E3779B9) & M
    z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M
    z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M
    return (z ^ (z >> 16)) & M
d = json.load(sys.stdin)
print(json.dumps({'xo': xo(d['state'], 20), 'sm': [sm(x) for x in d['sm']]}))
`;

test(
  'xoshiro128** and splitmix32 match an independent implementation',
  { skip: missingPython('json') },
  () => {
    const state = [1, 2, 3, 4];
    const sm = [0, 1, 42, 0xffffffff, 123456789];
    const ref = runPython<{ xo: number[]; sm: number[] }>(PY, { state, sm });
    const r = Rng.fromState(1, 2, 3, 4);
    assert.deepEqual(
      Array.from({ length: 20 }, () => r.nextUint32()),
      ref.xo,
    );
    assert.deepEqual(sm.map(splitmix32), ref.sm);
  },
);

test('uniforms are uniform and normals standard (moments)', () => {
  const r = new Rng(7);
  let s = 0;
  let s2 = 0;
  let f = 0;
  let f2 = 0;
  let f4 = 0;
  const n = 200000;
  for (let i = 0; i < n; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    s += u;
    s2 += u * u;
    const z = r.normalFast();
    f += z;
    f2 += z * z;
    f4 += z ** 4;
  }
  assert.ok(Math.abs(s / n - 0.5) < 0.005 && Math.abs(s2 / n - 1 / 3) < 0.005);
  assert.ok(
    Math.abs(f / n) < 0.01 && Math.abs(f2 / n - 1) < 0.02 && Math.abs(f4 / n - 3) < 0.1,
    `${f2 / n} ${f4 / n}`,
  );
});
