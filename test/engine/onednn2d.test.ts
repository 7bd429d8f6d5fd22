/**
 * The native backend's oneDNN routes for 2D convolution gradients (_MklNativeConv2DBackprop*), the
 * one-input-channel forward (_MklNativeConv2D), the one-output-channel filter gradient as a
 * forward conv, and average pooling (_MklNativeAvgPool) against PyTorch (Debian's python3-torch, float64): conv2d
 * input and filter gradients, conv2dTranspose (the input gradient as a forward op) and avgPool
 * values and gradient, on odd shapes, batch > 1, strides 1 and 2, 'same' (TensorFlow's asymmetric
 * padding) and 'valid', one-channel inputs and outputs, k7. Each runs forced through oneDNN (size
 * threshold 0), through the stock kernels, with the default threshold, and with the labelled ops
 * renamed to missing ones (the probe must fall back to the stock kernels). Plus a leak check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MRISEQ_INSTANCE_NORM, tf } from '../../src/engine/index.js';
import { oneDnnOpRuns, oneDnnOps, oneDnnRoutes } from '../../src/engine/native-kernels.js';
import { missingPython, runPython } from '../helpers/python.js';
import { useBackend } from './backends.js';
import { closeToReference as close, rng } from './cases.js';

// PyTorch pads symmetrically only: the script pads with TensorFlow's amounts and runs 'valid'.
// TensorFlow's 'same' average pooling divides by the number of real (unpadded) pixels, which is
// the zero-padded sum pool over the zero-padded pool of ones.
const SCRIPT = `
import json, sys, torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
nchw = lambda v, s: torch.tensor(v).reshape(s).permute(0, 3, 1, 2).contiguous()
back = lambda t, p: t.detach().permute(*p).reshape(-1).tolist()
out = []
for c in json.load(sys.stdin):
    t, bo, l, ri = c['pads']
    x = nchw(c['x'], c['xShape']).requires_grad_(True)
    if c['kind'] == 'conv':
        w = torch.tensor(c['w']).reshape(c['wShape']).permute(3, 2, 0, 1).contiguous().requires_grad_(True)
        y = F.conv2d(F.pad(x, (l, ri, t, bo)), w, stride=c['stride'])
    else:
        k = c['k']
        s = F.avg_pool2d(F.pad(x, (l, ri, t, bo)), k, c['stride'], divisor_override=1)
        n = F.avg_pool2d(F.pad(torch.ones_like(x), (l, ri, t, bo)), k, c['stride'], divisor_override=1)
        y = s / n
    r = nchw(c['r'], [y.shape[0], *y.shape[2:], y.shape[1]])
    (y * r).sum().backward()
    o = {'yShape': [y.shape[0], *y.shape[2:], y.shape[1]], 'y': back(y, (0, 2, 3, 1)), 'dx': back(x.grad, (0, 2, 3, 1))}
    if c['kind'] == 'conv':
        o['dw'] = back(w.grad, (2, 3, 1, 0))
    out.append(o)
print(json.dumps(out))
`;

interface ConvCase {
  kind: 'conv';
  xShape: [number, number, number, number];
  wShape: [number, number, number, number];
  stride: number;
  pad: 'same' | 'valid';
}
interface PoolCase {
  kind: 'pool';
  xShape: [number, number, number, number];
  k: number;
  stride: number;
  pad: 'same' | 'valid';
}
type Case = ConvCase | PoolCase;

const CASES: Case[] = [
  { kind: 'conv', xShape: [2, 9, 10, 3], wShape: [3, 3, 3, 4], stride: 1, pad: 'same' },
  // even sizes at stride 2: TensorFlow pads 0 before, 1 after
  { kind: 'conv', xShape: [2, 8, 7, 2], wShape: [3, 3, 2, 3], stride: 2, pad: 'same' },
  { kind: 'conv', xShape: [2, 9, 8, 4], wShape: [3, 3, 4, 5], stride: 2, pad: 'valid' },
  // the decoder's last conv (k7, one output channel) and the encoder's first (one input channel)
  { kind: 'conv', xShape: [1, 13, 11, 5], wShape: [7, 7, 5, 1], stride: 1, pad: 'valid' },
  { kind: 'conv', xShape: [1, 12, 12, 1], wShape: [7, 7, 1, 4], stride: 1, pad: 'valid' },
  // one output channel with a batch and 'same' (the filter gradient as a forward conv), one
  // input channel at stride 2 (the forward through oneDNN)
  { kind: 'conv', xShape: [2, 9, 8, 3], wShape: [3, 3, 3, 1], stride: 1, pad: 'same' },
  { kind: 'conv', xShape: [2, 9, 10, 1], wShape: [3, 3, 1, 2], stride: 2, pad: 'same' },
  // anisotropic, even kernel and a 1x1 at stride 2
  { kind: 'conv', xShape: [2, 7, 9, 3], wShape: [2, 3, 3, 2], stride: 1, pad: 'same' },
  { kind: 'conv', xShape: [2, 6, 5, 3], wShape: [1, 1, 3, 4], stride: 2, pad: 'same' },
  // large enough for the default threshold (34 x 34 x 7 x 7 x 16 im2col elements)
  { kind: 'conv', xShape: [1, 40, 40, 16], wShape: [7, 7, 16, 1], stride: 1, pad: 'valid' },
  // SSIM's window on the five stacked statistics
  { kind: 'pool', xShape: [3, 14, 12, 5], k: 7, stride: 1, pad: 'valid' },
  { kind: 'pool', xShape: [2, 9, 8, 3], k: 3, stride: 2, pad: 'same' },
  { kind: 'pool', xShape: [1, 10, 11, 2], k: 2, stride: 2, pad: 'valid' },
  { kind: 'pool', xShape: [2, 7, 6, 2], k: 4, stride: 1, pad: 'same' },
];

const ROUTES = [
  { name: 'oneDNN forced', on: true, minCols: 0, missing: false },
  { name: 'stock kernels', on: false, minCols: 0, missing: false },
  { name: 'default threshold', on: true, minCols: oneDnnRoutes.conv2dGradMinCols, missing: false },
  { name: 'labelled ops missing (fallback)', on: true, minCols: 0, missing: true },
];

const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
const kernelShape = (c: Case): [number, number] =>
  c.kind === 'conv' ? [c.wShape[0], c.wShape[1]] : [c.k, c.k];

/** TensorFlow's padding per side (top, bottom, left, right). */
function pads(c: Case): number[] {
  return [1, 2].flatMap((a) => {
    const n = c.xShape[a]!;
    const k = kernelShape(c)[a - 1]!;
    if (c.pad === 'valid') return [0, 0];
    const total = Math.max((Math.ceil(n / c.stride) - 1) * c.stride + k - n, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  });
}

function outShape(c: Case): number[] {
  const [kh, kw] = kernelShape(c);
  const o = (n: number, k: number) =>
    c.pad === 'same' ? Math.ceil(n / c.stride) : Math.floor((n - k) / c.stride) + 1;
  const [b, h, w, ch] = c.xShape;
  return [b, o(h, kh), o(w, kw), c.kind === 'conv' ? c.wShape[3] : ch];
}

const r0 = rng(31);
const rand = (n: number) => Array.from({ length: n }, () => r0() * 2 - 1);
const INPUT = CASES.map((c) => ({
  ...c,
  pads: pads(c),
  x: rand(size(c.xShape)),
  w: c.kind === 'conv' ? rand(size(c.wShape)) : [],
  r: rand(size(outShape(c))),
}));

type Ref = { yShape: number[]; y: number[]; dx: number[]; dw?: number[] }[];
let refCache: Ref | undefined;
const reference = (): Ref => (refCache ??= runPython<Ref>(SCRIPT, INPUT));

function withRoute<T>(route: (typeof ROUTES)[number], f: () => T): T {
  const savedRoutes = { ...oneDnnRoutes };
  const savedOps = { ...oneDnnOps };
  Object.assign(oneDnnRoutes, {
    conv2dGrads: route.on,
    avgPool: route.on,
    conv2dOneInput: route.on,
    filterGradOneOutput: route.on,
    conv2dGradMinCols: route.minCols,
    filterGradOneOutputMinCols: route.minCols === 0 ? 0 : oneDnnRoutes.filterGradOneOutputMinCols,
  });
  if (route.missing)
    Object.assign(oneDnnOps, {
      conv2d: '_MklNativeMissingConv2D',
      conv2dInputGrad: '_MklNativeMissingConv2DBackpropInput',
      conv2dFilterGrad: '_MklNativeMissingConv2DBackpropFilter',
      avgPool: '_MklNativeMissingAvgPool',
    });
  try {
    return f();
  } finally {
    Object.assign(oneDnnRoutes, savedRoutes);
    Object.assign(oneDnnOps, savedOps);
  }
}

/** y, dx (and dw) of one case with r as the output weights, and conv2dTranspose(r, w). */
function run(c: (typeof INPUT)[number]): { y: tf.Tensor; dx: tf.Tensor; dw?: tf.Tensor; tr?: tf.Tensor } {
  const x = tf.tensor4d(c.x, c.xShape);
  const r = tf.tensor(c.r, outShape(c));
  if (c.kind === 'pool') {
    const f = (a: tf.Tensor) => tf.avgPool(a as tf.Tensor4D, c.k, c.stride, c.pad);
    const [dx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(f(a), r)))([x]);
    return { y: f(x), dx: dx! };
  }
  const w = tf.tensor4d(c.w, c.wShape);
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), r)))([x, w]);
  const tr = tf.conv2dTranspose(r as tf.Tensor4D, w, c.xShape, c.stride, c.pad);
  return { y: f(x, w), dx: dx!, dw: dw!, tr };
}

