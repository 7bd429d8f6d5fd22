/** Volumes to and from tfjs tensors (channels-last conventions of the team brief). */
import { tf } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import { withData } from './create.js';
import type { Volume } from './types.js';

/**
 * The volume as a tensor [D=nz, H=ny, W=nx] (3D) or [T, D, H, W] (4D): NIfTI's x-fastest order is
 * exactly row-major [z][y][x], so no data is moved. Add batch/channel axes with expandDims.
 * The caller owns the tensor (dispose it or make it inside tf.tidy).
 *
 * @param vol - A 3D or 4D volume.
 * @returns A float32 tensor [nz, ny, nx] or [nt, nz, ny, nx].
 * @example
 * ```ts
 * import { createVolume, volumeToTensor, initEngine } from 'mriseq';
 * await initEngine();
 * const t = volumeToTensor(createVolume(new Float32Array(4 * 3 * 2), [4, 3, 2]));
 * console.log(t.shape); // [2, 3, 4]
 * t.dispose();
 * ```
 */
export function volumeToTensor(vol: Volume): tf.Tensor {
  const [nx, ny, nz] = vol.shape;
  const shape = vol.shape.length === 4 ? [vol.shape[3], nz, ny, nx] : [nz, ny, nx];
  return tf.tensor(vol.data, shape, 'float32');
}

/**
 * A volume with the geometry of `like` and the values of `tensor` (shape [D, H, W], [T, D, H, W],
 * or either with size-1 batch/channel axes, e.g. [1, D, H, W, 1]). Reads the tensor synchronously.
 * @param tensor - Values in [D, H, W] order (see {@link volumeToTensor}).
 * @param like - The volume whose shape, affine, spacing and header the result takes.
 * @returns A float32 volume.
 * @throws {@link MriseqError} 'volume.tensor' when the tensor's shape does not match `like`.
 * @example
 * ```ts
 * import { createVolume, tensorToVolume, tf, volumeToTensor, initEngine } from 'mriseq';
 * await initEngine();
 * const vol = createVolume(new Float32Array(4 * 4 * 4), [4, 4, 4]);
 * const doubled = tf.tidy(() => volumeToTensor(vol).add(1).mul(2).expandDims(0).expandDims(-1));
 * console.log(tensorToVolume(doubled, vol).data[0]); // 2
 * doubled.dispose();
 * ```
 */
export function tensorToVolume(tensor: tf.Tensor, like: Volume): Volume {
  const dims = tensor.shape.filter((d) => d !== 1);
  const want = like.shape.filter((d) => d !== 1);
  const [nx, ny, nz] = like.shape;
  const expected = like.shape.length === 4 ? [like.shape[3], nz, ny, nx] : [nz, ny, nx];
  if (
    dims.length !== want.length ||
    tensor.size !== like.data.length ||
    dims.join() !== expected.filter((d) => d !== 1).join()
  )
    throw new MriseqError('tensor shape does not match the volume', {
      field: 'tensor',
      found: `[${tensor.shape.join(', ')}]`,
      expected: `[${expected.join(', ')}] (optionally with size-1 batch/channel axes)`,
      code: 'volume.tensor',
    });
  const data = tensor.dataSync();
  const f32 =
    data instanceof Float32Array ? Float32Array.from(data) : Float32Array.from(data as ArrayLike<number>);
  return { ...withData(like, f32, like.shape, like.affine, [...like.spacing]), datatype: 'float32' };
}
