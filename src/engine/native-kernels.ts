/**
 * Fused kernels for the native ('tensorflow') backend, and gradient fixes for every backend.
 *
 * Why: on tfjs-node each tfjs op costs 25-120 us of engine bookkeeping (tape, scopes, kernel
 * lookup, attribute tensors) on top of TensorFlow's own ~15 us per eager op, and a generator
 * training step is thousands of small ops. A kernel registered here runs once through the tfjs
 * engine and then issues several TensorFlow ops straight through the binding, so a ConvLSTM gate
 * step or an instance norm costs one engine op forward and one backward. Where TensorFlow has a
 * gradient op (MirrorPadGrad, LeakyReluGrad, FusedBatchNormGradV3, ResizeBilinearGrad with
 * half_pixel_centers) it replaces tfjs's composed or wrong gradient. Conv3D and its two gradients,
 * the 2D convolution gradients on large maps and AvgPool run TensorFlow's oneDNN kernels, which
 * eager TensorFlow never picks (see below).
 *
 * Browser-safe: only @tensorflow/tfjs; the native backend is reached by duck typing.
 * The model asks `hasKernel(name)` and falls back to composed tfjs ops on other backends.
 *
 * This file is the engine's door to them; each kernel family lives in native/: binding.ts (the
 * binding wrapper and kernel names), lstm.ts, norm.ts, conv3d.ts, conv2d.ts, pool.ts, onednn.ts
 * (the oneDNN routes and probes they share), grad-ops.ts (single-op gradients, mirror padding's
 * adjoint), identity.ts (Cast/Reshape that change nothing), optimizer.ts (NativeAdam) and
 * register.ts (registration with tfjs).
 */
export {
  hasKernel,
  MRISEQ_CONV_LSTM_FIRST,
  MRISEQ_INSTANCE_NORM,
  MRISEQ_INSTANCE_NORM_GRAD,
  MRISEQ_LSTM_CELL,
  MRISEQ_LSTM_CELL_GRAD,
} from './native/binding.js';
export { conv3dOneDnnRuns, conv3dRoutes } from './native/conv3d.js';
export { mirrorPadGradComposed } from './native/grad-ops.js';
export { oneDnnOpRuns, oneDnnOps, oneDnnRoutes } from './native/onednn.js';
export { NativeAdam } from './native/optimizer.js';
export { registerFusedGradients, registerFusedNativeKernels } from './native/register.js';
