/**
 * Convolution forward values and both gradients against PyTorch (Debian's python3-torch), on the
 * native and wasm backends. Layouts differ: tfjs is NHWC with [kh, kw, in, out] filters, PyTorch
 * NCHW with [out, in, kh, kw]; the Python side transposes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/index.js';
import { missingPython, runPython } from '../helpers/python.js';
import { useBackend } from './backends.js';
import { rng } from './cases.js';

const SCRIPT = `
import json, sys, torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
out = []
for c in json.load(sys.stdin):
    x = torch.tensor(c['x']).reshape(c['xShape']); w = torch.tensor(c['w']).reshape(c['wShape'])
    nd = len(c['xShape']) - 2
    x = x.permute(0, nd + 1, *range(1, nd + 1)).contiguous().requires_grad_(True)
    w = w.permute(nd + 1, nd, *range(nd)).contiguous().requires_grad_(True)
    conv = F.conv2d if nd == 2 else F.conv3d
    y = conv(x, w, stride=c['stride'], padding=c['padding'])
    r = torch.tensor(c['r']).reshape([y.shape[0], *y.shape[2:], y.shape[1]]).permute(0, nd + 1, *range(1, nd + 1))
    (y * r).sum().backward()
    back = lambda t, p: t.detach().permute(*p).reshape(-1).tolist()
    out.append({'y': back(y, (0, *range(2, nd + 2), 1)), 'dx': back(x.grad, (0, *range(2, nd + 2), 1)),
                'dw': back(w.grad, (*range(2, nd + 2), 1, 0))})
print(json.dumps(out))
`;

interface Case {
  xShape: number[];
  wShape: number[];
  stride: number;
  /** tfjs padding; PyTorch gets the equal symmetric `padding` below. */
  pad: 'same' | 'valid';
  padding: number;
}

const CASES: Case[] = [
  { xShape: [2, 6, 7, 3], wShape: [3, 3, 3, 4], stride: 1, pad: 'same', padding: 1 },
  { xShape: [1, 9, 7, 2], wShape: [3, 3, 2, 3], stride: 2, pad: 'valid', padding: 0 },
  { xShape: [1, 4, 5, 6, 2], wShape: [3, 3, 3, 2, 3], stride: 1, pad: 'same', padding: 1 },
  { xShape: [1, 7, 5, 7, 2], wShape: [3, 3, 3, 2, 2], stride: 2, pad: 'valid', padding: 0 },
];

const size = (s: number[]) => s.reduce((p, q) => p * q, 1);

type Ref = { y: number[]; dx: number[]; dw: number[] }[];
const cache = new Map<string, Ref>();

/** PyTorch's answer, computed once per distinct input (both backends draw the same inputs). */
function reference(input: unknown): Ref {
  const key = JSON.stringify(input);
  if (!cache.has(key)) cache.set(key, runPython<Ref>(SCRIPT, input));
  return cache.get(key)!;
}

for (const backend of ['tensorflow', 'wasm'] as const) {
  test(
    `conv2d/conv3d values and gradients match PyTorch [${backend}]`,
    { skip: missingPython('torch') },
    async (t) => {
      const why = await useBackend(backend);
      if (why) {
        t.skip(why);
        return;
      }
      const r = rng(11);
      const input = CASES.map((c) => {
        const x = Array.from({ length: size(c.xShape) }, () => r() * 2 - 1);
        const w = Array.from({ length: size(c.wShape) }, () => r() * 2 - 1);
        return { ...c, x, w };
      });
      const ours = input.map((c) =>
        tf.tidy(() => {
          const conv = (a: tf.Tensor, b: tf.Tensor) =>
            c.xShape.length === 4
              ? tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad)
              : tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, c.stride, c.pad);
          const x = tf.tensor(c.x, c.xShape);
          const w = tf.tensor(c.w, c.wShape);
          const y = conv(x, w);
          const rr = Array.from({ length: y.size }, () => r() * 2 - 1);
          const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(conv(a, b), tf.tensor(rr, y.shape))),
          )([x, w]);
          return {
            r: rr,
            y: Array.from(y.dataSync()),
            dx: Array.from(dx!.dataSync()),
            dw: Array.from(dw!.dataSync()),
          };
        }),
      );
      const ref = reference(input.map((c, i) => ({ ...c, r: ours[i]!.r })));
      ours.forEach((o, i) => {
        for (const k of ['y', 'dx', 'dw'] as const) {
          const a = o[k];
          const b = ref[i]![k];
          assert.equal(a.length, b.length, `case ${i} ${k} length`);
          const scale = Math.max(1, ...b.map(Math.abs));
          const err = Math.max(...a.map((v, j) => Math.abs(v - b[j]!)));
          assert.ok(err <= 1e-5 * scale, `case ${i} (${CASES[i]!.xShape.join('x')}) ${k}: max error ${err}`);
        }
      });
    },
  );
}
