/**
 * Downstream studies on a cohort (browser-safe): build a classifier dataset from chosen sequences
 * and optional M_d channels, compare MRI alone against MRI + M_d (the paper's claim 3), and run the
 * hierarchical origin classification (group, then subtype). Every number returned is measured on
 * held-out subjects; nothing is assumed.
 *
 * The cohort is read through a small interface that `Cohort` (../cohort) satisfies, so a notebook
 * can pass a phantom cohort or a manifest cohort unchanged.
 */
import { MriseqError } from '../errors/index.js';
import { extractBox, gridProblem, percentile, type Volume } from '../volume/index.js';
import { createRng, permutation } from './random.js';
import { ResNet3d, type ResNet3dOptions } from './resnet.js';
import {
  trainClassifier,
  predictProbabilities,
  type ClassifierDataset,
  type TrainClassifierOptions,
} from './train.js';
import { evaluateClassifier, multiclassAuc, aucWithCi, type ClassifierEvaluation } from './metrics.js';
import { HierarchicalClassifier, treeLeaves, type ClassTree } from './hierarchical.js';
import { differentiationMap, type GenerateFn } from '../analysis/index.js';
import { LESION_HIERARCHY } from '../phantom/index.js';
import { dict, own } from '../keys/index.js';

type LabelValue = string | number | boolean | null | undefined;

/** What the downstream study needs from a subject (a `Subject` of ../cohort fits). */
export interface DownstreamSubject {
  readonly id: string;
  readonly available: readonly string[];
  readonly labels: Readonly<Record<string, LabelValue>>;
  load(sequence: string): Promise<Volume>;
  /** A label map ('lesion', 'seg', ...): needed only for a region of interest (`roi`). */
  mask?(key: string): Promise<Volume>;
}

/**
 * What the downstream study needs from a cohort (`Cohort` of ../cohort fits).
 * @example
 * ```ts
 * import { Cohort, type DownstreamCohort } from 'mriseq';
 * const cohort: DownstreamCohort = Cohort.fromPhantom({ subjects: 4 });
 * console.log(cohort.ids.length);
 * ```
 */
export interface DownstreamCohort {
  readonly ids: readonly string[];
  subject(id: string): DownstreamSubject;
}

/**
 * Supplies an M_d map (or any extra channel) of a subject for a target sequence.
 * @example
 * ```ts
 * import { normalizeForClassifier, type MapProvider } from 'mriseq';
 * // Any extra channel works, e.g. a sequence's own normalised image:
 * const own: MapProvider = async (subject, target) => normalizeForClassifier(await subject.load(target));
 * console.log(typeof own);
 * ```
 */
export type MapProvider = (subject: DownstreamSubject, target: string) => Promise<Volume>;

export interface DownstreamDatasetOptions {
  /** Label column (e.g. 'highEnhancement', 'lesionType'). */
  label: string;
  /** Sequences used as channels, in order. */
  sequences: readonly string[];
  /** M_d targets added as channels 'md:<target>' after the sequences; needs `maps`. */
  mapTargets?: readonly string[];
  maps?: MapProvider;
  /** Class order; default: sorted distinct label values. */
  classes?: readonly string[];
  /** Integer average-pooling factor per axis to shrink volumes (default 1). */
  downsample?: number;
  /** Subjects to use (default all with the sequences and a label). */
  ids?: readonly string[];
  /** Intensity normalisation of sequences (default: the spec's clip to [0, 2 p99] -> [-1, 1]). */
  normalize?: (v: Volume) => Volume;
  /** Classify a region of interest instead of the whole volume (e.g. the tumour). */
  roi?: RoiOptions;
  /** Extra channels after the M_d ones, each named and computed per subject (e.g. a subtraction). */
  extraMaps?: readonly { name: string; map: (subject: DownstreamSubject) => Promise<Volume> }[];
  onSubject?: (done: number, total: number) => void;
}

/**
 * A region of interest: a fixed-size box centred on the bounding box of a label map's non-zero
 * voxels (the lesion; BraTS: 'seg'), cut from every channel after normalisation and before
 * pooling, as the metastasis study classifies tumour regions rather than whole heads.
 * @example
 * ```ts
 * import { Cohort, buildDownstreamDataset, type RoiOptions } from 'mriseq';
 * const roi: RoiOptions = { mask: 'lesion', size: [16, 16, 8] };
 * const d = await buildDownstreamDataset(Cohort.fromPhantom({ subjects: 4, size: [32, 32, 16] }), {
 *   label: 'lesionGroup',
 *   sequences: ['t1', 't2'],
 *   roi,
 * });
 * console.log(d.shape, d.roiOrigins); // [8, 16, 16, 2] and where each box starts
 * ```
 */
export interface RoiOptions {
  /** Label map key of the subject ('lesion' on the phantom, 'seg' on BraTS-style manifests). */
  mask: string;
  /** Box size in voxels of the original grid [nx, ny, nz]; voxels past the volume's edge are background. */
  size: readonly [number, number, number];
  /**
   * Also set every voxel outside the label map to background (-1 for sequences, 0 for maps), so
   * the classifier sees the region alone (default false: the box keeps the lesion's surroundings).
   */
  maskOutside?: boolean;
}

/**
 * A {@link ClassifierDataset} with the names and grids of its subjects, classes and channels.
 *
 * @example
 * ```ts
 * import { Cohort, buildDownstreamDataset, type DownstreamDataset } from 'mriseq';
 * const d: DownstreamDataset = await buildDownstreamDataset(Cohort.fromPhantom({ subjects: 6, size: [32, 32, 16] }), {
 *   label: 'lesionGroup',
 *   sequences: ['t2'],
 *   downsample: 2,
 * });
 * console.log(d.ids, d.classNames, d.channels, d.references[0]?.shape);
 * ```
 */
export interface DownstreamDataset extends ClassifierDataset {
  ids: string[];
  classNames: string[];
  channels: string[];
  /** Grid of each subject's first sequence, for mapping Grad-CAM back (after cropping and downsampling). */
  references: Volume[];
  /**
   * With a `roi`: where each subject's box starts (voxel [x, y, z] of the original grid), so any
   * other map of the subject (a lesion compartment, a truth mask) can be cut the same way with
   * `extractBox` (../volume) and pooled with `downsampleVolume`.
   */
  roiOrigins?: [number, number, number][];
  /**
   * With `roi.maskOutside`: per subject, 1 where the dataset voxel lies inside the region (at
   * least half of its pooled source voxels), 0 outside. Channel statistics use only these voxels.
   */
  regionMasks?: Uint8Array[];
}

