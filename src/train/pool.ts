/**
 * The training subjects as the loop draws them, through a cache bounded in bytes: a subject is
 * loaded (from a stream: a cohort on disk) and normalised when first drawn, and dropped again
 * when the budget needs the room, so memory stays within the budget however many subjects the
 * split has (the whole split was held twice before: raw and normalised). The draws, and so the
 * training, are the same whatever the budget. Browser-safe.
 */
import { MriseqError } from '../errors/index.js';
import { ByteLruCache } from '../cohort/index.js';
import { own } from '../keys/index.js';
import { assertSubjectVolumes } from '../volume/index.js';
import { normalizeIntensity, timePoints, type SubjectVolumes } from '../model/data.js';
import type { Seq2Seq } from '../model/index.js';

/**
 * Bytes of normalised volumes a training run keeps at most (2^30 bytes, 1 GiB) unless told
 * otherwise: the default of TrainOptions.cacheBytes (the CLI's `--cache-mb`), for the training
 * and the validation subjects each. The draws, and so the training, do not depend on it; a smaller
 * budget only means more loading.
 * @example
 * ```ts
 * import { DEFAULT_TRAIN_CACHE_BYTES } from 'mriseq';
 * console.log(DEFAULT_TRAIN_CACHE_BYTES, DEFAULT_TRAIN_CACHE_BYTES / 2 ** 20); // 1073741824 1024
 * ```
 */
export const DEFAULT_TRAIN_CACHE_BYTES = 2 ** 30;

/**
 * Subjects loaded on demand (a cohort on disk): what train streams instead of holding them. `ids`
 * is the order training draws from; `available` must answer without loading (a subject with no
 * sequence the generator knows is skipped unloaded); `load` gives the subject's raw volumes (the
 * training normalises them unless TrainOptions.normalized) and may be called again for a
 * subject the cache dropped.
 * @example
 * ```ts
 * import { Cohort, trainDataFor, type SubjectStream } from 'mriseq';
 * const cohort = Cohort.fromPhantom({ subjects: 3, size: [16, 16, 8] });
 * const stream: SubjectStream = {
 *   ids: cohort.ids,
 *   available: (id) => cohort.subject(id).available,
 *   load: async (id) => ({ id, volumes: await cohort.subject(id).loadAll() }),
 * };
 * console.log(stream.available('sim-00000')); // [ 't1', 't1gd', 't2', 'flair' ]
 * console.log((await trainDataFor(stream)).subjects); // [ 'sim-00000', 'sim-00001', 'sim-00002' ]
 * ```
 */
export interface SubjectStream {
  readonly ids: readonly string[];
  /** The sequences a subject has, known without loading it. */
  available(id: string): readonly string[];
  load(id: string): Promise<SubjectVolumes>;
}

/**
 * Training or validation subjects: in memory (an array of {@link SubjectVolumes}), or a
 * {@link SubjectStream} that loads them when drawn. train, trainSteps, trainRun and
 * {@link trainDataFor} take either and give the same result for the same volumes.
 * @example
 * ```ts
 * import { phantom, trainDataFor, type TrainSubjects } from 'mriseq';
 * const p = phantom({ subjects: 3, size: [16, 16, 8] });
 * const inMemory: TrainSubjects = [p.subject(0), p.subject(1)];
 * const streamed: TrainSubjects = { ids: p.ids().slice(0, 2), available: (id) => p.info(id).sequences, load: async (id) => p.subject(id) };
 * const [a, b] = await Promise.all([trainDataFor(inMemory), trainDataFor(streamed)]);
 * console.log(a.subjects, a.fingerprint === b.fingerprint); // [ 'sim-00000', 'sim-00001' ] true
 * ```
 */
export type TrainSubjects = readonly SubjectVolumes[] | SubjectStream;

/**
 * Whether training subjects are a {@link SubjectStream} (anything but an array) rather than
 * subjects in memory.
 * @param s - Training or validation subjects.
 * @returns true for a stream (TypeScript narrows `s` to SubjectStream).
 * @example
 * ```ts
 * import { isSubjectStream, phantom } from 'mriseq/browser';
 * const p = phantom({ subjects: 2, size: [16, 16, 8] });
 * console.log(isSubjectStream([p.subject(0)])); // false
 * console.log(isSubjectStream({ ids: p.ids(), available: (id) => p.info(id).sequences, load: async (id) => p.subject(id) })); // true
 * ```
 */
export function isSubjectStream(s: TrainSubjects): s is SubjectStream {
  return !Array.isArray(s);
}

/**
 * How many subjects (in memory or streamed), without loading any.
 * @param s - Training or validation subjects, or undefined (none).
 * @returns The array's length or the stream's number of ids; 0 for undefined.
 * @example
 * ```ts
 * import { phantom, subjectCount } from 'mriseq/browser';
 * const p = phantom({ subjects: 3, size: [16, 16, 8] });
 * console.log(subjectCount([p.subject(0)]), subjectCount(undefined)); // 1 0
 * console.log(subjectCount({ ids: p.ids(), available: (id) => p.info(id).sequences, load: async (id) => p.subject(id) })); // 3
 * ```
 */
export function subjectCount(s: TrainSubjects | undefined): number {
  return s === undefined ? 0 : isSubjectStream(s) ? s.ids.length : s.length;
}

/** A subject ready to draw from: its known sequences, normalised. */
export interface Prepared {
  id: string;
  vols: Map<string, { data: Float32Array; shape: readonly number[]; nt: number }>;
}

