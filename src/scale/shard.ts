/**
 * Which subjects a shard (or a cross-validation fold) holds. Pure functions, no I/O, so the
 * computing core and the browser can use them too.
 *
 * A subject's shard depends only on its id (a stable 32-bit FNV-1a hash of the id's UTF-8
 * bytes), never on its row position: reordering a manifest's rows, or adding subjects, never
 * moves a subject to another shard, and every machine computes the same split.
 */
import { MriseqError } from '../errors/index.js';
import { hashString } from '../random/index.js';

/**
 * Shard `index` of `count` (0-based, as SLURM's $SLURM_ARRAY_TASK_ID).
 * @example
 * ```ts
 * import { selectShard, type ShardSpec } from 'mriseq';
 * const shard: ShardSpec = { index: Number(process.env.SLURM_ARRAY_TASK_ID ?? 0), count: 10 };
 * console.log(selectShard(['a', 'b', 'c'], shard));
 * ```
 */
export interface ShardSpec {
  index: number;
  count: number;
}

/**
 * Parses "I/N" (0 <= I < N), as given to `--shard` or `--fold`.
 * @param text - "I/N", e.g. "3/10".
 * @param field - The option named in errors (default '--shard').
 * @returns The {@link ShardSpec}.
 * @throws {@link MriseqError} when the text is not "I/N" with 0 <= I < N.
 * @example
 * ```ts
 * import { parseShard } from 'mriseq';
 * console.log(parseShard('3/10')); // { index: 3, count: 10 }
 * ```
 */
export function parseShard(text: string, field = '--shard'): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count) || !Number.isSafeInteger(count)) {
    throw new MriseqError('not a shard', {
      field,
      found: JSON.stringify(text),
      expected: 'I/N with 0 <= I < N, e.g. 0/4 (I is 0-based like $SLURM_ARRAY_TASK_ID)',
      code: 'scale.shard',
    });
  }
  return { index, count };
}

export function formatShard(s: ShardSpec): string {
  return `${s.index}/${s.count}`;
}

/**
 * 32-bit FNV-1a over the UTF-8 bytes of `id`: stable across runs, machines and Node versions.
 * The project's one FNV-1a, src/random's hashString, under the name the cluster scripts know.
 */
export const stableHash: (id: string) => number = hashString;

/**
 * The shard (0..count-1) that holds subject `id`.
 * A stable hash of the id (FNV-1a), so a subject's shard depends only on its id and the count.
 *
 * @param id - A subject id.
 * @param count - Number of shards.
 * @returns The shard index in [0, count).
 * @throws {@link MriseqError} when count is not a positive integer.
 * @example
 * ```ts
 * import { shardOf } from 'mriseq';
 * console.log(shardOf('sim-00042', 8));
 * ```
 */
export function shardOf(id: string, count: number): number {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new MriseqError('shard count must be a positive integer', {
      field: 'count',
      found: String(count),
      code: 'scale.shard',
    });
  }
  return stableHash(id) % count;
}

/**
 * The ids of `ids` that belong to `shard`, in their given order. `undefined` selects all.
 * @param ids - Subject ids.
 * @param shard - The shard, or undefined for all.
 * @returns The ids whose {@link shardOf} is `shard.index`.
 * @example
 * ```ts
 * import { selectShard } from 'mriseq';
 * const ids = ['a', 'b', 'c', 'd', 'e'];
 * console.log(selectShard(ids, { index: 0, count: 2 }), selectShard(ids, { index: 1, count: 2 }));
 * ```
 */
export function selectShard<T extends string>(ids: readonly T[], shard: ShardSpec | undefined): T[] {
  if (!shard) return [...ids];
  return ids.filter((id) => shardOf(id, shard.count) === shard.index);
}

