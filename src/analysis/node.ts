/**
 * Node adapter of the analysis module: evaluation tables on disk (CSV, atomic writes, resumption)
 * and as danfojs DataFrames. The computing core stays browser-safe in the sibling files.
 */
import { existsSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { writeFileAtomicSync } from '../reliability/node.js';
import { MriseqError } from '../errors/index.js';
import type { EvaluationRow } from './contribution.js';
import {
  evaluate,
  evaluationTemplate,
  rowKey,
  type EvaluateOptions,
  type EvaluationCohort,
  type EvaluationModel,
} from './evaluate.js';
import { evaluationColumns, formatEvaluationCsv, parseEvaluationCsv } from './table.js';
import { writeNifti } from '../io/index.js';
import { frameCount, volumeFrame, type Volume } from '../volume/index.js';
import { Seq2Seq } from '../model/index.js';
import { generatorFingerprint } from '../train/node.js';
import {
  fingerprintJson,
  fingerprintVolumes,
  OutputProvenance,
  type JsonValue,
} from '../reliability/provenance.js';
import { asEvaluationCohort, asEvaluationModel } from './adapters.js';
import type { Cohort } from '../cohort/index.js';
import { regionStatistics, summarizeMap, type RegionStatistics } from './maps.js';
import { basename, dirname, join } from 'node:path';
import { dict, plain } from '../keys/index.js';

/**
 * Reads an evaluation table; errors name the file, row and column.
 * @param path - The CSV file.
 * @returns The rows.
 * @throws {@link MriseqError} when the file cannot be read, or as {@link parseEvaluationCsv}.
 * @example
 * ```ts
 * import { rankSequences, readEvaluationCsv } from 'mriseq';
 * const ranking = rankSequences(readEvaluationCsv('runs/demo/analysis/evaluation.csv'));
 * console.log(ranking.order);
 * ```
 */
export function readEvaluationCsv(path: string): EvaluationRow[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new MriseqError('cannot read the metrics table', {
      file: path,
      found: (e as Error).message,
      code: 'table.read',
      cause: e,
    });
  }
  return parseEvaluationCsv(text, path);
}

/**
 * Written atomically (temp file + rename), as {@link formatEvaluationCsv} formats it.
 *
 * @param path - The CSV file.
 * @param rows - The rows.
 * @param columns - The header (default: the rows' columns); e.g. {@link evaluationTemplate}'s, so a
 *   table without a DCE row yet still has the series' columns.
 * @example
 * ```ts
 * import { readEvaluationCsv, writeEvaluationCsv } from 'mriseq';
 * writeEvaluationCsv('/tmp/mriseq-rows.csv', [{ subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9 }]);
 * console.log(readEvaluationCsv('/tmp/mriseq-rows.csv'));
 * ```
 */
export function writeEvaluationCsv(
  path: string,
  rows: readonly EvaluationRow[],
  columns?: readonly string[],
): void {
  writeFileAtomicSync(path, formatEvaluationCsv(rows, columns ? [...columns] : undefined));
}

/**
 * The subset of danfojs' DataFrame this module promises (danfojs ships no usable types for strict TS).
 * A danfojs DataFrame of evaluation rows (see {@link toDataFrame}).
 *
 * @example
 * ```ts
 * import { toDataFrame, type EvaluationDataFrame } from 'mriseq';
 * const df: EvaluationDataFrame = toDataFrame([{ subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9 }]);
 * console.log(df.shape, df.columns, df.toCSV());
 * ```
 */
export interface EvaluationDataFrame {
  readonly shape: number[];
  readonly columns: string[];
  toCSV(): string;
  print(): void;
}

/**
 * The table as a danfojs-node DataFrame (loaded lazily: danfojs pulls in tfjs-node).
 * @param rows - Evaluation rows.
 * @returns A danfojs DataFrame (typed as {@link EvaluationDataFrame}).
 * @example
 * ```ts
 * import { toDataFrame } from 'mriseq';
 * toDataFrame([{ subject: 'a', source: 't1', target: 't2', psnr: 25, ssim: 0.9 }]).print();
 * ```
 */
