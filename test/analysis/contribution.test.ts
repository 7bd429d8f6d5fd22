import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingPython, runPython } from '../helpers/python.js';
import {
  contributionMatrix,
  rankSequences,
  bootstrapDraws,
  seededRandom,
  parseEvaluationCsv,
  formatEvaluationCsv,
  formatRanking,
  type EvaluationRow,
} from '../../src/analysis/index.js';
import { MriseqError } from '../../src/errors/index.js';

const close = (a: number, b: number, tol = 1e-9): boolean =>
  Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('closed form: two sequences, one subject, one metric', () => {
  // psnr of pairs (a,a)=4, (a,b)=2, (b,a)=3, (b,b)=1: mean 2.5, population sd sqrt(5/4).
  const rows: EvaluationRow[] = [
    { subject: 's1', source: 'a', target: 'a', psnr: 4, ssim: 0 },
    { subject: 's1', source: 'a', target: 'b', psnr: 2, ssim: 0 },
    { subject: 's1', source: 'b', target: 'a', psnr: 3, ssim: 0 },
    { subject: 's1', source: 'b', target: 'b', psnr: 1, ssim: 0 },
  ];
  const sd = Math.sqrt(5 / 4) + 1e-9;
  const m = contributionMatrix(rows, { metrics: ['psnr'], rows: 'all' });
  assert.equal(m.rows, 'all');
  assert.equal(m.rowCount, 4);
  assert.deepEqual(m.sequences, ['a', 'b']);
  assert.ok(close(m.A[0][0], 1.5 / sd) && close(m.A[0][1], -0.5 / sd) && close(m.A[1][0], 0.5 / sd));
  assert.ok(close(m.Ct[0], (1.5 - 0.5) / 2 / sd) && close(m.Ct[1], (0.5 - 1.5) / 2 / sd));
  assert.ok(close(m.Cd[0], -(1.5 + 0.5) / 2 / sd) && close(m.Cd[1], (0.5 + 1.5) / 2 / sd));
  // MAE is a distance: a column equal to -psnr is oriented to +psnr and doubles A.
  const withMae = rows.map((r) => ({ ...r, mae: -r.psnr }));
  const m2 = contributionMatrix(withMae, { metrics: ['psnr', 'mae'], rows: 'all' });
  assert.ok(close(m2.A[0][1], 2 * m.A[0][1]) && close(m2.Cd[1], 2 * m.Cd[1]));
  // Ranking by C_d, high first: b is harder to generate than a.
  assert.deepEqual(rankSequences(rows, { metrics: ['psnr'], resamples: 0, rows: 'all' }).order, ['b', 'a']);
  // The default row set is the authors': source != target only. Pairs (a,b)=2 and (b,a)=3:
  // mean 2.5, population sd 0.5, so A(a,b) = -1 and A(b,a) = +1, no diagonal; C divides by N = 2.
  const c = contributionMatrix(rows, { metrics: ['psnr'] });
  const sdc = 0.5 + 1e-9;
  assert.equal(c.rows, 'cross');
  assert.equal(c.rowCount, 2);
  assert.ok(Number.isNaN(c.A[0][0]) && Number.isNaN(c.A[1][1]));
  assert.ok(close(c.A[0][1], -0.5 / sdc) && close(c.A[1][0], 0.5 / sdc));
  assert.ok(close(c.Ct[0], -0.25 / sdc) && close(c.Cd[0], -0.25 / sdc) && close(c.Cd[1], 0.25 / sdc));
  // here the self rows flip nothing, but they change every number
  assert.ok(!close(c.Cd[1], m.Cd[1]));
});

