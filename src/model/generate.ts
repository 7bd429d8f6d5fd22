/**
 * Whole-volume inference: G(x_sources, code_target) over a subject, returned as a Volume on the
 * subject's grid. 2D models run slice stack by slice stack, in batches, and each slice is
 * predicted as the centre of its own c_in-slice stack, as the authors' test script does (their
 * stacks [i, i + c_in) for every i, scored on channel (c_in - 1) / 2); the c_in / 2 slices at each
 * end of the volume, which are the centre of no stack inside it, come from the nearest stack's
 * edge channel. With c_in = 1 that is one stack per slice. 3D models run on the whole volume.
 * Sizes are padded by reflection to a multiple of 4 and cropped back.
 */
import { tf } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import type { Volume } from '../volume/index.js';
import {
  checkVolumesAgree,
  extractPatch,
  normalizeIntensity,
  roundUp,
  timePoints,
  type SubjectVolumes,
} from './data.js';
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
  /** Slice stacks per forward pass for 2D models (default 8). */
  batchSize?: number;
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
  const { ndims, cIn } = model.config;
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
  const ref = raw[0];
  const [nx, ny, nz] = ref.shape;
  const tgt = own(subject.volumes, options.target);
  const nOut =
    options.timePoints ?? (tgt ? timePoints(tgt) : (own(model.config.timePoints, options.target) ?? 1));
  const T = vols.reduce((a, v) => a + timePoints(v), 0);
  const m = model.spatialMultiple;
  const W = roundUp(nx, m);
  const H = roundUp(ny, m);
  const plane = nx * ny;
  const out = new Float32Array(plane * nz * nOut);
  const c = ndims === 2 ? cIn : 1;

  const run = (origins: number[], size: { w: number; h: number; d: number }): Float32Array => {
    const box = ndims === 2 ? [size.h, size.w] : [size.d, size.h, size.w];
    const per = T * box.reduce((a, b) => a * b, 1) * c;
    const buf = new Float32Array(origins.length * per);
    origins.forEach((z0, b) => {
      let off = b * per;
      for (const v of vols) {
        const p = extractPatch(v, ndims, { x: 0, y: 0, z: z0 }, size);
        buf.set(p, off);
        off += p.length;
      }
    });
    return tf.tidy(() => {
      const x = tf.tensor(buf, [origins.length, T, ...box, c]);
      return model.decode(model.encode(x), code, nOut).dataSync() as Float32Array;
    });
  };

  if (ndims === 2) {
    const stacks = centredStacks(nz, cIn);
    const bs = Math.max(1, options.batchSize ?? 8);
    for (let i = 0; i < stacks.length; i += bs) {
      const chunk = stacks.slice(i, i + bs);
      const y = run(
        chunk.map((s) => s.start),
        { w: W, h: H, d: cIn },
      );
      // y: [B, nOut, H, W, cIn]; each stack contributes the one slice it is centred on
      chunk.forEach(({ slice, channel }, b) => {
        for (let t = 0; t < nOut; t++) {
          const base = (b * nOut + t) * H * W * cIn;
          for (let yy = 0; yy < ny; yy++)
            for (let xx = 0; xx < nx; xx++)
              out[t * plane * nz + slice * plane + yy * nx + xx] = y[base + (yy * W + xx) * cIn + channel];
        }
      });
      await new Promise((r) => setTimeout(r, 0));
    }
  } else {
    const D = roundUp(nz, m);
    const y = run([0], { w: W, h: H, d: D });
    for (let t = 0; t < nOut; t++)
      for (let z = 0; z < nz; z++)
        for (let yy = 0; yy < ny; yy++)
          for (let xx = 0; xx < nx; xx++)
            out[t * plane * nz + z * plane + yy * nx + xx] = y[((t * D + z) * H + yy) * W + xx];
  }
  const shape = nOut > 1 ? [nx, ny, nz, nOut] : [nx, ny, nz];
  const spacing =
    nOut > 1
      ? [...ref.spacing.slice(0, 3), tgt && tgt.spacing.length > 3 ? tgt.spacing[3] : 1]
      : ref.spacing.slice(0, 3);
  return { data: out, shape, spacing, affine: ref.affine.map((r) => r.slice()), datatype: 'float32' };
}