for (const route of ROUTES) {
  test(`conv2d gradients, conv2dTranspose and avgPool (value, gradient) match PyTorch [${route.name}]`, async (t) => {
    const why = missingPython('torch') ?? (await useBackend('tensorflow'));
    if (why) return t.skip(why);
    const ref = reference();
    withRoute(route, () =>
      INPUT.forEach((c, i) => {
        const label = `case ${i} (${c.kind}, x ${c.xShape.join('x')}, s${c.stride} ${c.pad})`;
        tf.tidy(() => {
          const o = run(c);
          assert.deepEqual(o.y.shape, ref[i]!.yShape, `${label}: output shape`);
          close(o.y.dataSync(), ref[i]!.y, `${label} y`);
          close(o.dx.dataSync(), ref[i]!.dx, `${label} dx`);
          if (o.dw) close(o.dw.dataSync(), ref[i]!.dw!, `${label} dw`);
          // conv2dTranspose is the adjoint of conv2d: applied to r it is PyTorch's dx
          if (o.tr) close(o.tr.dataSync(), ref[i]!.dx, `${label} conv2dTranspose`);
        });
      }),
    );
    const names = [
      oneDnnOps.conv2d,
      oneDnnOps.conv2dInputGrad,
      oneDnnOps.conv2dFilterGrad,
      oneDnnOps.avgPool,
    ];
    if (route.on && !route.missing) {
      // every labelled op was asked for (the default threshold is met by the 40x40 k7 case)
      for (const op of names) {
        assert.notEqual(oneDnnOpRuns(op), undefined, `${op} was never tried`);
        if (!oneDnnOpRuns(op)) t.diagnostic(`${op} does not run in this TensorFlow: the stock kernel ran`);
      }
    }
    if (route.missing)
      for (const op of [
        '_MklNativeMissingConv2D',
        '_MklNativeMissingConv2DBackpropInput',
        '_MklNativeMissingAvgPool',
      ])
        assert.equal(oneDnnOpRuns(op), false, `${op}: the probe should have failed`);
  });
}

