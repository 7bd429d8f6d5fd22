/**
 * Cohort: the subjects of a study, their sequences (loaded lazily, through a memory-bounded LRU
 * cache), labels, splits and metadata. Browser-safe; reading manifests from disk and the danfojs
 * view are installed by ./node.ts (imported by the Node entry point).
 */
import { assertSameGrid, countNonFinite, roleShapeProblem, type Volume } from '../volume/index.js';
import { MriseqError } from '../errors/index.js';
import {
  Phantom,
  phantom as makePhantom,
  type PhantomOptions,
  type PhantomSubject,
  type PhantomTruth,
} from '../phantom/index.js';
import { ByteLruCache } from './cache.js';
import { stratifiedSplit, type SplitFractions } from './split.js';
import type { Manifest, ManifestValue, Split } from './manifest.js';
import { dict, hasOwnKey, own, plain } from '../keys/index.js';

/**
 * Where volumes come from: files named by a manifest, or the phantom in memory.
 * Implement it to give a {@link Cohort} volumes from elsewhere (a database, a web service).
 *
 * @example
 * ```ts
 * import { Cohort, createVolume, type VolumeSource } from 'mriseq';
 * const source: VolumeSource = {
 *   description: 'zeros',
 *   load: async () => createVolume(new Float32Array(16 * 16 * 8), [16, 16, 8]),
 * };
 * const cohort = Cohort.fromManifestObject(
 *   { mriseqManifest: 1, sequences: ['t1', 't2'], subjects: [{ id: 'a', sequences: { t1: 'x', t2: 'y' } }] },
 *   source,
 * );
 * console.log((await cohort.load('a', 't1')).shape);
 * ```
 */
export interface VolumeSource {
  /** A sequence ('t1', ...) or, with kind 'mask', a label map ('seg', 'unique_t1gd', ...). */
  load(subjectId: string, key: string, kind: 'sequence' | 'mask'): Promise<Volume>;
  /** The phantom's full truth, when the source is the phantom. */
  truth?(subjectId: string): Promise<PhantomTruth>;
  /**
   * A cheap identity of a volume's data without reading it (a file's path, size and time; the
   * phantom's recipe): equal stamps mean the same data, so a resumed run need not reload finished
   * subjects to check them. Optional.
   */
  stamp?(subjectId: string, key: string, kind: 'sequence' | 'mask'): Promise<string>;
  /** Where the data live, for display. */
  readonly description: string;
}

/**
 * What a cohort knows about a subject without loading anything.
 * @example
 * ```ts
 * import { Cohort, type SubjectEntry } from 'mriseq';
 * const cohort = Cohort.fromPhantom({ subjects: 4, missing: 0.3 });
 * const complete = cohort.filter((e: SubjectEntry) => e.missing.length === 0);
 * console.log(complete.ids);
 * ```
 */
export interface SubjectEntry {
  id: string;
  /** Sequences present, in the cohort's canonical order. */
  available: string[];
  /** Sequences of the cohort this subject lacks. */
  missing: string[];
  /** Sequence -> path (files) or null; empty for in-memory sources. */
  paths: Record<string, string | null>;
  /** Label maps available: key -> path (files) or '' (in memory). */
  masks: Record<string, string>;
  labels: Record<string, ManifestValue>;
  split: Split | null;
  metadata: Record<string, ManifestValue>;
}

/**
 * Options of a {@link Cohort} (e.g. `Cohort.fromPhantom(source, options)`).
 *
 * @example
 * ```ts
 * import { Cohort, type CohortOptions } from 'mriseq';
 * const options: CohortOptions = { cacheBytes: 64 * 2 ** 20 };
 * Cohort.fromPhantom({ subjects: 2 }, options);
 * ```
 */
export interface CohortOptions {
  /** Byte budget of the volume cache (default 512 MiB). */
  cacheBytes?: number;
  /**
   * NaN or infinite voxels in a loaded volume: 'refuse' (default: an error naming the file,
   * subject and count) or 'zero' (set to 0; an explicit choice, for data known to mark
   * background with NaN).
   */
  nonFinite?: 'refuse' | 'zero';
}

