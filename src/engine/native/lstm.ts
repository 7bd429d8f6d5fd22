/** Fused ConvLSTM kernels: the gate step and a layer's first step from a zero state. */
import * as tf from '@tensorflow/tfjs';
import {
  type Args,
  type Info,
  type KernelFunc,
  MRISEQ_LSTM_CELL_GRAD,
  Native,
  native,
  typeAttr,
} from './binding.js';
import { conv2dPlainAttrs } from './conv2d.js';

// --- ConvLSTM gate step ------------------------------------------------------------------------
// z = conv([x, h]) + b with gates i, f, o, g along the last axis (each `hidden` wide);
// c' = sigmoid(f) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c'). Inputs {z} or {z, c}.

/** The gate activations of z: [i, f, o, g] (sigmoid, sigmoid, sigmoid, tanh). */
function gates(n: Native, z: Info): Info[] {
  const [zi, zf, zo, zg] = n.splitLast(z, 4);
  const out = [n.op('Sigmoid', [zi!]), n.op('Sigmoid', [zf!]), n.op('Sigmoid', [zo!]), n.op('Tanh', [zg!])];
  n.free(zi, zf, zo, zg);
  return out;
}

export const lstmCell: KernelFunc = ({ inputs, backend }: Args) => {
  const n = native(backend);
  const { z, c } = inputs as { z: Info; c?: Info };
  const [i, f, o, g] = gates(n, z);
  const ig = n.op('Mul', [i!, g!]);
  let cNew = ig;
  if (c) {
    const fc = n.op('Mul', [f!, c]);
    cNew = n.op('AddV2', [fc, ig]);
    n.free(fc, ig);
  }
  const tc = n.op('Tanh', [cNew]);
  const h = n.op('Mul', [o!, tc]);
  n.free(i, f, o, g, tc);
  return [h, cNew];
};

/**
 * The gradients of c' and h' = o tanh(c') through the gates i, o, g (c' = i g + f c; the f term is
 * the caller's): dz_i, dz_o, dz_g and dc' in total (dc, the gradient arriving at c', added when
 * given). The caller frees the four results.
 */
function iogGrads(n: Native, i: Info, o: Info, g: Info, cNew: Info, dh: Info, dc?: Info) {
  const tc = n.op('Tanh', [cNew]);
  const dO = n.op('Mul', [dh, tc]);
  const dTc = n.op('Mul', [dh, o]);
  const dcIn = n.op('TanhGrad', [tc, dTc]);
  const dcTot = dc ? n.op('AddV2', [dc, dcIn]) : dcIn;
  const dI = n.op('Mul', [dcTot, g]);
  const dG = n.op('Mul', [dcTot, i]);
  const dzi = n.op('SigmoidGrad', [i, dI]);
  const dzo = n.op('SigmoidGrad', [o, dO]);
  const dzg = n.op('TanhGrad', [g, dG]);
  n.free(tc, dO, dTc, dc ? dcIn : undefined, dI, dG);
  return { dzi, dzo, dzg, dcTot };
}

export const lstmCellGrad: KernelFunc = ({ inputs, backend }: Args) => {
  // Recomputes the gates from z (six cheap elementwise ops) instead of keeping them as extra
  // outputs, which the tape would then also differentiate and zero-fill.
  const n = native(backend);
  const { z, c, cNew, dh, dc } = inputs as { z: Info; c?: Info; cNew: Info; dh: Info; dc: Info };
  const [i, f, o, g] = gates(n, z);
  const { dzi, dzo, dzg, dcTot } = iogGrads(n, i!, o!, g!, cNew, dh, dc);
  let dzf: Info;
  let dcPrev: Info | undefined;
  if (c) {
    const dF = n.op('Mul', [dcTot, c]);
    dzf = n.op('SigmoidGrad', [f!, dF]);
    dcPrev = n.op('Mul', [dcTot, f!]);
    n.free(dF);
  } else {
    // f multiplies a zero initial state: its gate gets no gradient.
    dzf = n.op('ZerosLike', [f!]);
  }
  const dz = n.concatLast([dzi, dzf, dzo, dzg]);
  n.free(i, f, o, g, dcTot, dzi, dzf, dzo, dzg);
  return dcPrev ? [dz, dcPrev] : [dz];
};

export function lstmGradFunc(withC: boolean): tf.GradConfig['gradFunc'] {
  return (dys, saved) => {
    const [dh, dc] = dys as tf.Tensor[];
    const [z, c, cNew] = withC ? saved : [saved[0], undefined, saved[1]];
    const ins: tf.NamedTensorMap = { z: z!, cNew: cNew!, dh: dh!, dc: dc! };
    if (c) ins.c = c;
    const out = tf.engine().runKernel(MRISEQ_LSTM_CELL_GRAD, ins, {}) as tf.Tensor[];
    const grads: Record<string, () => tf.Tensor> = { z: () => out[0]! };
    if (withC) grads.c = () => out[1]!;
    return grads;
  };
}

