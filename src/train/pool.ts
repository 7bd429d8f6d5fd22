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

/** Bytes of normalised volumes a training run keeps at most (1 GiB) unless told otherwise. */
export const DEFAULT_TRAIN_CACHE_BYTES = 2 ** 30;

/** Subjects loaded on demand (a cohort on disk): what train streams instead of holding them. */
export interface SubjectStream {
  readonly ids: readonly string[];
  /** The sequences a subject has, known without loading it. */
  available(id: string): readonly string[];
  load(id: string): Promise<SubjectVolumes>;
}

/** Training or validation subjects: in memory, or a stream. */
export type TrainSubjects = readonly SubjectVolumes[] | SubjectStream;

export function isSubjectStream(s: TrainSubjects): s is SubjectStream {
  return !Array.isArray(s);
}

/** How many subjects (in memory or streamed). */
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

/** The subjects the loop draws from, by index, through the bounded cache. */
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
