/** Registers the native kernels and the gradient fixes of this folder with tfjs. */
import * as tf from '@tensorflow/tfjs';
import {
  CONV_LSTM_FIRST_GRAD,
  hasKernel,
  type KernelFunc,
  LEAKY_RELU_GRAD,
  MIRROR_PAD_GRAD,
  MRISEQ_CONV_LSTM_FIRST,
  MRISEQ_INSTANCE_NORM,
  MRISEQ_INSTANCE_NORM_GRAD,
  MRISEQ_LSTM_CELL,
  MRISEQ_LSTM_CELL_GRAD,
} from './binding.js';
import { conv2dFilterGradKernel, conv2dInputGradKernel, conv2dKernel } from './conv2d.js';
import { conv3dFilterGradKernel, conv3dInputGradKernel, conv3dKernel } from './conv3d.js';
import {
  leakyReluGradKernel,
  mirrorPadGradComposed,
  mirrorPadGradKernel,
  resizeBilinearGradKernel,
} from './grad-ops.js';
import { castKernel, reshapeKernel } from './identity.js';
import { convLstmFirst, convLstmFirstGrad, lstmCell, lstmCellGrad, lstmGradFunc } from './lstm.js';
import { instanceNormGradKernel, instanceNormKernel } from './norm.js';
import { avgPoolGradKernel, avgPoolKernel } from './pool.js';

let done: string[] | undefined;

/**
 * Gradient fixes for every backend (tfjs's MirrorPad gradient is a plain slice that drops the
 * mirrored contributions) that dispatch to native kernels where they exist. Once.
 */
export function registerFusedGradients(): void {
  const leaky = tf.getGradient(tf.LeakyRelu);
  tf.registerGradient({
    kernelName: tf.MirrorPad,
    gradFunc: (dy, _saved, attrs) => {
      const a = attrs as unknown as { paddings: [number, number][]; mode: string };
      const g = dy as tf.Tensor;
      return {
        x: () =>
          hasKernel(MIRROR_PAD_GRAD)
            ? (tf.engine().runKernel(MIRROR_PAD_GRAD, { dy: g }, attrs as tf.NamedAttrMap) as tf.Tensor)
            : mirrorPadGradComposed(g, a.paddings, a.mode),
      };
    },
  });
  if (leaky) {
    tf.registerGradient({
      ...leaky,
      gradFunc: (dy, saved, attrs) =>
        hasKernel(LEAKY_RELU_GRAD)
          ? {
              x: () =>
                tf
                  .engine()
                  .runKernel(
                    LEAKY_RELU_GRAD,
                    { dy: dy as tf.Tensor, x: saved[0]! },
                    attrs as tf.NamedAttrMap,
                  ) as tf.Tensor,
            }
          : leaky.gradFunc(dy, saved, attrs),
    });
  }
  // conv3dTranspose (Conv3DBackpropInputV2) has no gradient in tfjs 4.22, so a 3D decoder could not
  // train: its adjoint is conv3d for dy and the filter gradient of conv3d with the roles swapped.
  if (!tf.getGradient(tf.Conv3DBackpropInputV2)) {
    tf.registerGradient({
      kernelName: tf.Conv3DBackpropInputV2,
      inputsToSave: ['dy', 'filter'],
      gradFunc: (ddx, saved, attrs) => {
        const [dy, filter] = saved as [tf.Tensor5D, tf.Tensor5D];
        const a = attrs as unknown as { strides: [number, number, number] | number; pad: 'same' | 'valid' };
        const g = ddx as tf.Tensor5D;
        return {
          dy: () => tf.conv3d(g, filter, a.strides, a.pad),
          filter: () =>
            tf.engine().runKernel(tf.Conv3DBackpropFilterV2, { x: g, dy }, {
              strides: a.strides,
              pad: a.pad,
              filterShape: filter.shape,
            } as unknown as tf.NamedAttrMap) as tf.Tensor,
        };
      },
    });
  }
  tf.registerGradient({
    kernelName: MRISEQ_LSTM_CELL,
    inputsToSave: ['z', 'c'],
    outputsToSave: [false, true],
    gradFunc: lstmGradFunc(true),
  });
  tf.registerGradient({
    kernelName: `${MRISEQ_LSTM_CELL}First`,
    inputsToSave: ['z'],
    outputsToSave: [false, true],
    gradFunc: lstmGradFunc(false),
  });
  tf.registerGradient({
    kernelName: MRISEQ_CONV_LSTM_FIRST,
    inputsToSave: ['x', 'w'],
    outputsToSave: [false, true],
    gradFunc: (dys, saved) => {
      const [dh] = dys as tf.Tensor[];
      const [x, w, gates] = saved;
      const out = tf
        .engine()
        .runKernel(CONV_LSTM_FIRST_GRAD, { x: x!, w: w!, gates: gates!, dh: dh! }, {}) as tf.Tensor[];
      return { x: () => out[0]!, w: () => out[1]!, b: () => out[2]! };
    },
  });
  tf.registerGradient({
    kernelName: MRISEQ_INSTANCE_NORM,
    inputsToSave: ['x'],
    outputsToSave: [false, true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      const [x, r1, r2, r3] = saved;
      return {
        x: () =>
          tf
            .engine()
            .runKernel(
              MRISEQ_INSTANCE_NORM_GRAD,
              { dy, x: x!, r1: r1!, r2: r2!, r3: r3! },
              attrs as tf.NamedAttrMap,
            ) as tf.Tensor,
      };
    },
  });
}

