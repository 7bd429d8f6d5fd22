/**
 * Imaging-differentiation maps (science spec): for target t of a subject with N available
 * sequences, M_d(t) = (1/N) sum over sources s (s includes t) of |G(x_s, code_t) - x_t|,
 * voxel-wise. The generator enters as a function, so this module does not depend on the model's
 * internals. Volumes are compared in the normalised [-1, 1] space the generator works in: a raw
 * scan (values outside [-1, 1]) is normalised as the spec says first, as evaluate() does, so raw
 * and normalised inputs give the same map. Browser-safe.
 */
import { MriseqError } from '../errors/index.js';
import { signalOrInterrupt, yieldToHost } from '../interrupt/index.js';
import { frameCount, reduceFrames, volumeFrame, type Volume } from '../volume/index.js';
import { voxelAuc } from './auc.js';
import { prepareVolume } from './evaluate.js';
import type { SeriesFrames } from './contribution.js';
import { dict, own, plain } from '../keys/index.js';

/**
 * Generates `target` from the given source volumes (here always one source at a time, as the
 * spec's sum runs over single sources). Returns a volume (or its data) on the sources' grid.
 * `like` is the target's real volume when known: only its grid and time points may be used (a
 * 4D target such as DCE is generated as a series of the same length), never its values.
 * @example
 * ```ts
 * import { differentiationMap, normalizeIntensity, phantom, type GenerateFn, initEngine } from 'mriseq';
 * await initEngine();
 * // A stand-in generator that predicts the target as the mean of the sources (no model).
 * const meanOfSources: GenerateFn = async (sources) => {
 *   const vols = Object.values(sources);
 *   const out = new Float32Array(vols[0]!.data.length);
 *   for (const v of vols) v.data.forEach((x, i) => (out[i] += x / vols.length));
 *   return out;
 * };
 * const s = phantom({ size: [32, 32, 16] }).subject(0);
 * const sequences = Object.fromEntries(Object.entries(s.volumes).map(([k, v]) => [k, normalizeIntensity(v!)]));
 * console.log((await differentiationMap(sequences, 't1gd', meanOfSources)).shape);
 * ```
 */
export type GenerateFn = (
  sources: Readonly<Record<string, Volume>>,
  target: string,
  like?: Volume,
) => Promise<Volume | Float32Array>;

/**
 * Options of {@link differentiationMap}.
 *
 * @example
 * ```ts
 * import { type DifferentiationMapOptions } from 'mriseq/browser';
 * const o: DifferentiationMapOptions = { sources: ['t1', 't2', 'flair'], onProgress: (e) => console.log(`${e.target} ${e.done}/${e.total}`) };
 * console.log(o.sources);
 * ```
 */
export interface DifferentiationMapOptions {
  /** Sources to sum over; default every available sequence (the target included). */
  sources?: readonly string[];
  /** Called after each source is done (for progress bars). */
  onProgress?: (e: { target: string; source: string; done: number; total: number }) => void;
  /** Abort between sources. */
  signal?: AbortSignal;
}

function dataOf(v: Volume | Float32Array): Float32Array {
  return v instanceof Float32Array ? v : v.data;
}

