/**
 * Graph functions on the native ('tensorflow') backend: a computation written with tfjs ops is
 * run once under a recorder that adds each TensorFlow op it issues to a TF_Graph instead of
 * executing it, and the graph becomes a function of TensorFlow's eager context that later runs as
 * one op (one TFE_Execute: TensorFlow's executor, Grappler and oneDNN's graph rewrites, no tfjs
 * bookkeeping per op).
 *
 * Why: each tfjs op costs tens of microseconds of tfjs and eager TensorFlow bookkeeping, and a
 * generator training step is ~1,500 of them (docs/speed.md). tfjs-node's kernels and mriseq's own
 * (native-kernels.ts) all reach TensorFlow through `binding.executeOp`, forward and backward
 * alike, so recording at that boundary captures exactly the ops the eager step runs, gradients
 * included: no second implementation of the model or of its gradients.
 *
 * How a tensor the recorded computation reads from outside becomes part of the graph:
 * - a feed (`feeds`): a Placeholder, and an input of the function, given anew at each call;
 * - a read of a resource variable (`reads`): a ReadVariableOp of that variable's handle (a feed),
 *   so the function sees the variable's value at call time;
 * - anything else (shape and axis constants, cached zeros): a Const holding its current value.
 *   A tfjs Variable reaching this case is an error: it would be frozen into the function.
 * An op recorded with no outputs (ResourceApplyAdam, AssignVariableOp) is a side effect: it
 * becomes a control output, so the function always runs it.
 *
 * Browser-safe: only @tensorflow/tfjs; the native binding is reached by duck typing. The binding's
 * graph calls come from scripts/tfjs-node/mriseq_graph.inc (built by scripts/build-tfjs-node.sh).
 */
import * as tf from '@tensorflow/tfjs';
import { MriseqError } from '../errors/index.js';

type Info = tf.TensorInfo;

interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

interface OutputMeta {
  id: number;
  shape: number[];
  dtype: number;
}

interface GraphOutput {
  ref: number;
  shape: number[] | null;
  dtype: number;
}

interface Binding {
  TF_FLOAT: number;
  TF_RESOURCE: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_SHAPE: number;
  executeOp(name: string, attrs: OpAttr[], ids: number[], numOutputs: number): OutputMeta[];
  createTensor(shape: number[], dtype: number, values: unknown): number;
  deleteTensor(id: number): void;
  tensorDataSync(id: number): unknown;
  mriseqGraphNew(): number;
  mriseqGraphDelete(g: number): void;
  mriseqGraphPlaceholder(g: number, dtype: number, shape: number[] | null): number;
  mriseqGraphConst(g: number, tensorId: number): number;
  mriseqGraphOp(
    g: number,
    name: string,
    attrs: OpAttr[],
    inputs: (number | number[])[],
    controlOps: number[],
  ): { op: number; outputs: GraphOutput[] };
  mriseqGraphOpDef(name: string): Uint8Array;
  mriseqGraphToFunction(
    g: number,
    name: string,
    inputs: number[],
    outputs: number[],
    controlOps: number[],
    boolAttrs: { name: string; value: boolean }[],
  ): void;
  mriseqRemoveFunction(name: string): void;
  mriseqRunMetadata(enable: boolean): Uint8Array | undefined;
}

interface Backend {
  binding: Binding;
  tensorMap: { get(dataId: object): { id: number; dtype: number; shape: number[] } | undefined };
  getInputTensorIds(tensors: Info[]): number[];
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: Info[], numOutputs: number): tf.Tensor[];
}

function graphBackend(): Backend | undefined {
  const be = tf.backend() as unknown as Partial<Backend> | undefined;
  const b = be?.binding as Partial<Binding> | undefined;
  if (typeof b?.mriseqGraphNew !== 'function' || typeof be?.getInputTensorIds !== 'function')
    return undefined;
  return be as Backend;
}

/**
 * Whether graph functions can be built here: the native backend is active and its binding has
 * the graph calls (built by `npm run setup` from scripts/build-tfjs-node.sh).
 *
 * @returns True where {@link traceGraph} can record.
 * @example
 * ```ts
 * import { graphsAvailable, initEngine } from 'mriseq';
 * await initEngine();
 * console.log(graphsAvailable()); // true on the native engine after npm run setup
 * ```
 */
export function graphsAvailable(): boolean {
  return graphBackend() !== undefined;
}