/**
 * M_d of a trained generator as a MapProvider: the subject's available sequences are normalised
 * to [-1, 1] and M_d(target) = mean over sources of |G(x_s, code_t) - x_t| (../analysis).
 * With ../analysis's generatorFunction(model) as `generate`.
 * @param generate - The generator as a function ({@link generatorFunction} of a trained model).
 * @returns A {@link MapProvider} giving M_d(target) of a subject.
 * @example
 * ```ts
 * import { Cohort, differentiationMapProvider, generatorFunction, loadPretrained, initEngine } from 'mriseq';
 * await initEngine();
 * const g = loadPretrained();
 * const maps = differentiationMapProvider(generatorFunction(g));
 * const cohort = Cohort.fromPhantom({ subjects: 1, size: [64, 64, 32] });
 * console.log((await maps(cohort.subject(cohort.ids[0]!), 't1gd')).shape);
 * g.dispose();
 * ```
 */
export function differentiationMapProvider(generate: GenerateFn): MapProvider {
  return async (subject, target) => {
    const seqs = dict<Volume>();
    for (const q of subject.available) seqs[q] = normalizeForClassifier(await subject.load(q));
    return differentiationMap(seqs, target, generate);
  };
}

/**
 * The spec's baseline for T1Gd's unique signal as a MapProvider: |norm(a) - norm(b)|, e.g.
 * subtraction of T1 from T1Gd. It needs no generator; it is a baseline, not M_d.
 * @param minuend - Sequence a (default 't1gd').
 * @param subtrahend - Sequence b (default 't1').
 * @returns A {@link MapProvider} (the target argument is ignored).
 * @example
 * ```ts
 * import { Cohort, subtractionMapProvider } from 'mriseq';
 * const cohort = Cohort.fromPhantom({ subjects: 1, size: [32, 32, 16] });
 * console.log((await subtractionMapProvider()(cohort.subject(cohort.ids[0]!), 't1gd')).shape);
 * ```
 */
export function subtractionMapProvider(minuend = 't1gd', subtrahend = 't1'): MapProvider {
  return async (subject) => {
    const a = normalizeForClassifier(await subject.load(minuend));
    const b = normalizeForClassifier(await subject.load(subtrahend));
    const data = new Float32Array(a.data.length);
    for (let i = 0; i < data.length; i++) data[i] = Math.abs(a.data[i] - b.data[i]);
    return { ...a, data };
  };
}

/**
 * The spec's reference normalisation: clip to [0, 2 * p99], scale linearly to [-1, 1].
 * @param v - A volume of raw intensities.
 * @returns A float32 volume in [-1, 1] (−1 everywhere when p99 is not positive), same geometry.
 * @example
 * ```ts
 * import { normalizeForClassifier, phantom } from 'mriseq';
 * const v = normalizeForClassifier(phantom({ size: [32, 32, 16] }).subject(0).volumes.t1gd!);
 * console.log(Math.min(...v.data), Math.max(...v.data)); // within [-1, 1]: 2·p99 maps to 1
 * ```
 */
export function normalizeForClassifier(v: Volume): Volume {
  const sorted = Float32Array.from(v.data).sort();
  const pos = 0.99 * (sorted.length - 1);
  const lo = Math.floor(pos);
  const p99 = sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (pos - lo);
  const hi = 2 * p99;
  const data = new Float32Array(v.data.length);
  for (let i = 0; i < data.length; i++) {
    data[i] = hi > 0 ? (Math.min(Math.max(v.data[i], 0), hi) / hi) * 2 - 1 : -1;
  }
  return { ...v, data, datatype: 'float32' };
}

/**
 * Average-pools a 3D volume by an integer factor per axis (remainders dropped).
 * @param v - A 3D volume.
 * @param factor - Integer factor per axis (1 returns `v`).
 * @returns The pooled volume (shape divided by `factor`, rounded down).
 * @example
 * ```ts
 * import { createVolume, downsampleVolume } from 'mriseq';
 * console.log(downsampleVolume(createVolume(new Float32Array(9 * 8 * 4).fill(2), [9, 8, 4]), 2).shape); // [4, 4, 2]
 * ```
 */
export function downsampleVolume(v: Volume, factor: number): Volume {
  if (factor === 1) return v;
  const [nx, ny, nz] = v.shape;
  const [mx, my, mz] = [nx, ny, nz].map((n) => Math.floor(n / factor));
  const data = new Float32Array(mx * my * mz);
  const f3 = factor ** 3;
  for (let z = 0; z < mz; z++)
    for (let y = 0; y < my; y++)
      for (let x = 0; x < mx; x++) {
        let s = 0;
        for (let dz = 0; dz < factor; dz++)
          for (let dy = 0; dy < factor; dy++)
            for (let dx = 0; dx < factor; dx++) {
              s += v.data[x * factor + dx + nx * (y * factor + dy + ny * (z * factor + dz))];
            }
        data[x + mx * (y + my * z)] = s / f3;
      }
  const affine = v.affine.map((row, r) =>
    r < 3 ? row.map((val, c) => (c < 3 ? val * factor : val)) : row.slice(),
  );
  // Voxel (0,0,0) of the pooled grid is centred at old voxel (f-1)/2 along each axis.
  for (let r = 0; r < 3; r++) {
    affine[r][3] = v.affine[r][3] + ((factor - 1) / 2) * (v.affine[r][0] + v.affine[r][1] + v.affine[r][2]);
  }
  return {
    data,
    shape: [mx, my, mz],
    spacing: v.spacing.slice(0, 3).map((s) => s * factor),
    affine,
    datatype: 'float32',
  };
}

/**
 * Centre of the bounding box of a label map's non-zero voxels (voxel coordinates [x, y, z]), or
 * undefined when the map is empty.
 * @param mask - A label map (any non-zero voxel counts as inside).
 * @returns The box centre [x, y, z] (half-integers when the box has an even extent), or undefined.
 * @example
 * ```ts
 * import { createVolume, maskBoxCentre } from 'mriseq';
 * const m = createVolume(new Float32Array(8 * 8 * 4), [8, 8, 4]);
 * m.data[2 + 8 * (3 + 8 * 1)] = 1; // voxel (2, 3, 1)
 * m.data[4 + 8 * (3 + 8 * 1)] = 1; // voxel (4, 3, 1)
 * console.log(maskBoxCentre(m)); // [3, 3, 1]
 * ```
 */
export function maskBoxCentre(mask: Volume): [number, number, number] | undefined {
  const [nx, ny, nz] = mask.shape;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) {
        if (!(mask.data[x + nx * (y + ny * z)] > 0)) continue;
        if (x < lo[0]) lo[0] = x;
        if (x > hi[0]) hi[0] = x;
        if (y < lo[1]) lo[1] = y;
        if (y > hi[1]) hi[1] = y;
        if (z < lo[2]) lo[2] = z;
        if (z > hi[2]) hi[2] = z;
      }
  if (hi[0] < 0) return undefined;
  return [0, 1, 2].map((a) => (lo[a] + hi[a]) / 2) as [number, number, number];
}

