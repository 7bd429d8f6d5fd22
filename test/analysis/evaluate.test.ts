import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  evaluate,
  psnr,
  ssim,
  seededRandom,
  type EvaluationCohort,
  type EvaluationModel,
} from '../../src/analysis/index.js';
import { evaluateToCsv, readEvaluationCsv } from '../../src/analysis/node.js';
import type { Volume } from '../../src/volume/index.js';
import { MriseqError } from '../../src/errors/index.js';

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
