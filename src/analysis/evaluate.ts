/**
 * evaluate(model, cohort): the synthesis-quality table of the science spec, one row per
 * (subject, source i, target j) of available sequences with PSNR, SSIM and MAE of G(x_i, code_j)
 * against x_j. Browser-safe core: the model and cohort enter through small interfaces, file
 * output and resumption live in ./node.ts. Resumable: rows already done are skipped.
 */
import { MriseqError } from '../errors/index.js';
import { signalOrInterrupt, yieldToHost } from '../interrupt/index.js';
import { normalizeIntensity, type Volume } from '../volume/index.js';
import type { EvaluationRow } from './contribution.js';
import { mapAccumulator, type GenerateFn } from './maps.js';
import type { SsimOptions } from './metrics.js';
import { compareFrames } from './scores.js';
import type { Seq2Seq } from '../model/index.js';
import type { Cohort } from '../cohort/index.js';
import { asEvaluationCohort, asEvaluationModel } from './adapters.js';
import {
  BUILTIN_METRICS,
  computedMetrics,
  eachComputedMetric,
  type BuiltinMetricName,
  type SynthesisScores,
} from './registry.js';
import { own } from '../keys/index.js';

/**
 * What evaluate needs from a trained generator.
 * @example
 * ```ts
 * import { evaluate, Cohort, type EvaluationModel, initEngine } from 'mriseq';
 * await initEngine();
 * const identity: EvaluationModel = { sequences: ['t1', 't2'], generate: async (sources) => Object.values(sources)[0]! };
 * const rows = await evaluate(identity, Cohort.fromPhantom({ subjects: 1, size: [32, 32, 16] }), { split: 'all' });
 * console.log(rows.length);
 * ```
 */
export interface EvaluationModel {
  /** Sequence names the model knows (its target codes). */
  readonly sequences: readonly string[];
  /** G(sources, code_target): a volume on the sources' grid, intensities in [-1, 1]. */
  generate: GenerateFn;
  /**
   * Optional: G(x_s, code_t) for several (source, target) pairs of one subject at once (one
   * source each), keyed `${source}>${target}`; `like` holds the real volumes (grid and time points
   * only). A generator that shares work between the pairs (one encoding per source) offers it. `signal` (or the host's interrupt) stops it between
   * batches with a MriseqError of code 'generate.aborted'.
   */
  generatePairs?(
    sequences: Readonly<Record<string, Volume>>,
    pairs: readonly [string, string][],
    options?: { signal?: AbortSignal },
  ): Promise<Map<string, Volume | Float32Array>>;
  /** What the model is (a hash of its weights, a version), recorded with a resumable table. */
  readonly fingerprint?: string;
}

/**
 * One subject as evaluate sees it: its available sequences (missing ones are simply absent).
 * @example
 * ```ts
 * import { normalizeIntensity, phantom, type EvaluationSubject } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16] }).subject(0);
 * const subject: EvaluationSubject = { id: s.id, sequences: { t1: normalizeIntensity(s.volumes.t1!), t2: normalizeIntensity(s.volumes.t2!) } };
 * console.log(Object.keys(subject.sequences));
 * ```
 */
export interface EvaluationSubject {
  id: string;
  sequences: Readonly<Record<string, Volume>>;
}

/**
 * What evaluate needs from a cohort: the subjects of a split, loaded lazily one at a time.
 * Implement it to evaluate subjects from anywhere; a {@link Cohort} becomes one with {@link asEvaluationCohort}.
 *
 * @example
 * ```ts
 * import { normalizeIntensity, phantom, type EvaluationCohort } from 'mriseq';
 * const p = phantom({ subjects: 3, size: [32, 32, 16] });
 * const cohort: EvaluationCohort = {
 *   subjectIds: () => p.ids(),
 *   loadSubject: async (id) => {
 *     const s = p.subject(id);
 *     return { id, sequences: Object.fromEntries(Object.entries(s.volumes).map(([k, v]) => [k, normalizeIntensity(v!)])) };
 *   },
 * };
 * console.log(await cohort.subjectIds());
 * ```
 */
