/**
 * MRISEQ_MALLOC=lean: the patched binding sets glibc's mmap and trim thresholds to 64 KiB at run
 * time (src/engine/node.ts), so a tensor's memory goes back to the system when it is freed. Each
 * case runs in a fresh Node process (malloc's settings are per process). glibc's own counters
 * (mallinfo2 through the binding) show where a 1 MiB tensor lives: in an mmapped block of its own
 * with the lean setting, in the heap with glibc's defaults (whose threshold has risen by the time
 * TensorFlow is loaded).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, runChild } from './child.js';

const src = (p: string) => JSON.stringify(join(ROOT, 'src', p));

function child(
  code: string,
  env: Record<string, string>,
): { status: number | null; out: string; err: string } {
  const unset = [
    'MRISEQ_BACKEND',
    'MRISEQ_MALLOC',
    'MALLOC_MMAP_THRESHOLD_',
    'MALLOC_TRIM_THRESHOLD_',
    'GLIBC_TUNABLES',
    'LD_PRELOAD',
    'MALLOC_CONF',
    'MRISEQ_MALLOC_LAUNCHED',
  ];
  const r = runChild(code, { ...Object.fromEntries(unset.map((k) => [k, undefined])), ...env });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const probe = `
  import { initEngine, tf } from ${src('index.ts')};
  const rep = await initEngine({ backend: 'tensorflow' });
  const b = (tf.backend() as any).binding;
  const before = b.mriseqMallinfo();
  const x = tf.fill([256 * 1024], 1.5); // 1 MiB, made by TensorFlow
  x.dataSync();
  const during = b.mriseqMallinfo();
  x.dispose();
  const after = b.mriseqMallinfo();
  console.log(JSON.stringify({ summary: rep.summary, before, during, after }));
`;

type Info = { heap: number; mapped: number; inUse: number; free: number };
const parse = (out: string) =>
  JSON.parse(out.trim().split('\n').pop()!) as { summary: string; before: Info; during: Info; after: Info };

test('MRISEQ_MALLOC=lean maps a 1 MiB tensor on its own and unmaps it when freed', () => {
  const r = child(probe, { MRISEQ_MALLOC: 'lean' });
  assert.equal(r.status, 0, r.err);
  const o = parse(r.out);
  assert.match(o.summary, /lean malloc \(64 KiB thresholds\)/);
  assert.ok(
    o.during.mapped - o.before.mapped >= 1 << 20,
    `mapped grew by ${o.during.mapped - o.before.mapped}`,
  );
  assert.ok(
    o.during.mapped - o.after.mapped >= 1 << 20,
    `mapped fell by ${o.during.mapped - o.after.mapped}`,
  );
});

test("glibc's defaults (MRISEQ_MALLOC=glibc) keep a 1 MiB tensor in the heap", () => {
  const r = child(probe, { MRISEQ_MALLOC: 'glibc' });
  assert.equal(r.status, 0, r.err);
  const o = parse(r.out);
  assert.match(o.summary, /malloc glibc \(MRISEQ_MALLOC=glibc\)/);
  assert.ok(
    o.during.mapped - o.before.mapped < 1 << 20,
    `mapped grew by ${o.during.mapped - o.before.mapped}`,
  );
});

test("the user's own MALLOC_MMAP_THRESHOLD_ wins over MRISEQ_MALLOC=lean, and says so", () => {
  const r = child(probe, { MRISEQ_MALLOC: 'lean', MALLOC_MMAP_THRESHOLD_: String(32 << 20) });
  assert.equal(r.status, 0, r.err);
  const o = parse(r.out);
  assert.match(o.summary, /MRISEQ_MALLOC=lean not applied/);
  assert.ok(
    o.during.mapped - o.before.mapped < 1 << 20,
    `mapped grew by ${o.during.mapped - o.before.mapped}`,
  );
});

test('an unknown MRISEQ_MALLOC is an error naming the variable, not a fallback', () => {
  const r = child(
    `
    import { initEngine } from ${src('index.ts')};
    try { await initEngine(); console.log(JSON.stringify({ ok: true })); }
    catch (e: any) { console.log(JSON.stringify({ ok: false, code: e.code, message: e.message })); }
  `,
    { MRISEQ_MALLOC: 'small' },
  );
  assert.equal(r.status, 0, r.err);
  const o = JSON.parse(r.out.trim().split('\n').pop()!) as { ok: boolean; code?: string; message?: string };
  assert.equal(o.ok, false);
  assert.equal(o.code, 'engine.bad-malloc');
  assert.match(String(o.message), /MRISEQ_MALLOC/);
  assert.match(String(o.message), /'small'/);
});
