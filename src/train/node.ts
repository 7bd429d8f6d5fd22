/**
 * Node adapter: generator checkpoints on disk, and a training run that writes them.
 * A checkpoint is a folder: config.json (the generator config), weights.bin (float32 LE, in
 * parameter order) + weights.json (names, shapes, offsets, sha256), and for resumable ones
 * state.json + optimizer.bin (Adam moments). Folders are written under a temporary name and
 * renamed into place, so a reader never sees half a checkpoint.
 * A run folder holds last/ (resume point), best/ (best validation PSNR) and summary.json.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isPretrainedRef, pretrainedEntry } from '../pretrained/index.js';
import { MriseqError } from '../errors/index.js';
import {
  acquireRunLock,
  findFolder,
  recoverFolder,
  removeStaleTemps,
  writeFileAtomicSync,
  writeFolderAtomic,
} from '../reliability/node.js';
import {
  Seq2Seq,
  validateConfig,
  createGenerator,
  preset,
  seriesLengths,
  type NamedWeights,
  type Seq2SeqConfig,
  type PresetName,
  encodeWeights,
  decodeWeights,
  type WeightsDtype,
  type WeightsManifest,
} from '../model/index.js';
import type { SubjectVolumes } from '../model/data.js';
import { dict, own } from '../keys/index.js';
import { isSubjectStream, subjectCount, type TrainSubjects } from './pool.js';
import {
  trainSteps,
  type TrainCheckpoint,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  type TrainState,
} from './train.js';

function packWeights(
  w: NamedWeights,
  order: string[],
  dtype: WeightsDtype = 'float32',
): { bin: Buffer; manifest: WeightsManifest } {
  const { bytes, manifest } = encodeWeights(w, order, dtype);
  const bin = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { bin, manifest: { ...manifest, sha256: createHash('sha256').update(bin).digest('hex') } };
}

function readJson<T>(file: string, what: string): T {
  if (!existsSync(file)) throw new MriseqError(`${what} is missing`, { file, code: 'checkpoint.missing' });
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new MriseqError(`${what} is not valid JSON`, { file, code: 'checkpoint.corrupt', cause: e });
  }
}

function unpackWeights(binFile: string, manifestFile: string): NamedWeights {
  const m = readJson<WeightsManifest>(manifestFile, 'weights manifest');
  if (!existsSync(binFile))
    throw new MriseqError('weights file is missing', { file: binFile, code: 'checkpoint.missing' });
  const buf = readFileSync(binFile);
  // decodeWeights checks the manifest and the size before the checksum is worth computing
  const weights = decodeWeights(buf, m, { bin: binFile, manifest: manifestFile });
  const sha = createHash('sha256').update(buf).digest('hex');
  if (sha !== m.sha256) {
    throw new MriseqError('weights file is corrupt (checksum differs)', {
      file: binFile,
      field: 'sha256',
      found: sha.slice(0, 16),
      expected: String(m.sha256).slice(0, 16),
      code: 'checkpoint.corrupt',
    });
  }
  return weights;
}

/**
 * Saves a generator (and, for a resumable checkpoint, the training state) to a folder.
 * @param dir - The checkpoint folder (created; files replaced atomically).
 * @param model - The generator whose config and weights are saved.
 * @param extra - Weights to save instead of the model's, a {@link TrainState} to make it resumable,
 *   the weights' dtype on disk ('float32' or 'float16'), extra text files.
 * @example
 * ```ts
 * import { createGenerator, loadGenerator, saveCheckpoint, initEngine } from 'mriseq';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * await initEngine();
 * const dir = join(mkdtempSync(join(tmpdir(), 'mriseq-')), 'ckpt');
 * const g = createGenerator('lite');
 * saveCheckpoint(dir, g, { dtype: 'float16' });
 * loadGenerator(dir).dispose();
 * g.dispose();
 * ```
 */