export function toDataFrame(rows: readonly EvaluationRow[]): EvaluationDataFrame {
  const danfo = require('danfojs-node') as { DataFrame: new (data: unknown[]) => EvaluationDataFrame };
  return new danfo.DataFrame(rows.map((r) => ({ ...r })));
}

export interface EvaluateToCsvOptions extends Omit<EvaluateOptions, 'done'> {
  /** Output CSV; if it exists, its rows are kept and those (subject, source, target) are skipped. */
  out: string;
  /**
   * Time points of the 4D targets that may appear (e.g. a generator's config.timePoints): their
   * per-frame columns are in the header even when no row has them yet, so the tables of a cohort's
   * shards (some without a DCE) share one header and merge.
   */
  timePoints?: Readonly<Record<string, number>>;
  /**
   * A table made from other inputs (another model, other options) is refused; with redo it is
   * removed and made again.
   */
  redo?: boolean;
  /** What the model is, for a model that is not a Seq2Seq (whose weights are hashed). */
  modelFingerprint?: string;
  /** Further inputs to record with the table (the CLI records the split or fold). */
  inputs?: Record<string, JsonValue>;
}

/** The provenance record of a table: `metrics.csv` -> `metrics.provenance.json` beside it. */
export function provenanceFileOf(table: string): string {
  return join(dirname(table), `${basename(table).replace(/\.(csv|tsv)$/i, '')}.provenance.json`);
}

/**
 * What {@link evaluateToCsv} returns.
 *
 * @example
 * ```ts
 * import { type EvaluationTable } from 'mriseq';
 * declare const t: EvaluationTable; // from evaluateToCsv
 * console.log(t.rows.length, t.added, t.resumed);
 * t.dataFrame().print();
 * ```
 */
export interface EvaluationTable {
  /** Every row of the output file (previous and new). */
  rows: EvaluationRow[];
  /** How many rows this call computed. */
  added: number;
  /** How many rows were already in the file. */
  resumed: number;
  path: string;
  /** The same table as a danfojs DataFrame. */
  dataFrame(): EvaluationDataFrame;
}

/**
 * Opens the provenance record of an evaluation table (refusing one made from other inputs unless
 * opts.redo): the model's fingerprint, the sequences and the metric options, plus opts.inputs.
 */
export function openEvaluationProvenance(
  model: EvaluationModel | Seq2Seq,
  opts: Omit<EvaluateToCsvOptions, 'onRow' | 'onSubject' | 'signal'>,
): OutputProvenance {
  const m = asEvaluationModel(model);
  const modelId =
    opts.modelFingerprint ?? (model instanceof Seq2Seq ? generatorFingerprint(model) : model.fingerprint);
  if (modelId === undefined)
    throw new MriseqError('a resumable table needs to know which model made it', {
      file: opts.out,
      field: 'modelFingerprint',
      expected: 'a Seq2Seq, or modelFingerprint (or a fingerprint property) naming a custom model',
      code: 'provenance.model',
    });
  const inputs: Record<string, JsonValue> = {
    model: modelId,
    sequences: [...(opts.sequences ?? m.sequences)],
    includeSelf: opts.includeSelf ?? true,
    normalize: opts.normalize ?? 'auto',
    metrics: JSON.parse(JSON.stringify(opts.metricOptions ?? {})) as JsonValue,
    ...(opts.inputs ?? {}),
  };
  return OutputProvenance.open(provenanceFileOf(opts.out), 'evaluate', inputs, {
    redo: opts.redo,
    hasOutputs: () => existsSync(opts.out),
    removeOutputs: () => rmSync(opts.out, { force: true }),
    what: `the table ${opts.out}`,
  });
}

