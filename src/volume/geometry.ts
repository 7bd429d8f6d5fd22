/** Resampling and reorientation: operations that change the voxel grid but keep world positions. */
import { MriseqError } from '../errors/index.js';
import { affineZooms, closestOrthogonal, matmul4 } from './affine.js';
import { withData } from './create.js';
import type { Volume } from './types.js';

/**
 * Options of {@link resampleVolume}.
 *
 * @example
 * ```ts
 * import { createVolume, resampleVolume, type ResampleOptions } from 'mriseq';
 * const labels: ResampleOptions = { shape: [4, 4, 4], interpolation: 'nearest' };
 * console.log(resampleVolume(createVolume(new Float32Array(512), [8, 8, 8]), labels).shape);
 * ```
 */
export interface ResampleOptions {
  /** Target voxel size per spatial axis (mm). */
  spacing?: readonly number[];
  /** Target grid size per spatial axis; wins over `spacing` when both are given. */
  shape?: readonly number[];
  /** 'linear' (trilinear, intensities) or 'nearest' (label maps). Default 'linear'. */
  interpolation?: 'linear' | 'nearest';
}

/**
 * Resamples to a new spacing or shape over the same field of view: voxel edges of the old and new
 * grids coincide (the "align corners = false" convention), so new voxel i sits at old continuous
 * index (i + 0.5)·r − 0.5 with r = new spacing / old spacing; samples beyond the outermost voxel
 * centres take the edge value. The affine is updated so every voxel keeps its world position.
 * @param vol - A 3D or 4D volume (frames are resampled alike).
 * @param options - Target `spacing` (mm) or `shape` (voxels; wins), and `interpolation`.
 * @returns The resampled volume with its affine and spacing updated.
 * @throws {@link MriseqError} 'volume.resample' when neither target is given or the target grid is impossible.
 * @example
 * ```ts
 * import { createVolume, resampleVolume } from 'mriseq';
 * const vol = createVolume(new Float32Array(8 * 8 * 8), [8, 8, 8], { spacing: [1, 1, 1] });
 * const coarse = resampleVolume(vol, { spacing: [2, 2, 2] });
 * console.log(coarse.shape, coarse.spacing); // [4, 4, 4] [2, 2, 2]
 * ```
 */
export function resampleVolume(vol: Volume, options: ResampleOptions): Volume {
  const old = vol.shape.slice(0, 3);
  const zooms = affineZooms(vol.affine);
  let shape: number[];
  let ratio: number[];
  if (options.shape) {
    shape = [...options.shape.slice(0, 3)];
    ratio = old.map((n, a) => n / shape[a]);
  } else if (options.spacing) {
    const sp = options.spacing;
    ratio = [0, 1, 2].map((a) => sp[a] / zooms[a]);
    shape = old.map((n, a) => Math.max(1, Math.round(n / ratio[a])));
  } else {
    throw new MriseqError('resample needs a target', {
      field: 'options',
      expected: '{ spacing } or { shape }',
      code: 'volume.resample',
    });
  }
  shape.forEach((n, a) => {
    if (!Number.isInteger(n) || n < 1 || !Number.isFinite(ratio[a]) || ratio[a] <= 0)
      throw new MriseqError('impossible target grid', {
        field: `axis ${a}`,
        found: `shape ${n}, ratio ${ratio[a]}`,
        expected: 'a positive integer size and a positive spacing',
        code: 'volume.resample',
      });
  });
  const nearest = options.interpolation === 'nearest';
  const [nx, ny, nz] = old;
  const nt = vol.shape[3] ?? 1;
  const [mx, my, mz] = shape;
  // per-axis source coordinates: separable because the new grid is the old one scaled
  const coords = (m: number, n: number, r: number) => {
    const i0 = new Int32Array(m);
    const i1 = new Int32Array(m);
    const w = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let c = (i + 0.5) * r - 0.5;
      c = Math.min(Math.max(c, 0), n - 1);
      if (nearest) {
        // round half away from zero, so ties pick the higher index as scipy's order=0 does
        const k = Math.min(Math.floor(c + 0.5), n - 1);
        i0[i] = k;
        i1[i] = k;
        w[i] = 0;
      } else {
        const f = Math.floor(c);
        i0[i] = f;
        i1[i] = Math.min(f + 1, n - 1);
        w[i] = c - f;
      }
    }
    return { i0, i1, w };
  };
  const cx = coords(mx, nx, ratio[0]);
  const cy = coords(my, ny, ratio[1]);
  const cz = coords(mz, nz, ratio[2]);
  const out = new Float32Array(mx * my * mz * nt);
  const src = vol.data;
  let o = 0;
  for (let t = 0; t < nt; t++) {
    const tb = t * nx * ny * nz;
    for (let z = 0; z < mz; z++) {
      const z0 = cz.i0[z] * nx * ny;
      const z1 = cz.i1[z] * nx * ny;
      const wz = cz.w[z];
      for (let y = 0; y < my; y++) {
        const y0 = cy.i0[y] * nx;
        const y1 = cy.i1[y] * nx;
        const wy = cy.w[y];
        for (let x = 0; x < mx; x++) {
          const x0 = cx.i0[x];
          const x1 = cx.i1[x];
          const wx = cx.w[x];
          if (nearest) {
            out[o++] = src[tb + z0 + y0 + x0];
            continue;
          }
          const c00 = src[tb + z0 + y0 + x0] * (1 - wx) + src[tb + z0 + y0 + x1] * wx;
          const c01 = src[tb + z0 + y1 + x0] * (1 - wx) + src[tb + z0 + y1 + x1] * wx;
          const c10 = src[tb + z1 + y0 + x0] * (1 - wx) + src[tb + z1 + y0 + x1] * wx;
          const c11 = src[tb + z1 + y1 + x0] * (1 - wx) + src[tb + z1 + y1 + x1] * wx;
          out[o++] = (c00 * (1 - wy) + c01 * wy) * (1 - wz) + (c10 * (1 - wy) + c11 * wy) * wz;
        }
      }
    }
  }
  const scale = [
    [ratio[0], 0, 0, 0.5 * ratio[0] - 0.5],
    [0, ratio[1], 0, 0.5 * ratio[1] - 0.5],
    [0, 0, ratio[2], 0.5 * ratio[2] - 0.5],
    [0, 0, 0, 1],
  ];
  const affine = matmul4(vol.affine, scale);
  const outShape = vol.shape.length === 4 ? [...shape, nt] : shape;
  const spacing = [...zooms.map((z, a) => z * ratio[a]), ...(vol.shape.length === 4 ? [vol.spacing[3]] : [])];
  return withData(vol, out, outShape, affine, spacing);
}