/**
 * M_d of one target for one subject: a Volume on the target's grid (same affine).
 * The paper's imaging-differentiation map M_d(t) = (1/N) Σ_s |G(x_s, code_t) − x_t| over the N
 * available sources s (the target included): high where no other sequence can predict the target,
 * i.e. where t carries unique information.
 *
 * @param raw - The subject's available sequences by key, on one grid, normalised to [-1, 1]; a
 *   volume with a value outside [-1, 1] is normalised here ({@link prepareVolume} 'auto'), one
 *   inside it is taken as already normalised.
 * @param target - The sequence to map.
 * @param generate - The generator as a function (see {@link generatorFunction}).
 * @param opts - `sources` to sum over (default all), `onProgress`, `signal`.
 * @returns M_d(target) as a float32 Volume on the target's grid (normalised intensity units).
 * @throws {@link MriseqError} 'maps.*' when the target or a source is not available, there is no
 *   source, a generated image does not match the target's grid, or `signal` aborts.
 * @example
 * ```ts
 * import { differentiationMap, generatorFunction, loadPretrained, normalizeIntensity, phantom, initEngine } from 'mriseq';
 * await initEngine();
 * const s = phantom({ subjects: 300, size: [64, 64, 32] }).subject(250);
 * const sequences = Object.fromEntries(Object.entries(s.volumes).map(([k, v]) => [k, normalizeIntensity(v!)]));
 * const g = loadPretrained('phantom-lite');
 * const md = await differentiationMap(sequences, 't1gd', generatorFunction(g));
 * console.log(md.shape);
 * g.dispose();
 * ```
 */
export async function differentiationMap(
  raw: Readonly<Record<string, Volume>>,
  target: string,
  generate: GenerateFn,
  opts: DifferentiationMapOptions = {},
): Promise<Volume> {
  const signal = signalOrInterrupt(opts.signal);
  const sequences = dict<Volume>();
  for (const [k, v] of Object.entries(raw)) if (v) sequences[k] = prepareVolume(v, 'auto');
  const x = own(sequences, target);
  if (!x)
    throw new MriseqError('target sequence not available for this subject', {
      field: 'target',
      found: target,
      expected: Object.keys(sequences).join(', '),
      code: 'maps.target',
    });
  const sources = opts.sources ?? Object.keys(sequences);
  if (sources.length === 0)
    throw new MriseqError('no source sequence', { field: 'sources', code: 'maps.sources' });
  const acc = mapAccumulator(x, target);
  let done = 0;
  for (const s of sources) {
    await yieldToHost(); // lets a kernel's interrupt in between generations
    if (signal?.aborted) throw new MriseqError('differentiation map interrupted', { code: 'maps.aborted' });
    const src = own(sequences, s);
    if (!src)
      throw new MriseqError('source sequence not available for this subject', {
        field: 'sources',
        found: s,
        code: 'maps.sources',
      });
    const y = await generate({ [s]: src }, target, x).catch((e: unknown) => {
      // a batched generation stopped between its batches (the host's interrupt)
      throw e instanceof MriseqError && e.code === 'generate.aborted'
        ? new MriseqError('differentiation map interrupted', { code: 'maps.aborted' })
        : e;
    });
    acc.add(s, dataOf(y));
    done++;
    opts.onProgress?.({ target, source: s, done, total: sources.length });
  }
  return acc.result();
}

/**
 * M_d(t) built one source at a time: add(s, G(x_s, t)) as each generation is made, result() the
 * mean of |G(x_s, t) - x_t| over the sources added (so a caller need not keep the generations).
 *
 * @param x - The real target x_t, normalised to [-1, 1].
 * @param target - The target's name (for errors).
 * @returns The accumulator: add(source, generated data), sources (how many added), result().
 * @throws {@link MriseqError} 'maps.size' when a generation's length differs from x_t's, and
 *   'maps.sources' from result() when nothing was added.
 * @example
 * ```ts
 * import { createVolume, mapAccumulator } from 'mriseq';
 * const x = createVolume(new Float32Array([0, 0.5, -1, 1]), [2, 2, 1]);
 * const acc = mapAccumulator(x, 't1gd');
 * acc.add('t1', new Float32Array([0, 0, 0, 0]));
 * acc.add('t2', new Float32Array([0, 0.5, -1, 0]));
 * console.log(Array.from(acc.result().data)); // [0, 0.25, 0.5, 1]
 * ```
 */
