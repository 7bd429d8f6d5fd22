/**
 * Whole-volume inference: G(x_sources, code_target) over a subject, returned as a Volume on the
 * subject's grid. 2D models run slice stack by slice stack, and each slice is predicted as the
 * centre of its own c_in-slice stack, as the authors' test script does (their stacks [i, i + c_in)
 * for every i, scored on channel (c_in - 1) / 2); the c_in / 2 slices at each end of the volume,
 * which are the centre of no stack inside it, come from the nearest stack's edge channel. With
 * c_in = 1 that is one stack per slice. 3D models run on the whole volume. Sizes are padded by
 * reflection to a multiple of 4 and cropped back. The stacks run in batches sized to memory,
 * through a compiled TensorFlow function where the backend has one (./infer.ts); generatePairs
 * makes every (source, target) volume of a subject with one encoding per source.
 */
import { MriseqError } from '../errors/index.js';
import { stopRequested, yieldToHost } from '../interrupt/index.js';
import type { Volume } from '../volume/index.js';
import {
  checkVolumesAgree,
  extractPatch,
  normalizeIntensity,
  roundUp,
  timePoints,
  type SubjectVolumes,
} from './data.js';
import { predictStacks, type PredictOptions, type StackSource } from './infer.js';
import type { Seq2Seq } from './model.js';
import { own } from '../keys/index.js';

/**
 * Options of {@link generate}.
 *
 * @example
 * ```ts
 * import { type GenerateOptions } from 'mriseq';
 * const options: GenerateOptions = { sources: ['t1', 't2', 'flair'], target: 't1gd', batchSize: 4 };
 * console.log(options.target);
 * ```
 */
export interface GenerateOptions {
  /** Source sequences (one or several; a 4D source contributes its time points). */
  sources: string[];
  /** Target sequence (must be in the model's config.sequences). */
  target: string;
  /**
   * Output time points (default: the target's own if the subject has it, else the number the
   * generator was trained with (config.timePoints), else 1).
   */
  timePoints?: number;
  /** Inputs are already in [-1, 1] (default false: the spec's normalisation is applied). */
  normalized?: boolean;
  /** Slice stacks per forward pass for 2D models (default: as many as fit memoryBytes). */
  batchSize?: number;
  /** Memory one forward pass may take, bytes (default 512 MiB). */
  memoryBytes?: number;
  /** Run through a compiled TensorFlow function where the backend has them (default true). */
  compile?: boolean;
  /**
   * Stops between batches (as does the host's interrupt, see ../interrupt) with a MriseqError of
   * code 'generate.aborted'.
   */
  signal?: AbortSignal;
}

/**
 * The stacks G runs on for these source volumes (2D: c_in adjacent z slices per stack, sources'
 * time points stacked on T; 3D: the whole volume), and where each stack's output goes.
 */
function slicePlan(
  model: Seq2Seq,
  vols: Volume[],
): { source: StackSource; place(y: Float32Array, nOut: number, out: Float32Array): void } {
  const { ndims, cIn } = model.config;
  const [nx, ny, nz] = vols[0]!.shape;
  const T = vols.reduce((a, v) => a + timePoints(v), 0);
  const m = model.spatialMultiple;
  const W = roundUp(nx, m);
  const H = roundUp(ny, m);
  const plane = nx * ny;
  const D = ndims === 2 ? cIn : roundUp(nz, m);
  // 2D: one stack per slice, centred on it (see centredStacks); 3D: the whole volume
  const stacks = ndims === 2 ? centredStacks(nz, cIn) : [{ slice: 0, start: 0, channel: 0 }];
  const size = { w: W, h: H, d: D };
  const source: StackSource = {
    count: stacks.length,
    shape: ndims === 2 ? [T, H, W, cIn] : [T, D, H, W, 1],
    write(i, buf, offset) {
      let off = offset;
      for (const v of vols) {
        const p = extractPatch(v, ndims, { x: 0, y: 0, z: stacks[i]!.start }, size);
        buf.set(p, off);
        off += p.length;
      }
    },
  };
  const place = (y: Float32Array, nOut: number, out: Float32Array): void => {
    if (ndims === 3) {
      for (let t = 0; t < nOut; t++)
        for (let z = 0; z < nz; z++)
          for (let yy = 0; yy < ny; yy++)
            for (let xx = 0; xx < nx; xx++)
              out[t * plane * nz + z * plane + yy * nx + xx] = y[((t * D + z) * H + yy) * W + xx]!;
      return;
    }
    // y: [stacks, nOut, H, W, cIn]; each stack contributes the one slice it is centred on
    stacks.forEach(({ slice, channel }, b) => {
      for (let t = 0; t < nOut; t++) {
        const base = (b * nOut + t) * H * W * cIn;
        for (let yy = 0; yy < ny; yy++)
          for (let xx = 0; xx < nx; xx++)
            out[t * plane * nz + slice * plane + yy * nx + xx] = y[base + (yy * W + xx) * cIn + channel]!;
      }
    });
  };
  return { source, place };
}