// --- the OpDef of an op, for its list inputs -----------------------------------------------------

interface ArgDef {
  /** The attribute holding the list's length (ConcatV2's N), or '' for a single tensor. */
  numberAttr: string;
  typeList: boolean;
}

/** Reads the input arguments out of a serialized OpDef (protobuf: input_arg = field 2). */
export function parseOpDefInputs(bytes: Uint8Array): ArgDef[] {
  let pos = 0;
  const varint = (buf: Uint8Array): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  const fields = (buf: Uint8Array): [number, Uint8Array | number][] => {
    const out: [number, Uint8Array | number][] = [];
    const save = pos;
    pos = 0;
    while (pos < buf.length) {
      const key = varint(buf);
      const wire = key & 7;
      const field = key >>> 3;
      if (wire === 0) out.push([field, varint(buf)]);
      else if (wire === 2) {
        const len = varint(buf);
        out.push([field, buf.subarray(pos, pos + len)]);
        pos += len;
      } else if (wire === 5) pos += 4;
      else if (wire === 1) pos += 8;
      else throw new Error(`OpDef: unexpected wire type ${wire}`);
    }
    pos = save;
    return out;
  };
  const text = (b: Uint8Array | number): string => (typeof b === 'number' ? '' : new TextDecoder().decode(b));
  return fields(bytes)
    .filter(([f]) => f === 2)
    .map(([, arg]) => {
      const fs = fields(arg as Uint8Array);
      const get = (n: number): string => text(fs.find(([f]) => f === n)?.[1] ?? 0);
      return { numberAttr: get(5), typeList: get(6) !== '' };
    });
}

const opDefs = new Map<string, ArgDef[]>();

/** Groups the flat input list tfjs passes into the op's arguments (lists as arrays). */
function groupInputs(b: Binding, name: string, attrs: OpAttr[], refs: number[]): (number | number[])[] {
  let args = opDefs.get(name);
  if (!args) {
    args = parseOpDefInputs(b.mriseqGraphOpDef(name));
    opDefs.set(name, args);
  }
  const lists = args.filter((a) => a.numberAttr || a.typeList).length;
  if (lists === 0) return refs;
  const lengths = args.map((a) => {
    if (!a.numberAttr && !a.typeList) return 1;
    const n = attrs.find((t) => t.name === a.numberAttr)?.value;
    if (typeof n === 'number') return n;
    if (lists === 1) return refs.length - (args!.length - 1);
    throw new Error(`graph: cannot tell the list lengths of ${name}'s inputs`);
  });
  const out: (number | number[])[] = [];
  let i = 0;
  args.forEach((a, k) => {
    const n = lengths[k]!;
    if (!a.numberAttr && !a.typeList) out.push(refs[i++]!);
    else {
      out.push(refs.slice(i, i + n));
      i += n;
    }
  });
  if (i !== refs.length) throw new Error(`graph: ${name} got ${refs.length} inputs, its OpDef takes ${i}`);
  return out;
}

// --- recording ----------------------------------------------------------------------------------

/** Set while a computation is being recorded (probes that must really run use outsideTrace). */
let active: { be: Backend; real: Binding; stockOps: boolean } | undefined;

/**
 * Whether the recording now running asked for TensorFlow's stock ops only (no oneDNN ops by
 * kernel label: XLA cannot compile those).
 */
export function recordingStockOps(): boolean {
  return active?.stockOps === true;
}

/**
 * Runs fn with TensorFlow ops executed for real even while a graph is being recorded: for probes
 * whose result decides which ops the recorded computation issues (the oneDNN kernel checks).
 */
export function outsideTrace<T>(fn: () => T): T {
  if (!active) return fn();
  const { be, real } = active;
  const shim = be.binding;
  const saved = active;
  be.binding = real;
  active = undefined;
  try {
    return fn();
  } finally {
    be.binding = shim;
    active = saved;
  }
}

/**
 * What {@link traceGraph} feeds a recorded function.
 *
 * @example
 * ```ts
 * import { tf, type TraceSpec, initEngine } from 'mriseq';
 * await initEngine();
 * const x = tf.zeros([2, 2]);
 * const spec: TraceSpec = { feeds: [x] };
 * console.log(spec.feeds.length);
 * x.dispose();
 * ```
 */
