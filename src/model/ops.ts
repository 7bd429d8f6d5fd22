/**
 * The few tensor operations the generator needs whose stock tfjs versions are wrong or missing:
 * reflect padding (tfjs's mirrorPad gradient drops the reflected contributions), bilinear x2
 * upsampling equal to PyTorch's Upsample(scale_factor=2, align_corners=False) with a correct
 * gradient (tfjs-node's resizeBilinear gradient ignores halfPixelCenters), instance norm.
 * All tensors are channels-last: [B, ...spatial, C].
 */
import { hasKernel, mirrorPadGradComposed, MRISEQ_INSTANCE_NORM, tf } from '../engine/index.js';

type Tensor = tf.Tensor;

function reflectPadComposed(x: Tensor, pads: readonly number[]): Tensor {
  let y = x;
  pads.forEach((p, i) => {
    if (p === 0) return;
    const axis = i + 1;
    const n = y.shape[axis];
    const b = new Array<number>(y.rank).fill(0);
    const s = y.shape.slice();
    s[axis] = p;
    b[axis] = 1;
    const left = tf.reverse(tf.slice(y, b, s), axis);
    b[axis] = n - 1 - p;
    const right = tf.reverse(tf.slice(y, b.slice(), s), axis);
    y = tf.concat([left, y, right], axis);
  });
  return y;
}

/**
 * Reflect padding of every spatial axis (PyTorch ReflectionPad / padding_mode='reflect'), with a
 * correct gradient. pads[i] is the padding on both sides of spatial axis i (tensor axis i + 1).
 * @param x - A channels-last tensor [B, ...spatial, C].
 * @param pads - Padding on both sides of each spatial axis (each smaller than that axis).
 * @returns The padded tensor.
 * @throws Error when a padding is not smaller than its axis.
 * @example
 * ```ts
 * import { reflectPad, tf, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const y = reflectPad(tf.tensor4d([1, 2, 3], [1, 1, 3, 1]), [0, 1]);
 * console.log(Array.from(y.dataSync())); // [2, 1, 2, 3, 2]
 * y.dispose();
 * ```
 */
