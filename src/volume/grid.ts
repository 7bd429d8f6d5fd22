/**
 * What a subject's volumes must satisfy before anything trains or measures on them, checked where
 * a cohort loads them (train, evaluate, maps, generate, classify) and by `manifest check`:
 * - every voxel finite: a NaN reaches the loss, validation PSNR and every metric unseen;
 * - each role's dimensionality: only `dce` is a time series; any other sequence or label map with
 *   a fourth axis longer than 1 would be trained on as a time series;
 * - the sequences and label maps of one subject on one grid: the same spatial shape, and affines
 *   that put the grid's corners within AFFINE_TOLERANCE_MM of each other (a mirrored or shifted
 *   sequence of the same shape would otherwise be used as if registered).
 * Browser-safe.
 */
import { MriseqError } from '../errors/index.js';
import { affineDistance, det3 } from './affine.js';
import type { Affine, Volume } from './types.js';
import { own } from '../keys/index.js';

/**
 * Largest distance (mm) between where two volumes of one subject may put a corner voxel of their
 * grid: 0.01 mm, far below any voxel (so any real misregistration is caught) and far above the
 * float32 rounding of an affine and the quaternion form of a qform (about 1e-4 mm at 250 mm).
 * The default tolerance of {@link gridProblem} and {@link assertSameGrid}.
 * @example
 * ```ts
 * import { AFFINE_TOLERANCE_MM, gridProblem } from 'mriseq/browser';
 * const shape = [10, 10, 10];
 * const a = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
 * const b = [[1, 0, 0, 0.005], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]; // 5 µm off: the same grid
 * console.log(AFFINE_TOLERANCE_MM, gridProblem({ shape, affine: a }, { shape, affine: b })); // 0.01 undefined
 * ```
 */
export const AFFINE_TOLERANCE_MM = 0.01;

/**
 * Sequences that are time series (a fourth axis of several time points): only these may be 4D;
 * {@link roleShapeProblem} refuses a fourth axis longer than 1 on any other sequence or label map.
 * @example
 * ```ts
 * import { TIME_SERIES_SEQUENCES } from 'mriseq/browser';
 * console.log(TIME_SERIES_SEQUENCES); // [ 'dce' ]
 * ```
 */
export const TIME_SERIES_SEQUENCES: readonly string[] = ['dce'];

/**
 * Why a volume's shape does not fit its role, or undefined when it does: a fourth axis longer
 * than 1 is allowed only on a sequence listed in {@link TIME_SERIES_SEQUENCES} (a 4D file with
 * one time point counts as 3D). Checks the dimensionality only, not the grid.
 * @param key - The sequence key (e.g. 't1', 'dce') or the label map's key.
 * @param kind - 'sequence' or 'mask' (a label map: never a time series).
 * @param shape - The volume's shape, [nx, ny, nz] or [nx, ny, nz, nt].
 * @returns The problem with what was found and expected (ready for a {@link MriseqError}), or
 *   undefined.
 * @example
 * ```ts
 * import { roleShapeProblem } from 'mriseq/browser';
 * console.log(roleShapeProblem('dce', 'sequence', [64, 64, 32, 8])); // undefined
 * console.log(roleShapeProblem('t1', 'sequence', [64, 64, 32, 1])); // undefined
 * console.log(roleShapeProblem('t1', 'sequence', [64, 64, 32, 3]));
 * // {
 * //   problem: 'sequence t1 is 4D (a time series)',
 * //   found: '64x64x32x3',
 * //   expected: 'a 3D volume (only dce may have time points)'
 * // }
 * ```
 */
export function roleShapeProblem(
  key: string,
  kind: 'sequence' | 'mask',
  shape: readonly number[],
): { problem: string; found: string; expected: string } | undefined {
  const nt = shape.length > 3 ? (shape[3] ?? 1) : 1;
  if (nt <= 1) return undefined;
  if (kind === 'sequence' && TIME_SERIES_SEQUENCES.includes(key)) return undefined;
  return {
    problem: `${kind === 'mask' ? 'label map' : `sequence ${key}`} is 4D (a time series)`,
    found: shape.join('x'),
    expected: `a 3D volume (only ${TIME_SERIES_SEQUENCES.join(', ')} may have time points)`,
  };
}