/** Interleaves volumes (NIfTI order) into one channels-last [nz, ny, nx, C] array. */
export function stackChannels(volumes: readonly Volume[]): Float32Array {
  const n = volumes[0].data.length;
  const C = volumes.length;
  const out = new Float32Array(n * C);
  volumes.forEach((v, c) => {
    for (let i = 0; i < n; i++) out[i * C + c] = v.data[i];
  });
  return out;
}

function labelString(v: LabelValue): string | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  return String(v);
}

/**
 * Loads, normalises, downsamples and stacks the chosen channels of every usable subject.
 * @param cohort - The subjects (a {@link Cohort} fits).
 * @param options - Label column, sequences (channels, in order), M_d targets and their provider, classes, downsampling factor, ids, normalisation.
 * @returns The dataset: channels-last inputs [D, H, W, C] per subject, labels, ids, class and channel names, reference volumes.
 * @throws {@link MriseqError} when M_d channels are asked for without a provider, no channel is chosen,
 *   too few subjects qualify, a label is not one of the classes, or grids differ.
 * @example
 * ```ts
 * import { Cohort, buildDownstreamDataset } from 'mriseq';
 * const cohort = Cohort.fromPhantom({ subjects: 6, size: [32, 32, 16] });
 * const d = await buildDownstreamDataset(cohort, { label: 'highEnhancement', sequences: ['t1gd', 'flair'], downsample: 2 });
 * console.log(d.shape, d.classNames, d.channels); // [8, 16, 16, 2]
 * ```
 */
export async function buildDownstreamDataset(
  cohort: DownstreamCohort,
  options: DownstreamDatasetOptions,
): Promise<DownstreamDataset> {
  const mapTargets = options.mapTargets ?? [];
  if (mapTargets.length && !options.maps) {
    throw new MriseqError('M_d channels were asked for but no map provider was given', {
      field: 'maps',
      found: mapTargets.join(', '),
      expected: 'a MapProvider (e.g. M_d NIfTIs from `mriseq maps`, or differentiationMapProvider)',
      code: 'classify.maps',
    });
  }
  if (!options.sequences.length && !mapTargets.length) {
    throw new MriseqError('no input channels chosen', {
      field: 'sequences',
      found: 'none',
      expected: 'at least one sequence or M_d target',
      code: 'classify.channels',
    });
  }
  const candidates = (options.ids ?? cohort.ids).map((id) => cohort.subject(id));
  const usable = candidates.filter(
    (s) =>
      options.sequences.every((q) => s.available.includes(q)) &&
      labelString(own(s.labels, options.label)) !== undefined,
  );
  if (usable.length < 4) {
    throw new MriseqError('too few subjects with these sequences and a label', {
      field: options.label,
      found: `${usable.length} of ${candidates.length}`,
      expected: `at least 4 with ${options.sequences.join(', ')} and a '${options.label}' value`,
      code: 'classify.subjects',
    });
  }
  const classNames = options.classes
    ? [...options.classes]
    : [...new Set(usable.map((s) => labelString(own(s.labels, options.label))!))].sort();
  const factor = options.downsample ?? 1;
  const norm = options.normalize ?? normalizeForClassifier;
  const extra = options.extraMaps ?? [];
  const channels = [...options.sequences, ...mapTargets.map((t) => `md:${t}`), ...extra.map((e) => e.name)];
  if (new Set(channels).size !== channels.length) {
    throw new MriseqError('channel names must be unique', {
      field: 'extraMaps',
      found: channels.join(', '),
      expected: 'distinct names for sequences, md:<target> maps and extra maps',
      code: 'classify.channels',
    });
  }
  if (options.roi) checkRoi(options.roi);
  const origins: [number, number, number][] = [];
  const regionMasks: Uint8Array[] = [];
  const inputs: Float32Array[] = [];
  const labels: number[] = [];
  const references: Volume[] = [];
  let shape: [number, number, number, number] | undefined;
  for (const [i, s] of usable.entries()) {
    const name = labelString(own(s.labels, options.label))!;
    const cls = classNames.indexOf(name);
    if (cls < 0) {
      throw new MriseqError('label value is not one of the classes', {
        file: s.id,
        field: options.label,
        found: name,
        expected: classNames.join(', '),
        code: 'classify.label',
      });
    }
    const raw: Volume[] = [];
    for (const q of options.sequences) raw.push(norm(await s.load(q)));
    for (const t of mapTargets) raw.push(await options.maps!(s, t));
    for (const e of extra) raw.push(await e.map(s));
    raw.forEach((v, c) => {
      // shape and affine: channels stacked voxel by voxel must be registered
      const p = gridProblem(raw[0], v);
      if (p) {
        throw new MriseqError(`channels of a subject are on different grids: ${p.problem}`, {
          file: s.id,
          field: channels[c],
          found: p.found,
          expected: `${p.expected} (as ${channels[0]})`,
          code: 'classify.grid',
        });
      }
    });
    // Background of each channel: -1 for normalised sequences, 0 for maps (M_d, subtraction).
    const fill = (c: number) => (c < options.sequences.length ? -1 : 0);
    let vols: Volume[];
    if (options.roi) {
      const r = await regionOf(s, options.roi, raw[0]);
      origins.push(r.origin);
      if (r.inside) {
        const [bx, by, bz] = options.roi.size;
        const frac = downsampleVolume(
          {
            ...raw[0],
            data: Float32Array.from(r.inside),
            shape: [bx, by, bz],
            spacing: raw[0].spacing.slice(0, 3),
          },
          factor,
        ).data;
        regionMasks.push(Uint8Array.from(frac, (f) => (f >= 0.5 ? 1 : 0)));
      }
      vols = raw.map((v, c) => {
        const box = extractBox(v, r.origin, options.roi!.size, fill(c));
        if (r.inside) for (let i = 0; i < r.inside.length; i++) if (!r.inside[i]) box.data[i] = fill(c);
        return downsampleVolume(box, factor);
      });
    } else vols = raw.map((v) => downsampleVolume(v, factor));
    const [nx, ny, nz] = vols[0].shape;
    const here: [number, number, number, number] = [nz, ny, nx, vols.length];
    if (shape && shape.join('x') !== here.join('x')) {
      throw new MriseqError('subjects have different volume sizes', {
        file: s.id,
        field: 'shape',
        found: here.join('x'),
        expected: shape.join('x'),
        code: 'classify.grid',
      });
    }
    shape = here;
    inputs.push(stackChannels(vols));
    labels.push(cls);
    references.push({ ...vols[0], data: new Float32Array(0) });
    options.onSubject?.(i + 1, usable.length);
  }
  return {
    shape: shape!,
    inputs,
    labels,
    ids: usable.map((s) => s.id),
    classNames,
    channels,
    references,
    ...(options.roi ? { roiOrigins: origins } : {}),
    ...(regionMasks.length ? { regionMasks } : {}),
  };
}

