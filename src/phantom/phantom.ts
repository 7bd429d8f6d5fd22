/**
 * The simulated cohort ("phantom"): physics-based multi-sequence head volumes with known answers,
 * generated lazily and deterministically from a seed (shared/spec/phantom.md). Browser-safe.
 *
 * Every subject is a pure function of (seed, index, options): a cohort of 20,000 subjects costs
 * nothing until a subject is asked for, and subject i is the same whatever the cohort size.
 * Labels and missingness come from their own random streams, so they are cheap to list
 * (`info`) and switching missingness on does not change any subject's anatomy.
 */
import type { Volume } from '../volume/index.js';
import { MriseqError } from '../errors/index.js';
import { Rng } from '../random/index.js';
import { smoothField, type FieldOptions } from './field.js';
import {
  TISSUE,
  TISSUE_PROPERTIES,
  SEQUENCE_PARAMETERS,
  spinEcho,
  inversionRecovery,
  flairNullTI,
  contrastT1,
  diffusion,
  type TissueProperties,
} from './physics.js';

/**
 * Sequence keys the phantom can emit (team convention; BraTS files call t1gd "t1ce").
 * @example
 * ```ts
 * import { phantom, type PhantomSequence } from 'mriseq';
 * const target: PhantomSequence = 't1gd';
 * console.log(phantom({ size: [32, 32, 16] }).subject(0).volumes[target]?.shape);
 * ```
 */
export type PhantomSequence = 't1' | 't1gd' | 't2' | 'flair' | 'dwi' | 'dce';

/**
 * The two-level lesion hierarchy: group -> subtypes.
 * @example
 * ```ts
 * import { LESION_HIERARCHY } from 'mriseq';
 * console.log(LESION_HIERARCHY.necrotic); // ['necrotic-oedematous', 'necrotic-compact']
 * ```
 */
export const LESION_HIERARCHY = {
  necrotic: ['necrotic-oedematous', 'necrotic-compact'],
  solid: ['solid-oedematous', 'solid-compact'],
} as const;
/**
 * The top level of the lesion hierarchy: 'necrotic' or 'solid'.
 *
 * @example
 * ```ts
 * import { phantom, type LesionGroup } from 'mriseq';
 * const group: LesionGroup = phantom().info(0).labels.lesionGroup;
 * console.log(group === 'necrotic' ? 'has a necrotic core' : 'solid');
 * ```
 */
export type LesionGroup = keyof typeof LESION_HIERARCHY;
/**
 * The lesion subtype: the group plus 'oedematous' or 'compact'.
 *
 * @example
 * ```ts
 * import { type LesionType } from 'mriseq';
 * const t: LesionType = 'solid-compact';
 * console.log(t);
 * ```
 */
export type LesionType = (typeof LESION_HIERARCHY)[LesionGroup][number];
/**
 * The four lesion subtypes (leaves of {@link LESION_HIERARCHY}), in label order.
 *
 * @example
 * ```ts
 * import { LESION_TYPES, phantom } from 'mriseq';
 * const info = phantom().info(0);
 * console.log(LESION_TYPES.indexOf(info.labels.lesionType));
 * ```
 */
export const LESION_TYPES: readonly LesionType[] = [
  'necrotic-oedematous',
  'necrotic-compact',
  'solid-oedematous',
  'solid-compact',
];

/**
 * DCE kinetic curve types (wash-in then persistent rise, plateau, or wash-out).
 * @example
 * ```ts
 * import { phantom, type KineticCurve } from 'mriseq/browser';
 * const k: KineticCurve = phantom().info(0).labels.kinetics;
 * console.log(k);
 * ```
 */
export type KineticCurve = 'persistent' | 'plateau' | 'washout';

/**
 * Lesion compartment labels of truth.lesion.
 * @example
 * ```ts
 * import { LESION, phantom } from 'mriseq';
 * const lesion = phantom({ size: [32, 32, 16] }).subject(0).truth.lesion;
 * console.log(lesion.data.filter((v) => v === LESION.oedema).length, 'oedema voxels');
 * ```
 */
export const LESION = { none: 0, necroticCore: 1, oedema: 2, cellularCore: 3 } as const;

/**
 * Subject-level labels and where their evidence lives:
 * - lesionGroup: necrotic core present or not (T1, T2, FLAIR see the necrosis).
 * - lesionType: group + oedema extent relative to the core (T2/FLAIR).
 * - highEnhancement: 1 when 24-30% of the lesion enhances, 0 when 15-19%: visible only through
 *   contrast, i.e. mainly in T1Gd's unique region (the label M_d should help with).
 * - kinetics: the DCE curve of the enhancing lesion (washout half the time, else plateau or
 *   persistent), drawn independently of the lesion type: visible only in the DCE series' time
 *   course, the kinetics-dependent label of the breast study (the paper's pCR task).
 * - washout: 1 when kinetics is 'washout' (the binary form of that label).
 * @example
 * ```ts
 * import { phantom, type PhantomLabels } from 'mriseq';
 * const labels: PhantomLabels = phantom().info(0).labels;
 * console.log(labels.lesionGroup, labels.enhancingFraction.toFixed(2), labels.kinetics);
 * ```
 */
export interface PhantomLabels {
  lesionGroup: LesionGroup;
  lesionType: LesionType;
  highEnhancement: 0 | 1;
  /** Designed fraction of lesion voxels with contrast (C > 0). */
  enhancingFraction: number;
  kinetics: KineticCurve;
  washout: 0 | 1;
}

/**
 * The 4D DCE series of the phantom (`dce: true` or these options).
 *
 * @example
 * ```ts
 * import { phantom, type DceOptions } from 'mriseq/browser';
 * const dce: DceOptions = { phases: 4, interval: 30 };
 * console.log(phantom({ dce, size: [32, 32, 16] }).subject(0).volumes.dce?.shape); // [32, 32, 16, 4]
 * ```
 */
export interface DceOptions {
  /** Number of phases, the first pre-contrast (default 6). */
  phases?: number;
  /** Time between phases in seconds (default 60). */
  interval?: number;
}

/**
 * Options of {@link phantom}.
 *
 * @example
 * ```ts
 * import { phantom, type PhantomOptions } from 'mriseq';
 * const options: PhantomOptions = { subjects: 40, seed: 7, size: [48, 48, 24], missing: 0.1, dwi: true };
 * console.log(phantom(options).sequences); // ['t1', 't1gd', 't2', 'flair', 'dwi']
 * ```
 */
export interface PhantomOptions {
  /** Number of subjects in the cohort (default 100). Subjects are made only when asked for. */
  subjects?: number;
  /** Cohort seed (default 0). */
  seed?: number;
  /** Volume size in voxels [nx, ny, nz] (default [64, 64, 32]; up to BraTS-like [240, 240, 155]). */
  size?: readonly [number, number, number];
  /** Probability that each sequence is missing for a subject (default 0; at least 2 stay). */
  missing?: number;
  /** Emit DWI as a fifth sequence (default false). */
  dwi?: boolean;
  /** Emit a 4D DCE series (default false). */
  dce?: boolean | DceOptions;
  /** Target fraction of head voxels in T1Gd's unique mask (default 0.2). */
  uniqueFraction?: number;
  /** Rician noise standard deviation as a fraction of each sequence's brightest tissue (default 0.02). */
  noise?: number;
  /** Strength of the smooth multiplicative bias field, exp(bias * field) (default 0.1). */
  bias?: number;
  /** A voxel is unique when the unique property changes its signal by more than this many noise SDs (default 2). */
  uniqueThreshold?: number;
  /** Subject id prefix (default 'sim-'). */
  idPrefix?: string;
}

