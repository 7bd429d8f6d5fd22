/**
 * The generator over many inputs at once: a list of input stacks ([T, ...box, c] each, e.g. a
 * subject's slice stacks) run in batches sized to a memory budget, each batch encoded once and
 * decoded for every target asked for (the encoding and the decoder's ConvLSTM state do not depend
 * on the target). On the native backend a batch runs as one compiled TensorFlow function
 * (src/engine/graph.ts), recorded once per batch shape, number of targets and output time points;
 * the weights, the input and the targets' codes are fed at every call, so later training is seen.
 * Browser-safe.
 */
import { graphsAvailable, tf, traceGraph, type GraphFunction } from '../engine/index.js';
import type { Seq2Seq, Seq2SeqConfig } from './model.js';

/**
 * The inputs of {@link predictStacks}: `count` stacks of one shape, written on demand.
 *
 * @example
 * ```ts
 * import { type StackSource } from 'mriseq';
 * const data = new Float32Array(3 * 16 * 16).fill(-1);
 * // three 2D stacks of one time point, 16 x 16, c_in 1
 * const src: StackSource = {
 *   count: 3,
 *   shape: [1, 16, 16, 1],
 *   write: (i, out, offset) => out.set(data.subarray(i * 256, (i + 1) * 256), offset),
 * };
 * console.log(src.count);
 * ```
 */
export interface StackSource {
  count: number;
  /** One stack's shape: [T, ...box, c] (2D: box [H, W], c = c_in; 3D: [D, H, W], c = 1). */
  shape: number[];
  /** Writes stack i at out[offset...] (length: the product of shape). */
  write(i: number, out: Float32Array, offset: number): void;
}

/**
 * Options of {@link predictStacks}.
 *
 * @example
 * ```ts
 * import { type PredictOptions } from 'mriseq';
 * const options: PredictOptions = { memoryBytes: 256 * 2 ** 20, onBatch: (done, total) => console.log(done, total) };
 * console.log(options.memoryBytes);
 * ```
 */
export interface PredictOptions {
  /** Stacks per forward pass (default: as many as fit memoryBytes, see stackBytes). */
  batchSize?: number;
  /** Memory one forward pass may take, bytes (default 512 MiB). */
  memoryBytes?: number;
  /** Run each batch as one compiled TensorFlow function where the backend can (default true). */
  compile?: boolean;
  /** Called after each batch (a good moment to yield, report progress or stop). */
  onBatch?: (done: number, total: number) => void | Promise<void>;
}

/**
 * Approximate peak memory of one stack in a compiled forward pass, bytes: the widest activations of
 * the encoder (at full, half and quarter resolution), the ConvLSTM gates and the decoder for each
 * output time point, five such tensors alive at once, plus the outputs. Measured peaks of the
 * lite generator stayed below it (docs/speed.md); the eager forward (compile: false) keeps a
 * stage's intermediates until the stage ends and is given twice as much per stack.
 *
 * @param config - The generator's configuration.
 * @param shape - One stack's shape, [T, ...box, c].
 * @param targets - Targets decoded from each encoding.
 * @param nOut - Output time points per target.
 * @returns Bytes.
 * @example
 * ```ts
 * import { preset, stackBytes } from 'mriseq';
 * const perSlice = stackBytes(preset('lite'), [1, 64, 64, 1], 4, 1);
 * console.log(Math.floor((512 * 2 ** 20) / perSlice)); // 64 px slices per 512 MiB batch
 * ```
 */
export function stackBytes(config: Seq2SeqConfig, shape: number[], targets: number, nOut: number): number {
  const t = shape[0]!;
  const voxels = shape.slice(1, -1).reduce((a, b) => a * b, 1);
  const down = Math.pow(
    config.sEnc.reduce((a, b) => a * b, 1),
    config.ndims,
  );
  const enc = t * voxels * Math.max(...config.cEnc.map((c, i) => c / Math.pow(2, config.ndims * i)));
  const lstm = (t + nOut) * (voxels / down) * 4 * config.cLstm;
  const dec = nOut * voxels * Math.max(...config.cDec.slice(0, -1), config.cIn);
  // five tensors of the widest stage alive at once, four bytes each, plus every target's output
  return 4 * (5 * Math.max(enc, lstm, dec) + targets * nOut * voxels * config.cIn);
}

const compiled = new WeakMap<Seq2Seq, Map<string, GraphFunction>>();
const failed = new WeakSet<Seq2Seq>();

/** One-hot code rows [1, c_s] (fed to a compiled forward). */
function onehots(model: Seq2Seq, codes: number[]): tf.Tensor[] {
  return codes.map((c) => {
    const row = new Float32Array(model.config.cS);
    row[c] = 1;
    return tf.tensor(row, [1, row.length]);
  });
}

/**
 * The forward: encode once, the decoder state once, decode per target. Each stage in its own
 * tidy: run eagerly, tfjs keeps every intermediate of a tidy until it ends.
 */