test('an unknown metric needs a declared orientation; a declared one is used as declared', () => {
  const rows: EvaluationRow[] = [
    { subject: 's1', source: 'a', target: 'b', psnr: 2, ssim: 0.5, fid: 10 },
    { subject: 's1', source: 'b', target: 'a', psnr: 3, ssim: 0.6, fid: 20 },
  ];
  assert.throws(
    () => contributionMatrix(rows, { metrics: ['psnr', 'fid'] }),
    (e: unknown) =>
      e instanceof MriseqError &&
      /unknown metric "fid"/.test(e.message) &&
      /--orientation fid=lower/.test(e.message),
  );
  const lower = contributionMatrix(rows, { metrics: ['fid'], orientations: { fid: -1 } });
  const higher = contributionMatrix(rows, { metrics: ['fid'], orientations: { fid: 1 } });
  assert.deepEqual(lower.orientations, { fid: -1 });
  assert.ok(close(lower.A[0][1], -higher.A[0][1]) && lower.A[0][1] > 0);
  // lpips is the registry's and lower-is-better; with it in every row the default is the paper's set
  const withLpips = rows.map((r) => ({ ...r, mae: 0.1, lpips: r.psnr / 10 }));
  const paper = contributionMatrix(withLpips);
  assert.deepEqual(paper.metrics, ['psnr', 'ssim', 'lpips']);
  assert.equal(paper.orientations.lpips, -1);
  assert.deepEqual(contributionMatrix(rows.map((r) => ({ ...r, mae: 0.1 }))).metrics, [
    'psnr',
    'ssim',
    'mae',
  ]);
});

function randomTable(seed: number, subjects: number, seqs: string[], dropEvery = 0): EvaluationRow[] {
  const rand = seededRandom(seed);
  const rows: EvaluationRow[] = [];
  let k = 0;
  for (let s = 0; s < subjects; s++)
    for (const [i, src] of seqs.entries())
      for (const [j, tgt] of seqs.entries()) {
        if (dropEvery && ++k % dropEvery === 0) continue;
        // Target j is harder to synthesise with j (unique information), plus noise.
        rows.push({
          subject: `sub-${String(s).padStart(2, '0')}`,
          source: src,
          target: tgt,
          psnr: 30 - 3 * j + (i === j ? 5 : 0) + rand() * 2,
          ssim: 0.9 - 0.05 * j + rand() * 0.03,
          mae: 0.05 + 0.01 * j + rand() * 0.01,
        });
      }
  return rows;
}

// An independent numpy implementation of the spec's formulas, and percentile CIs over given draws.
const NUMPY = `
import json, sys, numpy as np
d = json.load(sys.stdin)
rows, seqs, mets, draws = d['rows'], d['seqs'], d['metrics'], d['draws']
if d['rowSet'] == 'cross':
    rows = [r for r in rows if r['source'] != r['target']]
sign = {'psnr': 1, 'ssim': 1, 'mae': -1, 'lpips': -1}
subjects = sorted(set(r['subject'] for r in rows))
def contrib(rs):
    N = len(seqs)
    A = np.full((N, N), np.nan)
    for m in mets:
        v = np.array([sign[m] * r[m] for r in rs])
        mu, sd = v.mean(), v.std()   # numpy std is the population sd (ddof=0)
        for i, a in enumerate(seqs):
            for j, b in enumerate(seqs):
                sel = [sign[m] * r[m] for r in rs if r['source'] == a and r['target'] == b]
                if sel:
                    z = (np.mean(sel) - mu) / (sd + 1e-9)
                    A[i, j] = z if np.isnan(A[i, j]) else A[i, j] + z
    Ct = np.nansum(A, axis=1) / N
    Cd = -np.nansum(A, axis=0) / N
    return A, Ct, Cd
A, Ct, Cd = contrib(rows)
bs_ct, bs_cd = [], []
for dr in draws:
    rs = [r for k in dr for r in rows if r['subject'] == subjects[k]]
    _, c, e = contrib(rs)
    bs_ct.append(c); bs_cd.append(e)
bs_ct, bs_cd = np.array(bs_ct), np.array(bs_cd)
print(json.dumps({'A': np.nan_to_num(A, nan=-999).tolist(), 'Ct': Ct.tolist(), 'Cd': Cd.tolist(),
  'ct_lo': np.percentile(bs_ct, 2.5, axis=0).tolist(), 'ct_hi': np.percentile(bs_ct, 97.5, axis=0).tolist(),
  'cd_lo': np.percentile(bs_cd, 2.5, axis=0).tolist(), 'cd_hi': np.percentile(bs_cd, 97.5, axis=0).tolist()}))
`;