/**
 * The phantom's options after {@link resolvePhantomOptions}: every field set (`dce` null when off).
 *
 * @example
 * ```ts
 * import { phantom, type ResolvedPhantomOptions } from 'mriseq/browser';
 * const o: ResolvedPhantomOptions = phantom({ subjects: 5 }).options;
 * console.log(o.seed, o.noise, o.dce);
 * ```
 */
export interface ResolvedPhantomOptions {
  subjects: number;
  seed: number;
  size: readonly [number, number, number];
  missing: number;
  dwi: boolean;
  dce: Required<DceOptions> | null;
  uniqueFraction: number;
  noise: number;
  bias: number;
  uniqueThreshold: number;
  idPrefix: string;
}

/**
 * What is known about a subject without making its volumes.
 * @example
 * ```ts
 * import { phantom, type PhantomSubjectInfo } from 'mriseq';
 * const info: PhantomSubjectInfo = phantom({ missing: 0.2 }).info(3);
 * console.log(info.id, info.missing);
 * ```
 */
export interface PhantomSubjectInfo {
  id: string;
  index: number;
  /** Sequences present for this subject. */
  sequences: PhantomSequence[];
  /** Sequences dropped by random missingness. */
  missing: PhantomSequence[];
  labels: PhantomLabels;
}

/**
 * The ground truth of a phantom subject: label maps, unique-information masks, property maps and
 * the acquisition's noise and bias.
 *
 * @example
 * ```ts
 * import { phantom, type PhantomTruth } from 'mriseq';
 * const truth: PhantomTruth = phantom({ size: [32, 32, 16] }).subject(0).truth;
 * console.log(truth.importanceOrder, truth.noiseSigma.t1gd);
 * ```
 */
export interface PhantomTruth {
  /** Tissue labels (TISSUE: 0 background ... 7 cellular core), uint8. */
  tissue: Volume;
  /** Lesion compartments (LESION: 0 none, 1 necrotic, 2 oedema, 3 cellular core), uint8. */
  lesion: Volume;
  /** BraTS-style segmentation: 1 non-enhancing core, 2 oedema, 4 enhancing lesion, uint8. */
  seg: Volume;
  /**
   * Unique-information masks (uint8) for every sequence of the design, present or missing:
   * - t1gd: voxels where the contrast C changes the T1Gd signal by more than uniqueThreshold
   *   noise SDs (noise-free signal with bias). Only T1Gd (and DCE) see C.
   * - dwi: voxels where the true ADC changes the DWI signal beyond that threshold compared with the
   *   ADC the tissue class would have. The tissue class (hence its nominal ADC) is visible in
   *   T1/T2/FLAIR, so only departures from it (restricted diffusion) are information that DWI alone
   *   holds.
   * - t1, t2, flair: empty: they see only PD, T1 and T2, which other sequences see too.
   * - dce: where the contrast changes any phase beyond the threshold (it shares C with T1Gd; its
   *   kinetics are its own).
   */
  unique: Partial<Record<PhantomSequence, Volume>>;
  /** Fraction of head voxels in each unique mask. */
  uniqueFraction: Partial<Record<PhantomSequence, number>>;
  /** The designed importance order (most unique signal first; T1 last; the middle is not asserted). */
  importanceOrder: PhantomSequence[];
  /** Property maps: pd, t1 (ms), t2 (ms), adc (mm^2/s), contrast C (mM), float32. */
  maps: { pd: Volume; t1: Volume; t2: Volume; adc: Volume; contrast: Volume };
  /** The multiplicative bias field shared by all sequences. */
  biasField: Volume;
  /** Noise standard deviation of each sequence (intensity units). */
  noiseSigma: Partial<Record<PhantomSequence, number>>;
  /** FLAIR inversion time of this subject (ms): nulls its CSF. */
  flairTI: number;
}

/**
 * One simulated subject: its info, volumes and truth (see {@link simulateSubject}).
 *
 * @example
 * ```ts
 * import { phantom, type PhantomSubject } from 'mriseq';
 * const s: PhantomSubject = phantom({ size: [32, 32, 16] }).subject('sim-00000');
 * console.log(Object.keys(s.volumes), s.truth.seg.datatype);
 * ```
 */
export interface PhantomSubject extends PhantomSubjectInfo {
  /** Raw positive intensities of the present sequences (normalisation is the loader's job). */
  volumes: Partial<Record<PhantomSequence, Volume>>;
  truth: PhantomTruth;
}

const DEFAULTS = {
  subjects: 100,
  seed: 0,
  size: [64, 64, 32] as const,
  missing: 0,
  uniqueFraction: 0.2,
  noise: 0.02,
  bias: 0.1,
  uniqueThreshold: 2,
  idPrefix: 'sim-',
};

/** Contrast concentrations (mM): the floor keeps every enhancing voxel well above noise. */
const C_FLOOR = 0.15;
// An enhancing tumour takes up more gadolinium than vessels' and dura's faint patches (its T1'
// falls to about fat's, as on BraTS's T1Gd). With the outside floor (0.15 mM) the lesion's
// enhancement was 0.42 in normalised units, no more than the generator's error on the rare
// non-enhancing lesion tissue (0.2-0.3 from T2/FLAIR after 6,000-12,000 steps), so M_d(T1Gd) could
// not tell the two apart (lesion AUC 0.68-0.84); 0.4 mM makes it 0.59.
const C_LESION_FLOOR = 0.4;
const C_LESION_MAX = 1.0;
const C_OUTSIDE_MAX = 0.8;
/** Restricted diffusion lowers the cellular core's ADC by this factor. */
const RESTRICTED_ADC_FACTOR = 0.45;

/**
 * The phantom's options with every default filled in and every value checked.
 *
 * @param options - {@link PhantomOptions}.
 * @returns The {@link ResolvedPhantomOptions}.
 * @throws {@link MriseqError} 'phantom.option' for a value out of range (e.g. size outside 8..512).
 * @example
 * ```ts
 * import { resolvePhantomOptions } from 'mriseq/browser';
 * console.log(resolvePhantomOptions({ subjects: 10 }).size); // [64, 64, 32]
 * ```
 */
export function resolvePhantomOptions(options: PhantomOptions = {}): ResolvedPhantomOptions {
  const size = options.size ?? DEFAULTS.size;
  const check = (ok: boolean, field: string, found: unknown, expected: string): void => {
    if (!ok)
      throw new MriseqError('invalid phantom option', {
        field,
        found: String(found),
        expected,
        code: 'phantom.option',
      });
  };
  check(
    Array.isArray(size) && size.length === 3 && size.every((n) => Number.isInteger(n) && n >= 8 && n <= 512),
    'size',
    size,
    'three integers between 8 and 512',
  );
  const subjects = options.subjects ?? DEFAULTS.subjects;
  check(Number.isInteger(subjects) && subjects >= 1, 'subjects', subjects, 'a positive integer');
  const seed = options.seed ?? DEFAULTS.seed;
  check(Number.isInteger(seed) && seed >= 0, 'seed', seed, 'a non-negative integer');
  const missing = options.missing ?? DEFAULTS.missing;
  check(missing >= 0 && missing < 1, 'missing', missing, 'a probability in [0, 1)');
  const uniqueFraction = options.uniqueFraction ?? DEFAULTS.uniqueFraction;
  check(
    uniqueFraction >= 0 && uniqueFraction <= 0.6,
    'uniqueFraction',
    uniqueFraction,
    'a fraction in [0, 0.6]',
  );
  const noise = options.noise ?? DEFAULTS.noise;
  check(noise >= 0 && noise < 1, 'noise', noise, 'a fraction in [0, 1)');
  const bias = options.bias ?? DEFAULTS.bias;
  check(bias >= 0 && bias < 2, 'bias', bias, 'a strength in [0, 2)');
  const uniqueThreshold = options.uniqueThreshold ?? DEFAULTS.uniqueThreshold;
  check(uniqueThreshold >= 0, 'uniqueThreshold', uniqueThreshold, 'a non-negative number of noise SDs');
  let dce: Required<DceOptions> | null = null;
  if (options.dce) {
    const d = options.dce === true ? {} : options.dce;
    dce = { phases: d.phases ?? 6, interval: d.interval ?? 60 };
    check(Number.isInteger(dce.phases) && dce.phases >= 2, 'dce.phases', dce.phases, 'an integer >= 2');
    check(dce.interval > 0, 'dce.interval', dce.interval, 'a positive number of seconds');
  }
  const resolved: ResolvedPhantomOptions = {
    subjects,
    seed,
    size: [size[0], size[1], size[2]],
    missing,
    dwi: options.dwi ?? false,
    dce,
    uniqueFraction,
    noise,
    bias,
    uniqueThreshold,
    idPrefix: options.idPrefix ?? DEFAULTS.idPrefix,
  };
  resolvedSet.add(resolved);
  return resolved;
}