/**
 * Number of NaN and infinite values: the check that keeps a NaN voxel from reaching the loss,
 * the validation PSNR and every metric unseen.
 * @param data - Voxel values (a Volume's `data`, or any array of numbers).
 * @returns How many are NaN, Infinity or -Infinity (0 for finite data).
 * @example
 * ```ts
 * import { countNonFinite } from 'mriseq/browser';
 * console.log(countNonFinite(new Float32Array([1, NaN, Infinity, -Infinity, 0]))); // 3
 * ```
 */
export function countNonFinite(data: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) n++;
  return n;
}

/**
 * What a grid comparison needs of a volume (a Volume, or a NIfTI header's shape and affine, so a
 * file's grid is checked without reading its voxels): the shape (only the first three axes count)
 * and the 4x4 voxel-to-world affine (rows, mm).
 * @example
 * ```ts
 * import { createVolume, gridProblem, type GridOf } from 'mriseq/browser';
 * const header: GridOf = { shape: [4, 4, 2, 1], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]] };
 * const vol = createVolume(new Float32Array(32), [4, 4, 2], { spacing: [1, 1, 2] });
 * console.log(gridProblem(vol, header)); // undefined: the same grid
 * ```
 */
export interface GridOf {
  shape: readonly number[];
  affine: Affine;
}

/**
 * Why `b` is not on `a`'s grid, or undefined when it is: first the spatial shape (the first three
 * axes; a time axis is ignored), then the affines, by {@link affineDistance} over `a`'s grid
 * corners. A non-finite affine is never on the grid. The message says when one affine is mirrored.
 * @param a - The reference grid (a Volume or a header's shape and affine).
 * @param b - The grid to check.
 * @param tolerance - Largest corner distance in mm (default {@link AFFINE_TOLERANCE_MM}, 0.01 mm).
 * @returns The problem with what was found and expected (ready for a {@link MriseqError}), or
 *   undefined.
 * @example
 * ```ts
 * import { gridProblem } from 'mriseq/browser';
 * const shape = [10, 10, 10];
 * const ref = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
 * const flipped = [[-1, 0, 0, 9], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
 * console.log(gridProblem({ shape, affine: ref }, { shape: [10, 10, 9], affine: ref }));
 * // { problem: 'shape differs', found: '10x10x9', expected: '10x10x10' }
 * console.log(gridProblem({ shape, affine: ref }, { shape, affine: flipped })?.problem);
 * // affine differs by up to 9.0 mm at the grid corners (one is mirrored)
 * ```
 */
export function gridProblem(
  a: GridOf,
  b: GridOf,
  tolerance = AFFINE_TOLERANCE_MM,
): { problem: string; found: string; expected: string } | undefined {
  const sa = a.shape.slice(0, 3).join('x');
  const sb = b.shape.slice(0, 3).join('x');
  if (sa !== sb) return { problem: 'shape differs', found: sb, expected: sa };
  const d = affineDistance(a.affine, b.affine, a.shape);
  if (d <= tolerance) return undefined;
  const mirrored = Math.sign(det3(a.affine)) !== Math.sign(det3(b.affine));
  return {
    problem: `affine differs by ${Number.isFinite(d) ? `up to ${fmtMm(d)} mm` : 'a non-finite amount'} at the grid corners${mirrored ? ' (one is mirrored)' : ''}`,
    found: fmtAffine(b.affine),
    expected: `${fmtAffine(a.affine)} within ${tolerance} mm (register and resample the sequences onto one grid first)`,
  };
}

function fmtMm(d: number): string {
  return d >= 1 ? d.toFixed(1) : d.toPrecision(2);
}

function fmtAffine(m: Affine): string {
  return `[${m
    .slice(0, 3)
    .map((r) => r.map((v) => +v.toFixed(4)).join(' '))
    .join('; ')}]`;
}