test('oneDNN and stock 2D gradients agree closely on a decoder-sized case', async (t) => {
  const why = await useBackend('tensorflow');
  if (why) return t.skip(why);
  const c = INPUT[9]!;
  const [on, off] = [ROUTES[0]!, ROUTES[1]!].map((route) =>
    withRoute(route, () => {
      const o = run(c);
      const out = [o.y, o.dx, o.dw!, o.tr!].map((v) => v.dataSync().slice());
      tf.dispose([o.y, o.dx, o.dw!, o.tr!]);
      return out;
    }),
  );
  on!.forEach((a, k) => {
    const b = off![k]!;
    const scale = Math.max(1, ...Array.from(b, Math.abs));
    let err = 0;
    for (let j = 0; j < b.length; j++) err = Math.max(err, Math.abs(a[j]! - b[j]!));
    assert.ok(err <= 1e-5 * scale, `output ${k}: oneDNN vs stock max error ${err}`);
  });
});

test('the oneDNN 2D routes free every intermediate', async (t) => {
  const why = await useBackend('tensorflow');
  if (why) return t.skip(why);
  for (const route of ROUTES)
    withRoute(route, () =>
      INPUT.forEach((c) => {
        tf.tidy(() => void run(c)); // first call: cached shape constants and the probes
        const before = tf.memory();
        tf.tidy(() => void run(c));
        const after = tf.memory();
        assert.equal(after.numTensors, before.numTensors, `${route.name}: tensors`);
        assert.equal(after.numBytes, before.numBytes, `${route.name}: bytes`);
      }),
    );
});