/**
 * The sequences a phantom with these options emits, in canonical order.
 * @param o - A phantom's resolved options.
 * @returns t1, t1gd, t2, flair, then dwi and dce when emitted.
 * @example
 * ```ts
 * import { phantomSequences, resolvePhantomOptions } from 'mriseq/browser';
 * console.log(phantomSequences(resolvePhantomOptions({ dce: true }))); // [..., 'dce']
 * ```
 */
export function phantomSequences(o: ResolvedPhantomOptions): PhantomSequence[] {
  const s: PhantomSequence[] = ['t1', 't1gd', 't2', 'flair'];
  if (o.dwi) s.push('dwi');
  if (o.dce) s.push('dce');
  return s;
}

/**
 * Designed importance: the physically unique sequences first, T1 (a near-copy of T1Gd) last.
 * @param o - A phantom's resolved options (`phantom().options`): DCE and DWI join the order when emitted.
 * @returns The sequences most-unique first: t1gd, [dce], [dwi], flair, t2, t1.
 * @example
 * ```ts
 * import { designedImportanceOrder, phantom } from 'mriseq';
 * console.log(designedImportanceOrder(phantom({ dwi: true }).options)); // ['t1gd','dwi','flair','t2','t1']
 * ```
 */
export function designedImportanceOrder(o: ResolvedPhantomOptions): PhantomSequence[] {
  const order: PhantomSequence[] = ['t1gd'];
  if (o.dce) order.push('dce');
  if (o.dwi) order.push('dwi');
  order.push('flair', 't2', 't1');
  return order;
}

/**
 * The id of phantom subject `index`: the prefix and the index padded to 5 digits.
 *
 * @param index - Subject index.
 * @param prefix - Id prefix (default 'sim-').
 * @returns The id, e.g. 'sim-00042'.
 * @example
 * ```ts
 * import { phantomSubjectId } from 'mriseq/browser';
 * console.log(phantomSubjectId(42)); // 'sim-00042'
 * ```
 */
export function phantomSubjectId(index: number, prefix = DEFAULTS.idPrefix): string {
  return `${prefix}${String(index).padStart(5, '0')}`;
}

/**
 * Labels and missingness only: no volumes, microseconds per subject.
 * @param index - Subject index in [0, subjects).
 * @param options - The cohort's options (or a Phantom's resolved `options`).
 * @returns Id, present and missing sequences, and the subject's labels.
 * @throws {@link MriseqError} 'phantom.index' for an index outside the cohort, or for invalid options.
 * @example
 * ```ts
 * import { phantomSubjectInfo } from 'mriseq';
 * const info = phantomSubjectInfo(0, { subjects: 5, missing: 0.3 });
 * console.log(info.sequences, info.missing, info.labels.highEnhancement);
 * ```
 */