export function saveCheckpoint(
  dir: string,
  model: Seq2Seq,
  extra: {
    weights?: NamedWeights;
    state?: TrainState;
    data?: TrainData;
    dtype?: WeightsDtype;
    files?: Record<string, string>;
  } = {},
): void {
  const order = [...model.variables.keys()];
  const { bin, manifest } = packWeights(extra.weights ?? model.getWeights(), order, extra.dtype);
  const files: Record<string, string | Buffer> = {
    'config.json': JSON.stringify({ className: Seq2Seq.className, config: model.getConfig() }, null, 2),
    'weights.bin': bin,
    'weights.json': JSON.stringify(manifest),
    ...extra.files,
  };
  if (extra.state) {
    const s = extra.state;
    const m = packWeights(s.m, order);
    const v = packWeights(s.v, order);
    const { m: _m, v: _v, ...rest } = s;
    void _m;
    void _v;
    files['state.json'] = JSON.stringify({ ...rest, moments: { m: m.manifest, v: v.manifest } }, null, 2);
    files['adam_m.bin'] = m.bin;
    files['adam_v.bin'] = v.bin;
    files['adam_m.json'] = JSON.stringify(m.manifest);
    files['adam_v.json'] = JSON.stringify(v.manifest);
  }
  // what these weights were trained on, in the same atomic folder as the weights themselves
  if (extra.data) files['data.json'] = JSON.stringify(extra.data, null, 2);
  writeFolderAtomic(dir, files, { durable: true });
}

/**
 * What {@link loadCheckpoint} returns.
 *
 * @example
 * ```ts
 * import { loadCheckpoint, type LoadedCheckpoint, initEngine } from 'mriseq';
 * await initEngine();
 * const c: LoadedCheckpoint = loadCheckpoint('pretrained:phantom-lite');
 * console.log(c.dir, c.state === undefined);
 * c.model.dispose();
 * ```
 */
export interface LoadedCheckpoint {
  model: Seq2Seq;
  state?: TrainState;
  dir: string;
}

/**
 * The package's models/ folder of shipped generators (src/train and dist/train are two levels down).
 * @example
 * ```ts
 * import { MODELS_ROOT } from 'mriseq';
 * console.log(MODELS_ROOT); // .../node_modules/mriseq/models
 * ```
 */
export const MODELS_ROOT = resolve(__dirname, '..', '..', 'models');

/** The folder of a shipped generator ('phantom-lite' or 'pretrained:phantom-lite'). */
export function pretrainedDir(name: string): string {
  return join(MODELS_ROOT, pretrainedEntry(name).folder);
}

/**
 * Loads a checkpoint folder, or a run folder (then its best/, else last/), or a shipped generator
 * named 'pretrained:<name>'. Missing, corrupt or mismatched files give a MriseqError naming the file.
 * @param path - A checkpoint folder, a run folder, or 'pretrained:<name>'.
 * @param which - For a run folder: 'best' (default) or 'last'.
 * @returns The model, the training state when saved, and the folder read.
 * @throws {@link MriseqError} naming the file when it is missing, corrupt or does not match the config.
 * @example
 * ```ts
 * import { loadCheckpoint, initEngine } from 'mriseq';
 * await initEngine();
 * const { model, dir } = loadCheckpoint('pretrained:phantom-lite');
 * console.log(dir, model.config.sequences);
 * model.dispose();
 * ```
 */
export function loadCheckpoint(path: string, which: 'best' | 'last' = 'best'): LoadedCheckpoint {
  if (isPretrainedRef(path)) path = pretrainedDir(path);
  // a writer killed between its two renames leaves no folder, but a complete one beside it
  const present = (p: string): string => (existsSync(p) ? p : (findFolder(p) ?? p));
  let dir = present(path);
  if (!existsSync(join(dir, 'config.json'))) {
    const first = present(join(path, which));
    const second = present(join(path, which === 'best' ? 'last' : 'best'));
    dir = existsSync(join(first, 'config.json'))
      ? first
      : existsSync(join(second, 'config.json'))
        ? second
        : dir;
  }
  const cfgFile = join(dir, 'config.json');
  if (!existsSync(cfgFile)) {
    throw new MriseqError('no generator checkpoint here', {
      file: path,
      expected: 'a folder with config.json, or a run folder with best/ or last/',
      code: 'checkpoint.missing',
    });
  }
  const cfg = readJson<{ className?: string; config?: Seq2SeqConfig }>(cfgFile, 'generator config');
  if (cfg.className !== Seq2Seq.className || !cfg.config) {
    throw new MriseqError('not a mriseq generator config', {
      file: cfgFile,
      field: 'className',
      found: String(cfg.className),
      expected: Seq2Seq.className,
      code: 'checkpoint.corrupt',
    });
  }
  validateConfig(cfg.config, cfgFile);
  const weights = unpackWeights(join(dir, 'weights.bin'), join(dir, 'weights.json'));
  const model = new Seq2Seq(cfg.config);
  try {
    model.setWeights(weights, join(dir, 'weights.bin'));
  } catch (e) {
    model.dispose();
    throw e;
  }
  let state: TrainState | undefined;
  if (existsSync(join(dir, 'state.json'))) {
    const s = readJson<Omit<TrainState, 'm' | 'v'>>(join(dir, 'state.json'), 'training state');
    state = {
      ...s,
      m: unpackWeights(join(dir, 'adam_m.bin'), join(dir, 'adam_m.json')),
      v: unpackWeights(join(dir, 'adam_v.bin'), join(dir, 'adam_v.json')),
    };
  }
  return { model, state, dir };
}