/**
 * Per-channel mean and standard deviation, for `standardizeChannels`.
 * @example
 * ```ts
 * import { standardizeChannels, type ChannelStandardization, type DownstreamDataset } from 'mriseq';
 * declare const d: DownstreamDataset; // with channels ['t1', 't2']
 * const st: ChannelStandardization = { channels: ['t1', 't2'], mean: [-0.4, -0.3], sd: [0.05, 0.08] };
 * console.log(standardizeChannels(d, st).inputs.length);
 * ```
 */
export interface ChannelStandardization {
  channels: string[];
  /** Centre per channel: the mean, or the median with `method: 'robust'`. */
  mean: number[];
  /** Scale per channel: the SD, or 1.4826 x the median absolute deviation with `method: 'robust'`. */
  sd: number[];
  /** How centre and scale were estimated (absent: 'sd'). */
  method?: StandardizeMethod;
  /** Standardised values beyond +-clip saturate there (absent: no window). */
  clip?: number;
}

/**
 * How channels are standardised: 'sd' (mean and SD) or 'robust' (median and MAD, then a window
 * of +-`clip` scale units, default 2).
 * @example
 * ```ts
 * import { type StandardizeMethod } from 'mriseq';
 * const m: StandardizeMethod = 'robust';
 * console.log(m);
 * ```
 */
export type StandardizeMethod = 'sd' | 'robust';

/**
 * Standardisation choice of a classifier run: true or 'sd' (mean and SD), 'robust' (median and
 * MAD with a +-2 window), or the method with its own window.
 * @example
 * ```ts
 * import { type StandardizeOption } from 'mriseq';
 * const s: StandardizeOption = { method: 'robust', clip: 3 };
 * console.log(s);
 * ```
 */
export type StandardizeOption = boolean | StandardizeMethod | { method: StandardizeMethod; clip?: number };

/**
 * The default window of the robust standardisation, in scale units (1.4826 MAD = 1 SD of a
 * normal): on the phantom, +-2 kept T1Gd's native necrosis contrast and saturated its enhancement
 * (group AUC 0.97 from T1Gd alone, against 0.76 at +-3 and 0.44 unwindowed; 240 subjects).
 * @example
 * ```ts
 * import { ROBUST_CLIP } from 'mriseq';
 * console.log(ROBUST_CLIP); // 2
 * ```
 */
export const ROBUST_CLIP = 2;

/** The method and window a {@link StandardizeOption} asks for (undefined: none). */
export function standardizeChoice(
  option: StandardizeOption | undefined,
): { method: StandardizeMethod; clip?: number } | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true || option === 'sd') return { method: 'sd' };
  if (option === 'robust') return { method: 'robust', clip: ROBUST_CLIP };
  if (typeof option === 'object' && (option.method === 'sd' || option.method === 'robust')) {
    const clip = option.clip ?? (option.method === 'robust' ? ROBUST_CLIP : undefined);
    if (clip !== undefined && !(Number.isFinite(clip) && clip > 0)) {
      throw new MriseqError('the standardisation window must be a positive number', {
        field: 'standardize.clip',
        found: String(clip),
        expected: 'a positive number of scale units (e.g. 2), or leave it out',
        code: 'classify.standardize',
      });
    }
    return { method: option.method, clip };
  }
  throw new MriseqError('unknown standardisation', {
    field: 'standardize',
    found: JSON.stringify(option),
    expected: "true, false, 'sd', 'robust' or { method: 'sd' | 'robust', clip?: number }",
    code: 'classify.standardize',
  });
}

/**
 * Mean and SD of each channel over a dataset's voxels (only the region's voxels when it has
 * `regionMasks`), or with `method: 'robust'` the median and 1.4826 x the median absolute
 * deviation (the SD of a normal distribution, estimated from its middle half). Compute them on
 * the training subjects only.
 *
 * Why robust: a minority compartment far brighter than the rest sets a channel's SD. On the
 * phantom, T1Gd's enhancement covers 15-30% of the lesion and is several times the native contrast
 * between necrosis and cellular tissue; standardised by the SD that contrast shrank to a fifth of
 * T1's, and a classifier on T1Gd alone overfit the random enhancement patterns (group AUC 0.47-0.61
 * against T1's 0.99). The median and MAD follow the native tissue, and the window (`clip`)
 * saturates the enhancement so it cannot dominate the first layers.
 * @param d - A dataset (the training part of a split).
 * @param options - `method` ('sd' default, or 'robust') and `clip`, the window recorded with the result.
 * @returns The channels' names, centres and scales (population SD, or scaled MAD), method and window.
 * @throws {@link MriseqError} when fewer than two voxels are counted (an empty region).
 * @example
 * ```ts
 * import { Cohort, buildDownstreamDataset, channelStatistics } from 'mriseq';
 * const d = await buildDownstreamDataset(Cohort.fromPhantom({ subjects: 8, size: [32, 32, 16] }), {
 *   label: 'lesionGroup',
 *   sequences: ['t1', 't2'],
 *   roi: { mask: 'lesion', size: [16, 16, 8], maskOutside: true },
 * });
 * const st = channelStatistics(d); // over the lesion voxels (runClassifier uses its training part only)
 * console.log(st.channels, st.mean, st.sd);
 * ```
 */
export function channelStatistics(
  d: DownstreamDataset,
  options: { method?: StandardizeMethod; clip?: number } = {},
): ChannelStandardization {
  const C = d.shape[3];
  if (options.method === 'robust') return robustStatistics(d, options.clip);
  const s1 = new Float64Array(C);
  const s2 = new Float64Array(C);
  let count = 0;
  d.inputs.forEach((x, j) => {
    const m = d.regionMasks?.[j];
    const n = x.length / C;
    for (let v = 0; v < n; v++) {
      if (m && !m[v]) continue;
      count++;
      for (let c = 0; c < C; c++) {
        const val = x[v * C + c];
        s1[c] += val;
        s2[c] += val * val;
      }
    }
  });
  checkRegionCount(count);
  const mean = Array.from(s1, (v) => v / count);
  const sd = Array.from(s2, (v, c) => Math.sqrt(Math.max(v / count - mean[c] * mean[c], 0)));
  return {
    channels: [...d.channels],
    mean,
    sd,
    ...(options.clip !== undefined ? { clip: options.clip } : {}),
  };
}

