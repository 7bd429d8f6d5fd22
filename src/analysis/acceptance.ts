/**
 * The phantom acceptance measurement (shared/spec/phantom.md, "What the analyses must recover"):
 * on held-out subjects with known truth, is M_d(T1Gd) high on T1Gd's unique mask (voxel-wise AUC
 * restricted to the lesion), lower for every other target (specificity), next to the T1Gd - T1
 * subtraction baseline; and does C_d rank T1Gd first and T1 last? Browser-safe: the generator and
 * the subjects are passed in.
 */
import { MriseqError } from '../errors/index.js';
import type { Volume } from '../volume/index.js';
import { voxelAuc } from './auc.js';
import {
  rankSequences,
  type EvaluationRow,
  type SequenceRanking,
  type SeriesFrames,
} from './contribution.js';
import { frameColumns, prepareVolume } from './evaluate.js';
import { compareFrames } from './scores.js';
import {
  differentiationMap,
  frameAucs,
  seriesSubtractionMap,
  subtractionMap,
  summarizeMap,
  type GenerateFn,
} from './maps.js';
import { frameCount } from '../volume/index.js';

/**
 * A held-out subject with its truth: raw or normalised sequences (a 4D one, the DCE, as a series),
 * the unique mask of the sequence scored (T1Gd's, or the DCE's: 3D), lesion labels.
 * @example
 * ```ts
 * import { normalizeIntensity, phantom, type TruthSubject } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16] }).subject(0);
 * const subject: TruthSubject = {
 *   id: s.id,
 *   sequences: Object.fromEntries(Object.entries(s.volumes).map(([k, v]) => [k, normalizeIntensity(v!)])),
 *   unique: s.truth.unique.t1gd!,
 *   lesion: s.truth.lesion,
 * };
 * console.log(subject.id);
 * ```
 */
export interface TruthSubject {
  id: string;
  sequences: Readonly<Record<string, Volume>>;
  /** Voxels whose signal only the scored sequence sees (non-zero = unique), 3D. */
  unique: Volume;
  /** Lesion labels (non-zero = lesion). */
  lesion: Volume;
}

/**
 * Options of {@link phantomAcceptance} (and {@link averageAcceptance}).
 *
 * @example
 * ```ts
 * import { type AcceptanceOptions } from 'mriseq/browser';
 * const o: AcceptanceOptions = { uniqueSequence: 't1gd', lastSequence: 't1', minAuc: 0.9, resamples: 500, seed: 0 };
 * console.log(o.minAuc);
 * ```
 */