/**
 * What a generator is, as a hash: sha256 over its config and every weight (name, shape, float32
 * bytes, in parameter order). Equal for a model and the checkpoint it was saved to or loaded
 * from; recorded by every output made with it (src/reliability/provenance.ts). Computed from
 * the weights each time (a model object may have trained since). A float16 checkpoint rounds the
 * weights, so the generator loaded from it has another fingerprint than the model saved.
 * @param model - The generator.
 * @returns 64 lowercase hex digits; the same config (seeded initial weights) gives the same one.
 * @example
 * ```ts
 * import { createGenerator, generatorFingerprint, initEngine, loadGenerator, saveCheckpoint } from 'mriseq';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * await initEngine();
 * const g = createGenerator('lite');
 * const dir = join(mkdtempSync(join(tmpdir(), 'mriseq-')), 'ckpt');
 * saveCheckpoint(dir, g);
 * const back = loadGenerator(dir);
 * console.log(generatorFingerprint(back) === generatorFingerprint(g)); // true
 * console.log(generatorFingerprint(createGenerator('lite', { seed: 1 })) === generatorFingerprint(g)); // false
 * g.dispose();
 * back.dispose();
 * ```
 */
export function generatorFingerprint(model: Seq2Seq): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ className: Seq2Seq.className, config: model.getConfig() }));
  for (const [name, w] of Object.entries(model.getWeights())) {
    h.update(`\n${name} ${w.shape.join(',')}\n`);
    h.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  }
  return h.digest('hex');
}

/**
 * Loads the generator of a run (best weights) or of a checkpoint folder.
 * @param path - A run folder, a checkpoint folder or 'pretrained:<name>'.
 * @returns The generator.
 * @throws {@link MriseqError} as {@link loadCheckpoint}.
 * @example
 * ```ts
 * import { loadGenerator, initEngine } from 'mriseq';
 * await initEngine();
 * const g = loadGenerator('pretrained:phantom-lite');
 * console.log(g.countParams());
 * g.dispose();
 * ```
 */
export function loadGenerator(path: string): Seq2Seq {
  return loadCheckpoint(path, 'best').model;
}

/**
 * Options of {@link trainRun}.
 *
 * @example
 * ```ts
 * import { type TrainRunOptions } from 'mriseq';
 * const fineTune: TrainRunOptions = { out: 'runs/ft', from: 'pretrained:phantom-lite', steps: 200, crop: 64 };
 * console.log(fineTune.from);
 * ```
 */
export interface TrainRunOptions extends Omit<TrainOptions, 'resume' | 'onCheckpoint'> {
  /** Run folder (last/, best/, summary.json). */
  out: string;
  /** A preset or a full config for a new run (default 'lite'); ignored when resuming. */
  model?: PresetName | Seq2SeqConfig;
  /** Overrides of the preset (e.g. sequences, cIn). */
  modelOverrides?: Partial<Seq2SeqConfig>;
  /** Continue from out/last when it exists. */
  resume?: boolean;
  /**
   * Start a new run from these weights (a checkpoint or run folder, or 'pretrained:<name>') instead
   * of a fresh initialisation: fine-tuning. Its config is used; `model` and `modelOverrides` are not.
   */
  from?: string;
  /** Also save out/last every this many steps (default max(1, steps / 10)). */
  checkpointEvery?: number;
  /**
   * A fresh run into a folder that holds another run's checkpoints is refused; with redo they
   * (last/, best/, summary.json, data.json) are removed first.
   */
  redo?: boolean;
}

/**
 * What {@link trainRun} returns.
 *
 * @example
 * ```ts
 * import { phantom, trainRun, type TrainRunResult, initEngine } from 'mriseq';
 * await initEngine();
 * const r: TrainRunResult = await trainRun([phantom({ size: [32, 32, 16] }).subject(0)], { out: '/tmp/run', steps: 1, crop: 32, resume: true });
 * console.log(r.resumedFrom, r.bestPsnr);
 * r.model.dispose();
 * ```
 */