export function phantomSubjectInfo(
  index: number,
  options: PhantomOptions | ResolvedPhantomOptions = {},
): PhantomSubjectInfo {
  const o = isResolved(options) ? options : resolvePhantomOptions(options);
  if (!Number.isInteger(index) || index < 0 || index >= o.subjects)
    throw new MriseqError('no such phantom subject', {
      field: 'index',
      found: String(index),
      expected: `an integer in [0, ${o.subjects})`,
      code: 'phantom.index',
    });
  const design = Rng.stream(o.seed, index, 'design');
  const lesionGroup: LesionGroup = design.next() < 0.5 ? 'necrotic' : 'solid';
  const oedematous = design.next() < 0.5;
  const lesionType = `${lesionGroup}-${oedematous ? 'oedematous' : 'compact'}` as LesionType;
  const highEnhancement: 0 | 1 = design.next() < 0.5 ? 1 : 0;
  const enhancingFraction = highEnhancement ? design.uniform(0.24, 0.3) : design.uniform(0.15, 0.19);
  // Its own stream: drawing it does not move any other draw, so the default phantom (no DCE, where
  // kinetics has no effect) keeps every volume. Tying the curve to the lesion type, as before,
  // made it predictable from T1/T2 (necrosis, oedema), so a kinetics label needed no DCE at all.
  const kin = Rng.stream(o.seed, index, 'kinetics');
  const washout: 0 | 1 = kin.next() < 0.5 ? 1 : 0;
  const kinetics: KineticCurve = washout ? 'washout' : kin.next() < 0.5 ? 'plateau' : 'persistent';

  const all = phantomSequences(o);
  const miss = Rng.stream(o.seed, index, 'missing');
  const present = all.map(() => miss.next() >= o.missing);
  // Keep at least two sequences so that every subject offers a source -> target pair.
  const order = all.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = miss.int(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  for (const i of order) {
    if (present.filter(Boolean).length >= 2) break;
    present[i] = true;
  }
  return {
    id: phantomSubjectId(index, o.idPrefix),
    index,
    sequences: all.filter((_, i) => present[i]),
    missing: all.filter((_, i) => !present[i]),
    labels: { lesionGroup, lesionType, highEnhancement, enhancingFraction, kinetics, washout },
  };
}

const resolvedSet = new WeakSet<object>();

function isResolved(o: PhantomOptions | ResolvedPhantomOptions): o is ResolvedPhantomOptions {
  return resolvedSet.has(o);
}

/**
 * Voxel spacing (mm) giving a BraTS-like 240 x 240 x 155 mm field of view.
 * @param size - Volume size [nx, ny, nz] in voxels.
 * @returns Spacing in mm: 240/nx, 240/ny, 155/nz.
 * @example
 * ```ts
 * import { phantomSpacing } from 'mriseq/browser';
 * console.log(phantomSpacing([64, 64, 32])); // [3.75, 3.75, 4.84375]
 * ```
 */
export function phantomSpacing(size: readonly number[]): [number, number, number] {
  return [240 / (size[0] as number), 240 / (size[1] as number), 155 / (size[2] as number)];
}

function affineFor(size: readonly number[], spacing: readonly number[]): number[][] {
  const a: number[][] = [];
  for (let r = 0; r < 3; r++) {
    const row = [0, 0, 0, -((spacing[r] as number) * ((size[r] as number) - 1)) / 2];
    row[r] = spacing[r] as number;
    a.push(row);
  }
  a.push([0, 0, 0, 1]);
  return a;
}

interface Geometry {
  shape: [number, number, number];
  /** Normalised coordinate of voxel index along each axis, in [-1, 1]. */
  ux: Float64Array;
  uy: Float64Array;
  uz: Float64Array;
}

type Box = [number, number, number, number, number, number];

/** Voxel bounding box of a perturbed ellipsoid (with room for the perturbation). */
function blobBox(g: Geometry, center: readonly number[], radii: readonly number[], amp: number): Box {
  const grow = 1 + 2.5 * amp;
  const out: number[] = [];
  g.shape.forEach((n, a) => {
    const c = center[a] as number;
    const r = radii[a] as number;
    out.push(
      Math.max(0, Math.floor(((c - r * grow + 1) / 2) * n - 1)),
      Math.min(n - 1, Math.ceil(((c + r * grow + 1) / 2) * n)),
    );
  });
  return out as Box;
}

/** Calls fn(i) for voxels inside a perturbed ellipsoid (radius scaled by 1 + amp * field). */
function forBlob(
  g: Geometry,
  center: readonly number[],
  radii: readonly number[],
  field: Float32Array | null,
  amp: number,
  fn: (i: number) => void,
): void {
  const [nx, ny] = g.shape;
  const [x0, x1, y0, y1, z0, z1] = blobBox(g, center, radii, amp);
  const [cx, cy, cz] = center as [number, number, number];
  const [rx, ry, rz] = radii as [number, number, number];
  for (let z = z0; z <= z1; z++) {
    const dz = ((g.uz[z] as number) - cz) / rz;
    for (let y = y0; y <= y1; y++) {
      const dy = ((g.uy[y] as number) - cy) / ry;
      const base = (z * ny + y) * nx;
      for (let x = x0; x <= x1; x++) {
        const dx = ((g.ux[x] as number) - cx) / rx;
        const i = base + x;
        let f = field ? (field[i] as number) : 0;
        f = f > 2.5 ? 2.5 : f < -2.5 ? -2.5 : f;
        const lim = 1 + amp * f;
        if (dx * dx + dy * dy + dz * dz < lim * lim) fn(i);
      }
    }
  }
}

/** Threshold selecting (about) the k largest of values (k >= 1): quickselect, O(n). */
function topKThreshold(values: Float32Array, k: number): number {
  const a = Float32Array.from(values);
  const target = Math.max(0, a.length - k);
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target] as number;
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

function kineticCurve(kind: KineticCurve | 'arterial', tMin: number): number {
  switch (kind) {
    case 'persistent':
      return (1 - Math.exp(-tMin / 2)) / (1 - Math.exp(-2.5));
    case 'plateau':
      return 1 - Math.exp(-tMin / 0.4);
    case 'washout':
      return ((1 - Math.exp(-tMin / 0.3)) * Math.exp(-0.15 * tMin)) / 0.86;
    case 'arterial':
      return (1 - Math.exp(-tMin / 0.1)) * Math.exp(-0.3 * tMin);
  }
}

/**
 * Makes one subject: anatomy, property maps, sequences, ground truth. Pure: same (index, options)
 * gives the same bytes on every platform.
 * @param index - Subject index in [0, subjects).
 * @param options - The cohort's options (or a Phantom's resolved `options`).
 * @returns The subject's raw positive intensities per present sequence and its {@link PhantomTruth}.
 * @throws {@link MriseqError} 'phantom.index' for an index outside the cohort, or for invalid options.
 * @example
 * ```ts
 * import { simulateSubject } from 'mriseq';
 * const s = simulateSubject(2, { subjects: 10, size: [32, 32, 16] });
 * console.log(s.truth.uniqueFraction.t1gd, s.truth.flairTI);
 * ```
 */
export function simulateSubject(
  index: number,
  options: PhantomOptions | ResolvedPhantomOptions = {},
): PhantomSubject {
  const o = isResolved(options) ? options : resolvePhantomOptions(options);
  const { info, signals } = simulateStages(index, o);
  return { ...info, volumes: simulateSequences(signals, info.sequences), truth: simulateTruth(signals) };
}

/**
 * The random stages of subject `index`, each output kept (what {@link simulateSequences} and
 * {@link simulateTruth} read, in `signals`). They draw from one 'anatomy' stream in this order:
 * reordering them changes every subject.
 */
export function simulateStages(index: number, o: ResolvedPhantomOptions) {
  const info = phantomSubjectInfo(index, o);
  const grid = subjectGrid(o, index);
  const anatomy = simulateAnatomy(grid);
  const lesion = simulateLesion(grid, anatomy, info.labels);
  const maps = simulateTissueProperties(grid, anatomy.tissue, lesion);
  const enhancement = simulateContrast(
    grid,
    anatomy,
    lesion,
    info.labels.enhancingFraction,
    o.uniqueFraction,
  );
  const bias = simulateBias(grid, o.bias);
  const signals = subjectSignals(
    grid,
    o,
    index,
    info.labels.kinetics,
    anatomy,
    lesion,
    maps,
    enhancement,
    bias,
  );
  return { info, grid, anatomy, lesion, maps, enhancement, bias, signals };
}

/** What the stages of {@link simulateSubject} share: the grid and the subject's 'anatomy' stream. */
export interface SubjectGrid {
  shape: [number, number, number];
  /** Voxel count. */
  n: number;
  g: Geometry;
  /** Drawn from by every stage in turn (anatomy, lesion, tissue properties, contrast, bias). */
  rng: Rng;
}

/** The grid of subject `index` and a fresh 'anatomy' stream (the first stage draws first). */
export function subjectGrid(o: ResolvedPhantomOptions, index: number): SubjectGrid {
  const [nx, ny, nz] = o.size;
  const shape: [number, number, number] = [nx, ny, nz];
  const axis = (m: number): Float64Array =>
    Float64Array.from({ length: m }, (_, i) => ((i + 0.5) / m) * 2 - 1);
  const g: Geometry = { shape, ux: axis(nx), uy: axis(ny), uz: axis(nz) };
  return { shape, n: nx * ny * nz, g, rng: Rng.stream(o.seed, index, 'anatomy') };
}

function field(grid: SubjectGrid, opts: FieldOptions = {}): Float32Array {
  return smoothField(grid.rng, grid.shape, opts);
}

/** The head's nested structures ({@link simulateLesion} writes the lesion into them). */
export interface Anatomy {
  /** TISSUE label per voxel. */
  tissue: Uint8Array;
  /** 1 inside the brain (grey matter's outer surface). */
  inBrain: Uint8Array;
  /** 1 in the ventricles (CSF inside the brain). */
  ventricle: Uint8Array;
  headC: number[];
  brainR: number[];
}

/** Anatomy: nested perturbed ellipsoids (scalp, skull CSF, grey and white matter, ventricles). */
export function simulateAnatomy(grid: SubjectGrid): Anatomy {
  // Local copies: module bindings compile to getters, too slow inside per-voxel loops.
  const T = { ...TISSUE };
  const { g, n, rng } = grid;
  // Fields used only around a structure are evaluated only in its bounding box.
  const boxOf = (c: readonly number[], r: readonly number[], amp: number): Box => blobBox(g, c, r, amp);
  const tissue = new Uint8Array(n);
  const inBrain = new Uint8Array(n);
  const headC = [rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.03)];
  const headR = [rng.uniform(0.86, 0.92), rng.uniform(0.9, 0.95), rng.uniform(0.86, 0.92)];
  const headField = field(grid, { maxFrequency: 2, waves: 5 });
  forBlob(g, headC, headR, headField, 0.04, (i) => (tissue[i] = T.scalp));
  const skull = headR.map((r) => r * rng.uniform(0.91, 0.93));
  forBlob(g, headC, skull, headField, 0.04, (i) => (tissue[i] = T.csf));
  const brainR = skull.map((r) => r * rng.uniform(0.92, 0.95));
  const brainField = field(grid, { maxFrequency: 3, waves: 4 });
  forBlob(g, headC, brainR, brainField, 0.03, (i) => {
    tissue[i] = T.greyMatter;
    inBrain[i] = 1;
  });
  const wmR0 = brainR.map((r) => r * 0.76);
  const wmField = field(grid, {
    minFrequency: 1.5,
    maxFrequency: 5,
    waves: 6,
    box: boxOf(headC, wmR0, 0.14),
  });
  const wmR = brainR.map((r) => r * rng.uniform(0.68, 0.76));
  forBlob(g, headC, wmR, wmField, 0.14, (i) => {
    if (inBrain[i]) tissue[i] = T.whiteMatter;
  });
  const ventField = field(grid, {
    minFrequency: 1,
    maxFrequency: 4,
    waves: 5,
    box: boxOf(headC, [0.3, 0.4, 0.4], 0.2),
  });
  const ventricle = new Uint8Array(n);
  const vOff = rng.uniform(0.07, 0.11);
  for (const side of [-1, 1]) {
    const c = [
      headC[0]! + side * vOff,
      headC[1]! + rng.uniform(-0.05, 0.05),
      headC[2]! + rng.uniform(-0.05, 0.1),
    ];
    const r = [rng.uniform(0.05, 0.08), rng.uniform(0.18, 0.26), rng.uniform(0.12, 0.2)];
    forBlob(g, c, r, ventField, 0.2, (i) => {
      if (inBrain[i]) {
        tissue[i] = T.csf;
        ventricle[i] = 1;
      }
    });
  }
  return { tissue, inBrain, ventricle, headC, brainR };
}

