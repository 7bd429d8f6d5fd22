/**
 * 4D sequences (a DCE series) as classifier channels, browser-safe: the 3D ResNet takes one 3D
 * volume per channel, so a series enters as one channel per time point, 'dce@0' ... 'dce@5'
 * (the breast study's MRI input: T1, T2, DWI and every DCE phase), and an M_d of a series the same
 * way ('md:dce@3' is time point 3 of M_d(DCE)). Wraps a DownstreamCohort; the downstream study
 * itself is unchanged.
 */
import { MriseqError } from '../errors/index.js';
import { volumeFrame, type Volume } from '../volume/index.js';
import type { DownstreamCohort, DownstreamSubject, MapProvider } from './downstream.js';

/**
 * Options of {@link seriesView}.
 *
 * @example
 * ```ts
 * import { normalizeForClassifier, type SeriesViewOptions } from 'mriseq';
 * const o: SeriesViewOptions = { sequences: ['t1', 't2', 'dwi', 'dce'], series: { dce: 6 }, normalize: normalizeForClassifier };
 * console.log(o.series);
 * ```
 */
export interface SeriesViewOptions {
  /** The sequences the study uses (others the subjects have are left out), series included. */
  sequences: readonly string[];
  /** Time points of each series among them, e.g. { dce: 6 } (a generator's config.timePoints). */
  series: Readonly<Record<string, number>>;
  /**
   * Normalise what the view loads: a series as a whole before it is split, so its time points
   * keep their relative intensities (the kinetics; normalising each phase alone rescales each to
   * its own 99th percentile). Then build the dataset with `normalize: (v) => v`. Default: none,
   * the view gives raw volumes and the dataset normalises each channel alone.
   */
  normalize?: (v: Volume) => Volume;
}

/**
 * The channel name of time point t of a series: 'dce@3'.
 * @param sequence - The series' sequence name.
 * @param t - The time point, 0-based.
 * @returns The channel name.
 * @example
 * ```ts
 * import { frameChannel } from 'mriseq';
 * console.log(frameChannel('dce', 3)); // 'dce@3'
 * ```
 */
export function frameChannel(sequence: string, t: number): string {
  return `${sequence}@${t}`;
}

/**
 * The channels of sequences in a series view: a series' time points, a 3D sequence itself.
 * @param sequences - The study's sequences.
 * @param series - Time points of each series among them, e.g. { dce: 6 }.
 * @returns The channel names, in the sequences' order.
 * @example
 * ```ts
 * import { seriesChannels } from 'mriseq';
 * console.log(seriesChannels(['t2', 'dce'], { dce: 3 })); // ['t2', 'dce@0', 'dce@1', 'dce@2']
 * ```
 */
export function seriesChannels(
  sequences: readonly string[],
  series: Readonly<Record<string, number>>,
): string[] {
  return sequences.flatMap((q) =>
    series[q] ? Array.from({ length: series[q] }, (_, t) => frameChannel(q, t)) : [q],
  );
}

function parseFrame(name: string): { sequence: string; t: number } | undefined {
  const m = /^(.+)@(\d+)$/.exec(name);
  return m ? { sequence: m[1], t: Number(m[2]) } : undefined;
}

// A view subject's plain counterpart (the study's sequences, series whole), for map providers
// that generate from every available sequence.
const plainOf = new WeakMap<DownstreamSubject, DownstreamSubject>();

/**
 * A view of a cohort for buildDownstreamDataset / compareWithMaps: each subject offers the study's
 * sequences, with every series split into its time points ('dce@0', ...). Loading 'dce@k' loads
 * the series and returns time point k as a 3D volume; a subject whose series has another length
 * is an error naming it.
 * @param cohort - The cohort (e.g. a {@link Cohort} with a DCE).
 * @param options - The study's sequences, the series' lengths and the normalisation.
 * @returns A cohort whose subjects offer {@link seriesChannels}' channels.
 * @throws {@link MriseqError} when a series is not among the sequences or its length is not a
 *   positive integer; on load, when a subject's series has another length.
 * @example
 * ```ts
 * import { Cohort, seriesView } from 'mriseq';
 * const view = seriesView(Cohort.fromPhantom({ subjects: 2, size: [32, 32, 16], dce: true }), { sequences: ['t2', 'dce'], series: { dce: 6 } });
 * const s = view.subject(view.ids[0]);
 * console.log(s.available, (await s.load('dce@2')).shape); // ['t2', 'dce@0', ..., 'dce@5'] [32, 32, 16]
 * ```
 */
