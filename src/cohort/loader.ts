/**
 * The training batch loader (browser-safe): random subject, random (source, target) pair among the
 * sequences that subject HAS (missing ones are never drawn), a random crop of c_in adjacent axial
 * slices (2.5D) or a 3D patch, normalisation per the science spec, random flips; seeded, with
 * asynchronous prefetch so the engine is not kept waiting on loading.
 *
 * Layouts (channels-last, team convention): 2D/2.5D [B, H=ny rows, W=nx columns, C=c_in z slices];
 * 3D [B, D=nz, H=ny, W=nx, 1].
 */
import { normalizeIntensity, type Volume } from '../volume/index.js';
import { tf } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import { Rng } from '../random/index.js';
import type { Cohort } from './cohort.js';

/**
 * Options of {@link batchLoader}.
 *
 * @example
 * ```ts
 * import { Cohort, batchLoader, type BatchLoaderOptions } from 'mriseq';
 * const options: BatchLoaderOptions = { mode: '3d', crop: [16, 32, 32], batchSize: 1, seed: 3, output: 'array', batches: 1 };
 * for await (const b of batchLoader(Cohort.fromPhantom({ subjects: 2, size: [32, 32, 16] }), { ...options, output: 'array' }))
 *   console.log(b.shape); // [1, 16, 32, 32, 1]
 * ```
 */
export interface BatchLoaderOptions {
  /** '2d' (2.5D slice stacks, default) or '3d' patches. */
  mode?: '2d' | '3d';
  /** Adjacent axial slices per 2.5D sample (default 3). */
  cIn?: number;
  /** Crop [H, W] (2d; default [64, 64]) or [D, H, W] (3d; default [32, 64, 64]); padded with -1 when larger than the volume. */
  crop?: readonly number[];
  batchSize?: number;
  seed?: number;
  /** Random flips along x and y, identical for source and target (default true). */
  flips?: boolean;
  /** Batches prepared ahead (default 2). */
  prefetch?: number;
  /** Draw source and target as different sequences (default true; the training step adds self-reconstruction itself). */
  distinct?: boolean;
  /**
   * Sequence keys the loader may draw, in code order: index = position here (default: the
   * cohort's sequences without 4D ones such as 'dce').
   */
  sequences?: readonly string[];
  /** 'tensor' (tf.Tensor, default; the caller disposes) or 'array' (Float32Array). */
  output?: 'tensor' | 'array';
  /** Normalised volumes kept in the loader's own cache (default 32). */
  cacheVolumes?: number;
  /** Stop after this many batches (default: never). */
  batches?: number;
}

/**
 * One batch of {@link batchLoader}: source and target crops (tensors or arrays) and what they are.
 *
 * @example
 * ```ts
 * import { Cohort, batchLoader, type Batch } from 'mriseq';
 * const loader = batchLoader(Cohort.fromPhantom({ subjects: 2, size: [32, 32, 16] }), { crop: [32, 32], output: 'array', batches: 1 });
 * for await (const b of loader) {
 *   const batch: Batch<Float32Array> = b;
 *   console.log(batch.sourceIndex, batch.targetIndex, batch.crops[0]?.origin);
 * }
 * ```
 */
export interface Batch<T> {
  /** Source crops: [B, H, W, cIn] (2d) or [B, D, H, W, 1] (3d), values in [-1, 1]. */
  source: T;
  target: T;
  shape: number[];
  sourceSeq: string[];
  targetSeq: string[];
  /** Index of each sequence in the loader's `sequences` (the generator's code index). */
  sourceIndex: number[];
  targetIndex: number[];
  subjectId: string[];
  /** Crop origin [x0, y0, z0] and flips of each item, so a batch can be replayed. */
  crops: { origin: [number, number, number]; flipX: boolean; flipY: boolean }[];
}

interface Plan {
  id: string;
  s: string;
  t: string;
  origin: [number, number, number];
  flipX: boolean;
  flipY: boolean;
}