export interface TrainRunResult extends TrainResult {
  out: string;
  model: Seq2Seq;
  resumedFrom: number | null;
}

/**
 * Trains a generator into a run folder, resumable with {resume: true}. The folder is locked while
 * training: a second process writing the same run would interleave checkpoints.
 * Checkpoints go to out/last (periodic) and out/best (best validation PSNR), written atomically.
 *
 * @param subjects - Training subjects (raw intensities).
 * @param options - {@link TrainOptions} plus `out`, `model`/`modelOverrides`, `resume`, `from` (fine-tune) and `checkpointEvery`.
 * @returns The training summary plus the run folder, the trained model and the step it resumed from.
 * @throws {@link MriseqError} when the run folder is locked by another process, a checkpoint to resume
 *   or fine-tune from is unreadable, or as {@link trainSteps}.
 * @example
 * ```ts
 * import { phantom, trainRun, initEngine } from 'mriseq';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * await initEngine();
 * const out = join(mkdtempSync(join(tmpdir(), 'mriseq-')), 'run');
 * const p = phantom({ subjects: 2, size: [32, 32, 16] });
 * const r = await trainRun([p.subject(0), p.subject(1)], { out, steps: 2, crop: 32 });
 * console.log(r.out, r.steps);
 * r.model.dispose();
 * ```
 */
export async function trainRun(subjects: TrainSubjects, options: TrainRunOptions): Promise<TrainRunResult> {
  mkdirSync(options.out, { recursive: true });
  const lock = acquireRunLock(options.out);
  try {
    // No other writer since the lock was taken: whatever a killed run left half-written goes, and
    // a checkpoint folder it left between its two renames is put back in place.
    const stale = { olderThan: Date.parse(lock.info.started) };
    for (const name of ['last', 'best']) recoverFolder(join(options.out, name), stale);
    removeStaleTemps(join(options.out, 'summary.json'), stale);
    return await trainRunLocked(subjects, options);
  } finally {
    lock.release();
  }
}

/** What a run was trained on: data.json in the run folder. */
export interface TrainData {
  /** sha256 over the training and validation subjects: ids, sequences, shapes, affines, voxels. */
  fingerprint: string;
  subjects: string[];
  validation: string[];
}

