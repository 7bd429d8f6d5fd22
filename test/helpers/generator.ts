/** The smallest generator the tests train and compare: every layer kind, a few hundred parameters. */
import { tf } from '../../src/engine/index.js';
import type { Seq2Seq, Seq2SeqConfig } from '../../src/model/index.js';

export const TINY_GENERATOR: Partial<Seq2SeqConfig> = {
  cEnc: [4, 6, 8],
  cLstm: 8,
  cDec: [6, 4, 1],
  nresEnc: 1,
  nresDec: 1,
  cS: 4,
  cW: 3,
  seed: 3,
};

/** A lite generator small enough to train a few steps in seconds yet big enough to take measurable time per step (666,016 parameters with four sequences): what interrupt and training tests stop in the middle of. */
export const SMALL_GENERATOR: Partial<Seq2SeqConfig> = {
  cEnc: [8, 16, 32],
  cLstm: 32,
  cDec: [16, 8, 1],
  nresEnc: 1,
  nresDec: 1,
};

/**
 * One training step's sample for a t1 -> t2 step on 16x16 random images, with the step's three
 * generated images (y_t = G(x_s, t2), y_s = G(x_s, t1), y_c = G(y_t, t1)); dispose `tensors`.
 */
export function stepImages(
  g: Seq2Seq,
  seeds: [number, number] = [1, 2],
): {
  sample: { xs: tf.Tensor; xt: tf.Tensor; source: string; target: string; nts: number; ntt: number };
  xs: tf.Tensor;
  xt: tf.Tensor;
  yt: tf.Tensor;
  ys: tf.Tensor;
  yc: tf.Tensor;
  tensors: tf.Tensor[];
} {
  const xs = tf.randomUniform([1, 1, 16, 16, 1], -1, 1, 'float32', seeds[0]);
  const xt = tf.randomUniform([1, 1, 16, 16, 1], -1, 1, 'float32', seeds[1]);
  const sample = { xs, xt, source: 't1', target: 't2', nts: 1, ntt: 1 };
  const yt = g.apply(xs, 't2', 1);
  const ys = g.apply(xs, 't1', 1);
  const yc = g.apply(yt, 't1', 1);
  return { sample, xs, xt, yt, ys, yc, tensors: [xs, xt, yt, ys, yc] };
}
