/**
 * The generator: parameter count of the lite preset (equal to the authors' lite model), output
 * shapes for 2D, 3D and 4D (several time points in and out), hyper-convolution = ordinary
 * convolution with kernel P.f(code) (PyTorch conv2d as the reference), gradients reaching every
 * parameter, serialisable config, and MriseqError on bad input.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter, tf } from '../../src/engine/index.js';
import {
  createGenerator,
  estimateParams,
  HyperConv,
  ParamStore,
  preset,
  Seq2Seq,
} from '../../src/model/model.js';
import { Mulberry32 as Rng } from '../../src/random/index.js';
import { MriseqError } from '../../src/errors/index.js';
import { missingPython, runPython } from '../helpers/python.js';

setEngineAdapter(nodeEngineAdapter);

before(async () => {
  await initEngine();
});

/** A small config so the shape tests stay fast. */
const tiny = { cEnc: [4, 6, 8], cLstm: 8, cDec: [6, 4, 1], nresEnc: 1, nresDec: 1, cS: 4, cW: 3 };

test('lite preset has the reference lite parameter count (3,316,416)', () => {
  const g = createGenerator('lite');
  assert.equal(g.countParams(), 3316416);
  g.dispose();
});

test('2D: [B,T,H,W,C] -> [B,nOut,H,W,C] for one source, several sources (T=3) and 4D output', () => {
  const g = createGenerator('lite', { ...tiny, cIn: 3, cDec: [6, 4, 3] });
  tf.tidy(() => {
    assert.deepEqual(g.apply(tf.randomUniform([2, 1, 16, 12, 3], -1, 1), 't2').shape, [2, 1, 16, 12, 3]);
    assert.deepEqual(g.apply(tf.randomUniform([1, 3, 8, 8, 3], -1, 1), 'flair').shape, [1, 1, 8, 8, 3]);
    const y = g.apply(tf.randomUniform([1, 4, 8, 16, 3], -1, 1), 0, 5);
    assert.deepEqual(y.shape, [1, 5, 8, 16, 3]);
    const v = y.dataSync();
    assert.ok(
      v.every((a) => a >= -1 && a <= 1),
      'tanh output range',
    );
  });
  g.dispose();
});

test('3D: [B,T,D,H,W,C] -> [B,nOut,D,H,W,C]', () => {
  const g = createGenerator('lite', { ...tiny, ndims: 3 });
  tf.tidy(() => {
    assert.deepEqual(g.apply(tf.randomUniform([1, 2, 8, 8, 12, 1], -1, 1), 1, 3).shape, [1, 3, 8, 8, 12, 1]);
  });
  g.dispose();
});

test('bad input shape and unknown target give MriseqError', () => {
  const g = createGenerator('lite', tiny);
  assert.throws(() => g.apply(tf.zeros([1, 1, 10, 8, 1]), 't1'), MriseqError);
  assert.throws(() => g.apply(tf.zeros([1, 1, 8, 8, 1]), 'dwi'), MriseqError);
  assert.throws(() => createGenerator('lite', { cDec: [4, 4, 2] }), MriseqError);
  g.dispose();
});

test('config round-trips through tf.serialization (getConfig / fromConfig)', () => {
  const g = createGenerator('lite', { ...tiny, seed: 7 });
  const cls = tf.serialization.SerializationMap.getMap().classNameMap['MriseqSeq2Seq'];
  assert.ok(cls, 'registered');
  const h = Seq2Seq.fromConfig(Seq2Seq, g.getConfig()) as Seq2Seq;
  assert.deepEqual(h.config, g.config);
  const a = g.getWeights();
  const b = h.getWeights();
  for (const k of Object.keys(a)) assert.deepEqual(Array.from(a[k].data), Array.from(b[k].data), k);
  g.dispose();
  h.dispose();
});