/**
 * The part of danfojs' DataFrame we promise (danfojs itself is loaded lazily, in Node only).
 * `cohort.toDataFrame()` gives one: one row per subject (Node only).
 *
 * @example
 * ```ts
 * import { Cohort, type CohortDataFrame } from 'mriseq';
 * const df: CohortDataFrame = Cohort.fromPhantom({ subjects: 4 }).toDataFrame();
 * console.log(df.shape, df.columns);
 * console.log(df.toCSV().split('\n')[1]); // the first subject's row
 * ```
 */
export interface CohortDataFrame {
  readonly shape: number[];
  readonly columns: string[];
  head(rows?: number): CohortDataFrame;
  print(): void;
  toCSV(): string;
}

/**
 * What {@link Cohort} needs from outside the browser-safe core: reading a manifest file
 * (Cohort.fromManifest) and the danfojs table (cohort.toDataFrame). The Node entry point ('mriseq')
 * installs one that reads files with the NIfTI reader; the browser build has none (both calls
 * then throw 'cohort.node'), unless an application installs its own with
 * {@link setCohortNodeAdapter}.
 * @example
 * ```ts
 * import { Cohort, createVolume, parseManifestText, assertNoProblems, setCohortNodeAdapter, type CohortNodeAdapter } from 'mriseq/browser';
 * // manifests served from memory (a web app would fetch them), every volume a 16x16x8 block of zeros
 * const files: Record<string, string> = { 'study.csv': 'id,t1,t2\na,a/t1.nii,a/t2.nii\nb,b/t1.nii,\n' };
 * const adapter: CohortNodeAdapter = {
 *   async fromManifest(path, options) {
 *     const { manifest, problems } = parseManifestText(files[path] ?? '', options);
 *     assertNoProblems(problems, path);
 *     const source = { description: 'in memory', load: async () => createVolume(new Float32Array(16 * 16 * 8), [16, 16, 8]) };
 *     return Cohort.fromManifestObject(manifest, source, options);
 *   },
 *   toDataFrame() {
 *     throw new Error('no danfojs in this application');
 *   },
 * };
 * setCohortNodeAdapter(adapter);
 * const cohort = await Cohort.fromManifest('study.csv');
 * console.log(cohort.ids, cohort.sequences); // [ 'a', 'b' ] [ 't1', 't2' ]
 * ```
 */
export interface CohortNodeAdapter {
  fromManifest(path: string, options: FromManifestOptions): Promise<Cohort>;
  toDataFrame(cohort: Cohort): CohortDataFrame;
}

/**
 * Options of Cohort.fromManifest (Node): the {@link CohortOptions} (volume cache budget in bytes,
 * what to do with NaN voxels) and whether manifest paths may leave the manifest's folder.
 * @example
 * ```ts
 * import { Cohort, simulateToDisk } from 'mriseq';
 * import { type FromManifestOptions } from 'mriseq/browser';
 * const dir = '/tmp/mriseq-example-cohort'; // a new folder
 * await simulateToDisk({ out: dir, subjects: 2, size: [16, 16, 8] });
 * const options: FromManifestOptions = { cacheBytes: 64 * 2 ** 20, nonFinite: 'refuse', allowOutside: false };
 * const cohort = await Cohort.fromManifest(`${dir}/manifest.csv`, options);
 * console.log(cohort.ids); // [ 'sim-00000', 'sim-00001' ]
 * ```
 */
export interface FromManifestOptions extends CohortOptions {
  /** Allow paths outside the manifest's folder (after resolving symlinks); default false. */
  allowOutside?: boolean;
}

let nodeAdapter: CohortNodeAdapter | undefined;

