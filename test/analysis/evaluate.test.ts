import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  differentiationMap,
  evaluate,
  generatorFunction,
  psnr,
  ssim,
  seededRandom,
  type EvaluationCohort,
  type EvaluationModel,
} from '../../src/analysis/index.js';
import { evaluateToCsv, readEvaluationCsv } from '../../src/analysis/node.js';
import type { Volume } from '../../src/volume/index.js';
import { MriseqError } from '../../src/errors/index.js';
import { initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { createGenerator } from '../../src/model/index.js';

const shape = [9, 8, 7];
const n = 9 * 8 * 7;
const affine = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];
function vol(data: Float32Array): Volume {
  return { data, shape, spacing: [1, 1, 1], affine, datatype: 'float32' };
}

/**
 * Three subjects in [-1, 1]; sub-1 lacks flair (missing sequences are never source or target).
 * Their stamp (a cheap identity of their data, as file stats are for a manifest) lets a resumed
 * table check finished subjects without loading them.
 */
function cohort(): EvaluationCohort & { loads: string[] } {
  const loads: string[] = [];
  return {
    loads,
    stamp: async (id) => `toy ${id}`,
    subjectIds: (split) => (split === 'test' ? ['sub-0', 'sub-1', 'sub-2'] : []),
    loadSubject: async (id) => {
      loads.push(id);
      const rand = seededRandom(id.length + Number(id.slice(-1)));
      const seqs: Record<string, Volume> = {};
      for (const s of ['t1', 't2', 'flair']) {
        if (id === 'sub-1' && s === 'flair') continue;
        seqs[s] = vol(Float32Array.from({ length: n }, () => rand() * 2 - 1));
      }
      return { id, sequences: seqs };
    },
  };
}

// A toy "generator": returns the target's real image plus source-dependent noise, so metrics differ per pair.
function model(real: () => EvaluationCohort): EvaluationModel & { calls: number } {
  const c = real();
  const m = {
    calls: 0,
    fingerprint: 'toy-generator-1',
    sequences: ['t1', 't2', 'flair'],
    generate: async (src: Readonly<Record<string, Volume>>, target: string): Promise<Volume> => {
      m.calls++;
      const [s] = Object.keys(src);
      // find the subject whose source matches, to get the target's real image
      for (const id of await c.subjectIds('test')) {
        const sub = await c.loadSubject(id);
        if (sub.sequences[s]?.data[0] === src[s].data[0]) {
          const x = sub.sequences[target].data;
          const rand = seededRandom(s.length * 7 + target.length);
          return vol(Float32Array.from(x, (v) => v + (s === target ? 0.01 : 0.2) * (rand() - 0.5)));
        }
      }
      throw new Error('unknown subject');
    },
  };
  return m;
}

test('evaluate: one row per subject and available (source, target) pair, metrics equal the direct computation', async () => {
  const mdl = model(cohort);
  const c = cohort();
  const rows = await evaluate(mdl, c, { split: 'test' });
  assert.equal(rows.length, 9 + 4 + 9);
  assert.ok(!rows.some((r) => r.subject === 'sub-1' && (r.source === 'flair' || r.target === 'flair')));
  const r = rows.find((x) => x.subject === 'sub-2' && x.source === 't1' && x.target === 't2')!;
  const sub = await c.loadSubject('sub-2');
  const y = await mdl.generate({ t1: sub.sequences.t1 }, 't2');
  assert.ok(Math.abs(r.psnr - psnr(sub.sequences.t2.data, (y as Volume).data)) < 1e-12);
  assert.ok(Math.abs(r.ssim - ssim(sub.sequences.t2.data, (y as Volume).data, { shape })) < 1e-12);
  const self = rows.find((x) => x.subject === 'sub-2' && x.source === 't2' && x.target === 't2')!;
  assert.ok(self.psnr > r.psnr, 'self reconstruction (less noise) scores higher');
  await assert.rejects(evaluate(mdl, c, { split: 'train' }), MriseqError);
});

