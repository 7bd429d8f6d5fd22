/**
 * Graph functions on the native backend (src/engine/graph.ts): a tfjs computation recorded at the
 * binding into one TensorFlow function gives the eager values bit for bit on new feeds, gradients
 * included; Adam recorded as ResourceApplyAdam updates resource variables as NativeAdam.update;
 * reading a computed value while recording, a tfjs variable that would be frozen, and a call with
 * other shapes are clear errors; the OpDef reader against hand-encoded protobuf bytes and
 * TensorFlow's own OpDefs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeGraphs } from '../helpers/graphs.js';
import { NativeAdam, parseOpDefInputs, tf, traceGraph } from '../../src/engine/index.js';
import { MriseqError } from '../../src/errors/index.js';
import { FlatAdam } from '../../src/train/index.js';

const skip = nativeGraphs();

/** protobuf: a length-delimited field. */
function ld(field: number, bytes: number[]): number[] {
  return [(field << 3) | 2, bytes.length, ...bytes];
}
const str = (s: string) => [...new TextEncoder().encode(s)];

test('parseOpDefInputs reads list inputs from hand-encoded OpDef bytes', () => {
  // OpDef { name: "Cat", input_arg { name: "values" number_attr: "N" type_attr: "T" },
  //         input_arg { name: "axis" type: DT_INT32 }, input_arg { name: "xs" type_list_attr: "Ts" },
  //         output_arg { name: "y" }, attr { name: "N" } }
  const bytes = [
    ...ld(1, str('Cat')),
    ...ld(2, [...ld(1, str('values')), ...ld(4, str('T')), ...ld(5, str('N'))]),
    ...ld(2, [...ld(1, str('axis')), 3 << 3, 3]),
    ...ld(2, [...ld(1, str('xs')), ...ld(6, str('Ts'))]),
    ...ld(3, ld(1, str('y'))),
    ...ld(4, ld(1, str('N'))),
  ];
  assert.deepEqual(parseOpDefInputs(Uint8Array.from(bytes)), [
    { numberAttr: 'N', typeList: false },
    { numberAttr: '', typeList: false },
    { numberAttr: '', typeList: true },
  ]);
});

test("parseOpDefInputs on TensorFlow's ConcatV2, AddN and Conv2D", { skip: skip() }, () => {
  const b = (tf.backend() as unknown as { binding: { mriseqGraphOpDef(n: string): Uint8Array } }).binding;
  assert.deepEqual(parseOpDefInputs(b.mriseqGraphOpDef('ConcatV2')), [
    { numberAttr: 'N', typeList: false },
    { numberAttr: '', typeList: false },
  ]);
  assert.deepEqual(parseOpDefInputs(b.mriseqGraphOpDef('AddN')), [{ numberAttr: 'N', typeList: false }]);
  assert.equal(parseOpDefInputs(b.mriseqGraphOpDef('Conv2D')).length, 2);
  assert.throws(() => b.mriseqGraphOpDef('NoSuchOpAnywhere'), /NoSuchOpAnywhere/);
});