/**
 * As selectShard, for rows that carry their id (manifest rows, table rows).
 * @param rows - Rows that carry a subject id.
 * @param idOf - Gets a row's id.
 * @param shard - The shard, or undefined for all.
 * @returns The rows of the shard, in their order.
 * @example
 * ```ts
 * import { selectShardRows } from 'mriseq';
 * const rows = [{ subject: 'a', v: 1 }, { subject: 'b', v: 2 }];
 * console.log(selectShardRows(rows, (r) => r.subject, { index: 0, count: 2 }));
 * ```
 */
export function selectShardRows<R>(
  rows: readonly R[],
  idOf: (row: R) => string,
  shard: ShardSpec | undefined,
): R[] {
  if (!shard) return [...rows];
  return rows.filter((r) => shardOf(idOf(r), shard.count) === shard.index);
}

/**
 * Cross-validation fold of a subject: a second, independent hash (the id salted with "fold:"),
 * so fold k of F is not the same split as shard k of F and a fold's test set is spread over all
 * shards of a cohort.
 * @param id - A subject id.
 * @param folds - Number of folds (at least 2).
 * @returns The fold in [0, folds).
 * @throws {@link MriseqError} for fewer than 2 folds.
 * @example
 * ```ts
 * import { foldOf } from 'mriseq';
 * console.log(foldOf('sim-00042', 5));
 * ```
 */
export function foldOf(id: string, folds: number): number {
  if (!Number.isSafeInteger(folds) || folds < 2) {
    throw new MriseqError('cross-validation needs at least 2 folds', {
      field: 'folds',
      found: String(folds),
      code: 'scale.fold',
    });
  }
  return stableHash(`fold:${id}`) % folds;
}

/**
 * Training and validation ids for fold `fold.index` of `fold.count` (validation = that fold).
 * @param ids - Subject ids.
 * @param fold - Fold `index` of `count`.
 * @returns The training ids (other folds) and validation ids (this fold).
 * @example
 * ```ts
 * import { foldSplit, phantom } from 'mriseq';
 * const { train, validation } = foldSplit(phantom({ subjects: 20 }).ids(), { index: 0, count: 5 });
 * console.log(train.length, validation.length);
 * ```
 */
export function foldSplit<T extends string>(
  ids: readonly T[],
  fold: ShardSpec,
): { train: T[]; validation: T[] } {
  const train: T[] = [];
  const validation: T[] = [];
  for (const id of ids) (foldOf(id, fold.count) === fold.index ? validation : train).push(id);
  return { train, validation };
}

/**
 * Parses "K/F" as given to `mriseq train --fold`.
 * @param text - "K/F", e.g. "0/5".
 * @returns The fold as a {@link ShardSpec}.
 * @throws {@link MriseqError} when the text is not "K/F" with F >= 2.
 * @example
 * ```ts
 * import { parseFold } from 'mriseq';
 * console.log(parseFold('2/5'));
 * ```
 */
export function parseFold(text: string): ShardSpec {
  const f = parseShard(text, '--fold');
  if (f.count < 2) {
    throw new MriseqError('cross-validation needs at least 2 folds', {
      field: '--fold',
      found: JSON.stringify(text),
      expected: 'K/F with F >= 2',
      code: 'scale.fold',
    });
  }
  return f;
}

/**
 * The canonical order of subject ids in every table mriseq writes (and the order `mriseq merge`
 * restores): digit runs compare as numbers ("sub-2" < "sub-10"), anything else by code unit, and
 * ties (e.g. "sub-01" vs "sub-1") by plain code-unit order so the order is total.
 * @param a - A subject id.
 * @param b - Another.
 * @returns Negative, 0 or positive, as Array.prototype.sort expects.
 * @example
 * ```ts
 * import { compareSubjectIds } from 'mriseq';
 * console.log(['sub-10', 'sub-2', 'sub-1'].sort(compareSubjectIds)); // ['sub-1', 'sub-2', 'sub-10']
 * ```
 */
export function compareSubjectIds(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = x.replace(/^0+(?=\d)/, '');
      const ny = y.replace(/^0+(?=\d)/, '');
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  if (pa.length !== pb.length) return pa.length - pb.length;
  return a === b ? 0 : a < b ? -1 : 1;
}