export interface AcceptanceOptions {
  /** Sequence whose unique mask is scored (default 't1gd'; 'dce' for the breast study's series). */
  uniqueSequence?: string;
  /**
   * Sequence expected last by C_d (default 't1'), and the subtraction baseline's partner for a 3D
   * unique sequence (a series is subtracted from its own first time point).
   */
  lastSequence?: string;
  /** Threshold of the lesion-restricted AUC (default 0.9). */
  minAuc?: number;
  /**
   * How a series target (a DCE) is scored, both in C_t/C_d and in its M_d summary: 'all' its
   * phases (default) or 'after-first' (its post-contrast phases; the 4D acceptance's choice, see
   * docs/dce.md). The report records it; a 3D target is unaffected.
   */
  frames?: SeriesFrames;
  resamples?: number;
  seed?: number;
  onSubject?: (e: { subject: string; done: number; total: number }) => void;
  /**
   * Receives each subject's M_d maps (one per target) as they are made, from the generations the
   * metrics table uses: write or show them without generating twice.
   */
  onMaps?: (e: { subject: string; maps: Record<string, Volume> }) => void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * What {@link phantomAcceptance} measured.
 *
 * @example
 * ```ts
 * import { type AcceptanceReport } from 'mriseq';
 * declare const r: AcceptanceReport; // from phantomAcceptance or runDemo
 * console.log(r.lesionAuc.t1gd?.mean, r.subtractionAuc, r.ranking.order, r.checks, r.passed);
 * ```
 */
export interface AcceptanceReport {
  subjects: number;
  /**
   * Per target: mean over subjects of the lesion-restricted AUC of M_d(target) on the unique mask
   * (a 4D target's M_d, e.g. the DCE's, by its mean over time).
   */
  lesionAuc: Record<string, { mean: number; sd: number; min: number }>;
  /** Per 4D target: the lesion-restricted AUC of each time point's M_d, mean over subjects. */
  frameAuc: Record<string, number[]>;
  /** Per target: mean head-wide AUC (inflated: lesions are hard for every target). */
  headAuc: Record<string, number>;
  /**
   * The subtraction baseline, lesion-restricted mean AUC: |u - last| for a 3D unique sequence
   * (T1Gd - T1), the series' own max_k |u_k - u_0| for a 4D one (DCE post - pre contrast).
   */
  subtractionAuc: number;
  /** What the baseline subtracted, e.g. '|t1gd - t1|' or 'max_k |dce_k - dce_0|'. */
  subtraction: string;
  ranking: SequenceRanking;
  /** How series targets were scored (ranking and M_d summary); see {@link AcceptanceOptions.frames}. */
  frames: SeriesFrames;
  /** The evaluation table behind the ranking (one row per subject, source, target). */
  rows: EvaluationRow[];
  checks: { aucAtLeast: boolean; specific: boolean; uniqueFirst: boolean; lastLast: boolean };
  passed: boolean;
}

function meanSd(v: number[]): { mean: number; sd: number; min: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, sd, min: Math.min(...v) };
}

/**
 * Runs the acceptance measurement; every number comes from the given generator and truth.
 * The phantom acceptance (shared/spec/phantom.md): on held-out subjects with known truth, is
 * M_d(T1Gd) high on T1Gd's unique mask (lesion-restricted voxel AUC ≥ `minAuc`), lower for every other
 * target, beside the |T1Gd − T1| baseline; and does C_d rank T1Gd first and T1 last?
 *
 * @param subjects - Held-out subjects with their truth (see {@link heldOutSubjects}).
 * @param generate - The generator as a function (see {@link generatorFunction}).
 * @param opts - Unique and last sequence ('t1gd', 't1'), `minAuc` (0.9), bootstrap resamples and seed,
 *   callbacks (`onSubject`, `onMaps`), `signal`.
 * @returns The {@link AcceptanceReport}: AUCs, ranking, rows and each check's verdict.
 * @throws {@link MriseqError} 'analysis.empty' without subjects, or as {@link evaluate} and {@link differentiationMap}.
 * @example
 * ```ts
 * import { formatAcceptance, generatorFunction, heldOutSubjects, loadPretrained, phantomAcceptance, readModelCard, initEngine } from 'mriseq';
 * await initEngine();
 * const g = loadPretrained('phantom-lite');
 * const subjects = heldOutSubjects(readModelCard('phantom-lite').phantom, 2);
 * const report = await phantomAcceptance(subjects, generatorFunction(g), { resamples: 100 });
 * console.log(formatAcceptance(report));
 * g.dispose();
 * ```
 */