/** The lesion's labels and the box around it (where its fields are evaluated). */
export interface LesionStage {
  /** LESION label per voxel. */
  lesion: Uint8Array;
  lesionVoxels: number;
  lesBox: Box;
}

/**
 * Lesion: oedema > core > (necrosis), inside the brain only. Writes its tissues into
 * anatomy.tissue and takes its voxels out of anatomy.ventricle.
 */
export function simulateLesion(
  grid: SubjectGrid,
  anatomy: Anatomy,
  labels: Pick<PhantomLabels, 'lesionGroup' | 'lesionType'>,
): LesionStage {
  const T = { ...TISSUE };
  const { g, n, rng } = grid;
  const { tissue, inBrain, ventricle, headC, brainR } = anatomy;
  const lesion = new Uint8Array(n);
  const { lesionGroup, lesionType } = labels;
  const oedematous = lesionType.endsWith('oedematous');
  // BraTS-sized: oedema + core fill about 7% of the head. With a third of that (2.9%) the lite
  // generator saw too little lesion to learn its dark T1Gd from T2/FLAIR: it mapped the lesion's
  // T2/FLAIR brightness like scalp fat's, bright on T1Gd, so M_d(T1Gd) marked the whole lesion.
  const lesC = brainR.map((r, a) => headC[a]! + r * rng.uniform(-0.3, 0.3));
  const re = rng.uniform(0.3, 0.44);
  const lesR = [re * rng.uniform(0.85, 1.15), re * rng.uniform(0.85, 1.15), re * rng.uniform(0.85, 1.15)];
  const coreScale = oedematous ? rng.uniform(0.4, 0.5) : rng.uniform(0.66, 0.8);
  const coreR = lesR.map((r) => r * coreScale);
  const coreC = lesC.map((c, a) => c + lesR[a]! * rng.uniform(-0.15, 0.15));
  const necR = coreR.map((r) => r * rng.uniform(0.55, 0.7));
  const lesBox = blobBox(g, lesC, lesR, 0.2);
  const oedemaField = field(grid, { minFrequency: 1, maxFrequency: 4, waves: 5, box: lesBox });
  const coreField = field(grid, { minFrequency: 1, maxFrequency: 4, waves: 5, box: lesBox });
  forBlob(g, lesC, lesR, oedemaField, 0.2, (i) => {
    if (inBrain[i]) lesion[i] = LESION.oedema;
  });
  forBlob(g, coreC, coreR, coreField, 0.18, (i) => {
    if (inBrain[i]) lesion[i] = LESION.cellularCore;
  });
  if (lesionGroup === 'necrotic')
    forBlob(g, coreC, necR, coreField, 0.15, (i) => {
      if (inBrain[i]) lesion[i] = LESION.necroticCore;
    });
  let lesionVoxels = 0;
  for (let i = 0; i < n; i++) {
    const l = lesion[i] as number;
    if (l === LESION.none) continue;
    lesionVoxels++;
    tissue[i] = l === LESION.oedema ? T.oedema : l === LESION.necroticCore ? T.necroticCore : T.cellularCore;
    ventricle[i] = 0;
  }
  return { lesion, lesionVoxels, lesBox };
}

/** The subject's tissue properties and their voxel maps. */
export interface PropertyMaps {
  /** Per TISSUE label: this subject's PD, T1, T2 and ADC. */
  props: TissueProperties[];
  pd: Float32Array;
  t1: Float32Array;
  t2: Float32Array;
  /** ADC with the restricted part of the cellular core. */
  adc: Float32Array;
  /** ADC as its tissue's nominal value everywhere. */
  adcNominal: Float32Array;
}

/**
 * Subject-specific tissue properties (every sequence sees these) with a PD texture, and
 * restricted diffusion on a random smooth part of the cellular core.
 */
export function simulateTissueProperties(
  grid: SubjectGrid,
  tissue: Uint8Array,
  lesionStage: Pick<LesionStage, 'lesion' | 'lesBox'>,
): PropertyMaps {
  const T = { ...TISSUE };
  const { n, rng } = grid;
  const { lesion, lesBox } = lesionStage;
  const props: TissueProperties[] = TISSUE_PROPERTIES.map((p, t) => {
    const sd = t >= T.oedema ? 0.08 : 0.04;
    if (t === T.background) return { ...p };
    return {
      pd: p.pd * (1 + sd * 0.5 * rng.normal()),
      t1: p.t1 * (1 + sd * rng.normal()),
      t2: p.t2 * (1 + sd * rng.normal()),
      // ADC stays the tissue's nominal value: only designed departures are DWI's own information.
      adc: p.adc,
    };
  });
  const texture = field(grid, { minFrequency: 2, maxFrequency: 6, waves: 3 });
  const pd = new Float32Array(n);
  const t1 = new Float32Array(n);
  const t2 = new Float32Array(n);
  const adc = new Float32Array(n);
  const adcNominal = new Float32Array(n);
  fillPropertyMaps(tissue, props, texture, { pd, t1, t2, adc, adcNominal });

  // Restricted diffusion on a random smooth part of the cellular core: invisible to PD/T1/T2.
  const restrictField = field(grid, { minFrequency: 1, maxFrequency: 4, waves: 5, box: lesBox });
  for (let i = 0; i < n; i++)
    if (lesion[i] === LESION.cellularCore && (restrictField[i] as number) > 0)
      adc[i] = adc[i]! * RESTRICTED_ADC_FACTOR;
  return { props, pd, t1, t2, adc, adcNominal };
}

/** Where contrast agent goes and how much. */
export interface ContrastStage {
  /** Contrast concentration scale per voxel (0 where nothing enhances). */
  contrast: Float32Array;
  /** 1 where contrast > 0. */
  enhancing: Uint8Array;
  /** 1 on the random vessels (arterial DCE curve). */
  vessel: Uint8Array;
  /** Voxels that are not background. */
  headVoxels: number;
}

/**
 * Contrast: random smooth sub-regions of the lesion and of the rest of the head, never a tissue of
 * its own, so that the unique T1Gd signal reaches `uniqueFraction` of the head.
 */