// The instance norm's gradient through oneDNN (_MklNativeFusedBatchNormGradV3, fed the stock
// forward's reserve spaces) against PyTorch autograd through the definition in float64 (Debian's
// torch 1.13 F.instance_norm returned a wrong input gradient on these inputs: its finite
// differences disagree), forced (threshold 0), stock, and with the op renamed to a missing one
// (fallback); a 2D image and a 3D volume.
const IN_SCRIPT = `
import json, sys, torch
torch.set_default_dtype(torch.float64)
out = []
for c in json.load(sys.stdin):
    s = c['shape']
    x = torch.tensor(c['x']).reshape(s).requires_grad_(True)
    axes = tuple(range(1, len(s) - 1))
    m = x.mean(dim=axes, keepdim=True)
    v = ((x - m) ** 2).mean(dim=axes, keepdim=True)
    y = (x - m) / torch.sqrt(v + 1e-5)
    (y * torch.tensor(c['r']).reshape(s)).sum().backward()
    out.append({'y': y.detach().reshape(-1).tolist(), 'dx': x.grad.reshape(-1).tolist()})
print(json.dumps(out))
`;

test('instance norm gradient through oneDNN matches PyTorch (forced, stock, fallback)', async (t) => {
  const why = missingPython('torch') ?? (await useBackend('tensorflow'));
  if (why) return t.skip(why);
  const r1 = rng(77);
  const cases = [
    [1, 9, 7, 5],
    [1, 3, 6, 5, 2],
  ].map((shape) => ({
    shape,
    x: Array.from({ length: size(shape) }, () => r1() * 4 - 1),
    r: Array.from({ length: size(shape) }, () => r1() * 2 - 1),
  }));
  const ref = runPython<{ y: number[]; dx: number[] }[]>(IN_SCRIPT, cases);
  const saved = { ...oneDnnRoutes };
  const savedOp = oneDnnOps.instanceNormGrad;
  try {
    for (const [name, on, op] of [
      ['stock', false, savedOp],
      ['forced', true, savedOp],
      ['missing op', true, '_MklNativeMissingFusedBatchNormGradV3'],
    ] as const) {
      Object.assign(oneDnnRoutes, { instanceNormGrad: on, instanceNormGradMinPixels: 0 });
      oneDnnOps.instanceNormGrad = op;
      cases.forEach((c, i) =>
        tf.tidy(() => {
          const norm = (a: tf.Tensor) =>
            (tf.engine().runKernel(MRISEQ_INSTANCE_NORM, { x: a }, { eps: 1e-5 }) as tf.Tensor[])[0]!;
          const x = tf.tensor(c.x, c.shape);
          const r = tf.tensor(c.r, c.shape);
          const [dx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(norm(a), r)))([x]);
          close(norm(x).dataSync(), ref[i]!.y, `${name} case ${i} y`);
          close(dx!.dataSync(), ref[i]!.dx, `${name} case ${i} dx`);
        }),
      );
    }
    assert.equal(oneDnnOpRuns(savedOp), true, `${savedOp} should run in this TensorFlow`);
    assert.equal(oneDnnOpRuns('_MklNativeMissingFusedBatchNormGradV3'), false, 'the probe should fail');
  } finally {
    Object.assign(oneDnnRoutes, saved);
    oneDnnOps.instanceNormGrad = savedOp;
  }
});