/**
 * evaluate() with a CSV on disk: resumable (rows already in `out` are skipped) and saved
 * atomically after every subject, so an interruption loses at most one subject's work. The table
 * carries a provenance record (provenanceFileOf): the model's fingerprint and the options; a
 * subject's rows count only once its entry is written (after the rows), and only while its data
 * are the recorded ones. A rerun with another model or other options is refused unless `redo`.
 * @param model - A trained {@link Seq2Seq} or any {@link EvaluationModel}.
 * @param cohort - A {@link Cohort} or any {@link EvaluationCohort}.
 * @param opts - {@link evaluate}'s options plus `out`, the CSV file.
 * @returns Every row of the file (previous and new), how many were added and resumed, and a data-frame view.
 * @throws {@link MriseqError} as {@link evaluate}, or when the existing file is not an evaluation table.
 * @example
 * ```ts
 * import { Cohort, evaluateToCsv, loadPretrained, initEngine } from 'mriseq';
 * await initEngine();
 * const g = loadPretrained();
 * const table = await evaluateToCsv(g, Cohort.fromPhantom({ subjects: 2, size: [64, 64, 32] }), {
 *   out: '/tmp/mriseq-evaluation.csv',
 *   split: 'all',
 * });
 * console.log(table.added, table.resumed, table.path);
 * g.dispose();
 * ```
 */
export async function evaluateToCsv(
  model: EvaluationModel | Seq2Seq,
  cohort: EvaluationCohort | Cohort,
  opts: EvaluateToCsvOptions,
): Promise<EvaluationTable> {
  const m = asEvaluationModel(model);
  const c = asEvaluationCohort(cohort);
  const prov = openEvaluationProvenance(model, opts);
  const stampOf = async (id: string) => {
    const s = await c.stamp?.(id);
    return s === undefined ? undefined : fingerprintJson(s);
  };
  const contentOf = (sequences: Readonly<Record<string, Volume>>) =>
    fingerprintVolumes(Object.entries(sequences));
  // rows count only for subjects whose entry was written after them, with the recorded data
  const found = existsSync(opts.out) ? readEvaluationCsv(opts.out) : [];
  const current = new Set(await c.subjectIds(opts.split ?? 'test'));
  const kept = new Set<string>();
  for (const id of new Set(found.map((r) => r.subject))) {
    // a subject no longer selected keeps its finished rows unchecked (it cannot be loaded)
    const ok = current.has(id)
      ? await prov.verify(id, await stampOf(id), async () => contentOf((await c.loadSubject(id)).sequences))
      : prov.subject(id) !== undefined;
    if (ok) kept.add(id);
  }
  const previous = found.filter((r) => kept.has(r.subject));
  const rows = [...previous];
  const columns = (): string[] =>
    evaluationColumns([...rows, evaluationTemplate(opts.timePoints, opts.sequences)]);
  if (previous.length !== found.length) writeEvaluationCsv(opts.out, previous, columns());
  const done = new Set(previous.map(rowKey));
  const loaded = new Map<string, string>();
  const recording: EvaluationCohort = {
    ...c,
    loadSubject: async (id) => {
      const s = await c.loadSubject(id);
      loaded.set(id, contentOf(s.sequences));
      return s;
    },
  };
  await evaluate(m, recording, {
    ...opts,
    done,
    onRow: async (r) => {
      rows.push(r);
      await opts.onRow?.(r);
    },
    onSubject: async (e) => {
      if (e.rows > 0) writeEvaluationCsv(opts.out, rows, columns());
      // written after the subject's rows: a run killed in between redoes the subject
      const data = loaded.get(e.subject);
      if (data !== undefined) prov.done(e.subject, { data, stamp: await stampOf(e.subject) });
      await opts.onSubject?.(e);
    },
  });
  if (!existsSync(opts.out)) writeEvaluationCsv(opts.out, rows, columns());
  return {
    rows,
    added: rows.length - previous.length,
    resumed: previous.length,
    path: opts.out,
    dataFrame: () => toDataFrame(rows),
  };
}