export function simulateContrast(
  grid: SubjectGrid,
  anatomy: Pick<Anatomy, 'tissue' | 'inBrain' | 'ventricle'>,
  lesionStage: LesionStage,
  enhancingFraction: number,
  uniqueFraction: number,
): ContrastStage {
  const T = { ...TISSUE };
  const { n, rng } = grid;
  const [nx, ny, nz] = grid.shape;
  const { tissue, inBrain, ventricle } = anatomy;
  const { lesion, lesionVoxels, lesBox } = lesionStage;
  const contrast = new Float32Array(n);
  const enhancing = new Uint8Array(n);
  const lesionEnh = field(grid, { minFrequency: 1.5, maxFrequency: 5, waves: 6, box: lesBox });
  let headVoxels = 0;
  for (let i = 0; i < n; i++) if (tissue[i] !== T.background) headVoxels++;
  const lesionCand: number[] = [];
  for (let i = 0; i < n; i++) {
    const l = lesion[i] as number;
    if (l === LESION.oedema || l === LESION.cellularCore) lesionCand.push(i);
  }
  const kLesion = Math.min(lesionCand.length, Math.round(enhancingFraction * lesionVoxels));
  if (kLesion > 0) {
    // A mild preference for the core, but the pattern is random: no fixed shell to learn.
    const p = Float32Array.from(
      lesionCand,
      (i) => (lesionEnh[i] as number) + (lesion[i] === LESION.cellularCore ? 0.3 : 0),
    );
    const thr = topKThreshold(p, kLesion);
    lesionCand.forEach((i, j) => {
      const v = p[j] as number;
      if (v >= thr) {
        contrast[i] = C_LESION_FLOOR + (C_LESION_MAX - C_LESION_FLOOR) * clamp01(v - thr);
        enhancing[i] = 1;
      }
    });
  }
  // Enhancing structures outside the lesion (vessels, choroid plexus, dura, patchy vascular
  // enhancement) so that the unique T1Gd signal reaches the requested fraction of the head.
  const kOutside = Math.max(0, Math.round(uniqueFraction * headVoxels) - kLesion);
  const vessel = new Uint8Array(n);
  const vesselCount = 6 + rng.int(5);
  for (let v = 0; v < vesselCount; v++) {
    let px = rng.uniform(0.2, 0.8) * nx;
    let py = rng.uniform(0.2, 0.8) * ny;
    let pz = rng.uniform(0.2, 0.8) * nz;
    let dx = rng.normal();
    let dy = rng.normal();
    let dz = rng.normal() * 0.5;
    const radius = rng.uniform(0.7, 1.4);
    const steps = 20 + rng.int(40);
    for (let s = 0; s < steps; s++) {
      const len = Math.hypot(dx, dy, dz) || 1;
      px += (0.8 * dx) / len;
      py += (0.8 * dy) / len;
      pz += (0.4 * dz) / len;
      dx += 0.3 * rng.normal();
      dy += 0.3 * rng.normal();
      dz += 0.15 * rng.normal();
      const r = Math.ceil(radius);
      for (let z = Math.floor(pz) - r; z <= Math.floor(pz) + r; z++)
        for (let y = Math.floor(py) - r; y <= Math.floor(py) + r; y++)
          for (let x = Math.floor(px) - r; x <= Math.floor(px) + r; x++) {
            if (x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz) continue;
            if ((x - px) ** 2 + (y - py) ** 2 + (2 * (z - pz)) ** 2 <= radius * radius)
              vessel[(z * ny + y) * nx + x] = 1;
          }
    }
  }
  if (kOutside > 0) {
    const outField = field(grid, { minFrequency: 1.5, maxFrequency: 6, waves: 5 });
    const cand = headOutsideLesion(tissue, lesion);
    const p = Float32Array.from(cand, (i) => {
      const base = outField[i] as number;
      let boost = 0;
      // Choroid plexus and dura enhance in patches only: enhancing most of the CSF made
      // "bright on T2 -> bright on T1Gd" learnable, and the generator then painted enhancement over
      // the whole (T2-bright) lesion, so M_d(T1Gd) missed the lesion's unique region (phantom.md:
      // enhancement must not be predictable from the other sequences).
      if (vessel[i]) boost = 4;
      else if (ventricle[i] && base > 1) boost = 3;
      else if (tissue[i] === T.csf && !inBrain[i] && base > 1) boost = 1.2;
      return base + boost;
    });
    const thr = topKThreshold(p, Math.min(kOutside, cand.length));
    cand.forEach((i, j) => {
      const v = p[j] as number;
      if (v >= thr) {
        contrast[i] = C_FLOOR + (C_OUTSIDE_MAX - C_FLOOR) * clamp01((v - thr) / 1.5);
        enhancing[i] = 1;
      }
    });
  }
  return { contrast, enhancing, vessel, headVoxels };
}

/** The multiplicative bias field exp(strength * smooth field): positive, smooth, 1 at strength 0. */
export function simulateBias(grid: SubjectGrid, strength: number): Float32Array {
  const { n } = grid;
  const biasRaw = field(grid, { minFrequency: 0.3, maxFrequency: 1.2, waves: 2 });
  const bias = new Float32Array(n);
  for (let i = 0; i < n; i++) bias[i] = Math.exp(strength * (biasRaw[i] as number));
  return bias;
}

type StaticSequence = 't1' | 't1gd' | 't2' | 'flair' | 'dwi';

/**
 * A subject after its random stages (anatomy to bias) with its noiseless signal equations: what
 * {@link simulateSequences} and {@link simulateTruth} read. Draws nothing.
 */
export interface SubjectSignals {
  grid: SubjectGrid;
  o: ResolvedPhantomOptions;
  index: number;
  tissue: Uint8Array;
  lesion: Uint8Array;
  maps: PropertyMaps;
  enhancement: ContrastStage;
  bias: Float32Array;
  flairTI: number;
  /** Rician noise SD per sequence. */
  sigma: Partial<Record<PhantomSequence, number>>;
  /** Noiseless, unbiased intensity of voxel i per static sequence. */
  clean: Record<StaticSequence, (i: number) => number>;
  /** The relaxation factor of a tissue (PD 1) per static sequence. */
  f1: (key: StaticSequence, p: TissueProperties) => number;
  /** Voxels with contrast. */
  enhancingList: number[];
  /** Voxels whose ADC departs from the nominal. */
  restrictedList: number[];
  /** DCE phase times (minutes). */
  dceTimes: number[];
  /** The kinetic curve of voxel i at a time (minutes). */
  curveAt: (i: number, tMin: number) => number;
  /** A volume of this subject's geometry. */
  vol: (data: Float32Array, datatype?: Volume['datatype'], extra?: { nt: number; dt: number }) => Volume;
}