export interface TraceSpec {
  /** Tensors given at every call, in this order: the function's inputs. */
  feeds: Info[];
  /**
   * Tensors that hold a read of a resource variable, with the index (in feeds) of that variable's
   * handle: the function reads the variable when it runs.
   */
  reads?: [Info, number][];
  /** Boolean function attributes, e.g. `{ _XlaMustCompile: true }` (XLA's JIT). */
  functionAttrs?: Record<string, boolean>;
  /** Record TensorFlow's stock ops only (see recordingStockOps); XLA needs it. */
  stockOps?: boolean;
}

/**
 * What recording found, for the bench and the tests ({@link GraphFunction}'s `stats`).
 *
 * @example
 * ```ts
 * import { graphsAvailable, traceGraph, tf, initEngine, type GraphStats } from 'mriseq';
 * await initEngine();
 * if (graphsAvailable()) {
 *   const x = tf.ones([3]);
 *   const fn = traceGraph({ feeds: [x] }, () => [tf.mul(x, 2)]);
 *   const stats: GraphStats = fn.stats;
 *   console.log(stats.recorded); // 1
 *   fn.dispose();
 *   x.dispose();
 * }
 * ```
 */
export interface GraphStats {
  /** Ops in the graph: recorded ops, placeholders, constants and variable reads. */
  nodes: number;
  /** Ops recorded from the computation (the eager step runs as many TensorFlow ops). */
  recorded: number;
  /** Constants captured (shape and axis tensors, cached zeros). */
  consts: number;
  /** Side-effect ops (no outputs) run as control outputs. */
  sideEffects: number;
  /** Recording time, ms. */
  traceMs: number;
}

/**
 * Outputs whose shape TensorFlow's shape inference leaves open but which tfjs only passes on to
 * another TensorFlow op: the shape eager TensorFlow gives them (FusedBatchNormV3's third reserve
 * space is [0] on the CPU; the graph's own rewrite may size it differently, which nothing in tfjs
 * reads).
 */
const OPAQUE_OUTPUTS: Record<string, Record<number, number[]>> = {
  FusedBatchNormV3: { 5: [0] },
};

/** TensorFlow's oneDNN ops that eager runs by kernel label (native-kernels.ts). */
const ONEDNN_PREFIX = '_MklNative';

let functions = 0;
const tag = Math.random().toString(36).slice(2, 8);

/**
 * A recorded computation, callable as one TensorFlow op (made by {@link traceGraph}).
 *
 * @example
 * ```ts
 * import { graphsAvailable, traceGraph, tf, initEngine } from 'mriseq';
 * await initEngine();
 * if (graphsAvailable()) {
 *   const x = tf.ones([3]);
 *   const double = traceGraph({ feeds: [x] }, () => [tf.mul(x, 2)]);
 *   const [y] = double.call([tf.tensor([1, 2, 3])]);
 *   console.log(y!.dataSync()); // [2, 4, 6]
 *   double.dispose();
 * }
 * ```
 */
export class GraphFunction {
  private disposed = false;
  constructor(
    private readonly be: Backend,
    readonly name: string,
    private readonly inputs: { shape: number[]; dtype: number }[],
    readonly numOutputs: number,
    readonly stats: GraphStats,
  ) {}

  /** Runs the function on new feeds (same shapes and dtypes as recorded); returns its outputs. */
  call(feeds: Info[]): tf.Tensor[] {
    if (this.disposed) throw new Error(`graph function ${this.name} was disposed`);
    if (feeds.length !== this.inputs.length)
      throw new Error(
        `graph function ${this.name}: ${feeds.length} inputs given, ${this.inputs.length} expected`,
      );
    feeds.forEach((f, i) => {
      const want = this.inputs[i]!;
      if (f.shape.length !== want.shape.length || f.shape.some((d, k) => d !== want.shape[k]))
        throw new Error(
          `graph function ${this.name}: input ${i} has shape [${f.shape.join(', ')}], recorded with [${want.shape.join(', ')}]`,
        );
    });
    return this.be.executeMultipleOutputs(this.name, [], feeds, this.numOutputs);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.be.binding.mriseqRemoveFunction(this.name);
  }
}