for (const rowSet of ['cross', 'all'] as const)
  test(
    `A, C_t, C_d and bootstrap CIs equal an independent numpy implementation (missing pairs included; rows ${rowSet})`,
    { skip: missingPython('numpy') },
    () => {
      const seqs = ['t1', 't1gd', 't2', 'flair'];
      const rows = randomTable(7, 6, seqs, 7);
      const draws = bootstrapDraws(6, 40, 3);
      const ours = rankSequences(rows, { draws, sequences: seqs, rows: rowSet });
      assert.deepEqual(ours.matrix.metrics, ['psnr', 'ssim', 'mae']);
      const ref = runPython<{
        A: number[][];
        Ct: number[];
        Cd: number[];
        ct_lo: number[];
        ct_hi: number[];
        cd_lo: number[];
        cd_hi: number[];
      }>(NUMPY, { rows, seqs, metrics: ours.matrix.metrics, draws, rowSet });
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          const a = ours.matrix.A[i][j];
          assert.ok(close(Number.isNaN(a) ? -999 : a, ref.A[i][j], 1e-9), `A[${i}][${j}]`);
        }
        const s = ours.sequences[i];
        assert.ok(close(s.C_t, ref.Ct[i]) && close(s.C_d, ref.Cd[i]), `C of ${s.sequence}`);
        assert.ok(
          close(s.C_t_ci[0], ref.ct_lo[i]) && close(s.C_t_ci[1], ref.ct_hi[i]),
          `C_t CI of ${s.sequence}`,
        );
        assert.ok(
          close(s.C_d_ci[0], ref.cd_lo[i]) && close(s.C_d_ci[1], ref.cd_hi[i]),
          `C_d CI of ${s.sequence}`,
        );
      }
      // The table was built so later sequences are harder to generate.
      assert.deepEqual(ours.order, ['flair', 't2', 't1gd', 't1']);
    },
  );

test('bootstrap is seeded: same seed same CIs, other seed other CIs; CIs bracket the estimate', () => {
  const rows = randomTable(1, 8, ['a', 'b', 'c']);
  const r1 = rankSequences(rows, { resamples: 200, seed: 5 });
  const r2 = rankSequences(rows, { resamples: 200, seed: 5 });
  const r3 = rankSequences(rows, { resamples: 200, seed: 6 });
  assert.deepEqual(r1.sequences, r2.sequences);
  assert.notDeepEqual(r1.sequences[0].C_d_ci, r3.sequences[0].C_d_ci);
  for (const s of r1.sequences) {
    assert.ok(s.C_d_ci[0] <= s.C_d && s.C_d <= s.C_d_ci[1]);
    assert.ok(s.p_first >= 0 && s.p_first <= 1);
  }
  assert.match(formatRanking(r1), /^rank\s+sequence/);
});

test('CSV round trip, and errors that name file, row and column', () => {
  const rows = randomTable(2, 2, ['t1', 't2']);
  const back = parseEvaluationCsv(formatEvaluationCsv(rows), 'm.csv');
  assert.equal(back.length, rows.length);
  assert.ok(close(back[3].psnr, rows[3].psnr, 1e-12));
  const bad = (text: string): MriseqError => {
    try {
      parseEvaluationCsv(text, 'metrics.csv');
    } catch (e) {
      if (e instanceof MriseqError) return e;
    }
    throw new Error('expected a MriseqError');
  };
  const e1 = bad('subject,source,target,psnr\ns,a,b,1\n');
  assert.match(e1.message, /^metrics\.csv: header \(row 1\): missing column "ssim"/);
  const e2 = bad('subject,source,target,psnr,ssim\ns,a,b,1,0.9\ns,a,c,abc,0.9\n');
  assert.equal(e2.file, 'metrics.csv');
  assert.equal(e2.field, 'row 3, column psnr');
  assert.match(e2.message, /not a number; found "abc"/);
  // Optional metrics may be empty (LPIPS skipped).
  const ok = parseEvaluationCsv('subject,source,target,psnr,ssim,lpips\ns,a,b,1,0.9,\n', 'x.csv');
  assert.equal(ok[0].lpips, undefined);
});