/**
 * The fused and fixed kernels on the 'tensorflow' backend. Once; returns what it registered.
 */
export function registerFusedNativeKernels(): string[] {
  if (done) return done;
  done = [];
  const add = (kernelName: string, kernelFunc: KernelFunc): void => {
    if (tf.getKernel(kernelName, 'tensorflow')) tf.unregisterKernel(kernelName, 'tensorflow');
    tf.registerKernel({ kernelName, backendName: 'tensorflow', kernelFunc });
    done!.push(kernelName);
  };
  add(MRISEQ_LSTM_CELL, lstmCell);
  add(`${MRISEQ_LSTM_CELL}First`, lstmCell);
  add(MRISEQ_LSTM_CELL_GRAD, lstmCellGrad);
  add(MRISEQ_CONV_LSTM_FIRST, convLstmFirst);
  add(CONV_LSTM_FIRST_GRAD, convLstmFirstGrad);
  add(MRISEQ_INSTANCE_NORM, instanceNormKernel);
  add(MRISEQ_INSTANCE_NORM_GRAD, instanceNormGradKernel);
  add(MIRROR_PAD_GRAD, mirrorPadGradKernel);
  add(LEAKY_RELU_GRAD, leakyReluGradKernel);
  add(tf.ResizeBilinearGrad, resizeBilinearGradKernel);
  // kernels that wrap tfjs-node's own (their fallback), registered only where it has one
  const wrappers: [string, (original: KernelFunc) => KernelFunc][] = [
    [tf.Reshape, reshapeKernel],
    [tf.Conv3D, conv3dKernel],
    [tf.Conv3DBackpropInputV2, conv3dInputGradKernel],
    [tf.Conv3DBackpropFilterV2, conv3dFilterGradKernel],
    [tf.Conv2D, conv2dKernel],
    [tf.Conv2DBackpropInput, conv2dInputGradKernel],
    [tf.Conv2DBackpropFilter, conv2dFilterGradKernel],
    [tf.AvgPool, avgPoolKernel],
    [tf.AvgPoolGrad, avgPoolGradKernel],
    [tf.Cast, castKernel],
  ];
  for (const [name, wrap] of wrappers) {
    const original = tf.getKernel(name, 'tensorflow');
    if (original) add(name, wrap(original.kernelFunc));
  }
  return done;
}