/** The signal equations of a subject whose random stages have run. */
export function subjectSignals(
  grid: SubjectGrid,
  o: ResolvedPhantomOptions,
  index: number,
  kinetics: KineticCurve,
  anatomy: Pick<Anatomy, 'tissue'>,
  lesionStage: Pick<LesionStage, 'lesion'>,
  maps: PropertyMaps,
  enhancement: ContrastStage,
  bias: Float32Array,
): SubjectSignals {
  const { n } = grid;
  const [nx, ny, nz] = grid.shape;
  const { lesion } = lesionStage;
  const { pd, t1, t2, adc, adcNominal } = maps;
  const { contrast, vessel } = enhancement;
  const flairTI = flairNullTI(maps.props[TISSUE.csf]!.t1, SEQUENCE_PARAMETERS.flair.tr);
  const sigma = noiseSigmas(o);
  const spacing = phantomSpacing(o.size);
  const affine = affineFor(o.size, spacing);
  const vol = (
    data: Float32Array,
    datatype: Volume['datatype'] = 'float32',
    extra?: { nt: number; dt: number },
  ): Volume => ({
    data,
    shape: extra ? [nx, ny, nz, extra.nt] : [nx, ny, nz],
    spacing: extra ? [...spacing, extra.dt] : [...spacing],
    affine,
    datatype,
  });
  const P = SEQUENCE_PARAMETERS;
  const clean: Record<StaticSequence, (i: number) => number> = {
    t1: (i) => spinEcho(pd[i]!, t1[i]!, t2[i]!, P.t1.tr, P.t1.te),
    t1gd: (i) => spinEcho(pd[i]!, contrastT1(t1[i]!, contrast[i]!), t2[i]!, P.t1gd.tr, P.t1gd.te),
    t2: (i) => spinEcho(pd[i]!, t1[i]!, t2[i]!, P.t2.tr, P.t2.te),
    flair: (i) => inversionRecovery(pd[i]!, t1[i]!, t2[i]!, P.flair.tr, P.flair.te, flairTI),
    dwi: (i) => diffusion(pd[i]!, t1[i]!, t2[i]!, adc[i]!),
  };
  const f1 = (key: StaticSequence, p: TissueProperties): number => {
    switch (key) {
      case 't1':
      case 't1gd':
        return spinEcho(1, p.t1, p.t2, P.t1.tr, P.t1.te);
      case 't2':
        return spinEcho(1, p.t1, p.t2, P.t2.tr, P.t2.te);
      case 'flair':
        return inversionRecovery(1, p.t1, p.t2, P.flair.tr, P.flair.te, flairTI);
      case 'dwi':
        return diffusion(1, p.t1, p.t2, p.adc);
    }
  };
  const enhancingList: number[] = [];
  const restrictedList: number[] = [];
  for (let i = 0; i < n; i++) {
    if (contrast[i]! > 0) enhancingList.push(i);
    if (adc[i] !== adcNominal[i]) restrictedList.push(i);
  }
  const dceTimes = o.dce ? Array.from({ length: o.dce.phases }, (_, k) => (k * o.dce!.interval) / 60) : [];
  const kinetic = new Uint8Array(n); // 0 lesion curve, 1 arterial, 2 persistent
  for (let i = 0; i < n; i++) kinetic[i] = lesion[i] !== LESION.none ? 0 : vessel[i] ? 1 : 2;
  const curveAt = (i: number, tMin: number): number =>
    kineticCurve(kinetic[i] === 0 ? kinetics : kinetic[i] === 1 ? 'arterial' : 'persistent', tMin);
  return {
    grid,
    o,
    index,
    tissue: anatomy.tissue,
    lesion,
    maps,
    enhancement,
    bias,
    flairTI,
    sigma,
    clean,
    f1,
    enhancingList,
    restrictedList,
    dceTimes,
    curveAt,
    vol,
  };
}

/**
 * Sequences: each present sequence's signal equation times the bias field, with Rician noise
 * from the sequence's own stream (seed, index, 'noise', sequence).
 */
export function simulateSequences(
  s: SubjectSignals,
  sequences: readonly PhantomSequence[],
): Partial<Record<PhantomSequence, Volume>> {
  const { o, index, tissue, bias, sigma, clean, f1, enhancingList, restrictedList, dceTimes, curveAt, vol } =
    s;
  const { n } = s.grid;
  const { props, pd, t1, t2 } = s.maps;
  const { contrast } = s.enhancement;
  const P = SEQUENCE_PARAMETERS;
  const volumes: Partial<Record<PhantomSequence, Volume>> = {};
  for (const key of sequences) {
    if (key === 'dce') continue;
    const out = new Float32Array(n);
    const f = clean[key];
    // T1 and T2 are constant within a tissue, so the relaxation factor is computed once per
    // tissue; only voxels with contrast (T1Gd) or a departing ADC (DWI) need the full equation.
    const factor = props.map((p) => (p.pd > 0 ? f1(key, p) : 0));
    const fac = Float64Array.from(factor);
    renderByTissue(out, pd, fac, tissue, bias);
    const special = key === 't1gd' ? enhancingList : key === 'dwi' ? restrictedList : [];
    for (const i of special) out[i] = f(i) * bias[i]!;
    addRicianNoise(out, sigma[key]!, Rng.stream(o.seed, index, 'noise', key));
    volumes[key] = vol(out);
  }
  if (o.dce && sequences.includes('dce')) {
    const nt = o.dce.phases;
    const out = new Float32Array(n * nt);
    for (let k = 0; k < nt; k++) {
      const tMin = dceTimes[k]!;
      for (let i = 0; i < n; i++) {
        const c = contrast[i]! * curveAt(i, tMin);
        out[k * n + i] = spinEcho(pd[i]!, contrastT1(t1[i]!, c), t2[i]!, P.dce.tr, P.dce.te) * bias[i]!;
      }
    }
    addRicianNoise(out, sigma.dce!, Rng.stream(o.seed, index, 'noise', 'dce'));
    volumes.dce = vol(out, 'float32', { nt, dt: o.dce.interval });
  }
  return volumes;
}

/**
 * Ground truth: tissue, lesion and BraTS-style segmentation labels, the unique masks (voxels
 * where a property only one sequence sees changes its signal by more than uniqueThreshold noise
 * SDs), the property maps, the bias field and the noise levels.
 */
export function simulateTruth(s: SubjectSignals): PhantomTruth {
  const {
    o,
    tissue,
    lesion,
    bias,
    sigma,
    flairTI,
    clean,
    enhancingList,
    restrictedList,
    dceTimes,
    curveAt,
    vol,
  } = s;
  const T = { ...TISSUE };
  const { n } = s.grid;
  const { pd, t1, t2, adc, adcNominal } = s.maps;
  const { contrast, enhancing, headVoxels } = s.enhancement;
  const P = SEQUENCE_PARAMETERS;
  const unique: Partial<Record<PhantomSequence, Volume>> = {};
  const uniqueFraction: Partial<Record<PhantomSequence, number>> = {};
  // Only voxels where the unique property departs can be unique; the rest are 0 by construction.
  const maskOf = (
    key: PhantomSequence,
    candidates: readonly number[],
    changed: (i: number) => number,
  ): void => {
    const m = new Float32Array(n);
    const thr = o.uniqueThreshold * sigma[key]!;
    let count = 0;
    for (const i of candidates) {
      if (Math.abs(changed(i)) * bias[i]! > thr && tissue[i] !== T.background) {
        m[i] = 1;
        count++;
      }
    }
    unique[key] = vol(m, 'uint8');
    uniqueFraction[key] = headVoxels ? count / headVoxels : 0;
  };
  maskOf('t1gd', enhancingList, (i) => clean.t1gd(i) - clean.t1(i));
  for (const key of ['t1', 't2', 'flair'] as const) {
    unique[key] = vol(new Float32Array(n), 'uint8');
    uniqueFraction[key] = 0;
  }
  if (o.dwi)
    maskOf('dwi', restrictedList, (i) => clean.dwi(i) - diffusion(pd[i]!, t1[i]!, t2[i]!, adcNominal[i]!));
  if (o.dce)
    maskOf('dce', enhancingList, (i) => {
      let best = 0;
      const s0 = spinEcho(pd[i]!, t1[i]!, t2[i]!, P.dce.tr, P.dce.te);
      for (const tMin of dceTimes) {
        const st = spinEcho(
          pd[i]!,
          contrastT1(t1[i]!, contrast[i]! * curveAt(i, tMin)),
          t2[i]!,
          P.dce.tr,
          P.dce.te,
        );
        if (Math.abs(st - s0) > Math.abs(best)) best = st - s0;
      }
      return best;
    });
  const seg = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const l = lesion[i] as number;
    if (l === LESION.none) continue;
    seg[i] = enhancing[i] ? 4 : l === LESION.oedema ? 2 : 1;
  }
  return {
    tissue: vol(Float32Array.from(tissue), 'uint8'),
    lesion: vol(Float32Array.from(lesion), 'uint8'),
    seg: vol(Float32Array.from(seg), 'uint8'),
    unique,
    uniqueFraction,
    importanceOrder: designedImportanceOrder(o),
    maps: { pd: vol(pd), t1: vol(t1), t2: vol(t2), adc: vol(adc), contrast: vol(contrast) },
    biasField: vol(bias),
    noiseSigma: sigma,
    flairTI,
  };
}

