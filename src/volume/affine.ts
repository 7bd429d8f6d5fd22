/** Small 4x4 / 3x3 matrix helpers for voxel-to-world affines (rows, double precision). */
import type { Affine } from './types.js';

export type Mat4 = number[][];

export function identity4(): Mat4 {
  return [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => (r === c ? 1 : 0)));
}

/**
 * The product a·b of two 4x4 matrices (rows): composes affines.
 *
 * @param a - The left matrix.
 * @param b - The right matrix.
 * @returns a·b.
 * @example
 * ```ts
 * import { matmul4 } from 'mriseq/browser';
 * const scale = [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]];
 * const shift = [[1, 0, 0, 5], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
 * console.log(matmul4(scale, shift)[0]); // [2, 0, 0, 10]
 * ```
 */
export function matmul4(a: Affine, b: Affine): Mat4 {
  const out: Mat4 = [];
  for (let r = 0; r < 4; r++) {
    out.push([]);
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r][k] * b[k][c];
      out[r].push(s);
    }
  }
  return out;
}

/**
 * General 4x4 inverse (Gauss-Jordan with partial pivoting); throws on a singular matrix.
 * @param m - A 4x4 matrix, rows.
 * @returns Its inverse (world-to-voxel for a voxel-to-world affine).
 * @throws Error 'singular affine' when the matrix has no inverse.
 * @example
 * ```ts
 * import { applyAffine, invert4 } from 'mriseq/browser';
 * const a = [[2, 0, 0, -10], [0, 2, 0, -10], [0, 0, 3, 0], [0, 0, 0, 1]];
 * console.log(applyAffine(invert4(a), [0, 0, 0])); // voxel [5, 5, 0] sits at the world origin
 * ```
 */
export function invert4(m: Affine): Mat4 {
  const a = m.map((row, r) => [...row, ...[0, 1, 2, 3].map((c) => (r === c ? 1 : 0))]);
  for (let col = 0; col < 4; col++) {
    let piv = col;
    for (let r = col + 1; r < 4; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
    if (Math.abs(a[piv][col]) < 1e-12) throw new Error('singular affine');
    [a[col], a[piv]] = [a[piv], a[col]];
    const p = a[col][col];
    for (let c = 0; c < 8; c++) a[col][c] /= p;
    for (let r = 0; r < 4; r++) {
      if (r === col) continue;
      const f = a[r][col];
      if (f !== 0) for (let c = 0; c < 8; c++) a[r][c] -= f * a[col][c];
    }
  }
  return a.map((row) => row.slice(4));
}

/**
 * Maps a voxel index (continuous) to world coordinates: the first three rows of m · [p, 1].
 *
 * @param m - A voxel-to-world affine, rows.
 * @param p - A voxel position [i, j, k].
 * @returns The world position [x, y, z] (mm).
 * @example
 * ```ts
 * import { applyAffine } from 'mriseq/browser';
 * console.log(applyAffine([[2, 0, 0, -10], [0, 2, 0, -10], [0, 0, 3, 0], [0, 0, 0, 1]], [5, 5, 1])); // [0, 0, 3]
 * ```
 */
export function applyAffine(m: Affine, p: readonly number[]): number[] {
  return [0, 1, 2].map((r) => m[r][0] * p[0] + m[r][1] * p[1] + m[r][2] * p[2] + m[r][3]);
}

/**
 * Column norms of the 3x3 part: the voxel size along each voxel axis.
 * @param m - A 4x4 (or 3x4) affine, rows.
 * @returns The voxel size along each voxel axis (mm).
 * @example
 * ```ts
 * import { affineZooms } from 'mriseq/browser';
 * console.log(affineZooms([[0, 0, 2, 0], [-1, 0, 0, 0], [0, 3, 0, 0], [0, 0, 0, 1]])); // [1, 3, 2]
 * ```
 */
export function affineZooms(m: Affine): number[] {
  return [0, 1, 2].map((c) => Math.hypot(m[0][c], m[1][c], m[2][c]));
}

/**
 * The determinant of a 3x3 matrix (negative for an affine that mirrors, e.g. LPS voxel order).
 *
 * @param m - A 3x3 matrix (the first three rows and columns of an affine work too).
 * @returns The determinant.
 * @example
 * ```ts
 * import { det3 } from 'mriseq/browser';
 * console.log(det3([[-1, 0, 0], [0, -1, 0], [0, 0, 1]]), det3([[-1, 0, 0], [0, 1, 0], [0, 0, 1]])); // 1 -1
 * ```
 */
export function det3(m: readonly (readonly number[])[]): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

function inv3T(m: number[][]): number[][] {
  const d = det3(m);
  // inverse transposed = cofactor matrix / det
  const c = (r0: number, r1: number, c0: number, c1: number) => m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
  return [
    [c(1, 2, 1, 2) / d, -c(1, 2, 0, 2) / d, c(1, 2, 0, 1) / d],
    [-c(0, 2, 1, 2) / d, c(0, 2, 0, 2) / d, -c(0, 2, 0, 1) / d],
    [c(0, 1, 1, 2) / d, -c(0, 1, 0, 2) / d, c(0, 1, 0, 1) / d],
  ];
}

/**
 * The closest orthogonal matrix (polar decomposition), as nibabel gets from its SVD P·Qᵀ; the
 * Newton iteration R <- (R + R⁻ᵀ)/2 converges quadratically for non-singular input.
 * @param m - A non-singular 3x3 matrix.
 * @returns The orthogonal matrix nearest to it.
 * @example
 * ```ts
 * import { closestOrthogonal } from 'mriseq/browser';
 * console.log(closestOrthogonal([[1, 0.1, 0], [0, 1, 0], [0, 0, 1]])); // close to the identity, rotated slightly
 * ```
 */
export function closestOrthogonal(m: readonly (readonly number[])[]): number[][] {
  let r = m.map((row) => [...row]);
  for (let it = 0; it < 100; it++) {
    const it3 = inv3T(r);
    const next = r.map((row, i) => row.map((v, j) => 0.5 * (v + it3[i][j])));
    let diff = 0;
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) diff = Math.max(diff, Math.abs(next[i][j] - r[i][j]));
    r = next;
    if (diff < 1e-15) break;
  }
  return r;
}