/**
 * Installs the adapter behind Cohort.fromManifest and cohort.toDataFrame, replacing the one
 * installed before (one per process or page). Importing 'mriseq' (src/cohort/node.ts) installs
 * the file-reading one; call this only to give the browser build (or a test) its own.
 * @param a - The adapter (see {@link CohortNodeAdapter} for a complete example).
 * @example
 * ```ts
 * import { Cohort, MriseqError, setCohortNodeAdapter } from 'mriseq/browser';
 * try {
 *   await Cohort.fromManifest('study.csv'); // the browser build alone has no adapter
 * } catch (e) {
 *   if (e instanceof MriseqError) console.log(e.code); // cohort.node
 * }
 * setCohortNodeAdapter({
 *   fromManifest: async () => Cohort.fromPhantom({ subjects: 2 }),
 *   toDataFrame: () => {
 *     throw new Error('no danfojs here');
 *   },
 * });
 * console.log((await Cohort.fromManifest('study.csv')).size); // 2
 * ```
 */
export function setCohortNodeAdapter(a: CohortNodeAdapter): void {
  nodeAdapter = a;
}

function needNode(what: string): CohortNodeAdapter {
  if (!nodeAdapter)
    throw new MriseqError(`${what} needs Node`, {
      field: what,
      expected:
        "Node with the 'mriseq' entry point (or src/cohort/node.js) imported; the browser build works on in-memory cohorts",
      code: 'cohort.node',
    });
  return nodeAdapter;
}

const DEFAULT_CACHE_BYTES = 512 * 1024 * 1024;

/**
 * One subject: its entry plus lazy loaders (TorchIO's Subject, loading only when asked).
 * Get one with `cohort.subject(id)` or `cohort.subjects`.
 *
 * @example
 * ```ts
 * import { Cohort, type Subject } from 'mriseq';
 * const cohort = Cohort.fromPhantom({ subjects: 2, size: [32, 32, 16] });
 * const s: Subject = cohort.subjects[0]!;
 * console.log(s.id, s.available, s.labels, (await s.mask('seg')).shape);
 * ```
 */
export class Subject implements SubjectEntry {
  readonly id: string;
  readonly available: string[];
  readonly missing: string[];
  readonly paths: Record<string, string | null>;
  readonly masks: Record<string, string>;
  readonly labels: Record<string, ManifestValue>;
  readonly split: Split | null;
  readonly metadata: Record<string, ManifestValue>;

  constructor(
    entry: SubjectEntry,
    private readonly cohort: Cohort,
  ) {
    this.id = entry.id;
    this.available = entry.available;
    this.missing = entry.missing;
    this.paths = entry.paths;
    this.masks = entry.masks;
    this.labels = entry.labels;
    this.split = entry.split;
    this.metadata = entry.metadata;
  }

  /** One sequence (raw intensities, through the cohort's cache). */
  load(sequence: string): Promise<Volume> {
    return this.cohort.load(this.id, sequence);
  }

  /** Every available sequence, keyed by sequence. */
  async loadAll(): Promise<Record<string, Volume>> {
    const out = dict<Volume>();
    for (const s of this.available) out[s] = await this.load(s);
    // sequences trained or measured together must be registered onto one grid
    assertSameGrid(this.id, Object.entries(out), (q) => this.cohort.fileOf(this.id, q));
    return plain(out);
  }

  /** A label map or truth mask ('seg', 'tissue', 'unique_t1gd', ...). */
  mask(key: string): Promise<Volume> {
    return this.cohort.loadMask(this.id, key);
  }

  /** The phantom's full ground truth (phantom cohorts only). */
  truth(): Promise<PhantomTruth> {
    return this.cohort.truth(this.id);
  }
}

/**
 * A set of subjects with their sequences, label maps and labels, from a manifest (files) or the
 * phantom (in memory). Volumes load lazily through a bounded byte cache; `filter`, `withSequences`
 * and `split` give sub-cohorts that share it.
 *
 * @example
 * ```ts
 * import { Cohort } from 'mriseq';
 * const cohort = Cohort.fromPhantom({ subjects: 6, size: [32, 32, 16] });
 * const { train, test } = cohort.split({ fractions: { train: 0.5, val: 0, test: 0.5 }, seed: 1 });
 * const t1 = await cohort.subject(cohort.ids[0]!).load('t1');
 * console.log(cohort.sequences, train.size, test.size, t1.shape);
 * ```
 */
