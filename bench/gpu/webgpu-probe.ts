/**
 * GPU check of the browser-safe core: the lite generator and the bench conv workloads on tfjs's
 * WebGPU backend in Node, through Dawn (npm `webgpu`, Vulkan). Not part of the default build: its
 * two packages are not dependencies (bench/gpu/build.sh installs them in a temporary folder and
 * bundles this file), so tsconfig excludes bench/gpu. tfjs-backend-webgpu cannot read GPU data
 * synchronously in Node (no OffscreenCanvas), so this step reads its loss with await, not dataSync.
 * PARITY=1 first compares loss, output and gradients with tfjs's reference cpu backend.
 * LOCALCPU=1 runs everything on cpu (a dry run on a machine without a GPU).
 */
import { create, globals } from 'webgpu';
import { tf, initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { createGenerator, smoothL1, ssimLoss } from '../../src/model/index.js';
import { FlatAdam } from '../../src/train/index.js';

const out: Record<string, unknown> = {};
const flatT = (x: tf.Tensor) => tf.reshape(x, [x.shape[0] * (x.shape[1] ?? 1), ...x.shape.slice(2)]);
async function time(name: string, reps: number, f: () => Promise<void>) {
  await f();
  await f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  out[name] = +ts[Math.floor(ts.length / 2)].toFixed(2);
  console.log(name, out[name], 'ms');
}
async function main() {
  Object.assign(globalThis, globals);
  const gpu = create(process.env.DAWN_FLAGS ? process.env.DAWN_FLAGS.split(',') : []);
  (globalThis as { navigator?: unknown }).navigator = { gpu };
  const ad = process.env.LOCALCPU
    ? null
    : await gpu.requestAdapter({
        powerPreference: 'high-performance',
        forceFallbackAdapter: process.env.FALLBACK === '1',
      });
  await import('@tensorflow/tfjs-backend-webgpu');
  console.log('adapter', ad ? JSON.stringify(ad.info ?? {}) : 'none');
  setEngineAdapter({
    platform: 'node-webgpu-probe',
    requested: () => 'webgpu',
    candidates: () => [
      {
        name: 'webgpu',
        async load() {
          if (!(await tf.setBackend(process.env.LOCALCPU ? 'cpu' : 'webgpu')))
            throw new Error('webgpu did not start');
          return { tfBackend: 'webgpu', detail: 'Dawn' };
        },
      },
    ],
  });
  console.log((await initEngine()).summary);
  if (process.env.PARITY === '1') {
    // Same weights, same input: loss, output and gradients on webgpu vs tfjs's reference cpu backend.
    // Weights (the model's own seeded JS RNG) and inputs (seeded) are rebuilt identically on each backend: tfjs cannot move webgpu data synchronously in Node.
    const run = async () => {
      const model = createGenerator('lite', { seed: 0 });
      const x = tf.randomUniform([1, 1, 32, 32, 1], -1, 1, 'float32', 3),
        xt = tf.randomUniform([1, 1, 32, 32, 1], -1, 1, 'float32', 4);
      const w0 = await [...model.variables.values()][0].data();
      let wsum = 0;
      for (const v of w0) wsum += v;
      const r = tf.tidy(() => {
        let y: tf.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const yt = model.decode(model.encode(x), model.codeIndex('t2'), 1);
          y = tf.keep(yt);
          return tf.add(
            smoothL1(yt, xt),
            tf.mul(tf.sub(1, ssimLoss(flatT(yt), flatT(xt))), 0.01),
          ) as tf.Scalar;
        }, [...model.variables.values()]);
        return { value, y: y!, names: Object.keys(grads), grads: Object.values(grads) };
      });
      const out = {
        names: r.names,
        wsum,
        loss: (await r.value.data())[0],
        y: await r.y.data(),
        g: await Promise.all(r.grads.map((g) => g.data())),
      };
      tf.dispose([r.value, r.y, ...r.grads, x, xt]);
      model.dispose();
      return out;
    };
    const a = await run();
    await tf.setBackend('cpu');
    const t0 = performance.now();
    const b = await run();
    const cpuMs = performance.now() - t0;
    const maxDiff = (p: ArrayLike<number>, q: ArrayLike<number>) => {
      let m = 0,
        s = 0;
      for (let i = 0; i < p.length; i++) {
        m = Math.max(m, Math.abs(p[i] - q[i]));
        s = Math.max(s, Math.abs(q[i]));
      }
      return [m, s];
    };
    const rows: { name: string; relL2: number; norm: number }[] = [];
    let gmax = 0;
    for (const g of b.g) for (const v of g) gmax = Math.max(gmax, Math.abs(v));
    for (let i = 0; i < a.g.length; i++) {
      let d = 0,
        n = 0;
      for (let j = 0; j < a.g[i].length; j++) {
        d += (a.g[i][j] - b.g[i][j]) ** 2;
        n += b.g[i][j] ** 2;
      }
      rows.push({
        name: a.names[i],
        relL2: +(Math.sqrt(d) / (Math.sqrt(n) || 1)).toExponential(2),
        norm: +Math.sqrt(n).toExponential(2),
      });
    }
    rows.sort((p, q) => q.relL2 - p.relL2);
    console.log('worst gradients (rel L2 err, norm):', JSON.stringify(rows.slice(0, 8)));
    const big = rows.filter((r) => r.norm > 1e-3 * Math.sqrt(gmax));
    const gWorst = Math.max(...big.map((r) => r.relL2));
    const [yd] = maxDiff(a.y, b.y);
    out.parity = {
      weightSums: [a.wsum, b.wsum],
      lossWebgpu: a.loss,
      lossCpu: b.loss,
      outputMaxAbsDiff: yd,
      gradientsWorstRelL2: gWorst,
      nGradients: a.g.length,
      nGradientsCompared: big.length,
      medianRelL2: rows[Math.floor(rows.length / 2)].relL2,
      cpuMs: Math.round(cpuMs),
    };
    console.log('parity', JSON.stringify(out.parity));
    await tf.setBackend(process.env.LOCALCPU ? 'cpu' : 'webgpu');
  }
  if (process.env.SKIPBENCH) {
    console.log('JSON ' + JSON.stringify(out));
    return;
  }
  for (const size of [64, 128])
    for (const grads of [false, true]) {
      const x = tf.randomNormal([4, size, size, 32]) as tf.Tensor4D,
        w = tf.randomNormal([3, 3, 32, 32]) as tf.Tensor4D,
        dy = tf.randomNormal([4, size, size, 32]);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'),
      );
      await time(`conv2d-${size}-${grads ? 'fwd-grads' : 'fwd'}`, 10, async () => {
        const r = tf.tidy(() => (grads ? g([x, w], dy) : [tf.conv2d(x, w, 1, 'same')]));
        await Promise.all(r.map((t) => t.data()));
        tf.dispose(r);
      });
      tf.dispose([x, w, dy]);
    }
  for (const grads of [false, true]) {
    const x = tf.randomNormal([2, 16, 16, 16, 16]) as tf.Tensor5D,
      w = tf.randomNormal([3, 3, 3, 16, 16]) as tf.Tensor5D,
      dy = tf.randomNormal([2, 16, 16, 16, 16]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, 1, 'same'),
    );
    try {
      await time(`conv3d-16-${grads ? 'fwd-grads' : 'fwd'}`, 10, async () => {
        const r = tf.tidy(() => (grads ? g([x, w], dy) : [tf.conv3d(x, w, 1, 'same')]));
        await Promise.all(r.map((t) => t.data()));
        tf.dispose(r);
      });
    } catch (e) {
      out[`conv3d-16-${grads ? 'fwd-grads' : 'fwd'}`] = `failed: ${(e as Error).message.slice(0, 200)}`;
      console.log(out);
    }
    tf.dispose([x, w, dy]);
  }
  for (const size of (process.env.SIZES ?? '64,128,256').split(',').map(Number)) {
    const model = createGenerator('lite', { seed: 0 });
    const adam = new FlatAdam([...model.variables.values()], [...model.variables.keys()]);
    const xs = tf.randomUniform([1, 1, size, size, 1], -1, 1, 'float32', 1),
      xt = tf.randomUniform([1, 1, size, size, 1], -1, 1, 'float32', 2);
    let t = 0;
    let last = 0;
    const step = async () => {
      t++;
      const loss = tf.tidy(() => {
        const cs = model.codeIndex('t1'),
          ct = model.codeIndex('t2');
        let keep: tf.Scalar | undefined;
        const { grads } = tf.variableGrads(() => {
          const feat = model.encode(xs);
          const yt = model.decode(feat, ct, 1),
            ys = model.decode(feat, cs, 1),
            yc = model.apply(yt, cs, 1);
          const one = (y: tf.Tensor, x: tf.Tensor) => tf.sub(1, ssimLoss(flatT(y), flatT(x)));
          const struct = tf.addN([one(yt, xt), one(ys, xs), one(yc, xs)]);
          const total = tf.addN([
            tf.mul(tf.add(smoothL1(yt, xt), smoothL1(ys, xs)), 10),
            tf.mul(smoothL1(yc, xs), 10),
            tf.mul(struct, 0.01),
          ]) as tf.Scalar;
          keep = tf.keep(total);
          return total;
        }, adam.vars);
        adam.update(grads, t, 2e-4, 0.9, 0.999);
        return keep!;
      });
      last = (await loss.data())[0];
      loss.dispose();
    };
    try {
      await time(`generator-step-${size}`, size >= 256 ? 5 : 10, step);
      console.log('loss', last, 'tensors', tf.memory().numTensors);
    } catch (e) {
      out[`generator-step-${size}`] = `failed: ${(e as Error).message.slice(0, 300)}`;
      console.log(out);
    }
    adam.dispose();
    tf.dispose([xs, xt]);
    model.dispose();
  }
  console.log('JSON ' + JSON.stringify(out));
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