// --- ConvLSTM layer over one time point (zero initial state), conv included -------------------
// With h = c = 0 the step is z = conv(x, wx) + b, c' = sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c'):
// the forget gate multiplies a zero state, so its quarter of the convolution (and of its two
// gradients: dz_f is exactly 0) is never computed. One engine op forward ({x, w, b} -> h' and the
// activated gates [i, o, g], kept for the backward) and one backward (-> dx, dw, db) in place of
// conv + bias add + gate step and their gradients; dw and db get zeros in the forget block.
// 2D only (x rank 4, w [k, k, Cin, 4 hidden], 'SAME' at stride 1).

/** SplitV of t along its last axis into blocks of these widths. */
function splitLastV(n: Native, t: Info, widths: number[]): Info[] {
  return n.ops(
    'SplitV',
    [t, n.ints(widths, [widths.length]), n.ints([t.shape.length - 1], [])],
    widths.length,
    [n.T(), n.int('num_split', widths.length), typeAttr(n, 'Tlen', true)],
  );
}

/**
 * The i, o, g blocks of the last axis of t (gate width hidden): two ops, each copying whole
 * blocks (a GatherV2 of 192 single channels on the innermost axis took 5x as long).
 */
function iogOf(n: Native, t: Info, hidden: number): Info {
  const [i, f, og] = splitLastV(n, t, [hidden, hidden, 2 * hidden]);
  const out = n.concatLast([i!, og!]);
  n.free(i, f, og);
  return out;
}

/** [i, o, g] blocks back to [i, 0, o, g] along the last axis. */
function withZeroForget(n: Native, t: Info, hidden: number): Info {
  const [i, og] = splitLastV(n, t, [hidden, 2 * hidden]);
  const out = n.concatLast([i!, n.zeros([...t.shape.slice(0, -1), hidden]), og!]);
  n.free(i, og);
  return out;
}

export const convLstmFirst: KernelFunc = ({ inputs, backend }: Args) => {
  const n = native(backend);
  const { x, w, b } = inputs as { x: Info; w: Info; b: Info };
  const hidden = w.shape[3]! / 4;
  const w3 = iogOf(n, w, hidden);
  const b3 = iogOf(n, b, hidden);
  const conv = n.op('Conv2D', [x, w3], conv2dPlainAttrs(n, 'SAME'));
  const z = n.op('BiasAdd', [conv, b3], [n.T(), n.str('data_format', 'NHWC')]);
  n.free(w3, b3, conv);
  const [zio, zg] = splitLastV(n, z, [2 * hidden, hidden]);
  const io = n.op('Sigmoid', [zio!]);
  const g = n.op('Tanh', [zg!]);
  const gates = n.concatLast([io, g]);
  n.free(z, zio, zg, io, g);
  const [i, o, g2] = n.splitLast(gates, 3);
  const c = n.op('Mul', [i!, g2!]);
  const tc = n.op('Tanh', [c]);
  const h = n.op('Mul', [o!, tc]);
  n.free(i, o, g2, c, tc);
  return [h, gates];
};

export const convLstmFirstGrad: KernelFunc = ({ inputs, backend }: Args) => {
  const n = native(backend);
  const { x, w, gates, dh } = inputs as { x: Info; w: Info; gates: Info; dh: Info };
  const hidden = w.shape[3]! / 4;
  const [i, o, g] = n.splitLast(gates, 3);
  const c = n.op('Mul', [i!, g!]);
  const { dzi, dzo, dzg, dcTot } = iogGrads(n, i!, o!, g!, c, dh);
  const dz = n.concatLast([dzi, dzo, dzg]);
  n.free(i, o, g, c, dcTot, dzi, dzo, dzg);
  const w3 = iogOf(n, w, hidden);
  // Sum, as tfjs's gradient of the bias add: the same summation order, bit for bit (BiasAddGrad
  // sums in another order)
  const db3 = n.op(
    'Sum',
    [dz, n.ints([0, 1, 2], [3])],
    [n.T(), typeAttr(n, 'Tidx', true), n.bool('keep_dims', false)],
  );
  const dx = n.op('Conv2DBackpropInput', [n.ints(x.shape, [4]), w3, dz], conv2dPlainAttrs(n, 'SAME'));
  const dw3 = n.op('Conv2DBackpropFilter', [x, n.ints(w3.shape, [4]), dz], conv2dPlainAttrs(n, 'SAME'));
  n.free(w3, dz);
  const dw = withZeroForget(n, dw3, hidden);
  const db = withZeroForget(n, db3, hidden);
  n.free(dw3, db3);
  return [dx, dw, db];
};