export interface EvaluationCohort {
  subjectIds(split?: string): readonly string[] | Promise<readonly string[]>;
  loadSubject(id: string): Promise<EvaluationSubject>;
  /** Sequences a subject has, known without loading (lets a resumed run skip finished subjects). */
  availableSequences?(id: string): readonly string[];
  /**
   * A cheap identity of a subject's data (see VolumeSource.stamp): a resumed table checks finished
   * subjects by it instead of loading them. Without it they are loaded and hashed.
   */
  stamp?(id: string): Promise<string | undefined>;
}

/**
 * Options of {@link evaluate}.
 *
 * @example
 * ```ts
 * import { type EvaluateOptions } from 'mriseq';
 * const o: EvaluateOptions = {
 *   split: 'test',
 *   includeSelf: false,
 *   metricOptions: { slices: true },
 *   onSubject: (e) => console.log(`${e.subject} ${e.done}/${e.total}`),
 * };
 * console.log(o.split);
 * ```
 */
export interface EvaluateOptions {
  /** Which split to evaluate ('test' by default). */
  split?: string;
  /** Only these sequences (default: every sequence the model knows). */
  sequences?: readonly string[];
  /** Include i = j (self-reconstruction) rows. Default true: the spec's A includes the diagonal. */
  includeSelf?: boolean;
  /**
   * Normalise real volumes to [-1, 1] (clip to [0, 2 p99], scale) before comparing. 'auto'
   * (default) normalises a volume only when it has values outside [-1, 1].
   */
  normalize?: boolean | 'auto';
  /** SSIM/PSNR options (data range 2, window 7, ...); `slices: true` averages 2D SSIM over axial slices. */
  metricOptions?: Omit<SsimOptions, 'shape' | 'mask'> & { slices?: boolean };
  /**
   * Metrics of your own, computed for every pair beside PSNR/SSIM/MAE and written as columns of
   * the table (e.g. LPIPS where your lab has the pretrained backbones). Rank with them by naming
   * them in `metrics`, with their orientation declared unless the registry knows the name.
   */
  metrics?: readonly UserMetric[];
  /** Keys `subject|source|target` already done (resumption): skipped. */
  done?: ReadonlySet<string>;
  /** Called with each new row as soon as it is computed. */
  onRow?: (row: EvaluationRow) => void | Promise<void>;
  /** Called when a subject is finished (a good moment to persist). */
  onSubject?: (e: { subject: string; done: number; total: number; rows: number }) => void | Promise<void>;
  signal?: AbortSignal;
  /**
   * Also the differentiation maps M_d(t) of each subject, from the same generations as the table
   * (each (source, target) volume is generated once for both). Sources: every sequence the subject
   * has among those evaluated, the target included (the spec's sum).
   */
  maps?: {
    /** Targets to map (default: every evaluated sequence the subject has). */
    targets?: readonly string[];
    onMaps: (subject: string, maps: Record<string, Volume>) => void | Promise<void>;
    /** Subjects whose maps exist already (resumption): none are made for them. */
    done?: ReadonlySet<string>;
  };
}

/**
 * A per-pair synthesis metric supplied by the caller (see EvaluateOptions.metrics).
 * @example
 * ```ts
 * import { meanSquaredError, type UserMetric, initEngine } from 'mriseq';
 * await initEngine();
 * const mse: UserMetric = { name: 'mse', compute: (truth, generated) => meanSquaredError(truth.data, generated.data) };
 * // evaluate(model, cohort, { metrics: [mse] }); rank with { metrics: ['psnr', 'ssim', 'mse'], orientations: { mse: -1 } }
 * console.log(mse.name);
 * ```
 */
export interface UserMetric {
  /** Column name (lower case; not psnr, ssim or mae). */
  name: string;
  /** Real target and generated volume (same grid, normalised [-1, 1]) -> one number. */
  compute: (
    truth: Volume,
    generated: Volume,
    pair: { subject: string; source: string; target: string },
  ) => number | Promise<number>;
}

function checkUserMetrics(metrics: readonly UserMetric[]): void {
  const seen = new Set<string>();
  for (const m of metrics) {
    const name = String(m?.name ?? '');
    if (!/^[a-z][a-z0-9_]*$/.test(name) || BUILTIN_METRICS.includes(name) || seen.has(name))
      throw new MriseqError('bad user metric name', {
        field: 'metrics[].name',
        found: JSON.stringify(m?.name),
        expected: `a new lower-case column name (not ${BUILTIN_METRICS.join(', ')}, not repeated)`,
        code: 'analysis.metric',
      });
    if (typeof m.compute !== 'function')
      throw new MriseqError('a user metric needs a compute function', {
        field: `metrics.${name}.compute`,
        code: 'analysis.metric',
      });
    seen.add(name);
  }
}