// Hot per-voxel loops live in small functions: V8 optimises them far better than loops inside
// the large simulateSubject closure.

function fillPropertyMaps(
  tissue: Uint8Array,
  props: readonly TissueProperties[],
  texture: Float32Array,
  m: { pd: Float32Array; t1: Float32Array; t2: Float32Array; adc: Float32Array; adcNominal: Float32Array },
): void {
  const n = tissue.length;
  const pdT = Float64Array.from(props, (p) => p.pd);
  const t1T = Float64Array.from(props, (p) => p.t1);
  const t2T = Float64Array.from(props, (p) => p.t2);
  const adcT = Float64Array.from(props, (p) => p.adc);
  const { pd, t1, t2, adc, adcNominal } = m;
  for (let i = 0; i < n; i++) {
    const t = tissue[i] as number;
    pd[i] = t === 0 ? 0 : (pdT[t] as number) * (1 + 0.03 * (texture[i] as number));
    t1[i] = t1T[t] as number;
    t2[i] = t2T[t] as number;
    adc[i] = adcT[t] as number;
    adcNominal[i] = adcT[t] as number;
  }
}

function renderByTissue(
  out: Float32Array,
  pd: Float32Array,
  fac: Float64Array,
  tissue: Uint8Array,
  bias: Float32Array,
): void {
  const n = out.length;
  for (let i = 0; i < n; i++)
    out[i] = (pd[i] as number) * (fac[tissue[i] as number] as number) * (bias[i] as number);
}

function headOutsideLesion(tissue: Uint8Array, lesion: Uint8Array): Int32Array {
  let count = 0;
  const n = tissue.length;
  for (let i = 0; i < n; i++) if (tissue[i] !== 0 && lesion[i] === 0) count++;
  const out = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < n; i++) if (tissue[i] !== 0 && lesion[i] === 0) out[k++] = i;
  return out;
}

/**
 * Noise SD of each sequence: a fraction of its brightest nominal tissue (constant across subjects).
 * @param o - A phantom's resolved options.
 * @returns The Rician noise SD per emitted sequence (intensity units).
 * @example
 * ```ts
 * import { noiseSigmas, resolvePhantomOptions } from 'mriseq/browser';
 * console.log(noiseSigmas(resolvePhantomOptions({ noise: 0.05 })));
 * ```
 */
export function noiseSigmas(o: ResolvedPhantomOptions): Partial<Record<PhantomSequence, number>> {
  const P = SEQUENCE_PARAMETERS;
  const tissues = TISSUE_PROPERTIES.slice(1);
  const ti = flairNullTI(TISSUE_PROPERTIES[TISSUE.csf]!.t1, P.flair.tr);
  const max = (f: (p: TissueProperties) => number): number => Math.max(...tissues.map(f));
  const t1 = max((p) => spinEcho(p.pd, p.t1, p.t2, P.t1.tr, P.t1.te));
  return {
    t1: o.noise * t1,
    t1gd: o.noise * t1,
    t2: o.noise * max((p) => spinEcho(p.pd, p.t1, p.t2, P.t2.tr, P.t2.te)),
    flair: o.noise * max((p) => inversionRecovery(p.pd, p.t1, p.t2, P.flair.tr, P.flair.te, ti)),
    dwi: o.noise * max((p) => diffusion(p.pd, p.t1, p.t2, p.adc)),
    dce: o.noise * t1,
  };
}

/** Magnitude of signal plus complex Gaussian noise: Rician, with a floor in the background. */
function addRicianNoise(data: Float32Array, sigma: number, rng: Rng): void {
  if (!(sigma > 0)) return;
  for (let i = 0; i < data.length; i++) {
    const re = data[i]! + sigma * rng.normalFast();
    const im = sigma * rng.normalFast();
    data[i] = Math.sqrt(re * re + im * im);
  }
}

/**
 * A lazy cohort of phantom subjects: `phantom({ subjects: 20000 })` allocates nothing per
 * subject; `subject(i)` makes one on demand (no caching here: Cohort adds a bounded cache).
 * Made by {@link phantom}; it is iterable over the subjects' {@link PhantomSubjectInfo}.
 *
 * @example
 * ```ts
 * import { Phantom } from 'mriseq';
 * const p = new Phantom({ subjects: 3, size: [32, 32, 16] });
 * for (const info of p) console.log(info.id, info.labels.lesionGroup);
 * console.log(p.importanceOrder); // ['t1gd', 'flair', 't2', 't1']
 * ```
 */
export class Phantom {
  readonly options: ResolvedPhantomOptions;

  constructor(options: PhantomOptions = {}) {
    this.options = resolvePhantomOptions(options);
  }

  get size(): number {
    return this.options.subjects;
  }

  /** The sequences this phantom emits (before missingness). */
  get sequences(): PhantomSequence[] {
    return phantomSequences(this.options);
  }

  get importanceOrder(): PhantomSequence[] {
    return designedImportanceOrder(this.options);
  }

  id(index: number): string {
    return phantomSubjectId(index, this.options.idPrefix);
  }

  /** Index of a subject id, or -1. */
  indexOf(id: string): number {
    const p = this.options.idPrefix;
    if (!id.startsWith(p)) return -1;
    const s = id.slice(p.length);
    if (!/^\d+$/.test(s)) return -1;
    const i = Number(s);
    return i < this.options.subjects && this.id(i) === id ? i : -1;
  }

  ids(): string[] {
    return Array.from({ length: this.options.subjects }, (_, i) => this.id(i));
  }

  /** Labels and missingness only (cheap). */
  info(indexOrId: number | string): PhantomSubjectInfo {
    return phantomSubjectInfo(this.resolve(indexOrId), this.options);
  }

  /** Makes the subject's volumes and truth. */
  subject(indexOrId: number | string): PhantomSubject {
    return simulateSubject(this.resolve(indexOrId), this.options);
  }

  *[Symbol.iterator](): IterableIterator<PhantomSubjectInfo> {
    for (let i = 0; i < this.options.subjects; i++) yield this.info(i);
  }

  private resolve(indexOrId: number | string): number {
    if (typeof indexOrId === 'number') return indexOrId;
    const i = this.indexOf(indexOrId);
    if (i < 0)
      throw new MriseqError('no such phantom subject', {
        field: 'id',
        found: indexOrId,
        expected: `an id from ${this.id(0)} to ${this.id(this.options.subjects - 1)}`,
        code: 'phantom.id',
      });
    return i;
  }
}

/**
 * `phantom({ subjects: 20000, seed: 1 })`: the lazy simulated cohort.
 * The simulated multi-sequence cohort of the science spec: each subject is a head with a lesion
 * (necrotic or solid, oedematous or compact), imaged as T1, T1Gd, T2, FLAIR (optionally DWI, DCE) by
 * the MR signal equations, with its ground truth (tissue, lesion, unique-information masks).
 *
 * @param options - Cohort size, seed, volume size, missingness, extra sequences, noise; see {@link PhantomOptions}.
 * @returns A lazy {@link Phantom}: nothing is simulated until a subject is asked for.
 * @throws {@link MriseqError} 'phantom.option' for an option out of range.
 * @example
 * ```ts
 * import { phantom } from 'mriseq';
 * const p = phantom({ subjects: 4, size: [32, 32, 16], seed: 1 });
 * const s = p.subject(0);
 * console.log(s.id, s.sequences, s.labels.lesionType, s.volumes.t1gd?.shape);
 * ```
 */
export function phantom(options: PhantomOptions = {}): Phantom {
  return new Phantom(options);
}