export function mapAccumulator(
  x: Volume,
  target: string,
): { add(source: string, y: Float32Array): void; readonly sources: number; result(): Volume } {
  const sum = new Float64Array(x.data.length);
  let n = 0;
  return {
    add(source, y) {
      if (y.length !== x.data.length)
        throw new MriseqError('generated image does not match the target grid', {
          field: `G(${source} -> ${target})`,
          found: `${y.length} voxels`,
          expected: `${x.data.length}`,
          code: 'maps.size',
        });
      for (let i = 0; i < sum.length; i++) sum[i] += Math.abs(y[i] - x.data[i]);
      n++;
    },
    get sources() {
      return n;
    },
    result() {
      if (n === 0) throw new MriseqError('no source sequence', { field: 'sources', code: 'maps.sources' });
      const data = new Float32Array(sum.length);
      for (let i = 0; i < sum.length; i++) data[i] = sum[i] / n;
      return {
        data,
        shape: [...x.shape],
        spacing: [...x.spacing],
        affine: x.affine.map((r) => [...r]),
        datatype: 'float32',
      };
    },
  };
}

/**
 * M_d of every available target of a subject.
 * @param sequences - The subject's available sequences, normalised [-1, 1], on one grid.
 * @param generate - The generator as a function.
 * @param opts - As {@link differentiationMap}, plus `targets` (default every available sequence).
 * @returns M_d per target.
 * @throws {@link MriseqError} as {@link differentiationMap}.
 * @example
 * ```ts
 * import { differentiationMaps, generatorFunction, loadPretrained, normalizeIntensity, phantom, initEngine } from 'mriseq';
 * await initEngine();
 * const s = phantom({ subjects: 300, size: [64, 64, 32] }).subject(250);
 * const sequences = Object.fromEntries(Object.entries(s.volumes).map(([k, v]) => [k, normalizeIntensity(v!)]));
 * const g = loadPretrained();
 * const maps = await differentiationMaps(sequences, generatorFunction(g), { targets: ['t1gd', 't1'] });
 * console.log(Object.keys(maps));
 * g.dispose();
 * ```
 */
export async function differentiationMaps(
  sequences: Readonly<Record<string, Volume>>,
  generate: GenerateFn,
  opts: DifferentiationMapOptions & { targets?: readonly string[] } = {},
): Promise<Record<string, Volume>> {
  const out = dict<Volume>();
  for (const t of opts.targets ?? Object.keys(sequences))
    out[t] = await differentiationMap(sequences, t, generate, opts);
  return plain(out);
}

/**
 * M_d of a 4D target (DCE) summarised over time, voxel by voxel: the mean over its frames (the
 * summary that the acceptance scores), or the max; a 3D map is returned as it is.
 * @param map - A map, 3D or 4D ([nx, ny, nz, nt]).
 * @param how - 'mean' (default) or 'max' over time.
 * @param frames - Which frames: 'all' (default) or 'after-first' (a DCE's post-contrast phases,
 *   as `rankSequences(rows, { frames })` scores a series).
 * @returns A 3D map.
 * @example
 * ```ts
 * import { phantom, seriesSubtractionMap, summarizeMap } from 'mriseq';
 * const dce = phantom({ size: [32, 32, 16], dce: true }).subject(0).volumes.dce!;
 * console.log(summarizeMap(dce).shape, summarizeMap(dce, 'max').shape); // [32, 32, 16] twice
 * ```
 */
export function summarizeMap(
  map: Volume,
  how: 'mean' | 'max' = 'mean',
  frames: SeriesFrames = 'all',
): Volume {
  return reduceFrames(map, how, frames === 'after-first' && frameCount(map) > 1 ? 1 : 0);
}

/**
 * Voxel-wise AUC of each frame of a (4D) map against a 3D truth mask, optionally within a region:
 * where along the series a target's unique signal is (a DCE's pre-contrast phase has none).
 * @param map - A map, 3D or 4D.
 * @param truth - A 3D truth mask (non-zero = positive), e.g. truth.unique.dce's data.
 * @param opts - `region`: restrict to voxels where it is non-zero (e.g. the lesion).
 * @returns One AUC per frame.
 * @throws {@link MriseqError} as {@link voxelAuc}.
 * @example
 * ```ts
 * import { frameAucs, phantom } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16], dce: true }).subject(0);
 * console.log(frameAucs(s.volumes.dce!, s.truth.unique.dce!.data, { region: s.truth.lesion.data }));
 * ```
 */