function forward(
  model: Seq2Seq,
  x: tf.Tensor,
  codes: number[],
  nOut: number,
  rows?: tf.Tensor[],
): tf.Tensor[] {
  const feat = tf.tidy(() => model.encode(x));
  const state = tf.tidy(() => model.decoderState(feat, nOut));
  const out = codes.map((code, k) =>
    tf.tidy(() => model.decode(feat, code, nOut, { state, weights: model.decoderWeights(code, rows?.[k]) })),
  );
  tf.dispose([feat, state]);
  return out;
}

/** The compiled forward of one batch shape, recorded on first use; undefined where it cannot be. */
function compiledForward(
  model: Seq2Seq,
  x: tf.Tensor,
  rows: tf.Tensor[],
  codes: number[],
  nOut: number,
): GraphFunction | undefined {
  if (failed.has(model) || !graphsAvailable()) return undefined;
  let fns = compiled.get(model);
  if (!fns) compiled.set(model, (fns = new Map()));
  const key = `${x.shape.join('x')} ${codes.length} ${nOut}`;
  let fn = fns.get(key);
  if (!fn) {
    const vars = [...model.variables.values()];
    try {
      fn = traceGraph({ feeds: [x, ...rows, ...vars] }, () => forward(model, x, codes, nOut, rows));
    } catch {
      // an op the graph cannot hold: the eager forward gives the same values
      failed.add(model);
      return undefined;
    }
    fns.set(key, fn);
  }
  return fn;
}

/**
 * G(stack, target) for every stack and target: result[k] holds [count, nOut, ...box, c_in] for
 * codes[k]. The last batch is padded (with copies of its last stack) to the batch size, so one
 * recording serves every batch.
 *
 * @param model - The generator.
 * @param src - The input stacks.
 * @param codes - The targets' code indices (`model.codeIndex(name)`).
 * @param nOut - Output time points per target.
 * @param opts - Batch size or memory budget, `compile`, and `onBatch` (progress, yield, stop).
 * @returns One array per code: every stack's output, [count, nOut, ...box, c_in].
 * @example
 * ```ts
 * import { createGenerator, predictStacks, initEngine, type StackSource } from 'mriseq';
 * await initEngine();
 * const model = createGenerator('lite');
 * const src: StackSource = { count: 4, shape: [1, 16, 16, 1], write: (i, out, offset) => out.fill(i / 4, offset, offset + 256) };
 * const [t1gd, flair] = await predictStacks(model, src, [model.codeIndex('t1gd'), model.codeIndex('flair')], 1);
 * console.log(t1gd!.length, flair!.length); // 1024 1024
 * model.dispose();
 * ```
 */
export async function predictStacks(
  model: Seq2Seq,
  src: StackSource,
  codes: number[],
  nOut: number,
  opts: PredictOptions = {},
): Promise<Float32Array[]> {
  const per = src.shape.reduce((a, b) => a * b, 1);
  const box = src.shape.slice(1, -1);
  const outPer = nOut * box.reduce((a, b) => a * b, 1) * model.config.cIn;
  const useGraph = (opts.compile ?? true) && graphsAvailable();
  const perStack = stackBytes(model.config, src.shape, codes.length, nOut) * (useGraph ? 1 : 2);
  const fit = Math.floor((opts.memoryBytes ?? 512 * 2 ** 20) / perStack);
  const bs = Math.max(1, Math.min(src.count, opts.batchSize ?? fit));
  const out = codes.map(() => new Float32Array(src.count * outPer));
  const rows = useGraph ? onehots(model, codes) : [];
  const vars = [...model.variables.values()];
  try {
    for (let i = 0; i < src.count; i += bs) {
      const n = Math.min(bs, src.count - i);
      const b = useGraph ? bs : n;
      const buf = new Float32Array(b * per);
      for (let j = 0; j < b; j++) src.write(i + Math.min(j, n - 1), buf, j * per);
      const ys = tf.tidy(() => {
        const x = tf.tensor(buf, [b, ...src.shape]);
        const fn = useGraph ? compiledForward(model, x, rows, codes, nOut) : undefined;
        return fn ? fn.call([x, ...rows, ...vars]) : forward(model, x, codes, nOut);
      });
      ys.forEach((y, k) => out[k]!.set((y.dataSync() as Float32Array).subarray(0, n * outPer), i * outPer));
      tf.dispose(ys);
      await opts.onBatch?.(i + n, src.count);
    }
  } finally {
    tf.dispose(rows);
  }
  return out;
}

/**
 * Frees the compiled forwards recorded for a model (Seq2Seq.dispose calls it).
 *
 * @param model - The generator.
 * @example
 * ```ts
 * import { createGenerator, releaseCompiled, initEngine } from 'mriseq';
 * await initEngine();
 * const model = createGenerator('lite');
 * releaseCompiled(model); // nothing recorded yet: nothing to free
 * model.dispose();
 * ```
 */
export function releaseCompiled(model: Seq2Seq): void {
  for (const f of compiled.get(model)?.values() ?? []) f.dispose();
  compiled.delete(model);
}