/** The Volume of a generated series on the sources' grid. */
function asVolume(data: Float32Array, ref: Volume, nOut: number, like?: Volume): Volume {
  const [nx, ny, nz] = ref.shape;
  return {
    data,
    shape: nOut > 1 ? [nx, ny, nz, nOut] : [nx, ny, nz],
    spacing:
      nOut > 1
        ? [...ref.spacing.slice(0, 3), like && like.spacing.length > 3 ? like.spacing[3]! : 1]
        : ref.spacing.slice(0, 3),
    affine: ref.affine.map((r) => r.slice()),
    datatype: 'float32',
  };
}

function predictOptions(o: {
  batchSize?: number;
  memoryBytes?: number;
  compile?: boolean;
  signal?: AbortSignal;
}): PredictOptions {
  return {
    batchSize: o.batchSize,
    memoryBytes: o.memoryBytes,
    compile: o.compile,
    // Between batches: let the host's event loop run (a kernel's interrupt arrives as a message),
    // then stop if asked. After the last batch the result is complete and is returned.
    onBatch: async (done, total) => {
      if (done >= total) return;
      await yieldToHost();
      if (stopRequested(o.signal))
        throw new MriseqError('generation interrupted', {
          found: `after ${done} of ${total} slice stacks`,
          code: 'generate.aborted',
        });
    },
  };
}

/**
 * One 2D forward per slice: the stack starting at `start` predicts `slice` on its `channel`.
 * @example
 * ```ts
 * import { centredStacks, type SliceStack } from 'mriseq/browser';
 * const s: SliceStack = centredStacks(10, 3)[4]!;
 * console.log(s.slice, s.start, s.channel); // 4 3 1
 * ```
 */
export interface SliceStack {
  slice: number;
  start: number;
  channel: number;
}

/**
 * The stacks of 2.5D inference: slice z is predicted by the stack [z - floor(c_in/2), ...) (its
 * centre), moved inside the volume at the two ends (then z is an edge channel). A volume thinner
 * than c_in is read with reflected slices (extractPatch), every slice by the stack at 0.
 * @param nz - Number of axial slices.
 * @param cIn - Slices per stack.
 * @returns One stack per slice: where it starts and which channel is the slice.
 * @example
 * ```ts
 * import { centredStacks } from 'mriseq/browser';
 * console.log(centredStacks(5, 3)); // slice 0 is channel 0 of the stack at 0; slice 2 is the centre of the stack at 1
 * ```
 */
export function centredStacks(nz: number, cIn: number): SliceStack[] {
  const half = Math.floor(cIn / 2);
  const out: SliceStack[] = [];
  for (let z = 0; z < nz; z++) {
    const start = Math.max(0, Math.min(z - half, nz - cIn));
    out.push({ slice: z, start, channel: z - start });
  }
  return out;
}

/**
 * generate(model, subject, {sources, target}): the synthesised target on the subject's grid,
 * intensities in the normalised [-1, 1] space (compare with normalizeIntensity(x_target)).
 * For a 2D model every axial slice is predicted as the centre of its own `cIn`-slice stack; the
 * volume is padded to the model's spatial multiple and cropped back.
 *
 * @param model - A trained generator whose `config.sequences` include the sources and the target.
 * @param subject - The subject's volumes by sequence name (raw intensities unless `options.normalized`).
 * @param options - `sources`, `target`, and optionally time points, `normalized`, batch size.
 * @returns The synthesised target volume on the first source's grid, values in normalised [-1, 1].
 * @throws {@link MriseqError} 'model.sources' without sources; a sequence unknown to the model, missing
 *   from the subject, or volumes whose grids disagree are MriseqErrors naming them.
 * @example
 * ```ts
 * import { createGenerator, generate, phantom, initEngine } from 'mriseq';
 * await initEngine();
 * const model = createGenerator('lite');
 * const subject = phantom({ size: [32, 32, 16] }).subject(0);
 * const t1gd = await generate(model, subject, { sources: ['t1', 't2'], target: 't1gd' });
 * console.log(t1gd.shape); // [32, 32, 16]
 * model.dispose();
 * ```
 */
export async function generate(
  model: Seq2Seq,
  subject: SubjectVolumes,
  options: GenerateOptions,
): Promise<Volume> {
  if (!options.sources || options.sources.length === 0) {
    throw new MriseqError('generate needs at least one source sequence', {
      field: 'sources',
      expected: 'e.g. ["t1", "t2"]',
      code: 'model.sources',
    });
  }
  const code = model.codeIndex(options.target);
  for (const s of options.sources) model.codeIndex(s);
  const raw = checkVolumesAgree(subject, options.sources);
  const vols = options.normalized ? raw : raw.map((v) => normalizeIntensity(v));
  const ref = raw[0]!;
  const tgt = own(subject.volumes, options.target);
  const nOut =
    options.timePoints ?? (tgt ? timePoints(tgt) : (own(model.config.timePoints, options.target) ?? 1));
  const plan = slicePlan(model, vols);
  const [y] = await predictStacks(model, plan.source, [code], nOut, predictOptions(options));
  const [nx, ny, nz] = ref.shape;
  const out = new Float32Array(nx * ny * nz * nOut);
  plan.place(y!, nOut, out);
  return asVolume(out, ref, nOut, tgt);
}