function hashSubjects(h: ReturnType<typeof createHash>, subjects: readonly SubjectVolumes[]): void {
  for (const s of subjects) {
    h.update(`subject ${s.id}\n`);
    for (const key of Object.keys(s.volumes).sort()) {
      const v = own(s.volumes, key);
      if (!v) continue;
      h.update(`${key} ${v.shape.join(',')} ${v.affine.map((r) => r.join(',')).join(';')}\n`);
      h.update(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
    }
  }
}

/** The ids of training subjects, hashed (a stream is loaded one subject at a time). */
async function hashTrainSubjects(
  h: ReturnType<typeof createHash>,
  subjects: TrainSubjects,
): Promise<string[]> {
  if (!isSubjectStream(subjects)) {
    hashSubjects(h, subjects);
    return subjects.map((s) => s.id);
  }
  for (const id of subjects.ids) hashSubjects(h, [await subjects.load(id)]);
  return [...subjects.ids];
}

/** The shapes of the named sequences of each subject; a stream is read one subject at a time. */
async function subjectShapes(
  subjects: TrainSubjects,
  sequences: readonly string[],
): Promise<{ volumes: Readonly<Record<string, { shape: readonly number[] } | undefined>> }[]> {
  if (!isSubjectStream(subjects)) return [...subjects];
  const out: { volumes: Record<string, { shape: readonly number[] }> }[] = [];
  for (const id of subjects.ids) {
    const s = await subjects.load(id);
    out.push({
      volumes: dict(
        sequences.flatMap((q) => {
          const v = own(s.volumes, q);
          return v ? [[q, { shape: v.shape }] as const] : [];
        }),
      ),
    });
  }
  return out;
}

/**
 * What a training run is trained on (its data.json): a sha256 fingerprint over the training and
 * validation subjects (ids, sequence keys, shapes, affines and voxel bytes, in the given order:
 * the order sets the sampling) and their ids. The same for subjects in memory or streamed with
 * the same volumes; a stream is read one subject at a time (within the memory a training run may
 * use). trainRun compares it on resume and refuses other data ('train.data').
 * @param subjects - The training subjects (in memory or a {@link SubjectStream}).
 * @param validation - The validation subjects (default none).
 * @returns `fingerprint` (64 hex digits), `subjects` and `validation` (their ids, in order).
 * @throws Whatever a stream's `load` throws.
 * @example
 * ```ts
 * import { phantom, trainDataFor } from 'mriseq';
 * const p = phantom({ subjects: 3, size: [16, 16, 8] });
 * const a = await trainDataFor([p.subject(0), p.subject(1)], [p.subject(2)]);
 * const stream = { ids: ['sim-00000', 'sim-00001'], available: (id: string) => p.info(id).sequences, load: async (id: string) => p.subject(id) };
 * const b = await trainDataFor(stream, [p.subject(2)]);
 * const c = await trainDataFor([p.subject(1), p.subject(0)], [p.subject(2)]);
 * console.log(a.subjects, a.validation); // [ 'sim-00000', 'sim-00001' ] [ 'sim-00002' ]
 * console.log(a.fingerprint === b.fingerprint, a.fingerprint === c.fingerprint); // true false
 * ```
 */
export async function trainDataFor(
  subjects: TrainSubjects,
  validation: TrainSubjects = [],
): Promise<TrainData> {
  const h = createHash('sha256');
  const ids = await hashTrainSubjects(h, subjects);
  h.update('validation\n');
  const val = await hashTrainSubjects(h, validation);
  return { fingerprint: h.digest('hex'), subjects: ids, validation: val };
}

/** The fingerprint of a training set (order matters: it sets the sampling). */
export function trainDataOf(
  subjects: readonly SubjectVolumes[],
  validation: readonly SubjectVolumes[] = [],
): TrainData {
  const h = createHash('sha256');
  hashSubjects(h, subjects);
  h.update('validation\n');
  hashSubjects(h, validation);
  return {
    fingerprint: h.digest('hex'),
    subjects: subjects.map((s) => s.id),
    validation: validation.map((s) => s.id),
  };
}

/**
 * A resumed run must see the data it started on: resuming, or taking a finished run as done, on
 * other volumes (a changed cohort, a regenerated phantom) would return weights that belong to
 * neither. The record is the checkpoint's own data.json (written with its weights); checkpoints
 * from before it existed fall back to RUN/data.json; runs without either are taken as they are.
 */
function checkTrainData(out: string, data: TrainData): void {
  const own = join(out, 'last', 'data.json');
  const file = existsSync(own) ? own : join(out, 'data.json');
  if (!existsSync(file)) return;
  let saved: Partial<TrainData>;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<TrainData>;
  } catch (e) {
    throw new MriseqError('unreadable training-data record', {
      file,
      expected: 'JSON written by mriseq train',
      cause: e,
      code: 'train.data',
    });
  }
  if (saved.fingerprint === data.fingerprint) return;
  const sameIds =
    JSON.stringify(saved.subjects) === JSON.stringify(data.subjects) &&
    JSON.stringify(saved.validation) === JSON.stringify(data.validation);
  throw new MriseqError(
    `this run was trained on other data (${sameIds ? 'same subject ids, different volumes' : 'different subjects'}); ` +
      'resume it with the data it started on, or train into a new folder (or remove this one)',
    {
      file,
      field: 'fingerprint',
      found: data.fingerprint.slice(0, 16),
      expected: String(saved.fingerprint).slice(0, 16),
      code: 'train.data',
    },
  );
}

/** What a run folder holds of a run: checkpoints and the files describing them (fold.json: the CLI's). */
const RUN_FILES = ['last', 'best', 'summary.json', 'data.json', 'fold.json'];

/**
 * A fresh run must not start in a folder holding another run: its new data.json beside the old
 * checkpoints would let a later --resume pass the old weights off as trained on the new data,
 * and an interrupted fresh run would leave the two mixed. Refused, or with redo removed first.
 */
function clearOtherRun(out: string, redo: boolean): void {
  const held = ['last', 'best', 'summary.json'].filter(
    (f) => existsSync(join(out, f)) || findFolder(join(out, f)),
  );
  if (held.length === 0) return;
  if (!redo)
    throw new MriseqError('this run folder holds another run (a fresh run would mix with it)', {
      file: out,
      found: held.join(', '),
      expected: 'resume it (--resume), remove it first (--redo), or train into another folder',
      code: 'train.exists',
    });
  for (const f of RUN_FILES) rmSync(join(out, f), { recursive: true, force: true });
}

