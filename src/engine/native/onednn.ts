/**
 * TensorFlow's oneDNN ops run by kernel label: which routes are taken (oneDnnRoutes), the op names,
 * and the once-per-op probe that the 2D convolution, pooling and instance norm kernels share.
 */
import { outsideTrace, recordingStockOps } from '../graph.js';
import { type Info, Native } from './binding.js';

// Eager TensorFlow runs Conv2DBackpropInput/Filter as im2col (or col2im) + one oneDNN GEMM: it
// materialises an [output pixels, kh*kw*Cin] matrix, which at full resolution with few channels
// is tens of MB per call (the decoder's last k7 16->1 at 128 px: 51 MB; 45 ms per gradient,
// oneDNN's direct kernel 1.5-5 ms). oneDNN's _MklNative versions win while that matrix is large
// and lose (weight reorders, up to 1.7x) on small, wide ones like the ConvLSTM's 64->256 at 32 px,
// so they take over from 3 MB of im2col (oneDnnRoutes.conv2dGradMinCols; measured interleaved
// on this model's shapes, 2 threads). The forward Conv2D stays stock: oneDNN's was slower on all
// but the one-channel first conv. AvgPool (the SSIM's 7x7 window) runs Eigen's generic code in
// eager TensorFlow, ~25x slower than oneDNN's; its gradient (AvgPoolGrad, ~5x slower) at stride 1
// without padding is oneDNN's pooling again (oneDNN's own AvgPoolGrad was not faster).

/**
 * Which oneDNN routes the native backend takes: tests turn them off to compare with the stock
 * kernels, or lower `conv2dGradMinCols` (im2col elements, output pixels x kh*kw*Cin, from which the
 * 2D gradients go to oneDNN; 3 MB by default) to reach every geometry on small inputs.
 */
export const oneDnnRoutes: {
  conv2dGrads: boolean;
  conv2dGradMinCols: number;
  avgPool: boolean;
  /** Forward Conv2D with one input channel (the encoder's first conv) through oneDNN. */
  conv2dOneInput: boolean;
  /**
   * The filter gradient of a conv with one output channel (the decoder's last, k7) as one stock
   * forward Conv2D (while conv2dGrads is on, from filterGradOneOutputMinCols).
   */
  filterGradOneOutput: boolean;
  /** im2col elements from which filterGradOneOutput takes over (it lost at 64 px, 3.2 M). */
  filterGradOneOutputMinCols: number;
  /** The instance norm's gradient (FusedBatchNormGradV3) through oneDNN. */
  instanceNormGrad: boolean;
  /** Pixels per image (of the 4D view) from which instanceNormGrad takes over. */
  instanceNormGradMinPixels: number;
} = {
  conv2dGrads: true,
  conv2dGradMinCols: 3 << 18,
  avgPool: true,
  conv2dOneInput: true,
  filterGradOneOutput: true,
  filterGradOneOutputMinCols: 8 << 20,
  instanceNormGrad: true,
  instanceNormGradMinPixels: 128 * 128,
};

/** The labelled ops used (tests name a missing one to check the fallback). */
export const oneDnnOps = {
  conv2d: '_MklNativeConv2D',
  instanceNormGrad: '_MklNativeFusedBatchNormGradV3',
  conv2dInputGrad: '_MklNativeConv2DBackpropInput',
  conv2dFilterGrad: '_MklNativeConv2DBackpropFilter',
  avgPool: '_MklNativeAvgPool',
};

/** Whether a labelled oneDNN op runs here: tried once per op name on a tiny input. */
const labelled = new Map<string, boolean>();
export function labelledOpRuns(n: Native, op: string, probe: () => Info): boolean {
  // XLA compiles stock ops only (graph.ts)
  if (recordingStockOps()) return false;
  let ok = labelled.get(op);
  if (ok === undefined) {
    try {
      // for real even while a compiled step is being recorded (graph.ts)
      outsideTrace(() => n.free(probe()));
      ok = true;
    } catch {
      ok = false;
    }
    labelled.set(op, ok);
  }
  return ok;
}

/** Whether this labelled oneDNN op ran here (undefined before it was first needed). */
export function oneDnnOpRuns(op: string): boolean | undefined {
  return labelled.get(op);
}

export const MKL_LABEL = 'MklNameChangeOp';