test('evaluateToCsv is resumable: an interrupted run keeps finished subjects and the rerun only computes the rest', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-eval-'));
  const out = join(dir, 'metrics.csv');
  const mdl = model(cohort);
  const ac = new AbortController();
  await assert.rejects(
    evaluateToCsv(mdl, cohort(), {
      out,
      signal: ac.signal,
      onSubject: (e) => {
        if (e.done === 1) ac.abort();
      },
    }),
    (e: unknown) => e instanceof MriseqError && e.code === 'analysis.aborted',
  );
  assert.equal(readEvaluationCsv(out).length, 9, 'the first subject was saved before the interruption');
  const c2 = cohort();
  const t = await evaluateToCsv(mdl, c2, { out });
  assert.equal(t.resumed, 9);
  assert.equal(t.added, 13);
  assert.deepEqual(c2.loads, ['sub-1', 'sub-2'], 'finished subjects are not even loaded again');
  const c3 = cohort();
  const again = await evaluateToCsv(mdl, c3, { out });
  assert.equal(again.added, 0);
  // sub-1 lacks flair: without availability known up front it must be loaded to find that out...
  assert.deepEqual(c3.loads, ['sub-1']);
  // ...and with it, a finished cohort loads nothing.
  const c4 = {
    ...cohort(),
    availableSequences: (id: string) => (id === 'sub-1' ? ['t1', 't2'] : ['t1', 't2', 'flair']),
  };
  const c4loads: string[] = [];
  const load = c4.loadSubject;
  c4.loadSubject = (id: string) => (c4loads.push(id), load(id));
  assert.equal((await evaluateToCsv(mdl, c4, { out })).added, 0);
  assert.deepEqual(c4loads, []);
  assert.equal(readEvaluationCsv(out).length, 22);
  assert.match(readFileSync(out, 'utf8'), /^subject,source,target,psnr,ssim,mae\n/);
  assert.deepEqual(
    readdirSync(dir).sort(),
    ['metrics.csv', 'metrics.provenance.json'],
    'atomic writes leave no temporary file',
  );
  const df = t.dataFrame();
  assert.deepEqual(df.shape, [22, 6]);
  assert.deepEqual(df.columns.slice(0, 3), ['subject', 'source', 'target']);
});

test('evaluate with maps: M_d from the same generations as the table, each pair generated once', async () => {
  const mdl = model(cohort);
  const generated: string[] = [];
  const gen = mdl.generate;
  mdl.generate = (src, target, like) => (
    generated.push(`${Object.keys(src)[0]}>${target}`),
    gen(src, target, like)
  );
  const maps: Record<string, Record<string, Volume>> = {};
  const rows = await evaluate(mdl, cohort(), {
    split: 'test',
    maps: { onMaps: (id, m) => void (maps[id] = m) },
  });
  assert.equal(rows.length, 22);
  assert.equal(generated.length, 22, 'one generation per (subject, source, target)');
  const c = cohort();
  const sub = await c.loadSubject('sub-1');
  assert.deepEqual(Object.keys(maps['sub-1']!).sort(), ['t1', 't2']);
  const want = await differentiationMap(sub.sequences, 't2', gen);
  assert.deepEqual(Array.from(maps['sub-1']!.t2!.data), Array.from(want.data));
  // rows already done still feed the maps (generated again), and finished maps are skipped
  const again: string[] = [];
  mdl.generate = (src, target, like) => (
    again.push(`${Object.keys(src)[0]}>${target}`),
    gen(src, target, like)
  );
  const done = new Set(rows.map((r) => `${r.subject}|${r.source}|${r.target}`));
  const more: string[] = [];
  await evaluate(mdl, cohort(), {
    split: 'test',
    done,
    maps: { targets: ['t1'], done: new Set(['sub-0', 'sub-2']), onMaps: (id) => void more.push(id) },
  });
  assert.deepEqual(more, ['sub-1']);
  assert.deepEqual(again.sort(), ['t1>t1', 't2>t1']);
});

test('evaluate on a Seq2Seq (through generatePairs): maps equal differentiationMap, rows equal generate()', async () => {
  setEngineAdapter(nodeEngineAdapter);
  await initEngine();
  const g = createGenerator('lite', {
    cEnc: [8, 16, 32],
    cLstm: 32,
    cDec: [16, 8, 1],
    nresEnc: 1,
    nresDec: 1,
    sequences: ['t1', 't2', 'flair'],
    seed: 3,
  });
  const c = cohort();
  const maps: Record<string, Record<string, Volume>> = {};
  const rows = await evaluate(g, c, { split: 'test', maps: { onMaps: (id, m) => void (maps[id] = m) } });
  assert.equal(rows.length, 22);
  const sub = await c.loadSubject('sub-2');
  const want = await differentiationMap(sub.sequences, 'flair', generatorFunction(g));
  const got = maps['sub-2']!.flair!.data;
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i]! - want.data[i]!));
  // generatePairs batches every slice of a source; generate() alone batches the same slices
  assert.ok(m <= 1e-6, `max difference ${m}`);
  const r = rows.find((x) => x.subject === 'sub-2' && x.source === 't1' && x.target === 'flair')!;
  const y = await generatorFunction(g)({ t1: sub.sequences.t1 }, 'flair');
  assert.ok(Math.abs(r.psnr - psnr(sub.sequences.flair.data, (y as Volume).data)) < 1e-4);
  g.dispose();
});