/**
 * What {@link writeDifferentiationMaps} wrote.
 *
 * @example
 * ```ts
 * import { type WrittenMaps } from 'mriseq';
 * declare const w: WrittenMaps; // from writeDifferentiationMaps
 * console.log(Object.entries(w.files));
 * ```
 */
export interface WrittenMaps {
  /** Target sequence -> NIfTI path (a 4D target's map is a 4D series, one M_d per time point). */
  files: Record<string, string>;
  /** 4D target -> its map's mean over time, a 3D NIfTI (`md_<target>_mean.nii.gz`). */
  summaries?: Record<string, string>;
  /** Target sequence -> statistics per region of the label map (a 4D map's: of its mean over time). */
  regions?: Record<string, RegionStatistics[]>;
  /** 4D target -> statistics per region of each time point's map. */
  frames?: Record<string, RegionStatistics[][]>;
}

/**
 * Writes one subject's M_d maps as float32 NIfTI in the subject's space (the maps carry the
 * target's affine): `<dir>/<subject>/md_<target>.nii.gz` (4D for a 4D target such as DCE, one map
 * per time point, and its mean over time as `md_<target>_mean.nii.gz`), plus `md_regions.json`
 * with statistics per region when a label map is given (per time point too under `frames`).
 * Every file is written atomically.
 * @param dir - The output folder.
 * @param subject - The subject's id (its sub-folder).
 * @param maps - M_d per target (see {@link differentiationMaps}).
 * @param opts - `labels` (a label map for per-region statistics) and their `names`.
 * @returns The NIfTI path per target and, with labels, the statistics per region.
 * @throws {@link MriseqError} when a file cannot be written.
 * @example
 * ```ts
 * import { phantom, subtractionMap, writeDifferentiationMaps } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16] }).subject(0);
 * const written = await writeDifferentiationMaps('/tmp/mriseq-maps', s.id, { t1gd: subtractionMap(s.volumes.t1gd!, s.volumes.t1!) }, { labels: s.truth.lesion });
 * console.log(written.files.t1gd, written.regions?.t1gd?.length);
 * ```
 */
export async function writeDifferentiationMaps(
  dir: string,
  subject: string,
  maps: Readonly<Record<string, Volume>>,
  opts: { labels?: Volume; names?: Readonly<Record<number, string>> } = {},
): Promise<WrittenMaps> {
  const files = dict<string>();
  const summaries = dict<string>();
  const sub = join(dir, subject);
  mkdirSync(sub, { recursive: true });
  for (const [t, m] of Object.entries(maps)) {
    // the summary first: a resumed `mriseq maps` takes md_<target>.nii.gz as the sign of both
    if (frameCount(m) > 1) {
      summaries[t] = join(sub, `md_${t}_mean.nii.gz`);
      await writeNifti(summaries[t], summarizeMap(m), { datatype: 'float32' });
    }
    const path = join(sub, `md_${t}.nii.gz`);
    await writeNifti(path, m, { datatype: 'float32' });
    files[t] = path;
  }
  const four = Object.keys(summaries).length > 0;
  if (!opts.labels)
    return four ? { files: plain(files), summaries: plain(summaries) } : { files: plain(files) };
  const regions = dict<RegionStatistics[]>();
  const frames = dict<RegionStatistics[][]>();
  for (const [t, m] of Object.entries(maps)) {
    regions[t] = regionStatistics(summarizeMap(m).data, opts.labels.data, { names: opts.names });
    if (frameCount(m) > 1)
      frames[t] = Array.from({ length: frameCount(m) }, (_, k) =>
        regionStatistics(volumeFrame(m, k).data, opts.labels!.data, { names: opts.names }),
      );
  }
  writeFileAtomicSync(
    join(sub, 'md_regions.json'),
    JSON.stringify({ subject, regions, ...(four ? { frames } : {}) }, null, 1),
  );
  return four
    ? { files: plain(files), summaries: plain(summaries), regions: plain(regions), frames: plain(frames) }
    : { files: plain(files), regions: plain(regions) };
}
