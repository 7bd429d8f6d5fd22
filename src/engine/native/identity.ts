/** Kernels that skip a TensorFlow op that changes nothing (Cast or Reshape to what x already is). */
import { type Args, type Info, type KernelFunc, native } from './binding.js';

export const castKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    // tfjs-node runs a TensorFlow Cast even to the same dtype; tfjs's gradients cast often.
    const x = args.inputs.x as Info;
    if ((args.attrs as { dtype: string }).dtype !== x.dtype) return original(args);
    // like tfjs-node's own Identity kernel: share the data, count one more reference
    native(args.backend).be.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };

export const reshapeKernel =
  (original: KernelFunc): KernelFunc =>
  (args: Args) => {
    // tfjs's gradients reshape to the shape a tensor already has (every Add, Sub, Mul...);
    // tfjs-node would run a TensorFlow Reshape and build a shape tensor each time.
    const x = args.inputs.x as Info;
    const shape = (args.attrs as { shape: number[] }).shape;
    if (shape.length !== x.shape.length || shape.some((d, i) => d !== x.shape[i])) return original(args);
    native(args.backend).be.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