/**
 * Throws a MriseqError when the named volumes of one subject are not on one grid (the first is the
 * reference; see {@link gridProblem}). `fileOf` names a volume's file in the error when known.
 * @param subject - The subject's id, for the message and the error's field (`<subject>.<name>`).
 * @param volumes - [name, volume] pairs (e.g. `Object.entries` of a subject's sequences).
 * @param fileOf - The file a volume was read from, by name (default: none named).
 * @param tolerance - Largest corner distance in mm (default {@link AFFINE_TOLERANCE_MM}, 0.01 mm).
 * @throws {@link MriseqError} 'cohort.geometry' naming the first volume off the reference's grid.
 * @example
 * ```ts
 * import { assertSameGrid, createVolume, MriseqError } from 'mriseq/browser';
 * const t1 = createVolume(new Float32Array(8), [2, 2, 2]);
 * const t2 = createVolume(new Float32Array(8), [2, 2, 2], { affine: [[1, 0, 0, 0.5], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] });
 * try {
 *   assertSameGrid('sub-1', [['t1', t1], ['t2', t2]], (name) => `sub-1/${name}.nii.gz`);
 * } catch (e) {
 *   if (e instanceof MriseqError) console.log(e.code, e.file, e.field);
 *   // cohort.geometry sub-1/t2.nii.gz sub-1.t2
 * }
 * ```
 */
export function assertSameGrid(
  subject: string,
  volumes: Iterable<readonly [string, Volume]>,
  fileOf: (name: string) => string | undefined = () => undefined,
  tolerance = AFFINE_TOLERANCE_MM,
): void {
  let ref: readonly [string, Volume] | undefined;
  for (const entry of volumes) {
    if (!ref) {
      ref = entry;
      continue;
    }
    const p = gridProblem(ref[1], entry[1], tolerance);
    if (p)
      throw new MriseqError(`${subject}: ${entry[0]} is not on the grid of ${ref[0]}: ${p.problem}`, {
        file: fileOf(entry[0]),
        field: `${subject}.${entry[0]}`,
        found: p.found,
        expected: p.expected,
        code: 'cohort.geometry',
      });
  }
}

/**
 * The checks of a loaded cohort for volumes handed over directly (the training API takes them
 * from the caller): each named volume's dimensionality ({@link roleShapeProblem}, as a sequence)
 * and finite voxels, then one grid ({@link assertSameGrid}). Names the subject lacks are skipped.
 * @param subject - The subject's id and its volumes by sequence key.
 * @param names - The sequence keys to check (e.g. a generator's `config.sequences`).
 * @throws {@link MriseqError} 'cohort.dims' for a 4D volume outside {@link TIME_SERIES_SEQUENCES},
 *   'cohort.nonfinite' for NaN or infinite voxels, 'cohort.geometry' for volumes off one grid;
 *   the field is `<id>.<sequence>`.
 * @example
 * ```ts
 * import { assertSubjectVolumes, createVolume, MriseqError } from 'mriseq/browser';
 * const t1 = createVolume(new Float32Array(8), [2, 2, 2]);
 * const t2 = createVolume(new Float32Array([1, NaN, 3, 4, 5, 6, 7, 8]), [2, 2, 2]);
 * assertSubjectVolumes({ id: 'sub-1', volumes: { t1 } }, ['t1', 'flair']); // passes: flair is absent
 * try {
 *   assertSubjectVolumes({ id: 'sub-2', volumes: { t1, t2 } }, ['t1', 't2']);
 * } catch (e) {
 *   if (e instanceof MriseqError) console.log(e.code, e.field, e.found);
 *   // cohort.nonfinite sub-2.t2 1 of 8 voxels NaN or infinite
 * }
 * ```
 */
export function assertSubjectVolumes(
  subject: { id: string; volumes: Readonly<Partial<Record<string, Volume>>> },
  names: readonly string[],
): void {
  const present: [string, Volume][] = [];
  for (const name of names) {
    const v = own(subject.volumes, name);
    if (!v) continue;
    const shape = roleShapeProblem(name, 'sequence', v.shape);
    if (shape)
      throw new MriseqError(`${subject.id}: ${shape.problem}`, {
        field: `${subject.id}.${name}`,
        found: shape.found,
        expected: shape.expected,
        code: 'cohort.dims',
      });
    const bad = countNonFinite(v.data);
    if (bad > 0)
      throw new MriseqError(
        `${subject.id}: sequence ${name} has ${bad} non-finite voxel${bad > 1 ? 's' : ''} (NaN or Inf)`,
        {
          field: `${subject.id}.${name}`,
          found: `${bad} of ${v.data.length} voxels NaN or infinite`,
          expected: 'finite voxels',
          code: 'cohort.nonfinite',
        },
      );
    present.push([name, v]);
  }
  assertSameGrid(subject.id, present);
}