/** A diagonal affine with the given spacing and the origin at voxel 0. */
export function spacingAffine(spacing: readonly number[]): Mat4 {
  const a = identity4();
  for (let i = 0; i < 3; i++) a[i][i] = spacing[i] ?? 1;
  return a;
}

/**
 * How far apart two voxel-to-world affines put a grid of this shape: the largest distance (mm)
 * between where they map the grid's 8 corner voxels. It catches a shift, a rotation, a mirrored
 * axis and a voxel-size difference alike, in one number a user can judge (NaN when an affine is
 * not finite).
 * @param a - A 4x4 voxel-to-world affine (rows, mm).
 * @param b - Another 4x4 affine.
 * @param shape - The grid's shape (only the first three axes count; corners at 0 and n-1).
 * @returns The largest corner distance in mm (0 for equal affines, NaN for a non-finite one).
 * @example
 * ```ts
 * import { affineDistance } from 'mriseq/browser';
 * const eye = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
 * const shifted = [[1, 0, 0, 0.5], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
 * const mirrored = [[-1, 0, 0, 9], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
 * console.log(affineDistance(eye, shifted, [10, 10, 10])); // 0.5
 * console.log(affineDistance(eye, mirrored, [10, 10, 10])); // 9 (x = 0 and x = 9 swap places)
 * ```
 */
export function affineDistance(a: Affine, b: Affine, shape: readonly number[]): number {
  let worst = 0;
  for (let k = 0; k < 8; k++) {
    const p = [0, 1, 2].map((i) => ((k >> i) & 1 ? Math.max(0, (shape[i] ?? 1) - 1) : 0));
    const pa = applyAffine(a, p);
    const pb = applyAffine(b, p);
    const d = Math.hypot(pa[0] - pb[0], pa[1] - pb[1], pa[2] - pb[2]);
    if (Number.isNaN(d) || d > worst) worst = d; // once NaN, stays NaN
  }
  return worst;
}