/** Standardisation needs at least two voxels in the training subjects' regions. */
function checkRegionCount(count: number): void {
  if (count < 2) {
    throw new MriseqError('too few voxels to standardise the channels', {
      field: 'regionMasks',
      found: `${count} voxels`,
      expected: 'a region of at least 2 voxels over the training subjects',
      code: 'classify.standardize',
    });
  }
}

/** Median and 1.4826 x MAD per channel over the region's voxels (see channelStatistics). */
function robustStatistics(d: DownstreamDataset, clip: number | undefined): ChannelStandardization {
  const C = d.shape[3];
  const mean: number[] = [];
  const sd: number[] = [];
  for (let c = 0; c < C; c++) {
    const vals: number[] = [];
    d.inputs.forEach((x, j) => {
      const m = d.regionMasks?.[j];
      const n = x.length / C;
      for (let v = 0; v < n; v++) if (!m || m[v]) vals.push(x[v * C + c]);
    });
    checkRegionCount(vals.length);
    // the 50th percentile with numpy's interpolation: the median, (a + b) / 2 for an even count
    const med = percentile(vals, 50);
    mean.push(med);
    sd.push(
      1.4826 *
        percentile(
          vals.map((v) => Math.abs(v - med)),
          50,
        ),
    );
  }
  return { channels: [...d.channels], mean, sd, method: 'robust', ...(clip !== undefined ? { clip } : {}) };
}

/**
 * (x - mean) / sd per channel (an SD of 0 divides by 1); voxels outside the region become 0,
 * the mean. The spec's [-1, 1] scaling keeps a volume's brightest tissue in range, so brain
 * tissues end up in a narrow band (the phantom's lesion T1: SD 0.04): standardising gives a
 * classifier's first ReLUs inputs that differ between tissues from the start.
 * @param d - The dataset to transform (train or test part).
 * @param stats - Statistics from {@link channelStatistics} of the training part, same channels.
 * @returns A copy of the dataset with standardised inputs.
 * @throws {@link MriseqError} when the statistics are for other channels.
 * @example
 * ```ts
 * import { Cohort, buildDownstreamDataset, channelStatistics, standardizeChannels } from 'mriseq';
 * const d = await buildDownstreamDataset(Cohort.fromPhantom({ subjects: 4, size: [32, 32, 16] }), {
 *   label: 'lesionGroup',
 *   sequences: ['t1'],
 *   downsample: 2,
 * });
 * const z = standardizeChannels(d, channelStatistics(d));
 * console.log(channelStatistics(z).mean, channelStatistics(z).sd); // about [0] and [1]
 * ```
 */
export function standardizeChannels(d: DownstreamDataset, stats: ChannelStandardization): DownstreamDataset {
  if (stats.channels.join('\u0000') !== d.channels.join('\u0000')) {
    throw new MriseqError('standardisation statistics are for other channels', {
      field: 'channels',
      found: d.channels.join(', '),
      expected: stats.channels.join(', '),
      code: 'classify.standardize',
    });
  }
  const C = d.shape[3];
  const inv = stats.sd.map((v) => (v > 0 ? 1 / v : 1));
  const lim = stats.clip ?? Infinity;
  return {
    ...d,
    inputs: d.inputs.map((x, j) => {
      const m = d.regionMasks?.[j];
      const out = new Float32Array(x.length);
      const n = x.length / C;
      for (let v = 0; v < n; v++) {
        if (m && !m[v]) continue;
        for (let c = 0; c < C; c++) {
          const z = (x[v * C + c] - stats.mean[c]) * inv[c];
          out[v * C + c] = z > lim ? lim : z < -lim ? -lim : z;
        }
      }
      return out;
    }),
  };
}

/**
 * A split's train and test parts through the transform `option` asks for, its statistics from the
 * training part only (none: the parts as they are).
 */
function standardizeSplit(
  split: { train: DownstreamDataset; test: DownstreamDataset },
  option: StandardizeOption | undefined,
): { train: DownstreamDataset; test: DownstreamDataset; standardization?: ChannelStandardization } {
  const choice = standardizeChoice(option);
  if (!choice) return { train: split.train, test: split.test };
  const standardization = channelStatistics(split.train, choice);
  return {
    train: standardizeChannels(split.train, standardization),
    test: standardizeChannels(split.test, standardization),
    standardization,
  };
}

function checkRoi(roi: RoiOptions): void {
  if (
    !Array.isArray(roi.size) ||
    roi.size.length !== 3 ||
    !roi.size.every((n) => Number.isInteger(n) && n >= 1)
  ) {
    throw new MriseqError('region of interest size must be three positive integers', {
      field: 'roi.size',
      found: JSON.stringify(roi.size),
      expected: '[nx, ny, nz] in voxels, e.g. [32, 32, 16]',
      code: 'classify.roi',
    });
  }
}

/** Where a subject's region box starts, and (with maskOutside) which box voxels are inside the map. */
async function regionOf(
  s: DownstreamSubject,
  roi: RoiOptions,
  grid: Volume,
): Promise<{ origin: [number, number, number]; inside?: Uint8Array }> {
  if (!s.mask) {
    throw new MriseqError('a region of interest needs label maps, which this cohort does not give', {
      file: s.id,
      field: 'roi.mask',
      found: roi.mask,
      expected: "a cohort whose subjects have mask(key) (Cohort: the manifest's mask columns)",
      code: 'classify.roi',
    });
  }
  let m: Volume;
  try {
    m = await s.mask(roi.mask);
  } catch (e) {
    throw new MriseqError('the label map of the region of interest could not be read', {
      file: s.id,
      field: 'roi.mask',
      found: `${roi.mask}: ${e instanceof Error ? e.message : String(e)}`,
      expected: "a label map of the subject ('lesion' on the phantom, 'seg' on BraTS)",
      code: 'classify.roi',
      cause: e,
    });
  }
  if (m.shape.slice(0, 3).join('x') !== grid.shape.slice(0, 3).join('x')) {
    throw new MriseqError('the label map is not on the grid of the sequences', {
      file: s.id,
      field: `roi.mask (${roi.mask})`,
      found: m.shape.join('x'),
      expected: grid.shape.slice(0, 3).join('x'),
      code: 'classify.roi',
    });
  }
  const c = maskBoxCentre(m);
  if (!c) {
    throw new MriseqError('the label map of the region of interest is empty', {
      file: s.id,
      field: `roi.mask (${roi.mask})`,
      found: 'no non-zero voxel',
      expected: 'a lesion (or other region) to centre the box on',
      code: 'classify.roi',
    });
  }
  const origin = c.map((ci, a) => Math.round(ci - (roi.size[a] - 1) / 2)) as [number, number, number];
  if (!roi.maskOutside) return { origin };
  const box = extractBox(m, origin, roi.size, 0);
  return { origin, inside: Uint8Array.from(box.data, (v) => (v > 0 ? 1 : 0)) };
}