export function frameAucs(
  map: Volume,
  truth: ArrayLike<number>,
  opts: { region?: ArrayLike<number> } = {},
): number[] {
  return Array.from({ length: frameCount(map) }, (_, t) => voxelAuc(volumeFrame(map, t).data, truth, opts));
}

/**
 * The DCE's own baseline for its contrast signal, as radiologists read a series: the subtraction
 * of the pre-contrast phase, max over the post-contrast phases of |x_k - x_0| voxel-wise (x in
 * the normalised space). No generator is involved.
 * @param series - A 4D series ([nx, ny, nz, nt], nt >= 2).
 * @param pre - The pre-contrast time point (default 0).
 * @returns A 3D float32 map with the series' geometry.
 * @throws {@link MriseqError} when the series has fewer than two time points.
 * @example
 * ```ts
 * import { normalizeIntensity, phantom, seriesSubtractionMap } from 'mriseq';
 * const dce = phantom({ size: [32, 32, 16], dce: true }).subject(0).volumes.dce!;
 * console.log(seriesSubtractionMap(normalizeIntensity(dce)).shape); // [32, 32, 16]
 * ```
 */
export function seriesSubtractionMap(series: Volume, pre = 0): Volume {
  const n = frameCount(series);
  if (n < 2)
    throw new MriseqError('a subtraction over time needs a series of at least two time points', {
      field: 'series',
      found: series.shape.join('x'),
      expected: '[nx, ny, nz, nt] with nt >= 2',
      code: 'maps.size',
    });
  const base = volumeFrame(series, pre).data;
  const f = base.length;
  const data = new Float32Array(f);
  for (let t = 0; t < n; t++) {
    if (t === pre) continue;
    for (let i = 0; i < f; i++) {
      const d = Math.abs(series.data[t * f + i] - base[i]);
      if (d > data[i]) data[i] = d;
    }
  }
  return { ...volumeFrame(series, pre), data, datatype: 'float32' };
}

/**
 * The spec's baseline for T1Gd's unique signal: |a - b| voxel-wise (e.g. T1Gd - T1 subtraction).
 * @param a - A volume (e.g. normalised T1Gd).
 * @param b - A volume of the same size (e.g. normalised T1).
 * @returns |a − b| voxel-wise, a float32 volume with a's geometry.
 * @throws {@link MriseqError} when the volumes differ in size.
 * @example
 * ```ts
 * import { normalizeIntensity, phantom, subtractionMap } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16] }).subject(0);
 * const sub = subtractionMap(normalizeIntensity(s.volumes.t1gd!), normalizeIntensity(s.volumes.t1!));
 * console.log(sub.shape);
 * ```
 */