function interrupted(): MriseqError {
  return new MriseqError('evaluation interrupted', { code: 'analysis.aborted' });
}

/**
 * The per-frame columns of a 4D target's row: psnr_f0, ssim_f0, mae_f0, psnr_f1, ... (every computed
 * metric of the registry for frame k of the series, 0-based); none for a 3D target. The row's
 * psnr, ssim and mae are their means.
 * @param frames - The scores of each frame (e.g. {@link compareFrames}' `frames`).
 * @returns The columns and their values; `{}` for fewer than two frames.
 * @example
 * ```ts
 * import { frameColumns } from 'mriseq';
 * console.log(frameColumns([{ psnr: 30, ssim: 0.9, mae: 0.05 }, { psnr: 20, ssim: 0.7, mae: 0.1 }]));
 * // { psnr_f0: 30, ssim_f0: 0.9, mae_f0: 0.05, psnr_f1: 20, ssim_f1: 0.7, mae_f1: 0.1 }
 * ```
 */
export function frameColumns(frames: readonly SynthesisScores[]): Record<string, number> {
  const out: Record<string, number> = {};
  if (frames.length < 2) return out;
  const metrics = computedMetrics().map((m) => m.name as BuiltinMetricName);
  frames.forEach((f, k) => {
    for (const m of metrics) out[`${m}_f${k}`] = f[m];
  });
  return out;
}

/**
 * A row that carries every column an evaluation table of these targets can have (values 0), to
 * fix the header before any row exists: subject..mae, and the per-frame columns of the longest
 * 4D target among `sequences` (all of timePoints' without it).
 * @param timePoints - The series lengths of 4D sequences (a generator's `config.timePoints`).
 * @param sequences - The targets the table will hold (default: every sequence of timePoints).
 * @returns A row of zeros with every column.
 * @example
 * ```ts
 * import { evaluationTemplate } from 'mriseq';
 * console.log(Object.keys(evaluationTemplate({ dce: 6 }, ['t1', 'dce']))); // subject, ..., mae, psnr_f0, ..., mae_f5
 * ```
 */
export function evaluationTemplate(
  timePoints: Readonly<Record<string, number>> = {},
  sequences?: readonly string[],
): EvaluationRow {
  const nt = Math.max(
    1,
    ...Object.entries(timePoints)
      .filter(([q]) => !sequences || sequences.includes(q))
      .map(([, n]) => n),
  );
  const zero = eachComputedMetric(0);
  return {
    subject: '',
    source: '',
    target: '',
    ...zero,
    ...frameColumns(Array.from({ length: nt }, () => zero)),
  };
}

/**
 * The per-frame values of one metric in a row (frameColumns' psnr_f0, psnr_f1, ...); [] for a 3D target.
 * @param row - An evaluation row.
 * @param metric - The metric's name, e.g. 'psnr'.
 * @returns The values frame by frame.
 * @example
 * ```ts
 * import { frameValues } from 'mriseq';
 * const row = { subject: 'a', source: 't1', target: 'dce', psnr: 25, ssim: 0.8, psnr_f0: 30, psnr_f1: 20 };
 * console.log(frameValues(row, 'psnr')); // [30, 20]
 * ```
 */
export function frameValues(row: EvaluationRow, metric: string): number[] {
  const out: number[] = [];
  for (let k = 0; typeof row[`${metric}_f${k}`] === 'number'; k++) out.push(row[`${metric}_f${k}`] as number);
  return out;
}

/**
 * The key of an evaluation row, 'subject|source|target' (what `done` sets hold when resuming).
 *
 * @param r - A row (or its subject, source and target).
 * @returns The key.
 * @example
 * ```ts
 * import { rowKey } from 'mriseq/browser';
 * console.log(rowKey({ subject: 'sim-00001', source: 't1', target: 't1gd' })); // 'sim-00001|t1|t1gd'
 * ```
 */
export function rowKey(r: { subject: string; source: string; target: string }): string {
  return `${r.subject}|${r.source}|${r.target}`;
}