/** A small conv net's loss and its gradients (tfjs's tape), in tfjs ops. */
function lossAndGrads(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor[] {
  const f = (ww: tf.Tensor, bb: tf.Tensor) =>
    tf.mean(
      tf.square(
        tf.tanh(
          tf.add(
            tf.conv2d(
              tf.mirrorPad(
                x,
                [
                  [0, 0],
                  [1, 1],
                  [1, 1],
                  [0, 0],
                ],
                'reflect',
              ),
              ww as tf.Tensor4D,
              1,
              'valid',
            ),
            bb,
          ),
        ),
      ),
    ) as tf.Scalar;
  const { value, grads } = tf.valueAndGrads(f)([w, b]);
  const cat = tf.concat([tf.reshape(value, [1]), ...grads.map((g) => tf.reshape(g, [-1]))]);
  return [cat, tf.leakyRelu(tf.conv2d(x, w, 1, 'same'), 0.2)];
}

test(
  'a recorded computation gives the eager values bit for bit on new feeds, gradients included',
  { skip: skip() },
  () => {
    const shapes: Record<'x' | 'w' | 'b', number[]> = { x: [2, 8, 8, 3], w: [3, 3, 3, 4], b: [4] };
    const feeds = () => [
      tf.randomNormal(shapes.x, 0, 1, 'float32', 1),
      tf.randomNormal(shapes.w, 0, 0.3, 'float32', 2),
      tf.randomNormal(shapes.b, 0, 0.1, 'float32', 3),
    ];
    const rec = feeds();
    const before = tf.memory().numTensors;
    const fn = traceGraph({ feeds: rec }, () =>
      lossAndGrads(rec[0] as tf.Tensor4D, rec[1] as tf.Tensor4D, rec[2] as tf.Tensor1D),
    );
    assert.equal(tf.memory().numTensors, before, 'recording leaves no tensors behind');
    assert.ok(fn.stats.recorded > 10, `recorded ${fn.stats.recorded} ops`);
    for (const seed of [10, 20]) {
      const fresh = [
        tf.randomNormal(shapes.x, 0, 1, 'float32', seed),
        tf.randomNormal(shapes.w, 0, 0.3, 'float32', seed + 1),
        tf.randomNormal(shapes.b, 0, 0.1, 'float32', seed + 2),
      ];
      const got = fn.call(fresh);
      const want = lossAndGrads(fresh[0] as tf.Tensor4D, fresh[1] as tf.Tensor4D, fresh[2] as tf.Tensor1D);
      assert.equal(got.length, 2);
      got.forEach((g, i) => {
        assert.deepEqual(g.shape, want[i]!.shape);
        assert.deepEqual(
          Array.from(g.dataSync()),
          Array.from(want[i]!.dataSync()),
          `output ${i}, seed ${seed}`,
        );
      });
      tf.dispose([...got, ...want, ...fresh]);
    }
    assert.throws(
      () => fn.call([tf.zeros([1, 8, 8, 3]), rec[1]!, rec[2]!]),
      /input 0 has shape \[1, 8, 8, 3\]/,
    );
    fn.dispose();
    assert.throws(() => fn.call(rec), /disposed/);
    tf.dispose(rec);
  },
);

test(
  'reading a computed value while recording is an error, and the backend runs eagerly after it',
  { skip: skip() },
  () => {
    const x = tf.ones([4]);
    assert.throws(
      () => traceGraph({ feeds: [x] }, () => [tf.mul(x, tf.scalar(tf.tanh(x).dataSync()[0]!))]),
      /cannot read the values it computes/,
    );
    const y = tf.add(x, 1);
    assert.deepEqual(Array.from(y.dataSync()), [2, 2, 2, 2]);
    tf.dispose([x, y]);
  },
);

test(
  'a tfjs variable read by a recording without a resource read is refused (it would be frozen)',
  { skip: skip() },
  () => {
    const x = tf.ones([2, 2]);
    const v = tf.variable(tf.ones([2, 2]), true, 'mriseq_graph_test_v');
    assert.throws(
      () => traceGraph({ feeds: [x] }, () => [tf.matMul(x, v)]),
      (e: unknown) =>
        e instanceof MriseqError && /frozen/.test(e.message) && e.field === 'mriseq_graph_test_v',
    );
    v.dispose();
    x.dispose();
  },
);

test(
  'Adam recorded as ResourceApplyAdam ops updates the parameters as the eager Adam, over 3 calls',
  { skip: skip() },
  () => {
    const init = [tf.randomNormal([3, 4], 0, 1, 'float32', 5), tf.randomNormal([4], 0, 1, 'float32', 6)];
    const make = () => init.map((t) => tf.variable(t.clone(), true));
    const grad = (k: number) => [
      tf.randomNormal([3, 4], 0, 1, 'float32', 50 + k),
      tf.randomNormal([4], 0, 1, 'float32', 60 + k),
    ];
    // eager reference
    const ref = make();
    const refAdam = new FlatAdam(ref, ['a', 'b']);
    // recorded
    const ours = make();
    const adam = NativeAdam.create(ours)!;
    assert.ok(adam, 'native Adam');
    const lr = 1e-2;
    const scal = (k: number) => {
      const bc1 = 1 - 0.9 ** k;
      const bc2 = Math.sqrt(1 - 0.999 ** k);
      return [(lr * bc2) / bc1, 0.9, 0.999, 1e-8 * bc2].map((v) => tf.scalar(v));
    };
    const g0 = grad(0);
    const s0 = scal(1);
    const handles = adam.handles().flatMap((h) => [h.p, h.m, h.v]);
    // the gradient is computed inside the recording from the parameters (2 * p * g), so the reads matter
    const fn = traceGraph(
      { feeds: [...g0, ...s0, ...handles], reads: ours.map((v, i) => [v, 6 + 3 * i] as [tf.Tensor, number]) },
      () => {
        const grads = {
          [ours[0]!.name]: tf.mul(tf.mul(ours[0]!, g0[0]!), 2),
          [ours[1]!.name]: tf.mul(tf.mul(ours[1]!, g0[1]!), 2),
        };
        adam.applyOps(grads, s0[0]!, s0[1]!, s0[2]!, s0[3]!);
        return [tf.sum(ours[0]!)];
      },
    );
    assert.equal(fn.stats.sideEffects, 2);
    tf.dispose([...g0, ...s0]);
    for (let k = 1; k <= 3; k++) {
      const g = grad(k);
      const s = scal(k);
      tf.tidy(() =>
        refAdam.update(
          {
            [ref[0]!.name]: tf.mul(tf.mul(ref[0]!, g[0]!), 2),
            [ref[1]!.name]: tf.mul(tf.mul(ref[1]!, g[1]!), 2),
          },
          k,
          lr,
          0.9,
          0.999,
        ),
      );
      const [sum] = adam.runInPlace(() => fn.call([...g, ...s, ...handles]));
      sum!.dispose();
      tf.dispose([...g, ...s]);
    }
    ours.forEach((v, i) =>
      assert.deepEqual(
        Array.from(v.dataSync()),
        Array.from(ref[i]!.dataSync()),
        `parameter ${i} after 3 steps`,
      ),
    );
    const mo = adam.readMoments(0);
    const mr = refAdam.state().m.a!.data;
    assert.deepEqual(Array.from(mo.m), Array.from(mr));
    fn.dispose();
    adam.dispose();
    refAdam.dispose();
    tf.dispose([...ours, ...ref, ...init]);
  },
);
