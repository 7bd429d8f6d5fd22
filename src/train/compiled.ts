/**
 * The training step as one TensorFlow function (native backend): the eager step (stepLoss under
 * tfjs's gradient tape, then Adam's ResourceApplyAdam per parameter) is recorded once into a graph
 * (src/engine/graph.ts) and then runs as one op per step. The same TensorFlow ops as the eager step,
 * so the same losses and weights to float32 rounding; what goes away is the per-op bookkeeping of
 * tfjs and eager TensorFlow (~1,500 ops per step).
 *
 * A recording depends on what decides the ops a step issues: the crop shapes, the source and
 * target time points, whether source and target are the same code (then the decoder's generated
 * weights are shared), the structural weight being 0, the structural term covering the cycle, and
 * detachCycle. Each such combination is recorded once, on first use; the codes themselves, the
 * learning rate, the betas and the data are fed at every call.
 */
import { graphsAvailable, traceGraph, tf, type GraphFunction, type GraphStats } from '../engine/index.js';
import type { Seq2Seq } from '../model/index.js';
import { stepLoss, type FlatAdam, type StepLossOptions, type StepSample } from './train.js';

/**
 * Options of {@link CompiledStep}.
 *
 * @example
 * ```ts
 * import { type CompiledStepOptions } from 'mriseq';
 * const options: CompiledStepOptions = { xla: false };
 * console.log(options.xla);
 * ```
 */
export interface CompiledStepOptions {
  /**
   * Compile the function with XLA's CPU JIT (on the first call of each recording: tens of seconds).
   * The recording then holds TensorFlow's stock ops only (XLA cannot compile oneDNN's), and XLA
   * fuses and reorders arithmetic: the losses follow the eager step's to float32 rounding only.
   */
  xla?: boolean;
}

/**
 * Recording the step failed (an op TensorFlow's graph cannot hold, a shape it cannot infer):
 * nothing ran, so the caller may run the eager step instead.
 *
 * @example
 * ```ts
 * import { CompileError } from 'mriseq';
 * const e = new CompileError('the training step could not be compiled: ...');
 * console.log(e instanceof CompileError, e.name); // true CompileError
 * ```
 */
export class CompileError extends Error {
  override name = 'CompileError';
}

/**
 * The generator's training step as one TensorFlow function (see the module comment); train()
 * uses it by default on the native backend (TrainOptions.compile).
 *
 * @example
 * ```ts
 * import { CompiledStep, createGenerator, tf, initEngine } from 'mriseq';
 * import { FlatAdam } from 'mriseq/browser';
 * await initEngine();
 * const model = createGenerator('lite');
 * const adam = new FlatAdam([...model.variables.values()], [...model.variables.keys()]);
 * const step = CompiledStep.create(model, adam); // undefined without graph functions
 * if (step) {
 *   const xs = tf.randomUniform([1, 1, 32, 32, 1], -1, 1);
 *   const xt = tf.randomUniform([1, 1, 32, 32, 1], -1, 1);
 *   const o = { beta1: 0.9, beta2: 0.999, structuralWeight: 0.01 };
 *   const terms = step.step(1, 2e-4, o, { xs, xt, source: 't1', target: 't2', nts: 1, ntt: 1 });
 *   console.log(terms[0]); // the total loss
 *   step.dispose();
 * }
 * adam.dispose();
 * model.dispose();
 * ```
 */
export class CompiledStep {
  private readonly fns = new Map<string, GraphFunction>();
  private readonly onehots = new Map<number, tf.Tensor>();

  private constructor(
    readonly model: Seq2Seq,
    readonly adam: FlatAdam,
    private readonly options: CompiledStepOptions,
  ) {}

  /** A compiled step for this model and optimizer, or undefined where the backend cannot build one. */
  static create(model: Seq2Seq, adam: FlatAdam, options: CompiledStepOptions = {}): CompiledStep | undefined {
    if (!graphsAvailable() || !adam.nativeAdam) return undefined;
    return new CompiledStep(model, adam, options);
  }

  /** Recordings made so far, with what each holds. */
  recordings(): { key: string; stats: GraphStats }[] {
    return [...this.fns].map(([key, f]) => ({ key, stats: f.stats }));
  }

  private onehot(code: number): tf.Tensor {
    let t = this.onehots.get(code);
    if (!t) {
      const row = new Float32Array(this.model.config.cS);
      row[code] = 1;
      t = tf.tensor(row, [1, row.length]);
      this.onehots.set(code, t);
    }
    return t;
  }

  /**
   * One step, as trainingStep: returns [total, translation, selfReconstruction, cycle, structural].
   * adamStep counts from 1.
   */
  step(
    adamStep: number,
    lr: number,
    o: { beta1: number; beta2: number } & StepLossOptions,
    sample: StepSample,
  ): Float32Array {
    const native = this.adam.nativeAdam!;
    const codeS = this.model.codeIndex(sample.source);
    const codeT = this.model.codeIndex(sample.target);
    const key = [
      sample.xs.shape.join('x'),
      sample.xt.shape.join('x'),
      sample.nts,
      sample.ntt,
      codeS === codeT ? 'same' : 'two',
      o.structuralWeight > 0 ? (o.structuralCycle ? 'ssim3' : 'ssim2') : 'nossim',
      o.detachCycle ? 'detach' : 'cycle',
    ].join(' ');
    // PyTorch's Adam through TensorFlow's (see NativeAdam.update): the bias corrections in double
    // precision, folded into the learning rate and epsilon.
    const bc1 = 1 - Math.pow(o.beta1, adamStep);
    const bc2 = Math.sqrt(1 - Math.pow(o.beta2, adamStep));
    const scalars = [(lr * bc2) / bc1, o.beta1, o.beta2, 1e-8 * bc2].map((v) => tf.scalar(v));
    const handles = native.handles().flatMap((h) => [h.p, h.m, h.v]);
    const feeds = [sample.xs, sample.xt, this.onehot(codeS), this.onehot(codeT), ...scalars, ...handles];
    try {
      let fn = this.fns.get(key);
      if (!fn) {
        const vars = this.adam.vars;
        fn = this.record(() =>
          traceGraph(
            {
              feeds,
              reads: vars.map((v, i) => [v, 8 + 3 * i] as [tf.Tensor, number]),
              functionAttrs: this.options.xla ? { _XlaMustCompile: true } : undefined,
              stockOps: this.options.xla === true,
            },
            () => {
              let parts: tf.Scalar[] = [];
              const withCodes: StepSample = {
                ...sample,
                codeVectors: { source: this.onehot(codeS), target: this.onehot(codeT) },
              };
              const { grads } = tf.variableGrads(() => {
                const r = stepLoss(this.model, o, withCodes);
                parts = r.parts.map((t) => tf.keep(t));
                return r.total;
              }, vars);
              native.applyOps(grads, scalars[0]!, scalars[1]!, scalars[2]!, scalars[3]!);
              const terms = tf.stack(parts);
              for (const t of parts) t.dispose();
              return [terms];
            },
          ),
        );
        this.fns.set(key, fn);
      }
      const f = fn;
      const [out] = native.runInPlace(() => f.call(feeds));
      const terms = out!.dataSync() as Float32Array;
      out!.dispose();
      return terms;
    } finally {
      for (const s of scalars) s.dispose();
    }
  }

  private record(make: () => GraphFunction): GraphFunction {
    try {
      return make();
    } catch (e) {
      throw new CompileError(
        `the training step could not be compiled: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  dispose(): void {
    for (const f of this.fns.values()) f.dispose();
    this.fns.clear();
    for (const t of this.onehots.values()) t.dispose();
    this.onehots.clear();
  }
}
