/**
 * Grad-CAM (Selvaraju et al. 2017) as a wrapper around a model and a target layer, as MONAI's
 * `GradCAM(nn_module, target_layers)`: the gradient of the class score (the logit) w.r.t. the
 * layer's activation A, channel weights = spatial mean of that gradient, map = ReLU(sum_c w_c A_c),
 * upsampled trilinearly (align_corners = false) to the input grid and min-max normalised to [0, 1]
 * per subject. The map is in the input's voxel space: [D, H, W] with x fastest, i.e. NIfTI order of
 * the subject's volume, so it can be written with the reference volume's affine.
 */
import { tf } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import type { Volume } from '../volume/index.js';
import type { ResNet3d } from './resnet.js';

/**
 * What `GradCam.compute` returns.
 *
 * @example
 * ```ts
 * import { GradCam, type GradCamResult, ResNet3d, tf, initEngine } from 'mriseq';
 * await initEngine();
 * const net = new ResNet3d({ inputChannels: ['x'], classNames: ['a', 'b'], spatialKernel: 3 });
 * const x = tf.zeros([1, 4, 8, 8, 1]) as tf.Tensor5D;
 * const r: GradCamResult = new GradCam(net, { layer: 'stage1' }).compute(x, 1);
 * console.log(r.layer, r.classIndex); // 'stage1' [1]
 * x.dispose();
 * net.dispose();
 * ```
 */
export interface GradCamResult {
  /** One map per subject, D*H*W values (x fastest), in [0, 1]. */
  maps: Float32Array[];
  /** [D, H, W] of the input. */
  shape: [number, number, number];
  /** The class each map explains. */
  classIndex: number[];
  layer: string;
}

/**
 * Separable trilinear resize of [B, d, h, w, 1] to [B, D, H, W, 1] (half-pixel centres).
 * @param x - Maps [B, d, h, w, 1].
 * @param size - Target [D, H, W].
 * @returns The resized maps [B, D, H, W, 1].
 * @example
 * ```ts
 * import { resizeTrilinear, tf, initEngine } from 'mriseq';
 * await initEngine();
 * const y = tf.tidy(() => resizeTrilinear(tf.ones([1, 2, 2, 2, 1]) as tf.Tensor5D, [4, 8, 8]));
 * console.log(y.shape); // [1, 4, 8, 8, 1]
 * y.dispose();
 * ```
 */
export function resizeTrilinear(x: tf.Tensor5D, size: [number, number, number]): tf.Tensor5D {
  return tf.tidy(() => {
    const [b, d, h, w, c] = x.shape;
    const [D, H, W] = size;
    const hw = tf.image.resizeBilinear(tf.reshape(x, [b * d, h, w, c]) as tf.Tensor4D, [H, W], false, true);
    const dz = tf.image.resizeBilinear(
      tf.reshape(hw, [b, d, H * W, c]) as tf.Tensor4D,
      [D, H * W],
      false,
      true,
    );
    return tf.reshape(dz, [b, D, H, W, c]);
  });
}

/**
 * Grad-CAM (Selvaraju et al. 2017) on a {@link ResNet3d} layer (default its last stage), as MONAI's
 * GradCAM: ReLU of the activation weighted by the spatial mean of the class score's gradient,
 * upsampled trilinearly to the input grid and min-max normalised to [0, 1] per subject.
 * `compute(x, classIndex?)` takes x [B, D, H, W, C] and explains the given class (default: the predicted one).
 *
 * @example
 * ```ts
 * import { GradCam, ResNet3d, tf, initEngine } from 'mriseq';
 * await initEngine();
 * const net = new ResNet3d({ inputChannels: ['t1gd'], classNames: ['low', 'high'], spatialKernel: 3 });
 * const x = tf.randomNormal([1, 8, 16, 16, 1]) as tf.Tensor5D;
 * const { maps, shape, classIndex } = new GradCam(net).compute(x);
 * console.log(shape, classIndex, maps[0]?.length); // [8, 16, 16] [..] 2048
 * x.dispose();
 * net.dispose();
 * ```
 */