export async function phantomAcceptance(
  subjects: readonly TruthSubject[],
  generate: GenerateFn,
  opts: AcceptanceOptions = {},
): Promise<AcceptanceReport> {
  const u = opts.uniqueSequence ?? 't1gd';
  const last = opts.lastSequence ?? 't1';
  const seriesFrames = opts.frames ?? 'all';
  if (subjects.length === 0)
    throw new MriseqError('acceptance needs held-out subjects', { code: 'analysis.empty' });
  const prepared = subjects.map((s) => ({
    ...s,
    sequences: Object.fromEntries(Object.entries(s.sequences).map(([k, v]) => [k, prepareVolume(v, 'auto')])),
  }));
  const rows: EvaluationRow[] = [];
  const lesionAucs: Record<string, number[]> = {};
  const frameAucsOf: Record<string, number[][]> = {};
  const headAucs: Record<string, number[]> = {};
  const sub: number[] = [];
  const series = prepared.some((s) => s.sequences[u] && frameCount(s.sequences[u]) > 1);
  let done = 0;
  for (const s of prepared) {
    const head = Array.from(s.unique.data, (_, i) => {
      // head = voxels brighter than background in any sequence (background normalises to -1);
      // a series' first time point stands for it
      for (const v of Object.values(s.sequences)) if (v.data[i] > -0.98) return 1;
      return 0;
    });
    const maps: Record<string, Volume> = {};
    for (const t of Object.keys(s.sequences)) {
      // One generation per (source, target) feeds both the metrics table and M_d(t).
      const xt = s.sequences[t];
      const generated: Record<string, Float32Array> = {};
      const md = await differentiationMap(
        s.sequences,
        t,
        async (src, target, like) => {
          const [name] = Object.keys(src);
          const g = await generate(src, target, like);
          return (generated[name] = g instanceof Float32Array ? g : g.data);
        },
        { signal: opts.signal },
      );
      for (const [name, y] of Object.entries(generated)) {
        const { frames, ...scores } = compareFrames(xt, { data: y, shape: xt.shape });
        rows.push({ subject: s.id, source: name, target: t, ...scores, ...frameColumns(frames) });
      }
      if (opts.onMaps) maps[t] = md;
      const summary = summarizeMap(md, 'mean', seriesFrames);
      (lesionAucs[t] ??= []).push(voxelAuc(summary.data, s.unique.data, { region: s.lesion.data }));
      (headAucs[t] ??= []).push(voxelAuc(summary.data, s.unique.data, { region: head }));
      if (frameCount(md) > 1)
        (frameAucsOf[t] ??= []).push(frameAucs(md, s.unique.data, { region: s.lesion.data }));
    }
    const xu = s.sequences[u];
    if (xu && frameCount(xu) > 1)
      sub.push(voxelAuc(seriesSubtractionMap(xu).data, s.unique.data, { region: s.lesion.data }));
    else if (xu && s.sequences[last])
      sub.push(
        voxelAuc(subtractionMap(xu, s.sequences[last]).data, s.unique.data, {
          region: s.lesion.data,
        }),
      );
    if (opts.onMaps) await opts.onMaps({ subject: s.id, maps });
    opts.onSubject?.({ subject: s.id, done: ++done, total: prepared.length });
  }
  const ranking = rankSequences(rows, {
    resamples: opts.resamples ?? 200,
    seed: opts.seed ?? 0,
    frames: seriesFrames,
  });
  const lesionAuc = Object.fromEntries(Object.entries(lesionAucs).map(([t, v]) => [t, meanSd(v)]));
  const headAuc = Object.fromEntries(Object.entries(headAucs).map(([t, v]) => [t, meanSd(v).mean]));
  const checks = {
    aucAtLeast: lesionAuc[u].mean >= (opts.minAuc ?? 0.9),
    specific: Object.entries(lesionAuc).every(([t, a]) => t === u || a.mean < lesionAuc[u].mean),
    uniqueFirst: ranking.order[0] === u,
    lastLast: ranking.order[ranking.order.length - 1] === last,
  };
  const frameAuc = Object.fromEntries(
    Object.entries(frameAucsOf).map(([t, per]) => [
      t,
      per[0].map((_, k) => per.reduce((a, p) => a + (p[k] ?? NaN), 0) / per.length),
    ]),
  );
  return {
    subjects: prepared.length,
    lesionAuc,
    frameAuc,
    headAuc,
    subtractionAuc: sub.length ? meanSd(sub).mean : NaN,
    subtraction: series ? `max_k |${u}_k - ${u}_0|` : `|${u} - ${last}|`,
    ranking,
    frames: seriesFrames,
    rows,
    checks,
    passed: Object.values(checks).every(Boolean),
  };
}