/**
 * A volume as the metrics and maps expect it: in the normalised [-1, 1] space of the science spec.
 *
 * @param v - A volume.
 * @param normalize - true: always {@link normalizeIntensity}; false: never; 'auto' (default): unless
 *   the volume already looks normalised: every value in [-1, 1] and some below 0. Magnitude images
 *   are never negative while normalised ones put their background at -1, so a raw scan stored in
 *   [0, 1] (or any non-negative range) is normalised rather than passed through unchanged.
 * @returns The volume in the normalised [-1, 1] space (the same object when unchanged).
 * @example
 * ```ts
 * import { createVolume, prepareVolume } from 'mriseq';
 * const raw = createVolume([0, 100, 200, 300, 400, 500, 600, 700], [2, 2, 2]);
 * const n = prepareVolume(raw);
 * console.log(n.data[0], prepareVolume(n) === n); // -1 true (already in [-1, 1], background at -1)
 * const unit = createVolume([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], [2, 2, 2]); // a raw scan stored in [0, 1]
 * console.log(prepareVolume(unit) === unit); // false: non-negative, so normalised
 * ```
 */
export function prepareVolume(v: Volume, normalize: boolean | 'auto' = 'auto'): Volume {
  if (normalize === false) return v;
  if (normalize === 'auto') {
    let outside = false;
    let negative = false;
    for (let i = 0; i < v.data.length && !outside; i++) {
      const x = v.data[i] as number;
      outside = x < -1 || x > 1;
      negative ||= x < 0;
    }
    if (!outside && negative) return v;
  }
  return normalizeIntensity(v);
}

/**
 * Runs the evaluation and returns the new rows (those not in `done`), in subject/source/target order.
 * For each subject of the split and each ordered pair (source, target) of its available sequences,
 * generates the target from the source alone and scores it against the real target (PSNR, SSIM,
 * MAE, plus `metrics`): the evaluation table the contribution analysis ranks.
 *
 * @param modelLike - A trained {@link Seq2Seq} or any {@link EvaluationModel}.
 * @param cohortLike - A {@link Cohort} (its recorded split) or any {@link EvaluationCohort}.
 * @param opts - Split ('test'), sequences, self rows, normalisation, metric options, user metrics,
 *   resumption (`done`), callbacks, `signal`.
 * @returns The new rows, in subject/source/target order.
 * @throws {@link MriseqError} when the split has no subject, a user metric returns a non-number, or
 *   'analysis.aborted' when `signal` aborts.
 * @example
 * ```ts
 * import { Cohort, evaluate, loadPretrained, rankSequences, initEngine } from 'mriseq';
 * await initEngine();
 * const cohort = Cohort.fromPhantom({ subjects: 2, size: [64, 64, 32] });
 * const g = loadPretrained();
 * const rows = await evaluate(g, cohort, { split: 'all', includeSelf: false });
 * console.log(rows.length, rankSequences(rows, { resamples: 0 }).order);
 * g.dispose();
 * ```
 */