export function reflectPad(x: Tensor, pads: readonly number[]): Tensor {
  const shape = x.shape.slice();
  pads.forEach((p, i) => {
    if (p >= shape[i + 1])
      throw new Error(
        `reflect padding ${p} needs more than ${p} samples on axis ${i + 1}, found ${shape[i + 1]}`,
      );
  });
  if (pads.every((p) => p === 0)) return x;
  const paddings: [number, number][] = [[0, 0], ...pads.map((p): [number, number] => [p, p]), [0, 0]];
  // One MirrorPad kernel (the engine registers a correct gradient for it: TensorFlow's
  // MirrorPadGrad natively, a composed fold elsewhere). tfjs's mirrorPad op stops at rank 4;
  // TensorFlow's kernel takes rank 5, other backends get slices + reverse + concat.
  if (x.rank <= 4) return tf.mirrorPad(x as tf.Tensor4D, paddings, 'reflect');
  if (tf.getBackend() === 'tensorflow')
    return tf.engine().runKernel(tf.MirrorPad, { x }, { paddings, mode: 'reflect' }) as Tensor;
  const f = tf.customGrad(((xi: Tensor) => ({
    value: reflectPadComposed(xi, pads),
    gradFunc: (dy: Tensor): Tensor => mirrorPadGradComposed(dy, paddings, 'reflect'),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x);
}

/**
 * x2 linear upsampling of every spatial axis with half-pixel centres and clamped edges:
 * PyTorch's Upsample(scale_factor=2, mode='bilinear'|'trilinear', align_corners=False).
 * Output 2i = 0.75 x[i] + 0.25 x[i-1], output 2i+1 = 0.75 x[i] + 0.25 x[i+1] (indices clamped).
 * Built from slices, concats and a stack, whose tfjs gradients are exact.
 * @param x - A channels-last tensor [B, ...spatial, C].
 * @returns The tensor with every spatial axis doubled.
 * @example
 * ```ts
 * import { tf, upsample2x, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const y = upsample2x(tf.tensor4d([0, 4], [1, 1, 2, 1]));
 * console.log(y.shape, Array.from(y.dataSync())); // [1, 2, 4, 1]: both rows [0, 1, 3, 4]
 * y.dispose();
 * ```
 */
export function upsample2x(x: Tensor): Tensor {
  // TensorFlow's ResizeBilinear with half-pixel centres is this map in one kernel (and the
  // engine gives it TensorFlow's matching gradient).
  if (x.rank === 4 && tf.getBackend() === 'tensorflow')
    return tf.image.resizeBilinear(x as tf.Tensor4D, [2 * x.shape[1]!, 2 * x.shape[2]!], false, true);
  let y = x;
  for (let axis = 1; axis < x.rank - 1; axis++) {
    const n = y.shape[axis];
    const s = y.shape.slice();
    const b = new Array<number>(y.rank).fill(0);
    const sl = (start: number, size: number): Tensor => {
      const bb = b.slice();
      const ss = s.slice();
      bb[axis] = start;
      ss[axis] = size;
      return tf.slice(y, bb, ss);
    };
    let prev: Tensor;
    let next: Tensor;
    if (n === 1) {
      prev = y;
      next = y;
    } else {
      prev = tf.concat([sl(0, 1), sl(0, n - 1)], axis);
      next = tf.concat([sl(1, n - 1), sl(n - 1, 1)], axis);
    }
    const base = tf.mul(y, 0.75);
    const even = tf.add(base, tf.mul(prev, 0.25));
    const odd = tf.add(base, tf.mul(next, 0.25));
    const out = s.slice();
    out[axis] = 2 * n;
    y = tf.reshape(tf.stack([even, odd], axis + 1), out);
  }
  return y;
}

/**
 * Instance norm without affine parameters (PyTorch InstanceNorm default), eps 1e-5, with its
 * closed-form gradient dx = rstd * (dy - mean(dy) - y * mean(dy * y)): a dozen ops instead of
 * the ~35 that autodiff through tf.moments records.
 * @param x - A channels-last tensor [B, ...spatial, C].
 * @param eps - Added to the variance (default 1e-5).
 * @returns x normalised per sample and channel over the spatial axes.
 * @example
 * ```ts
 * import { instanceNorm, tf, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const y = tf.tidy(() => instanceNorm(tf.randomNormal([2, 8, 8, 3], 5, 2)));
 * console.log(tf.moments(y, [1, 2]).mean.arraySync()); // about 0 for each sample and channel
 * y.dispose();
 * ```
 */
export function instanceNorm(x: Tensor, eps = 1e-5): Tensor {
  // One image: TensorFlow's fused batch norm in training mode computes exactly this (one kernel
  // forward, one backward).
  if (x.shape[0] === 1 && hasKernel(MRISEQ_INSTANCE_NORM))
    return (tf.engine().runKernel(MRISEQ_INSTANCE_NORM, { x }, { eps }) as Tensor[])[0]!;
  const axes: number[] = [];
  for (let a = 1; a < x.rank - 1; a++) axes.push(a);
  const f = tf.customGrad(((xi: Tensor, save: (t: Tensor[]) => void) => {
    const mean = tf.mean(xi, axes, true);
    const d = tf.sub(xi, mean);
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(d), axes, true), eps));
    const y = tf.mul(d, rstd);
    save([y, rstd]);
    const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor => {
      const [ys, r] = saved;
      const mdy = tf.mean(dy, axes, true);
      const mdyy = tf.mean(tf.mul(dy, ys), axes, true);
      return tf.mul(r, tf.sub(tf.sub(dy, mdy), tf.mul(ys, mdyy)));
    };
    return { value: y, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x);
}

export function leakyRelu(x: Tensor): Tensor {
  return tf.leakyRelu(x, 0.2);
}

/** Convolution of a channels-last tensor of rank 4 (2D) or 5 (3D); filter [k..., in, out]. */
export function convNd(x: Tensor, w: Tensor, stride: number, padding: 'valid' | 'same'): Tensor {
  if (x.rank === 4) return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, padding);
  return tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, stride, padding);
}

/**
 * SmoothL1 (beta 1, mean), as PyTorch's nn.SmoothL1Loss.
 * @param y - Prediction.
 * @param x - Target, same shape.
 * @returns The mean SmoothL1 loss (a scalar tensor).
 * @example
 * ```ts
 * import { smoothL1, tf, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const l = smoothL1(tf.tensor1d([0, 2]), tf.tensor1d([0.5, 0]));
 * console.log(l.dataSync()[0]); // (0.125 + 1.5) / 2 = 0.8125
 * l.dispose();
 * ```
 */
export function smoothL1(y: Tensor, x: Tensor): tf.Scalar {
  // 0.5 min(d,1)^2 + (d - min(d,1)): 0.5 d^2 below 1, d - 0.5 above, without tf.where (whose
  // condition has no gradient in tfjs).
  const d = tf.abs(tf.sub(y, x));
  const m = tf.minimum(d, 1);
  return tf.mean(tf.add(tf.mul(tf.square(m), 0.5), tf.sub(d, m))) as tf.Scalar;
}

/**
 * Mean SSIM over a batch of channels-last images (rank 4 or 5) with a 7-wide uniform window
 * (scikit-image's default), data range 2 (images in [-1, 1]), sample covariance.
 * Exported as `ssimLoss`: differentiable, used by the training loss's structural term (1 − SSIM).
 *
 * @param y - Prediction, channels-last [B, H, W, C] or [B, D, H, W, C], normalised [-1, 1].
 * @param x - Target, same shape.
 * @param win - Window width (default 7).
 * @param dataRange - Data range (default 2).
 * @returns Mean SSIM (a scalar tensor).
 * @example
 * ```ts
 * import { ssimLoss, tf, initEngine } from 'mriseq/browser';
 * await initEngine();
 * const a = tf.randomUniform([1, 16, 16, 1], -1, 1);
 * const s = ssimLoss(a, a);
 * console.log(s.dataSync()[0]); // 1
 * tf.dispose([a, s]);
 * ```
 */
export function ssim(y: Tensor, x: Tensor, win = 7, dataRange = 2): tf.Scalar {
  const np = Math.pow(win, y.rank - 2);
  const pool = (t: Tensor): Tensor =>
    t.rank === 4
      ? tf.avgPool(t as tf.Tensor4D, win, 1, 'valid')
      : tf.avgPool3d(t as tf.Tensor5D, win, 1, 'valid');
  const cov = np / (np - 1);
  const c1 = (0.01 * dataRange) ** 2;
  const c2 = (0.03 * dataRange) ** 2;
  // The five local means as one pooling over stacked channels.
  const [ux, uy, uxx, uyy, uxy] = tf.split(
    pool(tf.concat([x, y, tf.mul(x, x), tf.mul(y, y), tf.mul(x, y)], -1)),
    5,
    -1,
  ) as [Tensor, Tensor, Tensor, Tensor, Tensor];
  const uxuy = tf.mul(ux, uy);
  const vx = tf.mul(tf.sub(uxx, tf.square(ux)), cov);
  const vy = tf.mul(tf.sub(uyy, tf.square(uy)), cov);
  const vxy = tf.mul(tf.sub(uxy, uxuy), cov);
  const num = tf.mul(tf.add(tf.mul(uxuy, 2), c1), tf.add(tf.mul(vxy, 2), c2));
  const den = tf.mul(tf.add(tf.add(tf.square(ux), tf.square(uy)), c1), tf.add(tf.add(vx, vy), c2));
  return tf.mean(tf.div(num, den)) as tf.Scalar;
}
