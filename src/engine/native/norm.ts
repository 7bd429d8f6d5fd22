/** Instance norm (batch 1) and its gradient as TensorFlow's fused batch norm ops. */
import { type Args, type Info, type KernelFunc, native, Native, type OpAttr } from './binding.js';
import { labelledOpRuns, MKL_LABEL, oneDnnOps, oneDnnRoutes } from './onednn.js';

// With one image, batch statistics over (N, H, W) are the instance statistics; 3D volumes are
// viewed as [1, D*H, W, C]. Normalises with the biased variance, as PyTorch's InstanceNorm.

function as4d(n: Native, x: Info): Info {
  const s = x.shape;
  return s.length === 4
    ? n.reshape(x, s)
    : n.reshape(x, [1, s.slice(1, -2).reduce((a, b) => a * b, 1), s[s.length - 2]!, s[s.length - 1]!]);
}

function bnAttrs(n: Native, eps: number): OpAttr[] {
  return [
    n.T(),
    n.T('U'),
    n.float('epsilon', eps),
    n.str('data_format', 'NHWC'),
    n.bool('is_training', true),
  ];
}

export const instanceNormKernel: KernelFunc = ({ inputs, backend, attrs }: Args) => {
  const n = native(backend);
  const x = inputs.x as Info;
  const eps = (attrs as { eps: number }).eps;
  const c = x.shape[x.shape.length - 1]!;
  const x4 = as4d(n, x);
  const empty = n.fill(0, 0);
  const outs = n.ops('FusedBatchNormV3', [x4, n.fill(1, c), n.fill(0, c), empty, empty], 6, [
    ...bnAttrs(n, eps),
    n.float('exponential_avg_factor', 1),
  ]);
  const y = n.reshape(outs[0]!, x.shape);
  n.free(x4 === x ? undefined : x4, y === outs[0] ? undefined : outs[0], outs[1], outs[2]);
  // reserve spaces 1-3 are what FusedBatchNormGradV3 needs: extra outputs, saved for the gradient
  return [y, outs[3]!, outs[4]!, outs[5]!];
};

export const instanceNormGradKernel: KernelFunc = ({ inputs, backend, attrs }: Args) => {
  const n = native(backend);
  const { dy, x, r1, r2, r3 } = inputs as Record<string, Info>;
  const eps = (attrs as { eps: number }).eps;
  const c = x!.shape[x!.shape.length - 1]!;
  const x4 = as4d(n, x!);
  const dy4 = as4d(n, dy!);
  const ins = [dy4, x4, n.fill(1, c), r1!, r2!, r3!];
  const outs = oneDnnBatchNormGrad(n, ins, eps) ?? n.ops('FusedBatchNormGradV3', ins, 5, bnAttrs(n, eps));
  const dx = n.reshape(outs[0]!, x!.shape);
  n.free(
    x4 === x ? undefined : x4,
    dy4 === dy ? undefined : dy4,
    dx === outs[0] ? undefined : outs[0],
    ...outs.slice(1),
  );
  return dx;
};

// The stock FusedBatchNormGradV3 is Eigen's generic code: oneDNN's took 0.4x of its time at
// 128 x 128 x 16, 0.45x at 64 x 64 x 32, 0.67x at 64 x 64 x 16, but 1.2x at 32 x 32 x 32 and 2.1x
// at 16 x 16 x 64 (kernel times in the step, interleaved, load ~6). Whole 64 px steps were not
// faster with it (1.01-1.03x, 30 pairs), 128 px steps were (0.95x, 20 pairs), so it takes over
// from 128 x 128 pixels (oneDnnRoutes.instanceNormGradMinPixels). It reads the stock forward's reserve spaces (mean,
// biased variance) the same way (dx equal to 1e-6). The forward stays stock (no faster).
function oneDnnBatchNormGrad(n: Native, ins: Info[], eps: number): Info[] | undefined {
  const s = ins[1]!.shape;
  if (!oneDnnRoutes.instanceNormGrad || s[1]! * s[2]! < oneDnnRoutes.instanceNormGradMinPixels)
    return undefined;
  const op = oneDnnOps.instanceNormGrad;
  const attrs = [...bnAttrs(n, eps), n.str('_kernel', MKL_LABEL)];
  const runs = labelledOpRuns(n, op, () => {
    const one = n.reshape(n.fill(1, 1), [1, 1, 1, 1]);
    const v = n.fill(1, 1);
    try {
      const outs = n.ops(op, [one, one, v, v, v, n.fill(0, 0)], 5, attrs);
      n.free(...outs.slice(1));
      return outs[0]!;
    } finally {
      n.free(one);
    }
  });
  return runs ? n.ops(op, ins, 5, attrs) : undefined;
}