/**
 * Options of {@link generatePairs}.
 *
 * @example
 * ```ts
 * import { type GeneratePairsOptions } from 'mriseq';
 * const options: GeneratePairsOptions = { sources: ['t1', 't2'], targets: ['t1gd'], memoryBytes: 256 * 2 ** 20 };
 * console.log(options.targets);
 * ```
 */
export interface GeneratePairsOptions {
  /** Source sequences, each used alone (default: every sequence the subject has that the model knows). */
  sources?: string[];
  /** Target sequences (default: the same as sources). */
  targets?: string[];
  /** Only these (source, target) pairs, when given (sources and targets then default to theirs). */
  pairs?: [string, string][];
  /** Output time points per target (default: the target's own if the subject has it as 4D, else 1). */
  timePoints?: Record<string, number>;
  /** Inputs are already in [-1, 1] (default false: the spec's normalisation is applied). */
  normalized?: boolean;
  /** Slice stacks per forward pass (default: as many as fit memoryBytes). */
  batchSize?: number;
  /** Memory one forward pass may take, bytes (default 512 MiB). */
  memoryBytes?: number;
  /** Run through a compiled TensorFlow function where the backend has them (default true). */
  compile?: boolean;
  /** As GenerateOptions.signal. */
  signal?: AbortSignal;
}

/**
 * G(x_s, code_t) for every source s (one at a time) and target t of a subject: what the
 * evaluation table and the differentiation maps need, with each source's slices encoded once for
 * all its targets. Returns volumes keyed `${source}>${target}`.
 *
 * @param model - A generator whose `config.sequences` include every source and target.
 * @param subject - The subject's volumes by sequence name (raw intensities unless `options.normalized`).
 * @param options - Which sources, targets or pairs; time points, batching, `signal`.
 * @returns One volume per pair on the subject's grid, values in normalised [-1, 1].
 * @throws {@link MriseqError} for a sequence unknown to the model or missing from the subject, and
 *   'generate.aborted' when `signal` or the host's interrupt stops it between batches.
 * @example
 * ```ts
 * import { createGenerator, generatePairs, phantom, initEngine } from 'mriseq';
 * await initEngine();
 * const model = createGenerator('lite');
 * const subject = phantom({ size: [32, 32, 8] }).subject(0);
 * const made = await generatePairs(model, subject, { sources: ['t1', 't2'], targets: ['t1gd', 'flair'] });
 * console.log([...made.keys()]); // ['t1>t1gd', 't1>flair', 't2>t1gd', 't2>flair']
 * model.dispose();
 * ```
 */
export async function generatePairs(
  model: Seq2Seq,
  subject: SubjectVolumes,
  options: GeneratePairsOptions = {},
): Promise<Map<string, Volume>> {
  const known = model.config.sequences.filter((s) => own(subject.volumes, s));
  const pairs =
    options.pairs ??
    (options.sources ?? known).flatMap((s) =>
      (options.targets ?? options.sources ?? known).map((t) => [s, t] as [string, string]),
    );
  for (const [s, t] of pairs) {
    model.codeIndex(s);
    model.codeIndex(t);
  }
  const out = new Map<string, Volume>();
  const sources = [...new Set(pairs.map((p) => p[0]))];
  for (const s of sources) {
    const [raw] = checkVolumesAgree(subject, [s]);
    const vol = options.normalized ? raw! : normalizeIntensity(raw!);
    const plan = slicePlan(model, [vol]);
    const targets = [...new Set(pairs.filter((p) => p[0] === s).map((p) => p[1]))];
    // targets with the same number of output time points share a forward pass
    const byNOut = new Map<number, string[]>();
    for (const t of targets) {
      const tv = own(subject.volumes, t);
      // a series the subject lacks keeps the length the model was trained with (config.timePoints)
      const n = options.timePoints?.[t] ?? (tv ? timePoints(tv) : (own(model.config.timePoints, t) ?? 1));
      byNOut.set(n, [...(byNOut.get(n) ?? []), t]);
    }
    for (const [nOut, ts] of byNOut) {
      const ys = await predictStacks(
        model,
        plan.source,
        ts.map((t) => model.codeIndex(t)),
        nOut,
        predictOptions(options),
      );
      const [nx, ny, nz] = raw!.shape;
      ts.forEach((t, k) => {
        const data = new Float32Array(nx * ny * nz * nOut);
        plan.place(ys[k]!, nOut, data);
        out.set(`${s}>${t}`, asVolume(data, raw!, nOut, own(subject.volumes, t)));
      });
    }
  }
  return out;
}
