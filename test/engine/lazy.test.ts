/**
 * The engine is chosen once, lazily, when computation starts without initEngine(): the native
 * backend, never tfjs's pure-JavaScript one unless asked for by name. Each case runs in a fresh
 * Node process (the choice is made once per process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runChild } from './child.js';

const src = (p: string) => JSON.stringify(join(ROOT, 'src', p));

function child(code: string, env: Record<string, string | undefined> = {}): Record<string, unknown> {
  const r = runChild(code, { MRISEQ_BACKEND: undefined, ...env });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

test('trainRun without initEngine runs on the native backend, chosen when computation starts', () => {
  const out = mkdtempSync(join(tmpdir(), 'mriseq-lazy-'));
  try {
    const o = child(`
      import { phantom, trainRun, tf, engineReport } from ${src('index.ts')};
      const before = tf.getBackend() ?? null;
      const s = phantom({ subjects: 1, size: [16, 16, 8], seed: 2 }).subject(0);
      const r = await trainRun([{ id: s.id, volumes: s.volumes }], {
        out: ${JSON.stringify(out)}, steps: 1, crop: 16,
        modelOverrides: { cEnc: [4, 8, 8], cLstm: 8, cDec: [8, 4, 1], nresEnc: 1, nresDec: 1 },
      });
      const rep = engineReport();
      console.log(JSON.stringify({ before, after: tf.getBackend(), steps: r.steps, backend: rep?.backend, summary: rep?.summary }));
    `);
    assert.equal(o.before, null, 'nothing chosen at import');
    assert.equal(o.steps, 1);
    assert.equal(o.after, 'tensorflow');
    assert.equal(o.backend, 'tensorflow');
    assert.match(String(o.summary), /libtensorflow \d+\.\d+.*chosen when computation started/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('a tensor made before initEngine lands on the native backend; initEngine then reports that choice', () => {
  const o = child(`
    import { tf, initEngine, ensureEngine } from ${src('index.ts')};
    const t = tf.tensor([1, 2, 3]).square();
    const sum = t.sum().dataSync()[0];
    const r = await initEngine();
    console.log(JSON.stringify({ backend: tf.getBackend(), sum, same: r === ensureEngine(), reported: r.backend }));
  `);
  assert.deepEqual(o, { backend: 'tensorflow', sum: 14, same: true, reported: 'tensorflow' });
});

test('cpu only when asked for by name: MRISEQ_BACKEND=cpu gives cpu, saying who asked', () => {
  const o = child(
    `
    import { tf, engineReport } from ${src('index.ts')};
    tf.ones([2]).dataSync();
    console.log(JSON.stringify({ backend: tf.getBackend(), summary: engineReport()?.summary }));
  `,
    { MRISEQ_BACKEND: 'cpu' },
  );
  assert.equal(o.backend, 'cpu');
  assert.match(String(o.summary), /requested by MRISEQ_BACKEND/);
});

test('no native backend: computation refuses with an actionable MriseqError, never runs on cpu', () => {
  const o = child(`
    import { setEngineAdapter, initEngine, tf } from ${src('engine/index.ts')};
    const cpu = {
      name: 'cpu',
      explicitOnly: true,
      loadSync() {
        void tf.setBackend('cpu');
        return { tfBackend: 'cpu' };
      },
      async load() {
        return this.loadSync();
      },
    };
    const broken = {
      name: 'tensorflow',
      loadSync() {
        throw new Error('libtensorflow.so.2 is missing; run npm run setup');
      },
      async load() {
        return this.loadSync();
      },
    };
    setEngineAdapter({ platform: 'test', requested: () => undefined, candidates: () => [broken, cpu] });
    let sync = null;
    try {
      tf.ones([2]).dataSync();
    } catch (e) {
      sync = { name: e.name, code: e.code, message: e.message };
    }
    let asyncErr = null;
    try {
      await initEngine();
    } catch (e) {
      asyncErr = { code: e.code, message: e.message };
    }
    console.log(JSON.stringify({ sync, asyncErr, backend: tf.getBackend() ?? null }));
  `);
  const sync = o.sync as { name: string; code: string; message: string };
  assert.equal(sync.name, 'MriseqError');
  assert.equal(sync.code, 'engine.no-backend');
  assert.match(sync.message, /libtensorflow\.so\.2 is missing/);
  assert.match(sync.message, /MRISEQ_BACKEND=cpu/);
  const asyncErr = o.asyncErr as { code: string; message: string };
  assert.equal(asyncErr.code, 'engine.no-backend');
  assert.match(asyncErr.message, /initEngine\(\{ backend: 'cpu' \}\)/);
  assert.equal(o.backend, null, 'nothing ran on cpu');
});