export class Cohort {
  /** Sequence keys in canonical order; a sequence's position is its index for the generator. */
  readonly sequences: readonly string[];
  /** Label column names. */
  readonly labelNames: readonly string[];
  readonly source: VolumeSource;
  private readonly entries: readonly SubjectEntry[];
  private readonly byId: Map<string, SubjectEntry>;
  private readonly cache: ByteLruCache<Volume>;
  private readonly nonFinite: 'refuse' | 'zero';

  constructor(
    entries: readonly SubjectEntry[],
    source: VolumeSource,
    info: { sequences: readonly string[]; labels?: readonly string[] },
    cacheOrOptions: ByteLruCache<Volume> | (CohortOptions & { cache?: ByteLruCache<Volume> }) = {},
  ) {
    this.entries = entries;
    this.source = source;
    this.sequences = [...info.sequences];
    this.labelNames = [...(info.labels ?? [])];
    this.byId = new Map(entries.map((e) => [e.id, e]));
    const o: CohortOptions & { cache?: ByteLruCache<Volume> } =
      cacheOrOptions instanceof ByteLruCache ? { cache: cacheOrOptions } : cacheOrOptions;
    this.cache =
      o.cache ?? new ByteLruCache<Volume>(o.cacheBytes ?? DEFAULT_CACHE_BYTES, (v) => v.data.byteLength);
    this.nonFinite = o.nonFinite ?? 'refuse';
  }

  /** `await Cohort.fromManifest('brats.csv')` (Node). */
  static fromManifest(path: string, options: FromManifestOptions = {}): Promise<Cohort> {
    return needNode('Cohort.fromManifest').fromManifest(path, options);
  }

  /** The simulated cohort in memory: a Phantom, or the options to make one. */
  static fromPhantom(source: Phantom | PhantomOptions = {}, options: CohortOptions = {}): Cohort {
    const ph = source instanceof Phantom ? source : makePhantom(source);
    const all = ph.sequences;
    const masks = phantomMaskKeys(ph);
    const entries: SubjectEntry[] = [];
    for (let i = 0; i < ph.size; i++) {
      const info = ph.info(i);
      const { lesionGroup, lesionType, highEnhancement, enhancingFraction, kinetics, washout } = info.labels;
      entries.push({
        id: info.id,
        available: info.sequences,
        missing: info.missing,
        paths: {},
        masks: Object.fromEntries(masks.map((k) => [k, ''])),
        // the DCE's kinetics are a label only where a DCE series shows them
        labels: {
          lesionGroup,
          lesionType,
          highEnhancement,
          ...(ph.options.dce ? { kinetics, washout } : {}),
        },
        split: null,
        metadata: { index: i, enhancingFraction, kinetics },
      });
    }
    return new Cohort(
      entries,
      new PhantomSource(ph),
      { sequences: all, labels: phantomLabelNames(ph) },
      options,
    );
  }

  /** From a parsed manifest and a source that reads its paths. */
  static fromManifestObject(m: Manifest, source: VolumeSource, options: CohortOptions = {}): Cohort {
    const entries = m.subjects.map((s): SubjectEntry => {
      const available = m.sequences.filter((q) => own(s.sequences, q));
      return {
        id: s.id,
        available,
        missing: m.sequences.filter((q) => !own(s.sequences, q)),
        paths: Object.fromEntries(m.sequences.map((q) => [q, own(s.sequences, q) ?? null])),
        masks: Object.fromEntries(Object.entries(s.masks ?? {}).filter((e): e is [string, string] => !!e[1])),
        labels: plain(s.labels ?? {}),
        split: s.split ?? null,
        metadata: plain(s.metadata ?? {}),
      };
    });
    return new Cohort(entries, source, { sequences: m.sequences, labels: m.labels ?? [] }, options);
  }

  get size(): number {
    return this.entries.length;
  }