async function trainRunLocked(subjects: TrainSubjects, options: TrainRunOptions): Promise<TrainRunResult> {
  const out = options.out;
  const lastDir = join(out, 'last');
  let model: Seq2Seq;
  let state: TrainState | undefined;
  let resumedFrom: number | null = null;
  const data = await trainDataFor(subjects, options.validation);
  const resuming = options.resume === true && existsSync(join(lastDir, 'config.json'));
  if (resuming) checkTrainData(out, data);
  else clearOtherRun(out, options.redo === true);
  writeFileAtomicSync(join(out, 'data.json'), JSON.stringify(data, null, 2), { durable: true });
  if (resuming) {
    const c = loadCheckpoint(lastDir);
    if (!c.state)
      throw new MriseqError('checkpoint has no training state to resume from', {
        file: join(lastDir, 'state.json'),
        code: 'checkpoint.missing',
      });
    model = c.model;
    state = c.state;
    resumedFrom = state.step;
  } else if (options.from) {
    model = loadCheckpoint(options.from).model;
  } else {
    const m = options.model ?? 'lite';
    const sequences =
      options.modelOverrides?.sequences ?? (typeof m === 'string' ? preset(m).sequences : m.sequences);
    // The 4D sequences' lengths go into the config, so generating a series the subject lacks
    // (a DCE from T1 and T2) gives it the length it was trained on.
    const lengths = seriesLengths(await subjectShapes(subjects, sequences), sequences);
    const overrides = {
      ...(Object.keys(lengths).length ? { timePoints: lengths } : {}),
      ...options.modelOverrides,
    };
    model = typeof m === 'string' ? createGenerator(m, overrides) : createGenerator(m, overrides);
  }
  const { out: _o, model: _m, modelOverrides: _mo, resume: _r, redo: _rd, from: _f, ...rest } = options;
  void _o;
  void _m;
  void _mo;
  void _r;
  void _rd;
  void _f;
  const hasVal = subjectCount(options.validation) > 0;
  const onCheckpoint = (c: TrainCheckpoint) => {
    if (c.reason === 'best') saveCheckpoint(join(out, 'best'), model, { weights: c.weights, data });
    else saveCheckpoint(lastDir, model, { weights: c.weights, state: c.state, data });
    // without validation the last weights are the best ones
    if (!hasVal && (c.reason === 'final' || c.reason === 'stopped'))
      saveCheckpoint(join(out, 'best'), model, { weights: c.weights, data });
  };
  if (state && state.steps !== options.steps) {
    throw new MriseqError('a resumed run keeps its number of steps (the learning-rate schedule spans them)', {
      file: join(lastDir, 'state.json'),
      field: 'steps',
      found: String(options.steps),
      expected: String(state.steps),
      code: 'train.resume',
    });
  }
  if (state && state.step >= state.steps) {
    const done: TrainResult = {
      steps: state.step,
      stopped: false,
      finalLoss: null,
      bestPsnr: state.bestPsnr,
      bestStep: state.bestStep,
      history: [],
    };
    // killed after the final checkpoint but before the run's last files: finish those
    if (!existsSync(join(out, 'summary.json'))) {
      if (!hasVal) saveCheckpoint(join(out, 'best'), model, { data });
      writeSummary(out, done, resumedFrom, model);
    }
    return { ...done, out, model, resumedFrom };
  }
  const it = trainSteps(model, subjects, {
    ...rest,
    checkpointEvery: options.checkpointEvery ?? Math.max(1, Math.floor(options.steps / 10)),
    resume: state,
    onCheckpoint,
  });
  let r: IteratorResult<TrainProgress, TrainResult>;
  do r = await it.next();
  while (!r.done);
  const result = r.value;
  writeSummary(out, result, resumedFrom, model);
  return { ...result, out, model, resumedFrom };
}

function writeSummary(out: string, result: TrainResult, resumedFrom: number | null, model: Seq2Seq): void {
  const summary = {
    steps: result.steps,
    stopped: result.stopped,
    finalLoss: result.finalLoss,
    bestPsnr: result.bestPsnr,
    bestStep: result.bestStep,
    resumedFrom,
    config: model.getConfig(),
  };
  writeFileAtomicSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2), { durable: true });
}