export async function evaluate(
  modelLike: EvaluationModel | Seq2Seq,
  cohortLike: EvaluationCohort | Cohort,
  opts: EvaluateOptions = {},
): Promise<EvaluationRow[]> {
  const signal = signalOrInterrupt(opts.signal);
  const model = asEvaluationModel(modelLike);
  const cohort = asEvaluationCohort(cohortLike);
  const userMetrics = opts.metrics ?? [];
  checkUserMetrics(userMetrics);
  const ids = await cohort.subjectIds(opts.split ?? 'test');
  if (ids.length === 0)
    throw new MriseqError('no subject in this split', {
      field: 'split',
      found: opts.split ?? 'test',
      code: 'analysis.empty',
    });
  const wanted = opts.sequences ?? model.sequences;
  const rows: EvaluationRow[] = [];
  let k = 0;
  for (const id of ids) {
    k++;
    const sub = { subject: id };
    const has = cohort.availableSequences?.(id);
    const avail0 = has ? wanted.filter((s) => has.includes(s)) : undefined;
    // Decide what is missing before loading, so a finished subject costs nothing on resume.
    const rowPairs: [string, string][] = [];
    for (const s of wanted)
      for (const t of wanted)
        if (((opts.includeSelf ?? true) || s !== t) && (!has || (has.includes(s) && has.includes(t))))
          if (!opts.done?.has(rowKey({ ...sub, source: s, target: t }))) rowPairs.push([s, t]);
    const wantMaps = opts.maps !== undefined && !opts.maps.done?.has(id);
    if (rowPairs.length === 0 && !wantMaps) continue;
    if (wantMaps && avail0 && avail0.length === 0) continue;
    const subject = await cohort.loadSubject(id);
    const avail = new Map<string, Volume>();
    for (const s of wanted) {
      const v = own(subject.sequences, s);
      if (v) avail.set(s, prepareVolume(v, opts.normalize));
    }
    const mapTargets = wantMaps ? (opts.maps!.targets ?? wanted).filter((t) => avail.has(t)) : [];
    const maps = new Map(mapTargets.map((t) => [t, mapAccumulator(avail.get(t)!, t)]));
    const rowSet = new Set(rowPairs.map(([s, t]) => `${s}>${t}`));
    let made = 0;
    // One source at a time: its generations serve the table and the maps, then are dropped.
    for (const s of wanted) {
      const xs = avail.get(s);
      if (!xs) continue; // missing sequences are never source or target
      const targets = wanted.filter((t) => avail.has(t) && (rowSet.has(`${s}>${t}`) || maps.has(t)));
      if (targets.length === 0) continue;
      await yieldToHost(); // lets a kernel's interrupt in between generations
      if (signal?.aborted) throw interrupted();
      const gens = await generateFor(model, s, targets, avail, signal).catch((e: unknown) => {
        // a batched generation stopped between its batches
        throw e instanceof MriseqError && e.code === 'generate.aborted' ? interrupted() : e;
      });
      for (const t of targets) {
        const xt = avail.get(t)!;
        const y = gens.get(t)!;
        maps.get(t)?.add(s, y);
        if (!rowSet.has(`${s}>${t}`)) continue;
        const { frames, ...scores } = compareFrames(xt, { data: y, shape: xt.shape }, opts.metricOptions);
        const row: EvaluationRow = { subject: id, source: s, target: t, ...scores, ...frameColumns(frames) };
        if (userMetrics.length) {
          const generated: Volume = { ...xt, data: y, datatype: 'float32' };
          for (const m of userMetrics) {
            const v = await m.compute(xt, generated, { subject: id, source: s, target: t });
            if (typeof v !== 'number' || Number.isNaN(v))
              throw new MriseqError(`user metric "${m.name}" did not return a number`, {
                field: `${id}: ${s} -> ${t}`,
                found: String(v),
                expected: 'a number',
                code: 'analysis.metric',
              });
            row[m.name] = v;
          }
        }
        rows.push(row);
        made++;
        await opts.onRow?.(row);
      }
    }
    if (maps.size > 0)
      await opts.maps!.onMaps(id, Object.fromEntries([...maps].map(([t, acc]) => [t, acc.result()])));
    if (made > 0 || rowPairs.length > 0)
      await opts.onSubject?.({ subject: id, done: k, total: ids.length, rows: made });
  }
  return rows;
}

/** G(x_s, code_t) for the given targets of one source, through generatePairs when the model has it. */
async function generateFor(
  model: EvaluationModel,
  source: string,
  targets: readonly string[],
  avail: ReadonlyMap<string, Volume>,
  signal: AbortSignal | undefined,
): Promise<Map<string, Float32Array>> {
  const xs = avail.get(source)!;
  const out = new Map<string, Float32Array>();
  const data = (g: Volume | Float32Array) => (g instanceof Float32Array ? g : g.data);
  if (model.generatePairs) {
    const like = Object.fromEntries([...avail].filter(([k]) => k === source || targets.includes(k)));
    const gens = await model.generatePairs(
      like,
      targets.map((t) => [source, t] as [string, string]),
      { signal },
    );
    for (const t of targets) {
      const g = gens.get(`${source}>${t}`);
      if (!g)
        throw new MriseqError('the generator returned no volume for a pair', {
          field: `${source}>${t}`,
          code: 'analysis.generate',
        });
      out.set(t, data(g));
    }
    return out;
  }
  for (const t of targets) {
    if (out.size > 0) {
      await yieldToHost(); // lets a kernel's interrupt in between generations
      if (signal?.aborted) throw interrupted();
    }
    out.set(t, data(await model.generate({ [source]: xs }, t, avail.get(t))));
  }
  return out;
}
