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
 */
export const AFFINE_TOLERANCE_MM = 0.01;

/** Sequences that are time series (a fourth axis of several time points). */
export const TIME_SERIES_SEQUENCES: readonly string[] = ['dce'];

/** Why a volume's shape does not fit its role, or undefined when it does. */
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

/** Number of NaN and infinite values. */
export function countNonFinite(data: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) n++;
  return n;
}

/** What a grid comparison needs of a volume (a Volume, or a NIfTI header's shape and affine). */
export interface GridOf {
  shape: readonly number[];
  affine: Affine;
}

/** Why `b` is not on `a`'s grid (spatial shape, then affine within the tolerance), or undefined. */
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
 * reference). `fileOf` names a volume's file in the error when known.
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
 * from the caller): each named volume's dimensionality and finite voxels, then one grid.
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