export function subtractionMap(a: Volume, b: Volume): Volume {
  if (a.data.length !== b.data.length)
    throw new MriseqError('subtraction: volumes differ in size', {
      found: `${b.data.length}`,
      expected: `${a.data.length}`,
      code: 'maps.size',
    });
  const data = new Float32Array(a.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.abs(a.data[i] - b.data[i]);
  return { ...a, data, datatype: 'float32' };
}

/**
 * One region's line of {@link regionStatistics}.
 *
 * @example
 * ```ts
 * import { regionStatistics, type RegionStatistics } from 'mriseq';
 * const r: RegionStatistics[] = regionStatistics([1, 2, 3, 4], [0, 1, 1, 2]);
 * console.log(r.map((x) => `${x.label}: n=${x.voxels} mean=${x.mean}`)); // 1: n=2 mean=2.5, 2: n=1 mean=4
 * ```
 */
export interface RegionStatistics {
  label: number;
  name?: string;
  voxels: number;
  mean: number;
  sd: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

/**
 * Summary statistics of a map per region of a label map (label 0 = background is skipped unless
 * asked for). `names` maps label values to names for display.
 * @param map - Values per voxel (e.g. an M_d map's data).
 * @param labels - A label map of the same size (e.g. truth.lesion).
 * @param opts - `names` of labels for display, `includeBackground` to keep label 0.
 * @returns Per label: voxel count, mean, sd, median, p95, min and max of the map.
 * @throws {@link MriseqError} when the sizes differ.
 * @example
 * ```ts
 * import { LESION, phantom, regionStatistics } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16] }).subject(0);
 * const stats = regionStatistics(s.volumes.t1gd!.data, s.truth.lesion.data, {
 *   names: { [LESION.necroticCore]: 'necrotic', [LESION.oedema]: 'oedema', [LESION.cellularCore]: 'core' },
 * });
 * console.log(stats.map((r) => `${r.name}: ${r.mean.toFixed(1)}`));
 * ```
 */
export function regionStatistics(
  map: ArrayLike<number>,
  labels: ArrayLike<number>,
  opts: { names?: Readonly<Record<number, string>>; includeBackground?: boolean } = {},
): RegionStatistics[] {
  if (map.length !== labels.length)
    throw new MriseqError('region statistics: map and label map differ in size', {
      field: 'labels',
      found: `${labels.length}`,
      expected: `${map.length}`,
      code: 'maps.size',
    });
  const groups = new Map<number, number[]>();
  for (let i = 0; i < map.length; i++) {
    const l = Math.round(labels[i]);
    if (l === 0 && !opts.includeBackground) continue;
    let g = groups.get(l);
    if (!g) groups.set(l, (g = []));
    g.push(map[i]);
  }
  const q = (v: number[], p: number): number => {
    const pos = (v.length - 1) * p;
    const lo = Math.floor(pos);
    return v[lo] + (v[Math.ceil(pos)] - v[lo]) * (pos - lo);
  };
  return [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([label, v]) => {
      v.sort((a, b) => a - b);
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
      return {
        label,
        ...(opts.names?.[label] !== undefined ? { name: opts.names[label] } : {}),
        voxels: v.length,
        mean,
        sd,
        median: q(v, 0.5),
        p95: q(v, 0.95),
        min: v[0],
        max: v[v.length - 1],
      };
    });
}

/**
 * Voxel-wise AUC of each target's M_d (a 4D one by its mean over time) against one truth mask
 * (e.g. T1Gd's unique mask), optionally
 * restricted to a region (e.g. the lesion): the map of the sequence that owns the mask should
 * score highest (sensitivity), the others clearly lower (specificity).
 * @param maps - M_d per target (e.g. from {@link differentiationMaps}).
 * @param truth - One truth mask (non-zero = positive), e.g. truth.unique.t1gd's data.
 * @param opts - `region`: restrict to voxels where it is non-zero (e.g. the lesion).
 * @returns The AUC of each target's map against the mask.
 * @throws {@link MriseqError} as {@link voxelAuc}.
 * @example
 * ```ts
 * import { mapAucs, phantom, subtractionMap } from 'mriseq';
 * const s = phantom({ size: [32, 32, 16] }).subject(0);
 * const maps = { t1gd: subtractionMap(s.volumes.t1gd!, s.volumes.t1!), t2: subtractionMap(s.volumes.t2!, s.volumes.t1!) };
 * console.log(mapAucs(maps, s.truth.unique.t1gd!.data, { region: s.truth.lesion.data }));
 * ```
 */
export function mapAucs(
  maps: Readonly<Record<string, Volume>>,
  truth: ArrayLike<number>,
  opts: { region?: ArrayLike<number> } = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  // a 4D target's map (DCE) is scored by its summary over time
  for (const [t, m] of Object.entries(maps)) out[t] = voxelAuc(summarizeMap(m).data, truth, opts);
  return out;
}
