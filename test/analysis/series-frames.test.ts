/**
 * C_t/C_d of a series target (DCE) scored over every phase or over the phases after the first
 * (the pre-contrast one), an explicit and recorded choice: docs/dce.md measured that averaging the
 * pre-contrast phase in ranks T2 above the DCE on the 4D phantom.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatRanking, rankSequences, rankingRecord, type EvaluationRow } from '../../src/analysis/index.js';
import { formatEvaluationCsv } from '../../src/analysis/table.js';
import { MriseqError } from '../../src/errors/index.js';
import { runCli } from '../helpers/cli.js';

/**
 * Three subjects, t1 / t2 / dce, source != target. As a target the DCE's phase 0 is easy (a
 * T1-like image) and phases 1-2 are the hardest of all; t2 is moderately hard. evaluate writes a
 * series row's psnr/ssim as the mean of its phases, and so does this table.
 */
function table(): EvaluationRow[] {
  const rows: EvaluationRow[] = [];
  const seqs = ['t1', 't2', 'dce'];
  for (const [k, subject] of ['a', 'b', 'c'].entries())
    for (const source of seqs)
      for (const target of seqs) {
        if (source === target) continue;
        const jitter = 0.3 * k + (source === 't1' ? 0.2 : 0);
        if (target !== 'dce') {
          const hard = target === 't2' ? 4 : 0;
          rows.push({ subject, source, target, psnr: 30 - hard + jitter, ssim: 0.9 - hard / 50 });
          continue;
        }
        const psnr = [36 + jitter, 22 + jitter, 23 + jitter];
        const ssim = [0.97, 0.7, 0.72];
        const row: EvaluationRow = {
          subject,
          source,
          target,
          psnr: psnr.reduce((a, b) => a + b, 0) / 3,
          ssim: ssim.reduce((a, b) => a + b, 0) / 3,
        };
        psnr.forEach((v, f) => (row[`psnr_f${f}`] = v));
        ssim.forEach((v, f) => (row[`ssim_f${f}`] = v));
        rows.push(row);
      }
  return rows;
}

/** The same table with each DCE row's psnr/ssim replaced by hand by the mean of phases 1-2. */
function byHandAfterFirst(rows: EvaluationRow[]): EvaluationRow[] {
  return rows.map((r) => {
    if (r.target !== 'dce') return r;
    const mean = (m: string) => ((r[`${m}_f1`] as number) + (r[`${m}_f2`] as number)) / 2;
    return { subject: r.subject, source: r.source, target: r.target, psnr: mean('psnr'), ssim: mean('ssim') };
  });
}

test("frames 'after-first' scores a series by its phases after the first: equal to the table rewritten by hand, bootstrap included", () => {
  const rows = table();
  const all = rankSequences(rows, { resamples: 50, seed: 3 });
  const after = rankSequences(rows, { frames: 'after-first', resamples: 50, seed: 3 });
  const hand = rankSequences(byHandAfterFirst(rows), { resamples: 50, seed: 3 });
  // Every phase: the easy pre-contrast phase makes the DCE look easier than t2.
  assert.deepEqual(all.order, ['t2', 'dce', 't1']);
  // After the first phase: the DCE is the hardest to synthesise.
  assert.deepEqual(after.order, ['dce', 't2', 't1']);
  for (const [i, s] of after.sequences.entries()) {
    const h = hand.sequences[i]!;
    assert.equal(s.sequence, h.sequence);
    assert.ok(Math.abs(s.C_d - h.C_d) < 1e-12 && Math.abs(s.C_t - h.C_t) < 1e-12, s.sequence);
    assert.deepEqual(s.C_d_ci, h.C_d_ci, `${s.sequence}: the resamples score the series the same way`);
  }
  assert.deepEqual(after.matrix.seriesTargets, ['dce']);
  assert.equal(all.matrix.frames, 'all');
});

test('ranking.json and the printed table say how a series was scored; a table without series says nothing', () => {
  const rec = rankingRecord(rankSequences(table(), { frames: 'after-first', resamples: 0 }));
  assert.equal(rec.frames, 'after-first');
  assert.match(String(rec.framesNote), /dce.*after the first/);
  const recAll = rankingRecord(rankSequences(table(), { resamples: 0 }));
  assert.match(String(recAll.framesNote), /every phase.*pre-contrast/);
  assert.match(formatRanking(rankSequences(table(), { resamples: 0 })), /series dce scored over every phase/);
  const plain = rankingRecord(rankSequences(byHandAfterFirst(table()), { resamples: 0 }));
  assert.equal('frames' in plain, false);
});

test('a series row without per-phase columns for a metric, or an unknown summary, is an error', () => {
  const rows = table().map((r) => (r.target === 'dce' ? { ...r, mae: 0.1 } : { ...r, mae: 0.05 }));
  assert.throws(
    () => rankSequences(rows, { frames: 'after-first', metrics: ['psnr', 'ssim', 'mae'], resamples: 0 }),
    (e: unknown) => e instanceof MriseqError && e.code === 'analysis.frames' && /mae_f0/.test(e.field ?? ''),
  );
  // the user metric listed first has no per-phase columns: the DCE is still known as a series
  assert.throws(
    () => rankSequences(rows, { frames: 'after-first', metrics: ['mae', 'psnr', 'ssim'], resamples: 0 }),
    (e: unknown) => e instanceof MriseqError && e.code === 'analysis.frames',
  );
  assert.deepEqual(rankSequences(rows, { metrics: ['mae', 'psnr'], resamples: 0 }).matrix.seriesTargets, [
    'dce',
  ]);
  // frames 'all' takes the row's own (already averaged) values: no per-phase column needed
  assert.equal(rankSequences(rows, { metrics: ['psnr', 'ssim', 'mae'], resamples: 0 }).order.length, 3);
  assert.throws(
    () => rankSequences(table(), { frames: 'post' as never, resamples: 0 }),
    (e: unknown) => e instanceof MriseqError && e.field === 'frames',
  );
});

test('mriseq rank --frames after-first ranks from a CSV and records it; a bad value names the option', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-frames-'));
  const csv = join(dir, 'evaluation.csv');
  writeFileSync(csv, formatEvaluationCsv(table()));
  const r = await runCli(['rank', csv, '--frames', 'after-first', '--resamples', '0', '--json']);
  assert.equal(r.code, 0, r.err);
  const rec = JSON.parse(r.out) as { order: string[]; frames: string };
  assert.deepEqual(rec.order, ['dce', 't2', 't1']);
  assert.equal(rec.frames, 'after-first');
  const bad = await runCli(['rank', csv, '--frames', 'post']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--frames/);
});