/**
 * The same subjects with only the named channels, in the order given (e.g. one sequence of a
 * multi-sequence dataset, or the top-k by C_d). Labels, ids and split stay the same, so
 * classifiers trained on different channel sets are scored on the same held-out subjects.
 * @param d - A dataset from {@link buildDownstreamDataset}.
 * @param channels - Channel names to keep, in the order wanted.
 * @returns The same subjects with only those channels.
 * @throws {@link MriseqError} when a channel is not in the dataset or none is chosen.
 * @example
 * ```ts
 * import { Cohort, buildDownstreamDataset, selectChannels } from 'mriseq';
 * const d = await buildDownstreamDataset(Cohort.fromPhantom({ subjects: 6, size: [32, 32, 16] }), {
 *   label: 'highEnhancement',
 *   sequences: ['t1', 't1gd', 'flair'],
 *   downsample: 2,
 * });
 * console.log(selectChannels(d, ['t1gd']).shape); // [8, 16, 16, 1]
 * ```
 */
export function selectChannels(d: DownstreamDataset, channels: readonly string[]): DownstreamDataset {
  const keep = channels.map((name) => {
    const c = d.channels.indexOf(name);
    if (c < 0) {
      throw new MriseqError('channel is not in the dataset', {
        field: 'channels',
        found: name,
        expected: `one of ${d.channels.join(', ')}`,
        code: 'classify.channels',
      });
    }
    return c;
  });
  if (!keep.length) {
    throw new MriseqError('no input channels chosen', {
      field: 'channels',
      found: 'none',
      expected: `at least one of ${d.channels.join(', ')}`,
      code: 'classify.channels',
    });
  }
  const C = d.shape[3];
  const K = keep.length;
  return {
    ...d,
    shape: [d.shape[0], d.shape[1], d.shape[2], K],
    channels: keep.map((c) => d.channels[c]),
    inputs: d.inputs.map((x) => {
      const n = x.length / C;
      const out = new Float32Array(n * K);
      for (let v = 0; v < n; v++) for (let j = 0; j < K; j++) out[v * K + j] = x[v * C + keep[j]];
      return out;
    }),
  };
}

/** Seeded stratified train/test split of a dataset's subjects. */
export function splitDataset(
  d: DownstreamDataset,
  testFraction: number,
  seed: number,
): { train: DownstreamDataset; test: DownstreamDataset } {
  const rng = createRng(seed + 101);
  const byClass = new Map<number, number[]>();
  d.labels.forEach((l, i) => byClass.set(l, [...(byClass.get(l) ?? []), i]));
  const train: number[] = [];
  const test: number[] = [];
  for (const idx of byClass.values()) {
    const p = permutation(idx.length, rng).map((j) => idx[j]);
    const nt = Math.max(1, Math.round(idx.length * testFraction));
    test.push(...p.slice(0, nt));
    train.push(...p.slice(nt));
  }
  const pick = (idx: number[]): DownstreamDataset => ({
    ...d,
    inputs: idx.map((i) => d.inputs[i]),
    labels: idx.map((i) => d.labels[i]),
    ids: idx.map((i) => d.ids[i]),
    references: idx.map((i) => d.references[i]),
    ...(d.roiOrigins ? { roiOrigins: idx.map((i) => d.roiOrigins![i]) } : {}),
    ...(d.regionMasks ? { regionMasks: idx.map((i) => d.regionMasks![i]) } : {}),
  });
  return { train: pick(train.sort((a, b) => a - b)), test: pick(test.sort((a, b) => a - b)) };
}

export interface DownstreamRunOptions {
  model?: Omit<ResNet3dOptions, 'inputChannels' | 'classNames'>;
  train?: TrainClassifierOptions;
  testFraction?: number;
  seed?: number;
  bootstrap?: number;
  /**
   * Standardise each channel with statistics of the training subjects (inside the region when the
   * dataset has one) before training; the test subjects get the same transform (default false).
   * true or 'sd': mean and SD; 'robust': median and MAD with a +-2 window (see channelStatistics).
   */
  standardize?: StandardizeOption;
}

/**
 * What {@link runClassifier} returns.
 *
 * @example
 * ```ts
 * import { type DownstreamRun } from 'mriseq';
 * declare const run: DownstreamRun; // from runClassifier
 * console.log(run.name, run.channels, run.evaluation.auc, run.trainSubjects);
 * run.model.dispose();
 * ```
 */
export interface DownstreamRun {
  name: string;
  channels: string[];
  classNames: string[];
  trainSubjects: number;
  testIds: string[];
  evaluation: ClassifierEvaluation;
  probabilities: number[][];
  epochs: number;
  model: ResNet3d;
  /** The transform the model's inputs went through (with `standardize`): apply it to new data. */
  standardization?: ChannelStandardization;
}

/**
 * Trains one classifier on a dataset's train split and evaluates it on its test split.
 * The split is stratified and seeded (`testFraction` default 0.3), so runs with the same seed on
 * datasets of the same subjects test on the same subjects.
 *
 * @param name - Names the run in reports.
 * @param data - A dataset from {@link buildDownstreamDataset}.
 * @param options - Model options, training options, `testFraction`, `seed`, `bootstrap` resamples (1000).
 * @returns The test evaluation (AUC with CI, report), test ids and probabilities, epochs and the trained model.
 * @throws {@link MriseqError} as {@link trainClassifier}.
 * @example
 * ```ts
 * import { Cohort, buildDownstreamDataset, runClassifier, initEngine } from 'mriseq';
 * await initEngine();
 * const d = await buildDownstreamDataset(Cohort.fromPhantom({ subjects: 10, size: [32, 32, 16] }), {
 *   label: 'highEnhancement',
 *   sequences: ['t1gd'],
 *   downsample: 2,
 * });
 * const run = await runClassifier('t1gd only', d, { train: { epochs: 2 }, model: { spatialKernel: 3 }, bootstrap: 100 });
 * console.log(run.evaluation.auc, run.testIds);
 * run.model.dispose();
 * ```
 */
export async function runClassifier(
  name: string,
  data: DownstreamDataset,
  options: DownstreamRunOptions = {},
): Promise<DownstreamRun> {
  const seed = options.seed ?? 0;
  const split = splitDataset(data, options.testFraction ?? 0.3, seed);
  const { train, test, standardization } = standardizeSplit(split, options.standardize);
  const model = new ResNet3d({
    ...options.model,
    seed,
    inputChannels: data.channels,
    classNames: data.classNames,
  });
  const r = await trainClassifier(model, train, { seed, ...options.train });
  const probabilities = predictProbabilities(model, test);
  return {
    name,
    channels: data.channels,
    classNames: data.classNames,
    trainSubjects: train.inputs.length,
    testIds: test.ids,
    evaluation: evaluateClassifier(test.labels, probabilities, {
      seed,
      resamples: options.bootstrap ?? 1000,
    }),
    probabilities,
    epochs: r.epochs,
    model,
    standardization,
  };
}