/**
 * Records `body` (tfjs ops on the native backend) into a TensorFlow function. body returns the
 * tensors the function outputs; everything it creates is disposed here (it runs in a tidy). Throws
 * when the backend has no graph calls, when body reads a value it computed (dataSync), or when an
 * op's output shape is not known from the graph.
 *
 * @param spec - The feeds (the function's inputs), variable reads, function attributes.
 * @param body - The computation, in tfjs ops; returns the function's outputs.
 * @returns The function, callable with new feeds of the recorded shapes.
 * @throws {@link MriseqError} 'engine.no-graphs' where the backend has no graph calls.
 * @example
 * ```ts
 * import { graphsAvailable, traceGraph, tf, initEngine } from 'mriseq';
 * await initEngine();
 * if (graphsAvailable()) {
 *   const a = tf.ones([2, 2]);
 *   const b = tf.ones([2, 2]);
 *   const f = traceGraph({ feeds: [a, b] }, () => [tf.relu(tf.matMul(a, b))]);
 *   const [y] = f.call([tf.eye(2), tf.fill([2, 2], -1)]);
 *   console.log(y!.arraySync()); // [[0, 0], [0, 0]]
 *   f.dispose();
 * }
 * ```
 */
export function traceGraph(spec: TraceSpec, body: () => Info[]): GraphFunction {
  const be = graphBackend();
  if (!be) {
    throw new MriseqError('graph functions need the native tensorflow backend built by npm run setup', {
      code: 'engine.no-graphs',
      found: tf.getBackend(),
    });
  }
  if (active) throw new Error('graph: a recording is already running');
  const t0 = performance.now();
  const real = be.binding;
  const g = real.mriseqGraphNew();
  const stats: GraphStats = { nodes: 0, recorded: 0, consts: 0, sideEffects: 0, traceMs: 0 };
  try {
    const feedIds = be.getInputTensorIds(spec.feeds);
    const inputs = spec.feeds.map((f) => {
      const meta = be.tensorMap.get(f.dataId)!;
      return { shape: f.shape.slice(), dtype: meta.dtype };
    });
    const placeholders = inputs.map((f) => real.mriseqGraphPlaceholder(g, f.dtype, f.shape));
    stats.nodes += placeholders.length;
    // real tensor id -> graph output ref, for tensors from outside the recording
    const outside = new Map<number, number>();
    feedIds.forEach((id, i) => {
      if (!outside.has(id)) outside.set(id, placeholders[i]!);
    });
    const readOf = new Map<number, { k: number; shape: number[] }>();
    for (const [t, k] of spec.reads ?? []) readOf.set(be.getInputTensorIds([t])[0]!, { k, shape: t.shape });
    // Every tfjs variable's TensorFlow tensor (written now if it was not yet), to refuse freezing one.
    const variables = Object.values(tf.engine().state.registeredVariables).filter(
      (v) => !v.isDisposed && be.tensorMap.get(v.dataId) !== undefined,
    );
    const variableIds = new Map<number, string>();
    be.getInputTensorIds(variables).forEach((id, i) => variableIds.set(id, variables[i]!.name));
    const recorded = new Map<number, number>(); // fake id -> ref
    const readsOfResource = new Map<number, number[]>(); // resource placeholder ref -> its reads' ops
    let nextFake = -2;
    const sideEffects: number[] = [];
    const floatT: OpAttr = { name: 'dtype', type: real.TF_ATTR_TYPE, value: real.TF_FLOAT };

    const refOf = (id: number): number => {
      if (id <= -2) {
        const r = recorded.get(id);
        if (r === undefined) throw new Error(`graph: tensor ${id} is not from this recording`);
        return r;
      }
      let r = outside.get(id);
      if (r !== undefined) return r;
      const read = readOf.get(id);
      if (read !== undefined) {
        // A resource placeholder carries no shape, so the read's shape is stated (EnsureShape):
        // every op after it needs known shapes.
        const readOp = real.mriseqGraphOp(g, 'ReadVariableOp', [floatT], [placeholders[read.k]!], []);
        const v = readOp.outputs[0]!;
        readsOfResource.set(placeholders[read.k]!, [
          ...(readsOfResource.get(placeholders[read.k]!) ?? []),
          readOp.op,
        ]);
        r = real.mriseqGraphOp(
          g,
          'EnsureShape',
          [
            { name: 'T', type: real.TF_ATTR_TYPE, value: real.TF_FLOAT },
            { name: 'shape', type: real.TF_ATTR_SHAPE, value: read.shape },
          ],
          [v.ref],
          [],
        ).outputs[0]!.ref;
        stats.nodes += 2;
      } else {
        const name = variableIds.get(id);
        if (name !== undefined) {
          throw new MriseqError(
            'a tfjs variable is read by the compiled computation but not given as a resource read: it would be frozen',
            { field: name, code: 'engine.graph-variable' },
          );
        }
        r = real.mriseqGraphConst(g, id);
        stats.nodes++;
        stats.consts++;
      }
      outside.set(id, r);
      return r;
    };

    // The binding's own properties are read-only: the shim defines its own over them.
    const override: Pick<Binding, 'executeOp' | 'tensorDataSync' | 'deleteTensor'> = {
      executeOp: () => [],
      tensorDataSync: () => undefined,
      deleteTensor: () => undefined,
    };
    const known = (shape: number[] | null): shape is number[] => !!shape && shape.every((d) => d >= 0);
    override.executeOp = (name, attrs, ids, numOutputs) => {
      const refs = ids.map(refOf);
      const inputs = groupInputs(real, name, attrs, refs);
      // A side effect on a resource variable (ResourceApplyAdam) runs after every read of it in
      // the recording, as it did in the eager computation.
      const after = numOutputs === 0 ? refs.flatMap((ref) => readsOfResource.get(ref) ?? []) : [];
      const r = real.mriseqGraphOp(g, name, attrs, inputs, after);
      stats.nodes++;
      stats.recorded++;
      if (numOutputs === 0) {
        sideEffects.push(r.op);
        return [];
      }
      if (r.outputs.length < numOutputs)
        throw new Error(`graph: ${name} has ${r.outputs.length} outputs, ${numOutputs} asked for`);
      const outs = r.outputs.slice(0, numOutputs).map((o, i) => {
        const opaque = OPAQUE_OUTPUTS[name]?.[i];
        return opaque ? { ...o, shape: opaque } : o;
      });
      if (name.startsWith(ONEDNN_PREFIX) && outs.some((o) => !known(o.shape))) {
        // oneDNN's labelled ops (the eager step's choice where they were faster, native-kernels.ts)
        // have no shape function: the stock op on the same inputs gives the shapes (a dead node,
        // pruned when the function is optimised), and EnsureShape states them.
        const stock = real.mriseqGraphOp(
          g,
          name.slice(ONEDNN_PREFIX.length),
          attrs.filter((a) => a.name !== '_kernel'),
          inputs,
          [],
        );
        stats.nodes++;
        outs.forEach((o, i) => {
          const shape = stock.outputs[i]?.shape ?? null;
          if (known(o.shape) || !known(shape)) return;
          const e = real.mriseqGraphOp(
            g,
            'EnsureShape',
            [
              { name: 'T', type: real.TF_ATTR_TYPE, value: o.dtype },
              { name: 'shape', type: real.TF_ATTR_SHAPE, value: shape },
            ],
            [o.ref],
            [],
          );
          stats.nodes++;
          outs[i] = { ...e.outputs[0]!, shape };
        });
      }
      return outs.map((o) => {
        const shape = o.shape;
        if (!known(shape))
          throw new Error(
            `graph: the output of ${name} has a shape TensorFlow cannot infer (${JSON.stringify(o.shape)})`,
          );
        const id = nextFake--;
        recorded.set(id, o.ref);
        return { id, shape, dtype: o.dtype };
      });
    };
    override.tensorDataSync = (id) => {
      if (id <= -2) throw new Error('graph: a recorded computation cannot read the values it computes');
      return real.tensorDataSync(id);
    };
    override.deleteTensor = (id) => {
      if (id >= 0) real.deleteTensor(id);
    };
    const shim = Object.create(real, {
      executeOp: { value: override.executeOp },
      tensorDataSync: { value: override.tensorDataSync },
      deleteTensor: { value: override.deleteTensor },
    }) as Binding;

    let outs: number[];
    be.binding = shim;
    active = { be, real, stockOps: spec.stockOps === true };
    try {
      const result = tf.tidy(() => body() as tf.Tensor[]);
      outs = be.getInputTensorIds(result).map(refOf);
      for (const t of result) t.dispose();
    } finally {
      be.binding = real;
      active = undefined;
    }
    stats.sideEffects = sideEffects.length;
    const name = `mriseq_fn_${tag}_${functions++}`;
    const attrs = Object.entries(spec.functionAttrs ?? {}).map(([n, value]) => ({ name: n, value }));
    real.mriseqGraphToFunction(g, name, placeholders, outs, sideEffects, attrs);
    stats.traceMs = performance.now() - t0;
    return new GraphFunction(be, name, inputs, outs.length, stats);
  } finally {
    real.mriseqGraphDelete(g);
  }
}
