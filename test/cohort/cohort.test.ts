/**
 * Cohort: in-memory phantom cohorts, splits, the bounded cache, manifests on disk read back through
 * NIfTI (checked with nibabel), deterministic simulate output, shards.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, readdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useNode } from '../../src/platform/node.js';
import { Cohort, shardOf } from '../../src/cohort/index.js';
import { simulateToDisk } from '../../src/cohort/node.js';
import { shardOf as scaleShardOf } from '../../src/scale/index.js';
import { phantom } from '../../src/phantom/index.js';
import { missingPython, runPython } from '../helpers/python.js';

// Cohort.fromManifest reads files through the Node adapter, installed explicitly (as 'mriseq' does)
useNode();

const SIZE = [20, 20, 10] as const;
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mriseq-cohort-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a phantom cohort lists subjects, labels and missingness without making volumes', async () => {
  const c = Cohort.fromPhantom({ subjects: 20000, seed: 2, missing: 0.2, size: SIZE });
  assert.equal(c.size, 20000);
  assert.equal(c.cachedBytes, 0);
  const s = c.subject('sim-00007');
  assert.deepEqual([...s.available, ...s.missing].sort(), ['flair', 't1', 't1gd', 't2']);
  assert.ok(['necrotic', 'solid'].includes(String(s.labels.lesionGroup)));
  const v = await s.load(s.available[0]!);
  assert.deepEqual(v.shape, [...SIZE]);
  assert.ok(c.cachedBytes > 0);
  if (s.missing.length) await assert.rejects(s.load(s.missing[0]!), /not available/);
  assert.throws(() => c.subject('nobody'), /no such subject/);
  const truth = await s.truth();
  assert.equal(truth.importanceOrder[0], 't1gd');
  assert.deepEqual((await s.mask('unique_t1gd')).data, truth.unique.t1gd!.data);
});

test('stratified split: disjoint, complete, seeded, label mix kept', () => {
  const c = Cohort.fromPhantom({ subjects: 400, seed: 1, size: SIZE });
  const a = c.split({ stratify: 'lesionType', seed: 5 });
  const b = c.split({ stratify: 'lesionType', seed: 5 });
  const d = c.split({ stratify: 'lesionType', seed: 6 });
  assert.deepEqual(a.test.ids, b.test.ids);
  assert.notDeepEqual(a.test.ids, d.test.ids);
  const all = [...a.train.ids, ...a.val.ids, ...a.test.ids];
  assert.equal(new Set(all).size, 400);
  assert.ok(Math.abs(a.train.size - 280) <= 4 && Math.abs(a.test.size - 60) <= 4);
  for (const type of ['necrotic-oedematous', 'necrotic-compact', 'solid-oedematous', 'solid-compact']) {
    const share = (x: Cohort): number =>
      x.subjects.filter((s) => s.labels.lesionType === type).length / x.size;
    assert.ok(Math.abs(share(a.test) - share(c)) < 0.02, `${type}: ${share(a.test)} vs ${share(c)}`);
  }
  assert.throws(() => c.split({ stratify: 'nope' }), /unknown label/);
});

test('the volume cache stays within its byte budget (least recently used go first)', async () => {
  const one = SIZE[0] * SIZE[1] * SIZE[2] * 4;
  const c = Cohort.fromPhantom({ subjects: 10, seed: 1, size: SIZE }, { cacheBytes: 3 * one });
  for (const id of c.ids.slice(0, 5)) await c.load(id, 't1');
  assert.equal(c.cachedBytes, 3 * one);
  const again = await c.load(c.ids[4]!, 't1');
  assert.equal(again, await c.load(c.ids[4]!, 't1'));
});

test('simulate writes the same bytes for the same seed; the manifest reads back through NIfTI', async () => {
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  await simulateToDisk({ out: a, subjects: 3, seed: 11, size: SIZE, missing: 0.3 });
  await simulateToDisk({ out: b, subjects: 3, seed: 11, size: SIZE, missing: 0.3 });
  const digest = async (root: string): Promise<string> => {
    const h = createHash('sha256');
    const walk = async (d: string, rel: string): Promise<void> => {
      for (const e of (await readdir(d, { withFileTypes: true })).sort((x, y) =>
        x.name < y.name ? -1 : 1,
      )) {
        if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
        else h.update(rel + e.name).update(await readFile(join(d, e.name)));
      }
    };
    await walk(root, '');
    return h.digest('hex');
  };
  assert.equal(await digest(a), await digest(b));
  // Resuming into the same folder with another recipe is refused (it would mix two cohorts).
  await assert.rejects(simulateToDisk({ out: a, subjects: 3, seed: 12, size: SIZE }), /different simulation/);
  const again = await simulateToDisk({ out: a, subjects: 3, seed: 11, size: SIZE, missing: 0.3 });
  assert.equal(again.skipped, 3);
  const c = await Cohort.fromManifest(join(a, 'manifest.csv'));
  const mem = phantom({ subjects: 3, seed: 11, size: SIZE, missing: 0.3 });
  for (const s of c.subjects) {
    const info = mem.info(s.id);
    assert.deepEqual(s.available, info.sequences);
    assert.equal(s.labels.lesionType, info.labels.lesionType);
    const disk = await s.load(s.available[0]!);
    assert.deepEqual(disk.data, mem.subject(s.id).volumes[s.available[0] as 't1']!.data);
  }
  const df = c.toDataFrame();
  assert.deepEqual(df.shape, [3, c.toRecords()[0] ? Object.keys(c.toRecords()[0]!).length : 0]);
  assert.ok(df.columns.includes('lesionType'));
});

test(
  'simulated NIfTI files read the same in nibabel',
  { skip: missingPython('nibabel', 'numpy') },
  async () => {
    const out = join(dir, 'nib');
    await simulateToDisk({ out, subjects: 1, seed: 3, size: SIZE });
    const s = phantom({ subjects: 1, seed: 3, size: SIZE }).subject(0);
    const r = runPython<{ sum: number; shape: number[]; zooms: number[]; seg: number[] }>(
      `import json,sys,nibabel as nib,numpy as np
d=json.load(sys.stdin)
img=nib.load(d['t2']); a=img.get_fdata(dtype=np.float64)
seg=nib.load(d['seg']).get_fdata()
print(json.dumps({'sum': float(a.sum()), 'shape': list(a.shape), 'zooms': [float(z) for z in img.header.get_zooms()], 'seg': sorted(set(int(v) for v in np.unique(seg)))}))`,
      { t2: join(out, 'sim-00000/sim-00000_t2.nii.gz'), seg: join(out, 'sim-00000/sim-00000_seg.nii.gz') },
    );
    let sum = 0;
    for (const v of s.volumes.t2!.data) sum += v;
    assert.deepEqual(r.shape, [...SIZE]);
    assert.ok(Math.abs(r.sum - sum) < 1e-6 * Math.abs(sum));
    assert.deepEqual(
      r.zooms.map((z) => +z.toFixed(4)),
      [12, 12, 15.5],
    );
    assert.ok(r.seg.every((v) => [0, 1, 2, 4].includes(v)) && r.seg.includes(4));
  },
);

test('shards partition the subjects by a stable hash of the id, the same rule as the merge side', async () => {
  const ids = phantom({ subjects: 200 }).ids();
  const counts = [0, 0, 0, 0];
  for (const id of ids) {
    const k = shardOf(id, 4);
    counts[k]!++;
    assert.equal(k, scaleShardOf(id, 4));
  }
  assert.ok(
    counts.every((n) => n > 30),
    JSON.stringify(counts),
  );
  for (const id of ['Ünïcode-1', 'BraTS2021_00000', 'a']) assert.equal(shardOf(id, 7), scaleShardOf(id, 7));
  const out = join(dir, 'shard');
  const r = await simulateToDisk({ out, subjects: 12, seed: 1, size: SIZE, shard: { index: 1, count: 3 } });
  assert.ok(r.manifestPath.endsWith('manifest.shard-1-of-3.csv'));
  assert.deepEqual(
    r.manifest.subjects.map((s) => s.id),
    phantom({ subjects: 12 })
      .ids()
      .filter((id) => shardOf(id, 3) === 1),
  );
});

test('simulate records a stratified split column that every shard agrees on; withSplit does the same in memory', async () => {
  const full = await simulateToDisk({ out: join(dir, 'split-full'), subjects: 12, seed: 2, size: SIZE });
  const part = await simulateToDisk({
    out: join(dir, 'split-part'),
    subjects: 12,
    seed: 2,
    size: SIZE,
    shard: { index: 0, count: 2 },
  });
  const splitOf = new Map(full.manifest.subjects.map((s) => [s.id, s.split]));
  for (const s of part.manifest.subjects) assert.equal(s.split, splitOf.get(s.id));
  assert.ok([...splitOf.values()].filter((v) => v === 'test').length >= 1);
  const c = await Cohort.fromManifest(join(dir, 'split-full', 'manifest.csv'));
  assert.equal(c.recordedSplit('train').size, [...splitOf.values()].filter((v) => v === 'train').length);
  const mem = Cohort.fromPhantom({ subjects: 12, seed: 2, size: SIZE }).withSplit({
    stratify: 'lesionType',
    seed: 2,
  });
  assert.deepEqual(mem.recordedSplit('test').ids, c.recordedSplit('test').ids);
});