export interface MapComparisonOptions extends DownstreamRunOptions {
  label: string;
  sequences: readonly string[];
  mapTargets: readonly string[];
  maps: MapProvider;
  downsample?: number;
  ids?: readonly string[];
  /** Intensity normalisation of the sequence channels (see DownstreamDatasetOptions.normalize). */
  normalize?: (v: Volume) => Volume;
}

/**
 * Claim 3: the same classifier on MRI alone and on MRI + M_d channels, same subjects, same split,
 * same seed. Returns both runs and the AUC difference (positive: M_d helped).
 * The paper's claim 3: the same classifier on MRI alone and on MRI + M_d channels, same subjects,
 * same split, same seed.
 *
 * @param cohort - The subjects (a {@link Cohort} fits).
 * @param options - Label, sequences, M_d targets and their provider, downsampling, ids, and {@link runClassifier}'s options.
 * @returns Both runs and the AUC difference (positive: M_d helped).
 * @throws {@link MriseqError} as {@link buildDownstreamDataset} and {@link runClassifier}.
 * @example
 * ```ts
 * import { Cohort, compareWithMaps, subtractionMapProvider, initEngine } from 'mriseq';
 * await initEngine();
 * const r = await compareWithMaps(Cohort.fromPhantom({ subjects: 10, size: [32, 32, 16] }), {
 *   label: 'highEnhancement',
 *   sequences: ['t1gd'],
 *   mapTargets: ['t1gd'],
 *   maps: subtractionMapProvider(), // a baseline; use differentiationMapProvider for M_d
 *   downsample: 2,
 *   train: { epochs: 2 },
 *   model: { spatialKernel: 3 },
 * });
 * console.log(r.aucGain);
 * ```
 */
export async function compareWithMaps(
  cohort: DownstreamCohort,
  options: MapComparisonOptions,
): Promise<{ mri: DownstreamRun; mriWithMaps: DownstreamRun; aucGain: number }> {
  const both = await buildDownstreamDataset(cohort, {
    ...options,
    mapTargets: options.mapTargets,
    maps: options.maps,
  });
  const mriOnly = selectChannels(both, both.channels.slice(0, options.sequences.length));
  const mri = await runClassifier('MRI', mriOnly, options);
  const mriWithMaps = await runClassifier('MRI + M_d', both, options);
  return { mri, mriWithMaps, aucGain: mriWithMaps.evaluation.auc - mri.evaluation.auc };
}

/**
 * A two-level class tree from a { group: [subtypes] } table (e.g. the phantom's LESION_HIERARCHY).
 * @param name - The root's name.
 * @param groups - Group name → its subtypes.
 * @returns The class tree root → groups → subtypes.
 * @example
 * ```ts
 * import { LESION_HIERARCHY, treeFromGroups, treeLeaves } from 'mriseq';
 * console.log(treeLeaves(treeFromGroups('lesion', LESION_HIERARCHY)));
 * ```
 */
export function treeFromGroups(name: string, groups: Readonly<Record<string, readonly string[]>>): ClassTree {
  return {
    name,
    children: Object.entries(groups).map(([g, subs]) => ({
      name: g,
      children: subs.map((s) => ({ name: s })),
    })),
  };
}

/**
 * What {@link runHierarchical} returns.
 *
 * @example
 * ```ts
 * import { type HierarchicalRun } from 'mriseq';
 * declare const r: HierarchicalRun; // from runHierarchical
 * console.log(r.leaves, r.perLeafAuc, r.probabilities[0]);
 * r.classifier.dispose();
 * ```
 */
export interface HierarchicalRun {
  leaves: string[];
  groups: string[];
  /** One-vs-rest macro AUC over the leaves (subtypes), with bootstrap CI. */
  leafAuc: ReturnType<typeof aucWithCi>;
  /** AUC of the first split (group level; macro OvR when more than two groups). */
  groupAuc: ReturnType<typeof aucWithCi>;
  perLeafAuc: number[];
  testIds: string[];
  /** Leaf probabilities of each test subject (rows in `testIds` order, columns in `leaves` order). */
  probabilities: number[][];
  /** Leaf index (into `leaves`) of each test subject's true class: with `probabilities`, for ROC curves. */
  testLabels: number[];
  classifier: HierarchicalClassifier;
  /** The transform the models' inputs went through (with `standardize`). */
  standardization?: ChannelStandardization;
}

/**
 * The origin-classification pattern: a tree of classifiers, leaf probabilities down the tree.
 * @param data - A dataset whose labels are the tree's leaves.
 * @param tree - The class tree (see {@link treeFromGroups}).
 * @param options - As {@link runClassifier}.
 * @returns AUCs at the leaf and group level with CIs, per-leaf AUCs, test ids, leaf probabilities and the classifier.
 * @throws {@link MriseqError} when labels are not leaves of the tree or the test split holds fewer than two subtypes.
 * @example
 * ```ts
 * import { Cohort, LESION_HIERARCHY, buildDownstreamDataset, runHierarchical, treeFromGroups, initEngine } from 'mriseq';
 * await initEngine();
 * const d = await buildDownstreamDataset(Cohort.fromPhantom({ subjects: 16, size: [32, 32, 16] }), {
 *   label: 'lesionType',
 *   sequences: ['t2', 'flair'],
 *   downsample: 2,
 * });
 * const r = await runHierarchical(d, treeFromGroups('lesion', LESION_HIERARCHY), { train: { epochs: 2 }, bootstrap: 100 });
 * console.log(r.leafAuc.auc, r.groupAuc.auc);
 * r.classifier.dispose();
 * ```
 */