/**
 * Over which phases the report's series targets were scored, or '' without series targets.
 * `?.` and `?? 'all'`: reports saved before series scoring was recorded lack both fields.
 */
function seriesPhases(r: AcceptanceReport): string {
  if (!r.ranking.matrix.seriesTargets?.length) return '';
  return r.frames === 'after-first' ? 'the phases after the first' : 'every phase';
}

/** How series targets were scored, when there are any: says so before the C_d order. */
function seriesNote(r: AcceptanceReport): string {
  const how = seriesPhases(r);
  if (!how) return '';
  return `Series (${r.ranking.matrix.seriesTargets.join(', ')}) scored over ${how} (frames '${r.frames ?? 'all'}'). `;
}

/**
 * One paragraph for the README / a notebook.
 * @param r - A report from {@link phantomAcceptance}.
 * @param u - The sequence whose unique mask was scored (default 't1gd').
 * @returns Three lines: the AUCs, the C_d order, and each check's pass/FAIL.
 * @example
 * ```ts
 * import { formatAcceptance, type AcceptanceReport } from 'mriseq';
 * declare const report: AcceptanceReport; // from phantomAcceptance
 * console.log(formatAcceptance(report));
 * ```
 */
export function formatAcceptance(r: AcceptanceReport, u = 't1gd'): string {
  const f = (x: number): string => x.toFixed(3);
  return [
    `${r.subjects} held-out subjects. M_d(${u}) vs ${u}'s unique mask, lesion-restricted AUC ${f(r.lesionAuc[u].mean)} ` +
      `(sd ${f(r.lesionAuc[u].sd)}, min ${f(r.lesionAuc[u].min)}); other targets: ` +
      Object.entries(r.lesionAuc)
        .filter(([t]) => t !== u)
        .map(([t, a]) => `${t} ${f(a.mean)}`)
        .join(', ') +
      `; subtraction baseline ${r.subtraction ?? 'subtraction'} ${f(r.subtractionAuc)}; head-wide ${f(r.headAuc[u])}.` +
      (r.frameAuc?.[u] ? ` M_d(${u}) per time point: ${r.frameAuc[u].map(f).join(', ')}.` : ''),
    `${seriesNote(r)}C_d order: ${r.ranking.order.join(' > ')} (C_d ${r.ranking.sequences
      .slice()
      .sort((a, b) => a.rank - b.rank)
      .map((s) => f(s.C_d))
      .join(', ')}).`,
    `checks: ${Object.entries(r.checks)
      .map(([k, v]) => `${k} ${v ? 'pass' : 'FAIL'}`)
      .join(', ')}`,
  ].join('\n');
}

/**
 * What {@link averageAcceptance} returns.
 *
 * @example
 * ```ts
 * import { type AcceptanceReport, averageAcceptance, type AveragedAcceptance } from 'mriseq/browser';
 * declare const reports: AcceptanceReport[]; // from phantomAcceptance, several seeds
 * const avg: AveragedAcceptance = averageAcceptance(reports);
 * console.log(avg.runs, avg.lesionAuc, avg.Cd, avg.passed);
 * ```
 */
export interface AveragedAcceptance {
  runs: number;
  /** Per target: lesion-restricted AUC averaged over runs (each already a mean over subjects). */
  lesionAuc: Record<string, number>;
  /** Per sequence: C_d averaged over runs. */
  Cd: Record<string, number>;
  /** Sequences by averaged C_d, high first. */
  order: string[];
  checks: AcceptanceReport['checks'];
  passed: boolean;
}