  get ids(): string[] {
    return this.entries.map((e) => e.id);
  }

  /** Every subject's entry (labels, availability, paths), nothing loaded. */
  get subjects(): Subject[] {
    return this.entries.map((e) => new Subject(e, this));
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  subject(id: string): Subject {
    return new Subject(this.entry(id), this);
  }

  /** Subjects for which the predicate holds; shares the source and the cache. */
  filter(predicate: (s: SubjectEntry) => boolean): Cohort {
    return new Cohort(
      this.entries.filter((e) => predicate(e)),
      this.source,
      { sequences: this.sequences, labels: this.labelNames },
      { cache: this.cache, nonFinite: this.nonFinite },
    );
  }

  /** Subjects having every one of these sequences. */
  withSequences(...sequences: string[]): Cohort {
    return this.filter((e) => sequences.every((s) => e.available.includes(s)));
  }

  /**
   * Seeded train/validation/test split, stratified by a label (so each part keeps its mix).
   * `cohort.split({ stratify: 'lesionType', seed: 1 })` -> { train, val, test }.
   */
  split(options: { fractions?: Partial<SplitFractions>; stratify?: string; seed?: number } = {}): {
    train: Cohort;
    val: Cohort;
    test: Cohort;
  } {
    const fractions: SplitFractions = { train: 0.7, val: 0.15, test: 0.15, ...options.fractions };
    const key = options.stratify;
    if (key !== undefined && !this.labelNames.includes(key))
      throw new MriseqError('cannot stratify by an unknown label', {
        field: 'stratify',
        found: key,
        expected: this.labelNames.join(', ') || 'a label column',
        code: 'split.label',
      });
    const a = stratifiedSplit(
      this.entries.map((e) => ({
        id: e.id,
        stratum: key === undefined ? '' : String(own(e.labels, key) ?? ''),
      })),
      fractions,
      options.seed ?? 0,
    );
    const part = (ids: string[]): Cohort => {
      const set = new Set(ids);
      return this.filter((e) => set.has(e.id));
    };
    return { train: part(a.train), val: part(a.val), test: part(a.test) };
  }

  /**
   * The same cohort with a seeded stratified split recorded on every subject (what a manifest's
   * split column holds), so `recordedSplit('test')` and tools reading the split column work.
   */
  withSplit(options: { fractions?: Partial<SplitFractions>; stratify?: string; seed?: number } = {}): Cohort {
    const parts = this.split(options);
    const of = new Map<string, Split>();
    for (const name of ['train', 'val', 'test'] as const) for (const id of parts[name].ids) of.set(id, name);
    return new Cohort(
      this.entries.map((e) => ({ ...e, split: of.get(e.id) ?? null })),
      this.source,
      { sequences: this.sequences, labels: this.labelNames },
      { cache: this.cache, nonFinite: this.nonFinite },
    );
  }

  /** The split recorded in the manifest's split column. */
  recordedSplit(name: Split): Cohort {
    return this.filter((e) => e.split === name);
  }

  /** One sequence of one subject, raw intensities, cached. */
  load(id: string, sequence: string): Promise<Volume> {
    const e = this.entry(id);
    if (!e.available.includes(sequence))
      return Promise.reject(
        new MriseqError('sequence not available for this subject', {
          field: `${id}.${sequence}`,
          found: e.missing.includes(sequence) ? 'missing' : 'unknown sequence',
          expected: e.available.join(', '),
          code: 'cohort.missing',
        }),
      );
    return this.cache.getOrLoad(`${id}\u0000s\u0000${sequence}`, async () =>
      this.checked(id, sequence, 'sequence', await this.source.load(id, sequence, 'sequence')),
    );
  }

  loadMask(id: string, key: string): Promise<Volume> {
    const e = this.entry(id);
    if (!hasOwnKey(e.masks, key))
      return Promise.reject(
        new MriseqError('label map not available for this subject', {
          field: `${id}.${key}`,
          expected: Object.keys(e.masks).join(', ') || 'a mask column',
          code: 'cohort.mask',
        }),
      );
    return this.cache.getOrLoad(`${id}\u0000m\u0000${key}`, async () =>
      this.checked(id, key, 'mask', await this.source.load(id, key, 'mask')),
    );
  }

  /** Where a volume of a subject lives (its path for manifest cohorts), for error messages. */
  fileOf(id: string, key: string, kind: 'sequence' | 'mask' = 'sequence'): string | undefined {
    const e = this.byId.get(id);
    return (kind === 'sequence' ? own(e?.paths, key) : own(e?.masks, key)) || undefined;
  }

  /**
   * The checks every loaded volume passes (./geometry.ts): its role's dimensionality, and finite
   * voxels (refused with file, subject and count, or set to 0 with { nonFinite: 'zero' }).
   */
  private checked(id: string, key: string, kind: 'sequence' | 'mask', v: Volume): Volume {
    const file = this.fileOf(id, key, kind);
    const shape = roleShapeProblem(key, kind, v.shape);
    if (shape)
      throw new MriseqError(`${id}: ${shape.problem}`, {
        file,
        field: `${id}.${key}`,
        found: shape.found,
        expected: shape.expected,
        code: 'cohort.dims',
      });
    const bad = countNonFinite(v.data);
    if (bad === 0) return v;
    if (this.nonFinite === 'zero') {
      const data = Float32Array.from(v.data, (x) => (Number.isFinite(x) ? x : 0));
      return { ...v, data };
    }
    throw new MriseqError(
      `${id}: ${kind === 'mask' ? 'label map' : 'sequence'} ${key} has ${bad} non-finite voxel${bad > 1 ? 's' : ''} (NaN or Inf)`,
      {
        file,
        field: `${id}.${key}`,
        found: `${bad} of ${v.data.length} voxels NaN or infinite`,
        expected:
          "finite voxels (fix the file, or load the cohort with { nonFinite: 'zero' } to set them to 0)",
        code: 'cohort.nonfinite',
      },
    );
  }

  truth(id: string): Promise<PhantomTruth> {
    this.entry(id);
    if (!this.source.truth)
      return Promise.reject(
        new MriseqError('ground truth exists only for the simulated cohort', {
          field: id,
          code: 'cohort.truth',
        }),
      );
    return this.source.truth(id);
  }

  /**
   * The stamps (VolumeSource.stamp) of a subject's sequences (and masks), joined; undefined when
   * the source has none.
   */
  async stamp(
    id: string,
    sequences: readonly string[],
    masks: readonly string[] = [],
  ): Promise<string | undefined> {
    const stamp = this.source.stamp?.bind(this.source);
    if (!stamp) return undefined;
    this.entry(id);
    const parts: string[] = [];
    for (const s of sequences) parts.push(`s:${s}:${await stamp(id, s, 'sequence')}`);
    for (const m of masks) parts.push(`m:${m}:${await stamp(id, m, 'mask')}`);
    return parts.join('\n');
  }

  /** Bytes currently held by the volume cache. */
  get cachedBytes(): number {
    return this.cache.bytes;
  }

  /** Plain rows (one per subject) for tables and the danfojs view. */
  toRecords(): Record<string, ManifestValue>[] {
    return this.entries.map((e) => {
      // a Map, then an ordinary object of own keys (danfojs calls Object.prototype methods on rows)
      const row = new Map<string, ManifestValue>([['id', e.id]]);
      for (const s of this.sequences)
        row.set(s, e.available.includes(s) ? (own(e.paths, s) ?? 'memory') : null);
      for (const l of this.labelNames) row.set(l, own(e.labels, l) ?? null);
      row.set('split', e.split);
      for (const [k, v] of Object.entries(e.metadata)) if (!row.has(k)) row.set(k, v);
      return Object.fromEntries(row);
    });
  }

  /** A danfojs DataFrame of toRecords() (Node). */
  toDataFrame(): CohortDataFrame {
    return needNode('toDataFrame').toDataFrame(this);
  }

  toString(): string {
    const missing = this.entries.reduce((a, e) => a + e.missing.length, 0);
    return `Cohort(${this.size} subjects, sequences ${this.sequences.join(', ')}, ${missing} missing, from ${this.source.description})`;
  }

  private entry(id: string): SubjectEntry {
    const e = this.byId.get(id);
    if (!e)
      throw new MriseqError('no such subject in the cohort', {
        field: 'id',
        found: id,
        expected: this.entries.length
          ? `one of ${this.entries.length} ids, e.g. ${this.entries[0]!.id}`
          : 'a non-empty cohort',
        code: 'cohort.id',
      });
    return e;
  }
}

/** The label columns of a phantom cohort: the DCE's kinetics join them when the phantom has a DCE series. */
export function phantomLabelNames(ph: Phantom): string[] {
  return ['lesionGroup', 'lesionType', 'highEnhancement', ...(ph.options.dce ? ['kinetics', 'washout'] : [])];
}

function phantomMaskKeys(ph: Phantom): string[] {
  return ['seg', 'tissue', 'lesion', ...designedUnique(ph).map((s) => `unique_${s}`)];
}

function designedUnique(ph: Phantom): string[] {
  return ph.sequences;
}

/**
 * The phantom as a {@link VolumeSource}: what Cohort.fromPhantom reads its volumes from. A subject
 * is simulated when first asked for; the last 4 are kept, so loading all of a subject's sequences
 * and label maps simulates it once. Sequence keys as the phantom's (t1, t1gd, t2, flair, ...);
 * mask keys 'seg', 'tissue', 'lesion' and 'unique_<sequence>'. Its stamp is the phantom's options
 * and the id (the phantom is a function of them).
 * @example
 * ```ts
 * import { phantom, PhantomSource } from 'mriseq/browser';
 * const source = new PhantomSource(phantom({ subjects: 2, size: [16, 16, 8] }));
 * console.log(source.description); // phantom(seed 0, 2 subjects, 16x16x8)
 * const t1 = await source.load('sim-00000', 't1', 'sequence');
 * const seg = await source.load('sim-00000', 'seg', 'mask');
 * console.log(t1.shape, seg.shape); // [ 16, 16, 8 ] [ 16, 16, 8 ]
 * await source.load('sim-00000', 'pet', 'sequence').catch((e: Error) => console.log(e.message));
 * // sim-00000.pet: the phantom has no such volume
 * ```
 */
export class PhantomSource implements VolumeSource {
  readonly description: string;
  private readonly recent = new Map<string, PhantomSubject>();