export class GradCam {
  readonly layer: string;

  constructor(
    readonly model: ResNet3d,
    options: { layer?: string } = {},
  ) {
    this.layer = options.layer ?? model.lastLayer;
    if (!model.layerNames.includes(this.layer)) {
      throw new MriseqError('unknown Grad-CAM target layer', {
        field: 'layer',
        found: this.layer,
        expected: `one of ${model.layerNames.join(', ')}`,
        code: 'classify.gradcam',
      });
    }
  }

  /**
   * Maps for x [B, D, H, W, C]. `classIndex`: one class for all subjects, one per subject, or
   * omitted for each subject's predicted class.
   */
  compute(x: tf.Tensor5D, classIndex?: number | number[]): GradCamResult {
    const [B, D, H, W] = x.shape;
    let activation: tf.Tensor | undefined;
    const classes: number[] = [];
    const maps = tf.tidy(() => {
      const logits = this.model.forward(x, { layer: this.layer, capture: (a) => (activation = a) });
      const pred = tf.argMax(logits, 1).arraySync() as number[];
      for (let b = 0; b < B; b++) {
        classes.push(
          classIndex === undefined ? pred[b] : Array.isArray(classIndex) ? classIndex[b] : classIndex,
        );
      }
      const mask = tf.oneHot(tf.tensor1d(classes, 'int32'), this.model.numClasses);
      const score = (a: tf.Tensor) =>
        tf.sum(tf.mul(this.model.forward(x, { layer: this.layer, replace: a }), mask));
      const grad = tf.grad(score)(activation!);
      const weights = tf.mean(grad, [1, 2, 3], true);
      const cam = tf.relu(tf.sum(tf.mul(weights, activation!), 4, true)) as tf.Tensor5D;
      const up = tf.reshape(resizeTrilinear(cam, [D, H, W]), [B, D * H * W]);
      const lo = tf.min(up, 1, true);
      const range = tf.sub(tf.max(up, 1, true), lo);
      // A flat map (no positive evidence) normalises to zeros, not NaN.
      return tf.div(tf.sub(up, lo), tf.maximum(range, 1e-12));
    });
    const data = maps.dataSync() as Float32Array;
    maps.dispose();
    const n = D * H * W;
    return {
      maps: Array.from({ length: B }, (_, b) => data.slice(b * n, (b + 1) * n)),
      shape: [D, H, W],
      classIndex: classes,
      layer: this.layer,
    };
  }
}

/**
 * A Grad-CAM map as a Volume on the grid (and affine) of the subject volume it explains.
 * @param map - A Grad-CAM map in the reference's voxel order (D·H·W values, x fastest).
 * @param reference - The subject volume it explains (after the same downsampling).
 * @returns A float32 Volume with the reference's grid and affine.
 * @throws {@link MriseqError} 'classify.gradcam' when the sizes differ.
 * @example
 * ```ts
 * import { createVolume, gradCamVolume } from 'mriseq';
 * const ref = createVolume(new Float32Array(4 * 4 * 2), [4, 4, 2], { spacing: [2, 2, 4] });
 * console.log(gradCamVolume(new Float32Array(32).fill(0.5), ref).spacing); // [2, 2, 4]
 * ```
 */
export function gradCamVolume(map: Float32Array, reference: Volume): Volume {
  const [nx, ny, nz] = reference.shape;
  if (map.length !== nx * ny * nz) {
    throw new MriseqError('Grad-CAM map does not match the reference volume', {
      field: 'map',
      found: `${map.length} voxels`,
      expected: `${nx * ny * nz} (${nx}x${ny}x${nz})`,
      code: 'classify.gradcam',
    });
  }
  return {
    data: map,
    shape: [nx, ny, nz],
    spacing: reference.spacing.slice(0, 3),
    affine: reference.affine,
    datatype: 'float32',
  };
}