test(
  'hyper-conv equals an ordinary conv (PyTorch conv2d) with kernel P.f(code) and bias B.g(code)',
  { skip: missingPython('torch', 'numpy') },
  () => {
    const store = new ParamStore(new Rng(3));
    const hc = new HyperConv(
      { name: 'h', ndims: 2, cin: 3, cout: 4, kernel: 3, styleDim: 5, weightDim: 2 },
      store,
    );
    // non-zero bias bank so the bias path is tested too
    hc.B.assign(tf.randomNormal([2, 4], 0, 1, 'float32', 11));
    const style = tf.randomNormal([1, 5], 0, 1, 'float32', 12);
    const x = tf.randomNormal([1, 7, 6, 3], 0, 1, 'float32', 13);
    const y = hc.apply(x, style);
    const ref = runPython<{ y: number[] }>(
      `
import json, sys, torch, numpy as np
d = json.load(sys.stdin)
a = lambda k, s: torch.tensor(np.array(d[k], dtype=np.float64).reshape(s))
s = a('s', [1, 5]); f = s @ a('fw', [5, 2]) + a('fb', [2]); g = s @ a('gw', [5, 2]) + a('gb', [2])
P = a('P', [2, 3, 3, 3, 4])                      # [w, kh, kw, in, out]
k = torch.einsum('w,whcio->oihc', f[0], P)       # PyTorch [out, in, kh, kw]
b = (g @ a('B', [2, 4]))[0]
x = a('x', [1, 7, 6, 3]).permute(0, 3, 1, 2)
y = torch.nn.functional.conv2d(x, k, b).permute(0, 2, 3, 1)
print(json.dumps({'y': y.reshape(-1).tolist()}))
`,
      {
        s: Array.from(style.dataSync()),
        fw: Array.from(hc.fw.dataSync()),
        fb: Array.from(hc.fb.dataSync()),
        gw: Array.from(hc.gw.dataSync()),
        gb: Array.from(hc.gb.dataSync()),
        P: Array.from(hc.P.dataSync()),
        B: Array.from(hc.B.dataSync()),
        x: Array.from(x.dataSync()),
      },
    );
    assert.deepEqual(y.shape, [1, 5, 4, 4]);
    const yv = y.dataSync();
    let m = 0;
    for (let i = 0; i < yv.length; i++) m = Math.max(m, Math.abs(yv[i] - ref.y[i]));
    assert.ok(m < 1e-4, `max diff ${m}`);
  },
);

// With one time point the hidden-to-hidden ConvLSTM weights act on a zero state (no effect, as in
// PyTorch), so this uses 2 sources in and 2 time points out.
test('gradients reach every parameter (translation + cycle loss, 2 sources, 2 outputs)', () => {
  const g = createGenerator('lite', tiny);
  const x = tf.randomUniform([1, 2, 8, 8, 1], -1, 1, 'float32', 5);
  const vars = [...g.variables.values()];
  // non-zero bias banks, so the bias path of the last hyper-conv carries a gradient into g
  for (const [n, v] of g.variables)
    if (n.endsWith('.B')) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 9));
  const { grads } = tf.variableGrads(() => {
    const y = g.apply(x, 't2', 2);
    const c = g.apply(y, 't1');
    return tf.add(tf.mean(tf.abs(tf.sub(y, 0.3))), tf.mean(tf.abs(tf.sub(c, 0.1)))) as tf.Scalar;
  }, vars);
  const names = [...g.variables.keys()];
  // Biases right before an instance norm are cancelled by it (their gradient is 0 up to rounding,
  // in PyTorch too; mriseq does not even add them, so they may have no gradient at all): every
  // other parameter must get a clearly non-zero gradient.
  const lastDec = `dec.conv${g.config.cDec.length - 1}.`;
  const cancelled = (n: string): boolean =>
    !n.startsWith(lastDec) && (/^enc\..*\.b$/.test(n) || /^dec\.(res|conv).*\.(B|g\.w|g\.b)$/.test(n));
  let checked = 0;
  for (const [i, v] of vars.entries()) {
    const gv = grads[v.name];
    if (!gv && cancelled(names[i])) continue;
    assert.ok(gv, `no gradient for ${names[i]}`);
    const norm = tf.sum(tf.abs(gv)).dataSync()[0] / v.size;
    assert.ok(Number.isFinite(norm), names[i]);
    if (cancelled(names[i])) assert.ok(norm < 2e-3, `${names[i]} should be cancelled by the norm: ${norm}`);
    else {
      assert.ok(norm > 1e-9, `zero gradient for ${names[i]}`);
      checked++;
    }
  }
  assert.ok(checked > vars.length / 2);
  g.dispose();
});

test('presets: reference has c_in 3, c_s 64, c_w 16; overrides keep the last decoder width = c_in', () => {
  const r = preset('reference');
  assert.deepEqual([r.cIn, r.cS, r.cW, r.cEnc.join()], [3, 64, 16, '64,128,256']);
  assert.equal(preset('lite', { cIn: 3 }).cDec.at(-1), 3);
});

test('estimateParams equals countParams, and absurd configs are refused before allocating', () => {
  for (const o of [{}, { ndims: 3 as const }, { ...tiny, lstmLayers: 2, nresDec: 3 }]) {
    const g = createGenerator('lite', o);
    assert.equal(estimateParams(g.config), g.countParams());
    g.dispose();
  }
  assert.equal(estimateParams(preset('reference')), 155159760);
  assert.equal(estimateParams(preset('reference-small')), 94959120);
  assert.throws(() => createGenerator('lite', { nresEnc: 1e9 }), MriseqError);
  assert.throws(() => createGenerator('lite', { cEnc: [16, 32, 4096], cLstm: 4096 }), MriseqError);
  assert.throws(() => createGenerator('lite', { kEnc: [7, 3, 99] }), MriseqError);
});