/**
 * Averages acceptance over several runs (seeds or late checkpoints): single checkpoints swing by
 * about +-0.05 AUC (phantom.md), so the acceptance should be judged on the average.
 * @param reports - Reports of several runs (same subjects or not).
 * @param opts - `uniqueSequence`, `lastSequence`, `minAuc` as for {@link phantomAcceptance}.
 * @returns Lesion AUCs and C_d averaged over runs, the order by averaged C_d, and the checks on those averages.
 * @throws {@link MriseqError} 'analysis.empty' for an empty list.
 * @example
 * ```ts
 * import { averageAcceptance, type AcceptanceReport } from 'mriseq';
 * declare const seed1: AcceptanceReport, seed2: AcceptanceReport; // from phantomAcceptance
 * const avg = averageAcceptance([seed1, seed2]);
 * console.log(avg.order, avg.passed);
 * ```
 */
export function averageAcceptance(
  reports: readonly AcceptanceReport[],
  opts: AcceptanceOptions = {},
): AveragedAcceptance {
  if (reports.length === 0) throw new MriseqError('nothing to average', { code: 'analysis.empty' });
  const u = opts.uniqueSequence ?? 't1gd';
  const last = opts.lastSequence ?? 't1';
  const lesionAuc: Record<string, number> = {};
  const Cd: Record<string, number> = {};
  for (const r of reports) {
    for (const [t, a] of Object.entries(r.lesionAuc))
      lesionAuc[t] = (lesionAuc[t] ?? 0) + a.mean / reports.length;
    for (const s of r.ranking.sequences) Cd[s.sequence] = (Cd[s.sequence] ?? 0) + s.C_d / reports.length;
  }
  const order = Object.keys(Cd).sort((a, b) => Cd[b] - Cd[a]);
  const checks = {
    aucAtLeast: lesionAuc[u] >= (opts.minAuc ?? 0.9),
    specific: Object.entries(lesionAuc).every(([t, a]) => t === u || a < lesionAuc[u]),
    uniqueFirst: order[0] === u,
    lastLast: order[order.length - 1] === last,
  };
  return { runs: reports.length, lesionAuc, Cd, order, checks, passed: Object.values(checks).every(Boolean) };
}

/**
 * One row of the acceptance table: what is checked, what was measured, the bar, pass/fail.
 * @example
 * ```ts
 * import { type AcceptanceLine } from 'mriseq';
 * const line: AcceptanceLine = { check: 'C_d ranks t1gd first', measured: 't1gd', required: 't1gd', pass: true };
 * console.log(line.pass ? 'pass' : 'FAIL');
 * ```
 */
export interface AcceptanceLine {
  check: string;
  measured: string;
  required: string;
  pass: boolean | null;
}

/**
 * The acceptance as table rows (the demo's printout, the figures page, notebooks).
 * @param r - A report from {@link phantomAcceptance}.
 * @param u - The unique sequence (default 't1gd').
 * @param last - The sequence expected last (default 't1').
 * @param minAuc - The AUC bar shown (default 0.9).
 * @returns One {@link AcceptanceLine} per check.
 * @example
 * ```ts
 * import { acceptanceLines, type AcceptanceReport } from 'mriseq';
 * declare const report: AcceptanceReport; // from phantomAcceptance
 * for (const l of acceptanceLines(report)) console.log(l.check, l.measured, l.required, l.pass);
 * ```
 */
