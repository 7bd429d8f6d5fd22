/**
 * Metrics on channels-last tensor batches (the generator's layout), MONAI style: one score per
 * batch item. [B, H, W, C] 2D/2.5D batches: every channel is an H x W image (W fastest), scored
 * with a 2D window and averaged over channels; [B, D, H, W, C] 3D batches: every channel a volume.
 * Values are read once with dataSync; nothing is left allocated.
 */
import { tf } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import type { SsimOptions } from './metrics.js';
import {
  computedMetrics,
  eachComputedMetric,
  type BuiltinMetricName,
  type SynthesisScores,
} from './registry.js';
import { synthesisScores } from './scores.js';

/**
 * The computed metrics of the registry (PSNR, SSIM, MAE) per item of a channels-last tensor batch (the generator's layout), MONAI style;
 * values are read once with dataSync and nothing is left allocated.
 *
 * @param truth - Real images [B, H, W, C] (each channel an H×W image) or [B, D, H, W, C], normalised [-1, 1].
 * @param test - Synthesised images, same shape.
 * @param opts - Data range, window, k1/k2 (no mask or shape: they come from the tensor).
 * @returns One `{ psnr, ssim, mae }` per batch item (channels averaged).
 * @throws {@link MriseqError} for a rank other than 4 or 5, or shapes that differ.
 * @example
 * ```ts
 * import { batchSynthesisScores, tf, initEngine } from 'mriseq';
 * await initEngine();
 * const truth = tf.randomUniform([2, 16, 16, 3], -1, 1);
 * const test = tf.tidy(() => truth.add(0.05));
 * console.log(batchSynthesisScores(truth, test).map((s) => s.psnr.toFixed(1)));
 * tf.dispose([truth, test]);
 * ```
 */
export function batchSynthesisScores(
  truth: tf.Tensor,
  test: tf.Tensor,
  opts: Omit<SsimOptions, 'shape' | 'mask'> = {},
): SynthesisScores[] {
  if (truth.rank !== 4 && truth.rank !== 5)
    throw new MriseqError(`expected 4D [B,H,W,C] or 5D [B,D,H,W,C], got ${truth.rank}D`, {
      field: 'truth',
      found: `[${truth.shape.join(', ')}]`,
      code: 'metrics.rank',
    });
  if (truth.shape.join(',') !== test.shape.join(','))
    throw new MriseqError('truth and test batches differ in shape', {
      field: 'test',
      found: `[${test.shape.join(', ')}]`,
      expected: `[${truth.shape.join(', ')}]`,
      code: 'metrics.shape',
    });
  const [b, ...rest] = truth.shape;
  const c = rest[rest.length - 1];
  const spatial = rest.slice(0, -1); // [H, W] or [D, H, W], slowest first
  const n = spatial.reduce((p, q) => p * q, 1);
  const a = truth.dataSync();
  const y = test.dataSync();
  const out: SynthesisScores[] = [];
  const shape = [...spatial].reverse(); // ours lists the fastest axis first
  for (let i = 0; i < b; i++) {
    const acc = eachComputedMetric(0);
    const metrics = computedMetrics().map((m) => m.name as BuiltinMetricName);
    for (let ch = 0; ch < c; ch++) {
      const xa = new Float32Array(n);
      const xb = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        xa[k] = a[(i * n + k) * c + ch];
        xb[k] = y[(i * n + k) * c + ch];
      }
      const s = synthesisScores(xa, xb, { ...opts, shape });
      for (const k of metrics) acc[k] += s[k] / c;
    }
    out.push(acc);
  }
  return out;
}