/**
 * The async iterator {@link batchLoader} returns; it prefetches batches in the background.
 *
 * @example
 * ```ts
 * import { Cohort, BatchLoader, type Batch, tf, initEngine } from 'mriseq';
 * await initEngine();
 * const loader = new BatchLoader<tf.Tensor>(Cohort.fromPhantom({ subjects: 2, size: [32, 32, 16] }), {
 *   crop: [32, 32],
 * });
 * const first: Batch<tf.Tensor> = (await loader.next()).value;
 * console.log(first.source.shape);
 * tf.dispose([first.source, first.target]);
 * await loader.return();
 * ```
 */
export class BatchLoader<T> implements AsyncIterableIterator<Batch<T>> {
  readonly sequences: readonly string[];
  readonly mode: '2d' | '3d';
  readonly cIn: number;
  readonly crop: readonly number[];
  readonly batchSize: number;
  private readonly rng: Rng;
  private readonly queue: Promise<Batch<T>>[] = [];
  private readonly eligible: { id: string; seqs: string[] }[];
  private readonly normCache = new Map<string, Promise<Volume>>();
  private produced = 0;
  private closed = false;

  constructor(
    private readonly cohort: Cohort,
    private readonly options: BatchLoaderOptions = {},
  ) {
    this.mode = options.mode ?? '2d';
    this.cIn = options.cIn ?? 3;
    this.crop = options.crop ?? (this.mode === '2d' ? [64, 64] : [32, 64, 64]);
    this.batchSize = options.batchSize ?? 1;
    this.sequences = options.sequences ?? cohort.sequences.filter((s) => s !== 'dce');
    const bad = (field: string, found: unknown, expected: string): never => {
      throw new MriseqError('invalid batch loader option', {
        field,
        found: JSON.stringify(found),
        expected,
        code: 'loader.option',
      });
    };
    if (this.mode !== '2d' && this.mode !== '3d') bad('mode', this.mode, "'2d' or '3d'");
    if (
      this.crop.length !== (this.mode === '2d' ? 2 : 3) ||
      this.crop.some((c) => !Number.isInteger(c) || c < 1)
    )
      bad('crop', this.crop, this.mode === '2d' ? '[H, W] positive integers' : '[D, H, W] positive integers');
    if (!Number.isInteger(this.cIn) || this.cIn < 1) bad('cIn', this.cIn, 'a positive integer');
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      bad('batchSize', this.batchSize, 'a positive integer');
    const need = (options.distinct ?? true) ? 2 : 1;
    this.eligible = cohort.subjects
      .map((s) => ({ id: s.id, seqs: this.sequences.filter((q) => s.available.includes(q)) }))
      .filter((e) => e.seqs.length >= need);
    if (this.eligible.length === 0)
      throw new MriseqError('no subject has enough sequences for a source -> target pair', {
        field: 'cohort',
        found: cohort.toString(),
        expected: `subjects with at least ${need} of ${this.sequences.join(', ')}`,
        code: 'loader.empty',
      });
    this.rng = Rng.stream(options.seed ?? 0, 'loader');
    for (let k = 0; k < Math.max(1, options.prefetch ?? 2); k++) this.schedule();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Batch<T>>> {
    const limit = this.options.batches;
    if (this.closed || (limit !== undefined && this.produced >= limit))
      return { done: true, value: undefined };
    const p = this.queue.shift() as Promise<Batch<T>>;
    this.schedule();
    this.produced++;
    return { done: false, value: await p };
  }

  /** The next n batches. */
  async take(n: number): Promise<Batch<T>[]> {
    const out: Batch<T>[] = [];
    for (let i = 0; i < n; i++) {
      const r = await this.next();
      if (r.done) break;
      out.push(r.value);
    }
    return out;
  }

  /** Stops prefetching; batches already prepared as tensors are disposed. */
  async return(): Promise<IteratorResult<Batch<T>>> {
    this.closed = true;
    const pending = this.queue.splice(0);
    for (const p of pending) {
      const b = await p.catch(() => undefined);
      if (b && this.options.output !== 'array') tf.dispose([b.source as tf.Tensor, b.target as tf.Tensor]);
    }
    return { done: true, value: undefined };
  }

  close(): Promise<IteratorResult<Batch<T>>> {
    return this.return();
  }

  /** Draws the next batch's parameters synchronously (so timing never changes the stream), then loads. */
  private schedule(): void {
    if (this.closed) return;
    const plans: Plan[] = [];
    for (let b = 0; b < this.batchSize; b++) plans.push(this.draw());
    const p = this.build(plans);
    // Avoid unhandled rejections for batches never consumed; the consumer still sees the error.
    p.catch(() => undefined);
    this.queue.push(p);
  }

  private draw(): Plan {
    const e = this.eligible[this.rng.int(this.eligible.length)]!;
    const distinct = this.options.distinct ?? true;
    const s = e.seqs[this.rng.int(e.seqs.length)]!;
    let t: string;
    if (distinct) {
      const others = e.seqs.filter((q) => q !== s);
      t = others[this.rng.int(others.length)]!;
    } else t = e.seqs[this.rng.int(e.seqs.length)]!;
    // Origins are fractions now and become voxels once the volume's shape is known.
    const origin: [number, number, number] = [this.rng.next(), this.rng.next(), this.rng.next()];
    const flips = this.options.flips ?? true;
    const flipX = flips ? this.rng.next() < 0.5 : false;
    const flipY = flips ? this.rng.next() < 0.5 : false;
    return { id: e.id, s, t, origin, flipX, flipY };
  }

  private normalized(id: string, seq: string): Promise<Volume> {
    const key = `${id}\u0000${seq}`;
    let p = this.normCache.get(key);
    if (p) {
      this.normCache.delete(key);
      this.normCache.set(key, p);
      return p;
    }
    p = this.cohort.load(id, seq).then((v) => {
      if (v.shape.length > 3 && (v.shape[3] ?? 1) > 1)
        throw new MriseqError('the batch loader reads 3D sequences only', {
          field: `${id}.${seq}`,
          found: `shape ${v.shape.join('x')}`,
          expected: "a 3D volume (leave 4D series out with the 'sequences' option)",
          code: 'loader.4d',
        });
      // Science-spec normalisation: clip to [0, 2 * p99], scale to [-1, 1] (volume module).
      return normalizeIntensity(v);
    });
    this.normCache.set(key, p);
    p.catch(() => this.normCache.delete(key));
    const max = this.options.cacheVolumes ?? 32;
    while (this.normCache.size > max) this.normCache.delete(this.normCache.keys().next().value as string);
    return p;
  }

  private async build(plans: Plan[]): Promise<Batch<T>> {
    const per =
      this.mode === '2d'
        ? (this.crop[0] as number) * (this.crop[1] as number) * this.cIn
        : this.crop.reduce((a, b) => a * b, 1);
    const src = new Float32Array(per * plans.length);
    const tgt = new Float32Array(per * plans.length);
    const crops: Batch<T>['crops'] = [];
    for (let b = 0; b < plans.length; b++) {
      const plan = plans[b]!;
      const [vs, vt] = await Promise.all([
        this.normalized(plan.id, plan.s),
        this.normalized(plan.id, plan.t),
      ]);
      if (vs.shape.slice(0, 3).join() !== vt.shape.slice(0, 3).join())
        throw new MriseqError("a subject's sequences differ in shape", {
          field: `${plan.id}.${plan.s}/${plan.t}`,
          found: `${vs.shape.join('x')} vs ${vt.shape.join('x')}`,
          expected: 'co-registered volumes of one shape',
          code: 'loader.shape',
        });
      const origin = this.cropInto(vs, plan, src, b * per);
      this.cropInto(vt, plan, tgt, b * per);
      crops.push({ origin, flipX: plan.flipX, flipY: plan.flipY });
    }
    const B = plans.length;
    const shape =
      this.mode === '2d'
        ? [B, this.crop[0] as number, this.crop[1] as number, this.cIn]
        : [B, this.crop[0] as number, this.crop[1] as number, this.crop[2] as number, 1];
    const wrap = (a: Float32Array): T =>
      this.options.output === 'array' ? (a as T) : (tf.tensor(a, shape) as T);
    return {
      source: wrap(src),
      target: wrap(tgt),
      shape,
      sourceSeq: plans.map((p) => p.s),
      targetSeq: plans.map((p) => p.t),
      sourceIndex: plans.map((p) => this.sequences.indexOf(p.s)),
      targetIndex: plans.map((p) => this.sequences.indexOf(p.t)),
      subjectId: plans.map((p) => p.id),
      crops,
    };
  }

  /** Copies one crop (channels-last) into out at offset; outside the volume is -1 (background). */
  private cropInto(v: Volume, plan: Plan, out: Float32Array, offset: number): [number, number, number] {
    const [nx, ny, nz] = v.shape as [number, number, number];
    const is2d = this.mode === '2d';
    const D = is2d ? this.cIn : (this.crop[0] as number);
    const H = is2d ? (this.crop[0] as number) : (this.crop[1] as number);
    const W = is2d ? (this.crop[1] as number) : (this.crop[2] as number);
    // Larger crops than the volume centre it (padding); smaller ones start anywhere inside.
    const start = (n: number, c: number, f: number): number =>
      c >= n ? -Math.floor((c - n) / 2) : Math.floor(f * (n - c + 1));
    const x0 = start(nx, W, plan.origin[0]);
    const y0 = start(ny, H, plan.origin[1]);
    const z0 = start(nz, D, plan.origin[2]);
    const d = v.data;
    let k = offset;
    if (is2d) {
      for (let h = 0; h < H; h++) {
        const y = y0 + (plan.flipY ? H - 1 - h : h);
        for (let w = 0; w < W; w++) {
          const x = x0 + (plan.flipX ? W - 1 - w : w);
          for (let c = 0; c < D; c++) {
            const z = z0 + c;
            out[k++] =
              x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz
                ? -1
                : (d[(z * ny + y) * nx + x] as number);
          }
        }
      }
    } else {
      for (let dd = 0; dd < D; dd++) {
        const z = z0 + dd;
        for (let h = 0; h < H; h++) {
          const y = y0 + (plan.flipY ? H - 1 - h : h);
          for (let w = 0; w < W; w++) {
            const x = x0 + (plan.flipX ? W - 1 - w : w);
            out[k++] =
              x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz
                ? -1
                : (d[(z * ny + y) * nx + x] as number);
          }
        }
      }
    }
    return [x0, y0, z0];
  }
}

/**
 * `batchLoader(cohort, { mode: '2d', cIn: 3, crop: [64, 64], batchSize: 1, seed: 1 })`: an async
 * iterator of batches ({ source, target, sourceSeq, targetSeq, sourceIndex, targetIndex,
 * subjectId }) as tf tensors (dispose them) or, with output: 'array', Float32Arrays.
 * Each item is a random crop of one subject: a source sequence and a different target sequence,
 * normalised to [-1, 1] (see {@link normalizeIntensity}), with the same crop and flips.
 *
 * @param cohort - The subjects to draw from.
 * @param options - Mode, slices per sample, crop, batch size, seed, output kind; see {@link BatchLoaderOptions}.
 * @returns A {@link BatchLoader}: `for await (const b of loader)`; `close()` when stopping early.
 * @throws {@link MriseqError} 'loader.option' for an invalid option, 'loader.empty' when no subject has
 *   two of the sequences; while iterating, 'loader.4d' for a 4D sequence and 'loader.shape' when a
 *   subject's sequences differ in shape.
 * @example
 * ```ts
 * import { Cohort, batchLoader } from 'mriseq';
 * const cohort = Cohort.fromPhantom({ subjects: 2, size: [32, 32, 16] });
 * const loader = batchLoader(cohort, { crop: [32, 32], batchSize: 2, seed: 1, batches: 1, output: 'array' });
 * for await (const b of loader) console.log(b.shape, b.sourceSeq, b.targetSeq); // [2, 32, 32, 3]
 * ```
 */
export function batchLoader(
  cohort: Cohort,
  options: BatchLoaderOptions & { output: 'array' },
): BatchLoader<Float32Array>;
export function batchLoader(cohort: Cohort, options?: BatchLoaderOptions): BatchLoader<tf.Tensor>;
export function batchLoader(
  cohort: Cohort,
  options: BatchLoaderOptions = {},
): BatchLoader<tf.Tensor> | BatchLoader<Float32Array> {
  return options.output === 'array'
    ? new BatchLoader<Float32Array>(cohort, options)
    : new BatchLoader<tf.Tensor>(cohort, options);
}