export function acceptanceLines(
  r: AcceptanceReport,
  u = 't1gd',
  last = 't1',
  minAuc = 0.9,
): AcceptanceLine[] {
  const f = (x: number): string => x.toFixed(3);
  const others = Object.entries(r.lesionAuc).filter(([t]) => t !== u);
  const worst = others.reduce((m, [, a]) => Math.max(m, a.mean), -Infinity);
  return [
    {
      check: `M_d(${u}) marks ${u}'s unique signal (lesion-restricted AUC, mean over subjects)`,
      measured: `${f(r.lesionAuc[u].mean)} (sd ${f(r.lesionAuc[u].sd)}, min ${f(r.lesionAuc[u].min)})`,
      required: `>= ${minAuc}`,
      pass: r.checks.aucAtLeast,
    },
    {
      check: `only ${u}'s map does: every other target's M_d on that mask`,
      measured: others.map(([t, a]) => `${t} ${f(a.mean)}`).join(', '),
      required: `< ${f(r.lesionAuc[u].mean)}`,
      pass: r.checks.specific && worst < r.lesionAuc[u].mean,
    },
    {
      check: `C_d ranks ${u} first (most unique information)${seriesPhases(r) ? `, series scored over ${seriesPhases(r)}` : ''}`,
      measured: r.ranking.order.join(' > '),
      required: `${u} first`,
      pass: r.checks.uniqueFirst,
    },
    {
      check: `C_d ranks ${last} last (a near-copy of ${u})`,
      measured: r.ranking.sequences
        .slice()
        .sort((a, b) => a.rank - b.rank)
        .map((s) => `${s.sequence} ${f(s.C_d)}`)
        .join(', '),
      required: `${last} last`,
      pass: r.checks.lastLast,
    },
    {
      check: `baseline: ${r.subtraction ?? `|${u} - ${last}|`} subtraction on the same mask`,
      measured: f(r.subtractionAuc),
      required: '(reported, not a check)',
      pass: null,
    },
    ...(r.frameAuc?.[u]
      ? [
          {
            check: `M_d(${u}) time point by time point on that mask (lesion-restricted AUC)`,
            measured: r.frameAuc[u].map((a, k) => `${k}: ${f(a)}`).join(', '),
            required: '(reported, not a check)',
            pass: null,
          },
        ]
      : []),
  ];
}

/**
 * A report as plain JSON (acceptance.json): the table's lines, every AUC (per time point for a
 * series target), the baseline, the C_d order with each sequence's contribution, the checks.
 * @param r - A report from {@link phantomAcceptance}.
 * @param u - The unique sequence (default 't1gd'; 'dce' for the breast study).
 * @param last - The sequence expected last (default 't1').
 * @returns A JSON-ready object.
 * @example
 * ```ts
 * import { acceptanceRecord, type AcceptanceReport } from 'mriseq';
 * declare const report: AcceptanceReport; // from phantomAcceptance
 * console.log(JSON.stringify(acceptanceRecord(report, 'dce', 't1'), null, 1));
 * ```
 */
export function acceptanceRecord(r: AcceptanceReport, u = 't1gd', last = 't1'): Record<string, unknown> {
  return {
    subjects: r.subjects,
    lines: acceptanceLines(r, u, last),
    lesionAuc: r.lesionAuc,
    frameAuc: r.frameAuc,
    headAuc: r.headAuc,
    subtraction: r.subtraction,
    subtractionAuc: r.subtractionAuc,
    frames: r.frames,
    order: r.ranking.order,
    sequences: r.ranking.sequences,
    checks: r.checks,
    passed: r.passed,
  };
}

/**
 * The acceptance table as fixed-width text.
 * @param r - A report from {@link phantomAcceptance}.
 * @param u - The unique sequence (default 't1gd').
 * @param last - The sequence expected last (default 't1').
 * @returns The table of {@link acceptanceLines} as fixed-width text.
 * @example
 * ```ts
 * import { formatAcceptanceTable, type AcceptanceReport } from 'mriseq';
 * declare const report: AcceptanceReport; // from phantomAcceptance
 * console.log(formatAcceptanceTable(report));
 * ```
 */
export function formatAcceptanceTable(r: AcceptanceReport, u = 't1gd', last = 't1'): string {
  const lines = acceptanceLines(r, u, last);
  const w = Math.max(...lines.map((l) => l.check.length));
  return lines
    .map(
      (l) =>
        `${l.pass === null ? '    ' : l.pass ? 'pass' : 'FAIL'}  ${l.check.padEnd(w)}  ${l.measured}${l.pass === null ? '' : `  (${l.required})`}`,
    )
    .join('\n');
}