  constructor(readonly phantom: Phantom) {
    const o = phantom.options;
    this.description = `phantom(seed ${o.seed}, ${o.subjects} subjects, ${o.size.join('x')})`;
  }

  subject(id: string): PhantomSubject {
    let s = this.recent.get(id);
    if (s) {
      this.recent.delete(id);
      this.recent.set(id, s);
      return s;
    }
    s = this.phantom.subject(id);
    this.recent.set(id, s);
    while (this.recent.size > 4) this.recent.delete(this.recent.keys().next().value as string);
    return s;
  }

  async load(id: string, key: string, kind: 'sequence' | 'mask'): Promise<Volume> {
    const s = this.subject(id);
    const v =
      kind === 'sequence'
        ? own<Volume>(s.volumes, key)
        : key === 'seg' || key === 'tissue' || key === 'lesion'
          ? s.truth[key]
          : key.startsWith('unique_')
            ? s.truth.unique[key.slice(7) as 't1']
            : undefined;
    if (!v)
      throw new MriseqError('the phantom has no such volume', {
        field: `${id}.${key}`,
        code: 'cohort.phantom',
      });
    return v;
  }

  async truth(id: string): Promise<PhantomTruth> {
    return this.subject(id).truth;
  }

  /** The phantom is a function of its options: they and the id stamp every volume. */
  async stamp(id: string, key: string, kind: 'sequence' | 'mask'): Promise<string> {
    return `phantom ${JSON.stringify(this.phantom.options)} ${id} ${kind} ${key}`;
  }
}
