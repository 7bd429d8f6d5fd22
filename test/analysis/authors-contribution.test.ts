/**
 * C_t and C_d against the authors' own script, cal_brats_seq2seq_2d_contribution.py (from
 * fiy2W/mri_seq2seq, run unchanged by Debian's Python and numpy), on the same table written in
 * their format: the default row set (source != target) is what their test script produces and
 * their script z-scores over every row it is given. Needs MRISEQ_AUTHORS_REPO = a checkout of
 * their repository (CI has no network to fetch it); the numpy twin in contribution.test.ts covers
 * the same formulas in CI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatAuthorsCsv,
  rankSequences,
  seededRandom,
  type EvaluationRow,
} from '../../src/analysis/index.js';
import { missingPython, PYTHON } from '../helpers/python.js';

const repo = process.env.MRISEQ_AUTHORS_REPO;
const script = repo
  ? join(repo, 'publications', 'src', 'seq2seq', 'test', 'cal_brats_seq2seq_2d_contribution.py')
  : '';

/** A table as the authors' test writes it: per subject, given sources against missing targets. */
function table(): EvaluationRow[] {
  const rand = seededRandom(11);
  const seqs = ['t1', 't1gd', 't2', 'flair'];
  const rows: EvaluationRow[] = [];
  for (let s = 0; s < 12; s++) {
    // one or two sequences given, the rest missing (their "missing" protocol)
    const given = seqs.filter(() => rand() < 0.5);
    if (given.length === 0 || given.length === 4) given.splice(0, given.length, seqs[s % 4]);
    for (const tgt of seqs.filter((q) => !given.includes(q)))
      for (const src of given) {
        const j = seqs.indexOf(tgt);
        rows.push({
          subject: `BraTS_${String(s).padStart(3, '0')}`,
          source: src,
          target: tgt,
          psnr: 28 - 2 * j + 3 * rand(),
          ssim: 0.9 - 0.04 * j + 0.05 * rand(),
          mae: 0.04 + 0.01 * j + 0.02 * rand(),
        });
      }
  }
  return rows;
}

test(
  "C_t and C_d equal the authors' cal_brats_seq2seq_2d_contribution.py on the same table (MAE in their lpips column)",
  {
    skip: !repo
      ? "set MRISEQ_AUTHORS_REPO to a checkout of fiy2W/mri_seq2seq to run the authors' script"
      : !existsSync(script)
        ? `${script} not found`
        : missingPython('numpy'),
  },
  () => {
    const seqs = ['t1', 't1gd', 't2', 'flair'];
    const rows = table();
    const dir = mkdtempSync(join(tmpdir(), 'mriseq-authors-'));
    try {
      const file = join(dir, 'result_metrics.csv');
      writeFileSync(file, formatAuthorsCsv(rows, seqs));
      const r = spawnSync(PYTHON, [script, '-f', file, '-n', '4'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const theirs = [...r.stdout.matchAll(/seq: (\d+) metric_ct: (\S+) metric_cd: (\S+)/g)].map((m) => ({
        i: Number(m[1]),
        ct: Number(m[2]),
        cd: Number(m[3]),
      }));
      assert.equal(theirs.length, 4, r.stdout);
      const ours = rankSequences(rows, { sequences: seqs, metrics: ['psnr', 'ssim', 'mae'], resamples: 0 });
      for (const t of theirs) {
        const s = ours.sequences[t.i];
        // their script parses the table as float32
        assert.ok(
          Math.abs(s.C_t - t.ct) < 1e-4 * Math.max(1, Math.abs(t.ct)),
          `C_t ${s.sequence}: ${s.C_t} vs ${t.ct}`,
        );
        assert.ok(
          Math.abs(s.C_d - t.cd) < 1e-4 * Math.max(1, Math.abs(t.cd)),
          `C_d ${s.sequence}: ${s.C_d} vs ${t.cd}`,
        );
      }
      // the self-inclusive variant is a different ranking input: their script given the same rows
      // plus self rows gives other numbers, as ours with rows 'all' does
      const withSelf = [
        ...rows,
        ...seqs.map((q, j) => ({
          subject: 'BraTS_999',
          source: q,
          target: q,
          psnr: 40 - j,
          ssim: 0.99,
          mae: 0.01,
        })),
      ];
      writeFileSync(file, formatAuthorsCsv(withSelf, seqs));
      const r2 = spawnSync(PYTHON, [script, '-f', file, '-n', '4'], { encoding: 'utf8' });
      const cd2 = [...r2.stdout.matchAll(/metric_cd: (\S+)/g)].map((m) => Number(m[1]));
      const all = rankSequences(withSelf, {
        sequences: seqs,
        metrics: ['psnr', 'ssim', 'mae'],
        rows: 'all',
        resamples: 0,
      });
      all.sequences.forEach((s, i) =>
        assert.ok(Math.abs(s.C_d - cd2[i]) < 1e-4 * Math.max(1, Math.abs(cd2[i]))),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
