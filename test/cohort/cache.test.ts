import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteLruCache } from '../../src/cohort/cache.js';

test('a load in flight when the cache is cleared resolves for its caller but is not kept', async () => {
  const cache = new ByteLruCache<Float32Array>(64, (v) => v.byteLength);
  let release: (v: Float32Array) => void = () => undefined;
  const pending = cache.getOrLoad('k', () => new Promise<Float32Array>((r) => (release = r)));
  cache.clear();
  release(new Float32Array(1));
  assert.equal((await pending).length, 1);
  assert.equal(cache.has('k'), false);
  assert.equal(cache.bytes, 0);
  // After the clear a new load runs again (the old promise is not shared) and is kept.
  let loads = 0;
  await cache.getOrLoad('k', async () => (loads++, new Float32Array(2)));
  assert.equal(loads, 1);
  assert.equal(cache.bytes, 8);
});

test('the byte budget evicts the least recently used; a failed load is not cached', async () => {
  const cache = new ByteLruCache<Float32Array>(8, (v) => v.byteLength);
  cache.set('a', new Float32Array(1));
  cache.set('b', new Float32Array(1));
  cache.get('a');
  cache.set('c', new Float32Array(1));
  assert.deepEqual([cache.has('a'), cache.has('b'), cache.has('c')], [true, false, true]);
  await assert.rejects(
    cache.getOrLoad('x', () => Promise.reject(new Error('disk'))),
    /disk/,
  );
  assert.equal(cache.has('x'), false);
  assert.equal((await cache.getOrLoad('x', async () => new Float32Array(1))).length, 1);
});