function prepareSubject(s: SubjectVolumes, model: Seq2Seq, normalized: boolean, role: string): Prepared {
  // NaN voxels, a 4D file as a 3D sequence, misregistered sequences: refused, naming the subject
  assertSubjectVolumes(s, model.config.sequences);
  const vols = new Map<string, { data: Float32Array; shape: readonly number[]; nt: number }>();
  for (const name of model.config.sequences) {
    const v = own(s.volumes, name);
    if (!v) continue;
    const n = normalized ? v : normalizeIntensity(v);
    vols.set(name, { data: n.data, shape: n.shape, nt: timePoints(n) });
  }
  const shapes = new Set([...vols.values()].map((v) => v.shape.slice(0, 3).join('x')));
  if (shapes.size > 1) {
    throw new MriseqError('sequences of one subject must share the voxel grid', {
      field: `${role}.${s.id}`,
      found: [...shapes].join(' / '),
      code: 'train.grid',
    });
  }
  if (vols.size === 0)
    throw new MriseqError('subject has no sequence the generator knows', {
      field: `${role}.${s.id}`,
      expected: `volumes named ${model.config.sequences.join(', ')}`,
      code: 'train.empty',
    });
  return { id: s.id, vols };
}

/**
 * The subjects the training loop draws from, by index, through a {@link ByteLruCache} bounded in
 * bytes: a subject is loaded, checked ({@link assertSubjectVolumes} on the generator's sequences)
 * and normalised when first drawn, and dropped again when the budget needs the room (sizes: the
 * float32 bytes of its normalised volumes). `size`: the subjects with a sequence the generator
 * knows; `loads`: how many loads so far; `cachedBytes` never exceeds `budget`. Made with
 * `SubjectPool.open(subjects, model, normalized, role, budget)`: `role` names the subjects in
 * errors ('subjects', 'validation'); the budget defaults to {@link DEFAULT_TRAIN_CACHE_BYTES}.
 * open throws a {@link MriseqError} 'train.empty' when no subject has a sequence the generator
 * knows, 'train.cache' for a budget that is not a number >= 0; get rejects with the volume checks'
 * errors ('cohort.dims', 'cohort.nonfinite', 'cohort.geometry').
 * @example
 * ```ts
 * import { createGenerator, initEngine, phantom, SubjectPool } from 'mriseq/browser';
 * await initEngine();
 * const p = phantom({ subjects: 3, size: [16, 16, 8] });
 * const model = createGenerator('lite'); // sequences t1, t1gd, t2, flair
 * const stream = { ids: p.ids(), available: (id: string) => p.info(id).sequences, load: async (id: string) => p.subject(id) };
 * const perSubject = 4 * 16 * 16 * 8 * 4; // 4 sequences of 16x16x8 float32 voxels: 32768 bytes
 * const pool = SubjectPool.open(stream, model, false, 'subjects', 2 * perSubject);
 * for (const i of [0, 1, 0, 2, 0]) await pool.get(i); // loading 2 drops 1, the least recently used
 * console.log(pool.size, pool.loads, pool.cachedBytes, pool.budget); // 3 3 65536 65536
 * model.dispose();
 * ```
 */
export class SubjectPool {
  private readonly cache: ByteLruCache<Prepared>;
  /** How many subjects were loaded and prepared (more than size when the budget is small). */
  loads = 0;

  private constructor(
    private readonly load: (i: number) => Promise<SubjectVolumes>,
    private readonly keys: readonly number[],
    private readonly model: Seq2Seq,
    private readonly normalized: boolean,
    private readonly role: string,
    budget: number,
  ) {
    this.cache = new ByteLruCache<Prepared>(budget, (p) => {
      let n = 0;
      for (const v of p.vols.values()) n += v.data.byteLength;
      return n;
    });
  }

  /**
   * The subjects that have a sequence the generator knows (known without loading them), in their
   * order; none is an error.
   */
  static open(
    subjects: TrainSubjects,
    model: Seq2Seq,
    normalized: boolean,
    role: string,
    budget = DEFAULT_TRAIN_CACHE_BYTES,
  ): SubjectPool {
    const known = (names: readonly string[]) => names.some((q) => model.config.sequences.includes(q));
    let keys: number[];
    let load: (i: number) => Promise<SubjectVolumes>;
    if (isSubjectStream(subjects)) {
      const ids = subjects.ids;
      keys = ids.flatMap((id, i) => (known(subjects.available(id)) ? [i] : []));
      load = (i) => subjects.load(ids[i]!);
    } else {
      keys = subjects.flatMap((s, i) =>
        known(Object.keys(s.volumes).filter((q) => own(s.volumes, q))) ? [i] : [],
      );
      load = async (i) => subjects[i]!;
    }
    if (keys.length === 0)
      throw new MriseqError(`no ${role} subject has a sequence the generator knows`, {
        field: role,
        expected: `volumes named ${model.config.sequences.join(', ')}`,
        code: 'train.empty',
      });
    if (!(budget >= 0))
      throw new MriseqError('the training cache budget must be a number of bytes', {
        field: 'cacheBytes',
        found: String(budget),
        expected: 'a number >= 0',
        code: 'train.cache',
      });
    return new SubjectPool(load, keys, model, normalized, role, budget);
  }

  get size(): number {
    return this.keys.length;
  }

  /** Bytes the cache holds now (never more than its budget). */
  get cachedBytes(): number {
    return this.cache.bytes;
  }

  get budget(): number {
    return this.cache.maxBytes;
  }

  /** Subject i of the pool, prepared (from the cache, or loaded now). */
  get(i: number): Promise<Prepared> {
    const key = this.keys[i]!;
    return this.cache.getOrLoad(String(key), async () => {
      this.loads++;
      return prepareSubject(await this.load(key), this.model, this.normalized, this.role);
    });
  }
}