export function seriesView(cohort: DownstreamCohort, options: SeriesViewOptions): DownstreamCohort {
  for (const [q, n] of Object.entries(options.series))
    if (!options.sequences.includes(q) || !Number.isInteger(n) || n < 1)
      throw new MriseqError(
        'a series must be one of the study sequences, with a positive number of time points',
        {
          field: `series.${q}`,
          found: String(n),
          expected: `a sequence of ${options.sequences.join(', ')} and an integer >= 1`,
          code: 'classify.series',
        },
      );
  const views = new Map<string, DownstreamSubject>();
  const view = (id: string): DownstreamSubject => {
    const cached = views.get(id);
    if (cached) return cached;
    const base = cohort.subject(id);
    const plainSeqs = base.available.filter((q) => options.sequences.includes(q));
    const norm = options.normalize ?? ((v: Volume) => v);
    const load = async (name: string): Promise<Volume> => {
      const f = parseFrame(name);
      if (f && options.series[f.sequence] && plainSeqs.includes(f.sequence)) {
        const v = norm(await base.load(f.sequence));
        const n = v.shape.length > 3 ? v.shape[3] : 1;
        if (n !== options.series[f.sequence])
          throw new MriseqError('the series has another number of time points than the study expects', {
            file: id,
            field: f.sequence,
            found: `${n} time points (${v.shape.join('x')})`,
            expected: String(options.series[f.sequence]),
            code: 'classify.series',
          });
        return volumeFrame(v, f.t);
      }
      if (!plainSeqs.includes(name))
        throw new MriseqError('this subject has no such channel in the study', {
          file: id,
          field: name,
          expected: seriesChannels(plainSeqs, options.series).join(', '),
          code: 'classify.series',
        });
      return norm(await base.load(name));
    };
    // raw volumes, as the map providers expect (they normalise what they load themselves)
    const plain: DownstreamSubject = {
      id,
      available: plainSeqs,
      labels: base.labels,
      load: (name) => base.load(name),
    };
    const s: DownstreamSubject = {
      id,
      available: seriesChannels(plainSeqs, options.series),
      labels: base.labels,
      load,
    };
    plainOf.set(s, plain);
    views.set(id, s);
    return s;
  };
  return { ids: cohort.ids, subject: view };
}

/**
 * A map provider for series-view subjects: a target 'dce@k' is time point k of the inner
 * provider's map of 'dce' (made once per subject and series: M_d(DCE) costs one generation of the
 * whole series per source); other targets pass through. The inner provider sees the subject's
 * study sequences with series whole (differentiationMapProvider generates from each of them).
 * @param inner - The provider of whole maps (e.g. {@link differentiationMapProvider}).
 * @returns A provider that answers 'dce@k' with time point k of the inner map of 'dce'.
 * @example
 * ```ts
 * import { Cohort, seriesMapProvider, seriesSubtractionMap, seriesView, type MapProvider } from 'mriseq';
 * const whole: MapProvider = async (subject) => seriesSubtractionMap(await subject.load('dce'));
 * const maps = seriesMapProvider(whole);
 * const view = seriesView(Cohort.fromPhantom({ subjects: 1, size: [32, 32, 16], dce: true }), { sequences: ['dce'], series: { dce: 6 } });
 * console.log((await maps(view.subject(view.ids[0]), 'dce@1')).shape);
 * ```
 */
export function seriesMapProvider(inner: MapProvider): MapProvider {
  let last: { key: string; map: Promise<Volume> } | undefined;
  return async (subject, target) => {
    const plain = plainOf.get(subject) ?? subject;
    const f = parseFrame(target);
    if (!f) return inner(plain, target);
    const key = `${subject.id}\u0000${f.sequence}`;
    if (last?.key !== key) last = { key, map: inner(plain, f.sequence) };
    return volumeFrame(await last.map, f.t);
  };
}
