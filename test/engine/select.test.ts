/** Backend selection: the fastest that works, overridable, with MriseqErrors a user can act on. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  engineBackends,
  initEngine,
  setEngineAdapter,
  tf,
  type EngineAdapter,
} from '../../src/engine/index.js';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { MriseqError } from '../../src/errors/index.js';

setEngineAdapter(nodeEngineAdapter);

test('Node offers the backends fastest first', () => {
  assert.deepEqual(engineBackends(), ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
});

test('default: the fastest backend that starts, saying why faster ones were skipped', async () => {
  delete process.env.MRISEQ_BACKEND;
  const r = await initEngine();
  assert.equal(tf.getBackend(), r.tfBackend);
  assert.equal(r.requested, false);
  assert.match(r.summary, new RegExp(`^mriseq engine: ${r.backend}`));
  const order = engineBackends();
  // Every faster candidate appears in `skipped` with a reason, and in the one-line summary.
  assert.deepEqual(
    r.skipped.map((s) => s.name),
    order.slice(0, order.indexOf(r.backend)),
  );
  for (const s of r.skipped) {
    assert.ok(s.reason.length > 10, s.name);
    assert.ok(r.summary.includes(`${s.name}: ${s.reason}`), r.summary);
  }
  if (r.backend === 'tensorflow') assert.match(r.detail ?? '', /libtensorflow \d+\.\d+/);
  if (r.skipped.some((s) => s.name === 'tensorflow-gpu'))
    assert.match(r.summary, /tensorflow-gpu: .*(not installed|does not load|another copy)/);
});

test('MRISEQ_BACKEND and initEngine({backend}) force a backend', async () => {
  process.env.MRISEQ_BACKEND = 'cpu';
  try {
    const r = await initEngine();
    assert.equal(r.backend, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.match(r.summary, /requested by MRISEQ_BACKEND/);
  } finally {
    delete process.env.MRISEQ_BACKEND;
  }
  const w = await initEngine({ backend: 'wasm' });
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(w.summary, /requested by initEngine\(\{backend\}\)/);
  assert.match(w.detail ?? '', /Conv2DBackpropFilter/);
});

test('an unknown backend is a MriseqError naming the option and the choices', async () => {
  await assert.rejects(initEngine({ backend: 'tpu' }), (e: unknown) => {
    assert.ok(e instanceof MriseqError);
    assert.equal(e.code, 'engine.unknown-backend');
    assert.equal(e.field, 'initEngine({backend})');
    assert.match(e.message, /'tpu'.*tensorflow-gpu, tensorflow, wasm, cpu/);
    return true;
  });
  process.env.MRISEQ_BACKEND = 'gpu';
  try {
    await assert.rejects(
      initEngine(),
      (e: unknown) => e instanceof MriseqError && e.field === 'MRISEQ_BACKEND',
    );
  } finally {
    delete process.env.MRISEQ_BACKEND;
  }
});

test('a requested backend that cannot start is a MriseqError, never a silent fallback', async () => {
  const failing: EngineAdapter = {
    platform: 'test',
    requested: () => undefined,
    candidates: () => [
      {
        name: 'broken',
        load: () => Promise.reject(new Error('libbroken.so is missing; run fix-it')),
      },
      {
        name: 'cpu',
        load: async () =>
          (await tf.setBackend('cpu')) ? { tfBackend: 'cpu' } : Promise.reject(new Error('no')),
      },
    ],
  };
  setEngineAdapter(failing);
  try {
    await assert.rejects(initEngine({ backend: 'broken' }), (e: unknown) => {
      assert.ok(e instanceof MriseqError);
      assert.equal(e.code, 'engine.backend-failed');
      assert.match(e.message, /libbroken\.so is missing; run fix-it/);
      return true;
    });
    // Unforced, the same adapter falls through to the next candidate and says why.
    const r = await initEngine();
    assert.equal(r.backend, 'cpu');
    assert.match(r.summary, /skipped broken: libbroken\.so is missing; run fix-it/);
  } finally {
    setEngineAdapter(nodeEngineAdapter);
  }
});