/**
 * For each voxel axis: the world axis (0=R, 1=A, 2=S) it runs along most, and the direction.
 * @param affine - A 4x4 voxel-to-world matrix (rows).
 * @returns Per voxel axis: `axis` (0 = R, 1 = A, 2 = S) and `flip` (true when it runs the other way).
 * @example
 * ```ts
 * import { voxelOrientation } from 'mriseq';
 * const o = voxelOrientation([[0, 0, 2, 0], [-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]]);
 * console.log(o); // x runs along A reversed, y along S, z along R
 * ```
 */
export function voxelOrientation(affine: readonly (readonly number[])[]): { axis: number; flip: boolean }[] {
  const zooms = affineZooms(affine).map((z) => (z === 0 ? 1 : z));
  const rs = [0, 1, 2].map((r) => [0, 1, 2].map((c) => affine[r][c] / zooms[c]));
  // nibabel's io_orientation: nearest shear-free matrix, then greedy choice per voxel axis
  const r = closestOrthogonal(rs);
  const out: { axis: number; flip: boolean }[] = [];
  for (let c = 0; c < 3; c++) {
    let best = 0;
    for (let k = 1; k < 3; k++) if (Math.abs(r[k][c]) > Math.abs(r[best][c])) best = k;
    out.push({ axis: best, flip: r[best][c] < 0 });
    for (let k = 0; k < 3; k++) r[best][k] = 0;
  }
  return out;
}

/**
 * Axis codes of a volume, e.g. ['R','A','S'] or ['L','P','S'].
 * @param vol - Any volume.
 * @returns One letter per voxel axis: where the axis points (R/L, A/P, S/I), as nibabel's aff2axcodes.
 * @example
 * ```ts
 * import { axisCodes, createVolume } from 'mriseq';
 * console.log(axisCodes(createVolume(new Float32Array(8), [2, 2, 2]))); // ['R', 'A', 'S']
 * ```
 */
export function axisCodes(vol: Volume): string[] {
  return voxelOrientation(vol.affine).map(({ axis, flip }) => (flip ? 'LPI' : 'RAS')[axis]);
}

/**
 * Reorders and flips voxel axes so that x runs Left→Right, y Posterior→Anterior, z Inferior→
 * Superior (nibabel's as_closest_canonical). No interpolation: voxel values are only moved.
 * @param vol - A 3D or 4D volume with any (near-)orthogonal affine.
 * @returns The volume in RAS+ voxel order (the same object when it already is), affine updated.
 * @example
 * ```ts
 * import { axisCodes, createVolume, reorientToRAS } from 'mriseq';
 * const lps = [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
 * const vol = createVolume(new Float32Array(8), [2, 2, 2], { affine: lps });
 * console.log(axisCodes(vol), axisCodes(reorientToRAS(vol))); // ['L','P','S'] ['R','A','S']
 * ```
 */
export function reorientToRAS(vol: Volume): Volume {
  const ornt = voxelOrientation(vol.affine);
  if (ornt.every((o, i) => o.axis === i && !o.flip)) return vol;
  const [nx, ny, nz] = vol.shape;
  const nt = vol.shape[3] ?? 1;
  // new axis j comes from old axis src[j]
  const src = [0, 0, 0];
  ornt.forEach((o, i) => (src[o.axis] = i));
  const newShape = src.map((i) => vol.shape[i]);
  const oldStride = [1, nx, nx * ny];
  // old index along old axis i, given new index n along the new axis it became
  const t4 = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 1],
  ];
  for (let j = 0; j < 3; j++) {
    const i = src[j];
    if (ornt[i].flip) {
      t4[i][j] = -1;
      t4[i][3] = vol.shape[i] - 1;
    } else t4[i][j] = 1;
  }
  const [mx, my, mz] = newShape;
  const out = new Float32Array(vol.data.length);
  const step = src.map((i) => (ornt[i].flip ? -oldStride[i] : oldStride[i]));
  const origin = src.reduce((acc, i) => acc + (ornt[i].flip ? (vol.shape[i] - 1) * oldStride[i] : 0), 0);
  let o = 0;
  for (let t = 0; t < nt; t++) {
    const tb = t * nx * ny * nz + origin;
    for (let z = 0; z < mz; z++)
      for (let y = 0; y < my; y++) {
        let p = tb + z * step[2] + y * step[1];
        for (let x = 0; x < mx; x++, p += step[0]) out[o++] = vol.data[p];
      }
  }
  const affine = matmul4(vol.affine, t4);
  const spacing = [...src.map((i) => vol.spacing[i]), ...(vol.shape.length === 4 ? [vol.spacing[3]] : [])];
  return withData(vol, out, vol.shape.length === 4 ? [...newShape, nt] : newShape, affine, spacing);
}