export async function runHierarchical(
  data: DownstreamDataset,
  tree: ClassTree,
  options: DownstreamRunOptions = {},
): Promise<HierarchicalRun> {
  const seed = options.seed ?? 0;
  const leaves = treeLeaves(tree);
  const missing = data.classNames.filter((c) => !leaves.includes(c));
  if (missing.length) {
    throw new MriseqError('label values are not leaves of the class tree', {
      field: 'tree',
      found: missing.join(', '),
      expected: leaves.join(', '),
      code: 'classify.tree',
    });
  }
  const remapped: DownstreamDataset = {
    ...data,
    labels: data.labels.map((l) => leaves.indexOf(data.classNames[l])),
  };
  const split = splitDataset(remapped, options.testFraction ?? 0.3, seed);
  const { train, test, standardization } = standardizeSplit(split, options.standardize);
  const h = new HierarchicalClassifier(tree, { ...options.model, seed, inputChannels: data.channels });
  await h.fit(train, { seed, ...options.train });
  const { leaf } = h.predict(test);
  const g = h.groupProbabilities(leaf);
  const groupOf = leaves.map((l) => tree.children!.findIndex((c) => treeLeaves(c).includes(l)));
  const yGroup = test.labels.map((l) => groupOf[l]);
  const B = options.bootstrap ?? 1000;
  // One-vs-rest AUC is defined only for leaves present among the test subjects (a small cohort
  // may lack a subtype); the macro average runs over those, and the others report NaN.
  const present = leaves.map((_, c) => c).filter((c) => test.labels.includes(c));
  if (present.length < 2) {
    throw new MriseqError('the test split holds fewer than two subtypes', {
      field: 'testFraction',
      found: `${present.length} subtype(s) in ${test.inputs.length} test subjects`,
      expected: 'more subjects or a larger test fraction',
      code: 'classify.split',
    });
  }
  const yLeaf = test.labels.map((l) => present.indexOf(l));
  const pLeaf = leaf.map((row) => present.map((c) => row[c]));
  const per = multiclassAuc(yLeaf, pLeaf).perClass;
  return {
    leaves,
    groups: g.groups,
    leafAuc: aucWithCi(yLeaf, present.length === 2 ? pLeaf.map((r) => r[1]) : pLeaf, { seed, resamples: B }),
    groupAuc:
      g.groups.length === 2
        ? aucWithCi(
            yGroup,
            g.p.map((r) => r[1]),
            { seed, resamples: B },
          )
        : aucWithCi(yGroup, g.p, { seed, resamples: B }),
    perLeafAuc: leaves.map((_, c) => (present.includes(c) ? per[present.indexOf(c)] : NaN)),
    testIds: test.ids,
    probabilities: leaf,
    testLabels: test.labels,
    classifier: h,
    standardization,
  };
}

export interface DownstreamStudyOptions extends DownstreamRunOptions {
  /** Label whose evidence lives in a unique region (default 'highEnhancement'). */
  label?: string;
  sequences?: readonly string[];
  mapTargets?: readonly string[];
  /** M_d provider; without it the MRI + M_d comparison is skipped (never faked). */
  maps?: MapProvider;
  /** Label of the origin task (default 'lesionType') and its groups (default: the phantom's). */
  hierarchyLabel?: string;
  groups?: Readonly<Record<string, readonly string[]>>;
  downsample?: number;
  /** Subjects to use (default all with the sequences and a label). */
  ids?: readonly string[];
  onStage?: (stage: string) => void;
}

/**
 * One row of {@link downstreamStudy}'s table.
 *
 * @example
 * ```ts
 * import { type DownstreamStudyRow } from 'mriseq';
 * const row: DownstreamStudyRow = { task: 'highEnhancement', input: 'MRI + M_d', auc: 0.81, ci95: [0.7, 0.9], testSubjects: 30 };
 * console.log(row.auc);
 * ```
 */
export interface DownstreamStudyRow {
  task: string;
  input: string;
  auc: number;
  ci95: [number, number];
  testSubjects: number;
}

/**
 * The phantom's downstream study in one call: MRI alone vs MRI + M_d on `label`, and the
 * hierarchical origin classification on `hierarchyLabel`. Rows hold measured AUCs with CIs.
 * @param cohort - The subjects (a phantom {@link Cohort} by default labels).
 * @param options - Labels, sequences, M_d targets and provider (without one the comparison is skipped), groups, downsampling, ids, `onStage`, and {@link runClassifier}'s options.
 * @returns Table rows (task, input, AUC, CI, test subjects), the AUC gain of M_d when compared, and the hierarchical run.
 * @throws {@link MriseqError} as {@link compareWithMaps} and {@link runHierarchical}.
 * @example
 * ```ts
 * import { Cohort, downstreamStudy, initEngine } from 'mriseq';
 * await initEngine();
 * const { rows } = await downstreamStudy(Cohort.fromPhantom({ subjects: 16, size: [32, 32, 16] }), {
 *   downsample: 2,
 *   train: { epochs: 2 },
 *   onStage: console.log,
 * });
 * console.table(rows);
 * ```
 */
export async function downstreamStudy(
  cohort: DownstreamCohort,
  options: DownstreamStudyOptions = {},
): Promise<{ rows: DownstreamStudyRow[]; comparison?: { aucGain: number }; hierarchical: HierarchicalRun }> {
  const label = options.label ?? 'highEnhancement';
  const sequences = options.sequences ?? ['t1', 't1gd', 't2', 'flair'];
  const rows: DownstreamStudyRow[] = [];
  const row = (task: string, r: DownstreamRun): DownstreamStudyRow => ({
    task,
    input: r.channels.join('+'),
    auc: r.evaluation.auc,
    ci95: r.evaluation.ci95,
    testSubjects: r.testIds.length,
  });
  let comparison: { aucGain: number } | undefined;
  if (options.maps) {
    options.onStage?.(`${label}: MRI vs MRI + M_d`);
    const c = await compareWithMaps(cohort, {
      ...options,
      label,
      sequences,
      mapTargets: options.mapTargets ?? ['t1gd'],
      maps: options.maps,
    });
    rows.push(row(label, c.mri), row(label, c.mriWithMaps));
    comparison = { aucGain: c.aucGain };
    c.mri.model.dispose();
    c.mriWithMaps.model.dispose();
  } else {
    options.onStage?.(`${label}: MRI`);
    const d = await buildDownstreamDataset(cohort, {
      label,
      sequences,
      downsample: options.downsample,
      ids: options.ids,
    });
    const r = await runClassifier('MRI', d, options);
    rows.push(row(label, r));
    r.model.dispose();
  }
  const hierarchyLabel = options.hierarchyLabel ?? 'lesionType';
  options.onStage?.(`${hierarchyLabel}: hierarchical`);
  const data = await buildDownstreamDataset(cohort, {
    label: hierarchyLabel,
    sequences,
    downsample: options.downsample,
    ids: options.ids,
  });
  const hierarchical = await runHierarchical(
    data,
    treeFromGroups(hierarchyLabel, options.groups ?? LESION_HIERARCHY),
    options,
  );
  const input = data.channels.join('+');
  rows.push(
    {
      task: `${hierarchyLabel} (subtypes, hierarchical)`,
      input,
      auc: hierarchical.leafAuc.auc,
      ci95: hierarchical.leafAuc.ci95,
      testSubjects: hierarchical.testIds.length,
    },
    {
      task: `${hierarchyLabel} (group level)`,
      input,
      auc: hierarchical.groupAuc.auc,
      ci95: hierarchical.groupAuc.ci95,
      testSubjects: hierarchical.testIds.length,
    },
  );
  return { rows, comparison, hierarchical };
}
