/**
 * Fuzz targets shared by the test suite (fixed seed, short) and `npm run fuzz` (random seed, long).
 * Each target turns one byte string into a call of a reader that meets untrusted input: the NIfTI
 * reader (in-memory .nii/.nii.gz, NIfTI-1 and -2), the .hdr/.img pair reader, the manifest parser,
 * the checkpoint loader, and a cohort on disk (sequence and label names that are JavaScript's,
 * NaN and infinite voxels, shifted, mirrored or zoomed affines, 4D files in 3D roles) through
 * manifest check, loading and train's checks, where what check reports must be refused at load
 * and what loads must be finite and on one grid. The property: the call returns a valid value or throws MriseqError,
 * within a time budget, never another exception. Inputs come from mutating valid files (nibabel
 * wrote the NIfTI seeds in ./seeds, our writers the manifest and checkpoint seeds).
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  Cohort,
  MriseqError,
  checkManifest,
  createGenerator,
  createVolume,
  writeNifti,
  loadCheckpoint,
  manifestToCsv,
  parseManifestText,
  readNifti,
  readNiftiBytes,
  saveCheckpoint,
  type Manifest,
  type TrainState,
  type Volume,
} from '../../src/index.js';
import {
  assertSubjectVolumes,
  countNonFinite,
  gridProblem,
  TIME_SERIES_SEQUENCES,
} from '../../src/volume/index.js';

export const SEEDS = join(__dirname, 'seeds');
export const REGRESSIONS = join(__dirname, 'regressions');
/** Memory budget given to the reader: far above any seed, far below this machine's memory. */
export const FUZZ_MAX_BYTES = 32 * 2 ** 20;
/** Time one case may take before it counts as a hang. */
export const CASE_BUDGET_MS = 10_000;

/** A property violation: what the target did instead of returning a value or a MriseqError. */
export class Finding extends Error {}

export interface Target {
  name: string;
  /** Inputs built from valid seeds by mutation (and some from scratch). */
  arbitrary: () => fc.Arbitrary<Uint8Array<ArrayBufferLike>>;
  /** Runs one input; throws Finding when the property is broken. */
  run: (input: Uint8Array) => Promise<void>;
}

// ----------------------------------------------------------------------------- mutation

type Mutation =
  | { kind: 'byte'; pos: number; val: number }
  | { kind: 'int'; pos: number; width: 1 | 2 | 4 | 8; val: number }
  | { kind: 'float'; pos: number; width: 4 | 8; val: number }
  | { kind: 'truncate'; len: number }
  | { kind: 'append'; bytes: Uint8Array };

/** Offsets of NIfTI-1 and NIfTI-2 header fields a hostile file would most likely get wrong. */
const FIELD_OFFSETS = [
  // NIfTI-1: sizeof_hdr, dim[0..7], intent, datatype, bitpix, slice_start, pixdim, vox_offset,
  // scl_slope/inter, slice_end, xyzt_units, cal, qform/sform codes, quatern, srow, magic
  0, 40, 42, 44, 46, 48, 50, 52, 54, 56, 68, 70, 72, 74, 76, 80, 84, 88, 92, 108, 112, 116, 120, 123, 252,
  254, 256, 268, 280, 284, 296, 300, 312, 344, 348,
  // NIfTI-2: magic, datatype, bitpix, dim (int64), pixdim (float64), vox_offset, scl, slice, codes, srow
  4, 12, 14, 16, 24, 32, 40, 64, 104, 112, 168, 176, 184, 224, 344, 348, 352, 400, 432, 464, 500, 504,
];
const INTERESTING_INTS = [
  0,
  1,
  -1,
  2,
  3,
  7,
  8,
  16,
  255,
  256,
  32767,
  -32768,
  65535,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 32 - 1,
  2 ** 40,
  348,
  540,
  352,
  544,
  1e6,
];
const INTERESTING_FLOATS = [
  0,
  -0,
  1,
  -1,
  0.5,
  1e-40,
  1e38,
  3.4e38,
  1e300,
  Infinity,
  -Infinity,
  NaN,
  352,
  1e9,
];

function mutationArb(maxPos: number): fc.Arbitrary<Mutation> {
  const pos = fc.oneof(fc.constantFrom(...FIELD_OFFSETS), fc.nat({ max: Math.max(0, maxPos) }));
  return fc.oneof(
    fc.record({ kind: fc.constant('byte' as const), pos, val: fc.nat({ max: 255 }) }),
    fc.record({
      kind: fc.constant('int' as const),
      pos,
      width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      val: fc.oneof(fc.constantFrom(...INTERESTING_INTS), fc.integer()),
    }),
    fc.record({
      kind: fc.constant('float' as const),
      pos,
      width: fc.constantFrom(4 as const, 8 as const),
      val: fc.oneof(fc.constantFrom(...INTERESTING_FLOATS), fc.double()),
    }),
    fc.record({ kind: fc.constant('truncate' as const), len: fc.nat({ max: Math.max(0, maxPos) }) }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
  );
}

function applyMutations(base: Uint8Array, muts: readonly Mutation[], littleEndian = true): Uint8Array {
  let b = Uint8Array.from(base);
  for (const m of muts) {
    if (m.kind === 'truncate') b = b.slice(0, Math.min(m.len, b.length));
    else if (m.kind === 'append') {
      const n = new Uint8Array(b.length + m.bytes.length);
      n.set(b);
      n.set(m.bytes, b.length);
      b = n;
    } else {
      const width = m.kind === 'byte' ? 1 : m.width;
      if (m.pos + width > b.length) continue;
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (m.kind === 'byte') v.setUint8(m.pos, m.val);
      else if (m.kind === 'float') {
        if (m.width === 4) v.setFloat32(m.pos, m.val, littleEndian);
        else v.setFloat64(m.pos, m.val, littleEndian);
      } else if (m.width === 1) v.setUint8(m.pos, m.val & 255);
      else if (m.width === 2) v.setInt16(m.pos, m.val, littleEndian);
      else if (m.width === 4) v.setInt32(m.pos, m.val | 0, littleEndian);
      else v.setBigInt64(m.pos, BigInt(Math.trunc(m.val)), littleEndian);
    }
  }
  return b;
}

// ----------------------------------------------------------------------------- checks

async function withBudget<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Finding(`${what}: no answer within ${CASE_BUDGET_MS} ms (hang)`)),
      CASE_BUDGET_MS,
    );
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs fn; a MriseqError is a fine answer, anything else thrown is a Finding. */
async function expectValueOrMriseqError<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await withBudget(what, fn());
  } catch (e) {
    if (e instanceof MriseqError) {
      if (typeof e.message !== 'string' || e.message.length === 0 || e.message.includes('\n'))
        throw new Finding(`${what}: MriseqError without a one-line message: ${JSON.stringify(e.message)}`);
      return undefined;
    }
    if (e instanceof Finding) throw e;
    const err = e as Error;
    throw new Finding(
      `${what}: threw ${err?.name ?? typeof e} instead of MriseqError: ${err?.message ?? String(e)}`,
      {
        cause: e,
      },
    );
  }
}

/** A Volume a caller can use: positive integer shape, data length matching it, finite geometry. */
function checkVolume(what: string, v: Volume): void {
  const shape = v.shape as readonly number[];
  const n = shape.reduce((a, b) => a * b, 1);
  const bad = (why: string) => new Finding(`${what}: returned an unusable Volume: ${why}`);
  if (!(v.data instanceof Float32Array)) throw bad('data is not a Float32Array');
  if (!shape.every((d) => Number.isInteger(d) && d > 0)) throw bad(`shape [${shape.join(', ')}]`);
  if (v.data.length !== n) throw bad(`data length ${v.data.length} for shape [${shape.join(', ')}]`);
  if (!v.spacing.every((s) => Number.isFinite(s))) throw bad(`spacing [${v.spacing.join(', ')}]`);
  if (!v.affine.flat().every((a) => Number.isFinite(a))) throw bad(`affine ${JSON.stringify(v.affine)}`);
}

// ----------------------------------------------------------------------------- NIfTI targets

function seedBytes(name: string): Uint8Array {
  const b = readFileSync(join(SEEDS, name));
  return new Uint8Array(name.endsWith('.gz') ? gunzipSync(b) : b);
}

const NII_SEEDS = ['n1-int16.nii', 'n1-f32-4d.nii.gz', 'n2-f64.nii', 'n2-u8.nii.gz'];

const niftiBytes: Target = {
  name: 'nifti',
  arbitrary: () => {
    const bases = NII_SEEDS.map(seedBytes);
    return fc
      .record({
        base: fc.nat({ max: bases.length - 1 }),
        muts: fc.array(mutationArb(700), { minLength: 1, maxLength: 6 }),
        // plain; gzipped after mutation (the header parser sees the mutation); or gzipped, then
        // the compressed bytes mutated (CRC, length, deflate stream)
        wrap: fc.constantFrom('plain', 'gzip', 'gzip-then-mutate'),
        bigEndian: fc.boolean(),
      })
      .map(({ base, muts, wrap, bigEndian }) => {
        const b = bases[base]!;
        if (wrap === 'gzip-then-mutate') return applyMutations(new Uint8Array(gzipSync(b)), muts);
        const m = applyMutations(b, muts, !bigEndian);
        return wrap === 'gzip' ? new Uint8Array(gzipSync(m)) : m;
      })
      .chain((b) =>
        fc.oneof({ weight: 19, arbitrary: fc.constant(b) }, { weight: 1, arbitrary: fc.uint8Array() }),
      );
  },
  run: async (input) => {
    const v = await expectValueOrMriseqError('readNiftiBytes', () =>
      readNiftiBytes(input, { maxBytes: FUZZ_MAX_BYTES, name: 'fuzz.nii' }),
    );
    if (v) checkVolume('readNiftiBytes', v);
  },
};

/** Pair input: 4-byte little-endian .hdr length, the .hdr bytes, then the .img bytes. */
export function packPair(hdr: Uint8Array, img: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + hdr.length + img.length);
  new DataView(out.buffer).setUint32(0, hdr.length, true);
  out.set(hdr, 4);
  out.set(img, 4 + hdr.length);
  return out;
}

function unpackPair(input: Uint8Array): { hdr: Uint8Array; img: Uint8Array } {
  const n = input.length >= 4 ? new DataView(input.buffer, input.byteOffset).getUint32(0, true) : 0;
  const rest = input.subarray(Math.min(4, input.length));
  const h = Math.min(n, rest.length);
  return { hdr: rest.subarray(0, h), img: rest.subarray(h) };
}

let scratch: string | undefined;
function scratchDir(): string {
  if (!scratch) {
    scratch = mkdtempSync(join(tmpdir(), 'mriseq-fuzz-'));
    const dir = scratch;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

const niftiPair: Target = {
  name: 'pair',
  arbitrary: () => {
    const bases = ['pair1-int16', 'pair2-f32'].map((s) => ({
      hdr: seedBytes(`${s}.hdr`),
      img: seedBytes(`${s}.img`),
    }));
    return fc
      .record({
        base: fc.nat({ max: bases.length - 1 }),
        hdrMuts: fc.array(mutationArb(560), { maxLength: 6 }),
        imgMuts: fc.array(mutationArb(64), { maxLength: 2 }),
        gzHdr: fc.boolean(),
        gzImg: fc.boolean(),
      })
      .map(({ base, hdrMuts, imgMuts, gzHdr, gzImg }) => {
        const b = bases[base]!;
        const hdr = applyMutations(b.hdr, hdrMuts);
        const img = applyMutations(b.img, imgMuts);
        return packPair(
          gzHdr ? new Uint8Array(gzipSync(hdr)) : hdr,
          gzImg ? new Uint8Array(gzipSync(img)) : img,
        );
      });
  },
  run: async (input) => {
    const { hdr, img } = unpackPair(input);
    const dir = mkdtempSync(join(scratchDir(), 'pair-'));
    try {
      writeFileSync(join(dir, 'x.hdr'), hdr);
      writeFileSync(join(dir, 'x.img'), img);
      const v = await expectValueOrMriseqError('readNifti(.hdr/.img)', () =>
        readNifti(join(dir, 'x.hdr'), { maxBytes: FUZZ_MAX_BYTES }),
      );
      if (v) checkVolume('readNifti(.hdr/.img)', v);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

// ----------------------------------------------------------------------------- manifest target

export const SEED_MANIFEST: Manifest = {
  mriseqManifest: 1,
  sequences: ['t1', 't1gd', 't2', 'flair'],
  masks: ['seg'],
  labels: ['lesionType', 'grade'],
  subjects: [
    {
      id: 'sub-001',
      sequences: {
        t1: 'sub-001/t1.nii.gz',
        t1gd: 'sub-001/t1gd.nii.gz',
        t2: 'sub-001/t2.nii.gz',
        flair: null,
      },
      masks: { seg: 'sub-001/seg.nii.gz' },
      labels: { lesionType: 'gbm', grade: 4 },
      split: 'train',
      metadata: { site: 'A', age: 61.5 },
    },
    {
      id: 'sub-002',
      sequences: { t1: 'sub-002/t1.nii', t1gd: null, t2: 'sub-002/t2.nii', flair: 'sub-002/flair.nii' },
      masks: { seg: null },
      labels: { lesionType: 'met', grade: null },
      split: 'test',
      metadata: { site: '=B', age: 40 },
    },
  ],
};

type TextMutation =
  | { kind: 'insert'; pos: number; text: string }
  | { kind: 'delete'; pos: number; len: number }
  | { kind: 'dupline'; line: number };

const MANIFEST_SNIPPETS = [
  ',',
  '"',
  '""',
  '\n',
  '\r\n',
  '../',
  '/etc/passwd',
  '..\\..\\x',
  '=HYPERLINK("x")',
  '\u0000',
  '\ufeff',
  '{',
  '}',
  '[',
  ']',
  ':',
  'null',
  'true',
  '1e999',
  '-1',
  '"id"',
  'label:',
  'seq:',
  'mask:',
  'meta:',
  'split',
  '__proto__',
  'constructor',
  'sub-001',
  '\u202e',
  '%',
  ' ',
  // whitespace a CSV reader trims: labels and metadata must be refused with it, or survive
  '\t',
  '\u00a0',
  ' gbm ',
];

function mutateText(base: string, muts: readonly TextMutation[]): string {
  let t = base;
  for (const m of muts) {
    const pos = t.length === 0 ? 0 : m.kind === 'dupline' ? 0 : m.pos % (t.length + 1);
    if (m.kind === 'insert') t = t.slice(0, pos) + m.text + t.slice(pos);
    else if (m.kind === 'delete') t = t.slice(0, pos) + t.slice(pos + m.len);
    else {
      const lines = t.split('\n');
      const i = m.line % lines.length;
      lines.splice(i, 0, lines[i]!);
      t = lines.join('\n');
    }
  }
  return t;
}

function manifestSeeds(): string[] {
  return [manifestToCsv(SEED_MANIFEST), JSON.stringify(SEED_MANIFEST, null, 1)];
}

/**
 * A label or metadata value as the CSV form types it (data-manifests/README.md: CSV carries no
 * types, so the string "4" and the number 4 are one cell; numbers are read as numbers, true/false
 * as booleans, an empty cell as null). Every character of a text value must survive.
 */
function csvTyped(v: unknown): unknown {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  const n = Number(v);
  return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) && Number.isFinite(n) ? n : v;
}

/** One record's entries in key order, missing keys of `keys` as null, values as CSV types them. */
function valuesKey(rec: Record<string, unknown> | undefined, keys: readonly string[]): unknown[] {
  return keys.map((k) => [k, csvTyped(rec?.[k])]);
}

/**
 * What a manifest says about each subject: id, declared sequences, split, declared masks and labels
 * (the CSV has a column only for declared ones), and every metadata key any subject has (the CSV
 * writer gives each one a column; a subject without it reads back null).
 */
function subjectsKey(m: Manifest): string {
  const metaKeys = [...new Set(m.subjects.flatMap((s) => Object.keys(s.metadata ?? {})))].sort();
  return JSON.stringify(
    m.subjects.map((s) => [
      s.id,
      m.sequences.map((k) => s.sequences[k] ?? null),
      s.split ?? null,
      (m.masks ?? []).map((k) => s.masks?.[k] ?? null),
      valuesKey(s.labels, m.labels ?? []),
      valuesKey(s.metadata, metaKeys),
    ]),
  );
}

const manifest: Target = {
  name: 'manifest',
  arbitrary: () => {
    const seeds = manifestSeeds();
    const mutation: fc.Arbitrary<TextMutation> = fc.oneof(
      fc.record({
        kind: fc.constant('insert' as const),
        pos: fc.nat(),
        text: fc.oneof(
          fc.constantFrom(...MANIFEST_SNIPPETS),
          fc.string({ maxLength: 8 }),
          fc.json({ maxDepth: 2 }),
        ),
      }),
      fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(), len: fc.nat({ max: 20 }) }),
      fc.record({ kind: fc.constant('dupline' as const), line: fc.nat() }),
    );
    const mutated = fc
      .record({
        seed: fc.nat({ max: seeds.length - 1 }),
        muts: fc.array(mutation, { minLength: 1, maxLength: 6 }),
      })
      .map(({ seed, muts }) => mutateText(seeds[seed]!, muts));
    const text = fc.oneof(
      { weight: 8, arbitrary: mutated },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
      { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
    );
    return text.map((t) => new Uint8Array(Buffer.from(t, 'utf8')));
  },
  run: async (input) => {
    const text = Buffer.from(input).toString('utf8');
    const r = await expectValueOrMriseqError('parseManifestText', async () => parseManifestText(text));
    if (!r) return;
    if (!Array.isArray(r.problems) || !r.manifest || !Array.isArray(r.manifest.subjects))
      throw new Finding('parseManifestText: answer is not { manifest, problems[] }');
    if (r.problems.length > 0) return;
    // a manifest accepted as valid must survive our own CSV writer and parser unchanged
    const again = await expectValueOrMriseqError('manifestToCsv round trip', async () =>
      parseManifestText(manifestToCsv(r.manifest)),
    );
    if (!again) throw new Finding('manifestToCsv round trip: a valid manifest was refused after writing');
    if (again.problems.length > 0)
      throw new Finding(
        `manifestToCsv round trip: valid manifest gets problems after writing: ${JSON.stringify(again.problems[0])}`,
      );
    const [before, after] = [subjectsKey(r.manifest), subjectsKey(again.manifest)];
    if (after !== before)
      throw new Finding(
        `manifestToCsv round trip: subjects differ after writing and reading back: ${before.slice(0, 300)} -> ${after.slice(0, 300)}`,
      );
  },
};

// ----------------------------------------------------------------------------- checkpoint target

const CKPT_FILES = [
  'config.json',
  'weights.json',
  'weights.bin',
  'state.json',
  'adam_m.json',
  'adam_m.bin',
  'adam_v.json',
  'adam_v.bin',
];

let ckptBase: string | undefined;
/** A tiny resumable checkpoint written by saveCheckpoint (built once per process). */
export function baseCheckpoint(): string {
  if (ckptBase) return ckptBase;
  const dir = join(scratchDir(), 'ckpt-base');
  const model = createGenerator('lite', {
    cEnc: [2, 2, 2],
    cDec: [2, 2, 1],
    cLstm: 2,
    lstmLayers: 1,
    nresEnc: 1,
    nresDec: 1,
    cS: 4,
    cW: 2,
  });
  const w = model.getWeights();
  const zeros = Object.fromEntries(
    Object.entries(w).map(([k, t]) => [k, { shape: t.shape, data: new Float32Array(t.data.length) }]),
  );
  const state: TrainState = {
    step: 3,
    steps: 10,
    rngState: 12345,
    adamStep: 3,
    m: zeros,
    v: zeros,
    bestPsnr: 20.5,
    bestStep: 2,
    options: {
      seed: 0,
      crop: 16,
      lr: 1e-3,
      lrEnd: 1e-5,
      lrPower: 1,
      beta1: 0.9,
      beta2: 0.999,
      structuralWeight: 1,
    },
  };
  saveCheckpoint(dir, model, { state });
  model.dispose();
  ckptBase = dir;
  return dir;
}

/** JSON-level mutations of a checkpoint's JSON files: a field set to a hostile value. */
const HOSTILE_JSON_VALUES: unknown[] = [
  null,
  -1,
  0,
  1e9,
  2 ** 31,
  1e308,
  'x',
  [],
  {},
  [1e6, 1e6, 1e6],
  [-1],
  [0],
  true,
  ['__proto__'],
  0.5,
];

function mutateJsonText(text: string, pathIdx: number, valueIdx: number): string {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return text;
  }
  const paths: (string | number)[][] = [];
  (function walk(o: unknown, p: (string | number)[]) {
    paths.push(p);
    if (paths.length > 400) return;
    if (Array.isArray(o)) o.forEach((x, i) => walk(x, [...p, i]));
    else if (o && typeof o === 'object') for (const [k, x] of Object.entries(o)) walk(x, [...p, k]);
  })(obj, []);
  const p = paths[pathIdx % paths.length]!;
  const value = HOSTILE_JSON_VALUES[valueIdx % HOSTILE_JSON_VALUES.length];
  if (p.length === 0) return JSON.stringify(value);
  let o = obj as Record<string | number, unknown>;
  for (const k of p.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[p[p.length - 1]!] = value;
  return JSON.stringify(obj);
}

const checkpoint: Target = {
  name: 'checkpoint',
  arbitrary: () => {
    const base = baseCheckpoint();
    const files = CKPT_FILES.map((f) => new Uint8Array(readFileSync(join(base, f))));
    return fc
      .record({
        file: fc.nat({ max: CKPT_FILES.length - 1 }),
        how: fc.constantFrom('json', 'bytes', 'bytes', 'delete'),
        pathIdx: fc.nat(),
        valueIdx: fc.nat(),
        muts: fc.array(mutationArb(2000), { minLength: 1, maxLength: 4 }),
      })
      .map(({ file, how, pathIdx, valueIdx, muts }) => {
        const content =
          how === 'delete'
            ? new Uint8Array(0)
            : how === 'json' && CKPT_FILES[file]!.endsWith('.json')
              ? new Uint8Array(
                  Buffer.from(mutateJsonText(Buffer.from(files[file]!).toString('utf8'), pathIdx, valueIdx)),
                )
              : applyMutations(files[file]!, muts);
        const out = new Uint8Array(content.length + 2);
        out[0] = file;
        out[1] = how === 'delete' ? 1 : 0;
        out.set(content, 2);
        return out;
      });
  },
  run: async (input) => {
    const file = CKPT_FILES[(input[0] ?? 0) % CKPT_FILES.length]!;
    const del = input[1] === 1;
    const dir = join(scratchDir(), `ckpt-${process.pid}-${Math.random().toString(36).slice(2)}`);
    cpSync(baseCheckpoint(), dir, { recursive: true });
    try {
      if (del) rmSync(join(dir, file));
      else writeFileSync(join(dir, file), input.subarray(2));
      const r = await expectValueOrMriseqError('loadCheckpoint', async () => loadCheckpoint(dir));
      if (!r) return;
      try {
        if (!(r.model.variables.size > 0)) throw new Finding('loadCheckpoint: model has no variables');
      } finally {
        r.model.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

// ----------------------------------------------------------------------------- cohort target

/** Names a manifest may give that are JavaScript's own (and ordinary ones). */
const COHORT_NAMES = [
  't1',
  't2',
  'dce',
  'constructor',
  'toString',
  '__proto__',
  'hasOwnProperty',
  'valueOf',
  'prototype',
];

interface VolumeCase {
  /** 0: 4x4x3; 1: 4D (two time points); 2: 4x4x4 (another grid). */
  shape: number;
  nan: number;
  inf: number;
  /** none, shift (mm), mirror, tiny (1e-4 mm), zoom, nan */
  affine: { kind: 'none' | 'shift' | 'mirror' | 'tiny' | 'zoom' | 'nan'; by: number };
}

interface CohortCase {
  sequences: string[];
  label: string;
  subjects: { volumes: (VolumeCase | null)[]; label: string }[];
}

const volumeCase: fc.Arbitrary<VolumeCase> = fc.record({
  shape: fc.constantFrom(0, 0, 0, 0, 1, 2),
  nan: fc.constantFrom(0, 0, 0, 1, 2),
  inf: fc.constantFrom(0, 0, 0, 0, 1),
  affine: fc.record({
    kind: fc.constantFrom('none', 'none', 'none', 'shift', 'mirror', 'tiny', 'zoom', 'nan'),
    by: fc.constantFrom(0.5, 3, 500),
  }),
});

/** Writes the case as files and a manifest; returns the manifest's path. */
async function writeCohortCase(dir: string, c: CohortCase): Promise<string> {
  const m: Manifest = { mriseqManifest: 1, sequences: c.sequences, labels: [c.label], subjects: [] };
  for (const [k, s] of c.subjects.entries()) {
    const id = `sub-${k}`;
    // a name such as __proto__ must stay a key here too
    const seqs = Object.create(null) as Record<string, string | null>;
    for (const [q, name] of c.sequences.entries()) {
      const v = s.volumes[q];
      if (!v) {
        seqs[name] = null;
        continue;
      }
      const shape = v.shape === 1 ? [4, 4, 3, 2] : v.shape === 2 ? [4, 4, 4] : [4, 4, 3];
      const data = Float32Array.from(
        { length: shape.reduce((a, b) => a * b, 1) },
        (_, i) => ((i * 7) % 13) / 13,
      );
      for (let i = 0; i < v.nan; i++) data[(i * 5) % data.length] = NaN;
      for (let i = 0; i < v.inf; i++) data[(i * 3 + 1) % data.length] = -Infinity;
      const affine = [
        [2, 0, 0, -4],
        [0, 2, 0, -4],
        [0, 0, 3, -4],
        [0, 0, 0, 1],
      ];
      const a = v.affine;
      if (a.kind === 'shift') affine[1]![3]! += a.by;
      if (a.kind === 'mirror') affine[0] = [-2, 0, 0, 2];
      if (a.kind === 'tiny') affine[2]![3]! += 1e-4;
      if (a.kind === 'zoom') affine[0]![0] = 2 * (1 + a.by / 100);
      if (a.kind === 'nan') affine[1]![1] = NaN;
      const file = `${id}_${k}_${q}.nii`;
      // a non-finite affine cannot be written (the writer refuses it): such a case has no file
      try {
        await writeNifti(join(dir, file), createVolume(data, shape, { affine }));
      } catch (e) {
        if (!(e instanceof MriseqError)) throw e;
        seqs[name] = null;
        continue;
      }
      seqs[name] = file;
    }
    m.subjects.push({ id, sequences: seqs, labels: { [c.label]: s.label } });
  }
  const path = join(dir, 'manifest.csv');
  writeFileSync(path, manifestToCsv(m));
  return path;
}

const cohortTarget: Target = {
  name: 'cohort',
  arbitrary: () =>
    fc
      .record({
        sequences: fc.uniqueArray(fc.constantFrom(...COHORT_NAMES), { minLength: 1, maxLength: 3 }),
        label: fc.constantFrom(...COHORT_NAMES, 'grade'),
        subjects: fc.array(
          fc.record({
            volumes: fc.array(fc.option(volumeCase, { freq: 4 }), { minLength: 3, maxLength: 3 }),
            label: fc.constantFrom('a', 'b', '=1+1', 'x,y'),
          }),
          { minLength: 1, maxLength: 3 },
        ),
      })
      .map((c) => new Uint8Array(Buffer.from(JSON.stringify(c), 'utf8'))),
  run: async (input) => {
    let c: CohortCase;
    try {
      c = JSON.parse(Buffer.from(input).toString('utf8')) as CohortCase;
      if (!Array.isArray(c.sequences) || !Array.isArray(c.subjects)) return;
    } catch {
      return; // a kept input that is not a case: nothing to run
    }
    const dir = mkdtempSync(join(scratchDir(), 'cohort-'));
    try {
      const path = await writeCohortCase(dir, c);
      const parsed = parseManifestText(readFileSync(path, 'utf8'));
      const check = await expectValueOrMriseqError('checkManifest', () =>
        checkManifest(path, { full: true }),
      );
      if (parsed.problems.length > 0 || !check) return;
      const cohort = await expectValueOrMriseqError('Cohort.fromManifest', () => Cohort.fromManifest(path));
      if (!cohort) return;
      const flagged = new Set(check.problems.map((p) => p.row));
      for (const [k, id] of cohort.ids.entries()) {
        const vols = await expectValueOrMriseqError(`${id}: loadAll`, () => cohort.subject(id).loadAll());
        // no silent wrong result: what check reports, loading refuses, and what loads is sound
        if (vols && flagged.has(k + 1))
          throw new Finding(
            `${id}: manifest check reported ${JSON.stringify(check.problems.filter((p) => p.row === k + 1))} but the subject loaded`,
          );
        if (!vols) continue;
        const entries = Object.entries(vols);
        for (const [q, v] of entries) {
          if (countNonFinite(v.data) > 0) throw new Finding(`${id}.${q}: loaded with non-finite voxels`);
          if (v.shape.length > 3 && v.shape[3]! > 1 && !TIME_SERIES_SEQUENCES.includes(q))
            throw new Finding(`${id}.${q}: a 4D volume loaded in a 3D role`);
          const p = gridProblem(entries[0]![1], v);
          if (p) throw new Finding(`${id}.${q}: loaded off the grid of ${entries[0]![0]}: ${p.problem}`);
        }
        // the training path (train's own checks, lookups by these names) on what loaded
        await expectValueOrMriseqError(`${id}: training checks`, async () =>
          assertSubjectVolumes({ id, volumes: vols }, c.sequences),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export const TARGETS: readonly Target[] = [niftiBytes, niftiPair, manifest, checkpoint, cohortTarget];

// ----------------------------------------------------------------------------- runner

export interface FuzzResult {
  target: string;
  runs: number;
  seed: number;
  failure?: { message: string; input: Uint8Array };
}

/** Runs a target for numRuns cases or until timeMs is spent, whichever comes first. */
export async function fuzz(
  target: Target,
  options: { seed: number; numRuns?: number; timeMs?: number },
): Promise<FuzzResult> {
  let runs = 0;
  const property = fc.asyncProperty(target.arbitrary(), async (input) => {
    runs++;
    await target.run(input);
  });
  const details = await fc.check(property, {
    seed: options.seed,
    numRuns: options.numRuns ?? Number.MAX_SAFE_INTEGER,
    interruptAfterTimeLimit: options.timeMs,
    markInterruptAsFailure: false,
    endOnFailure: false,
  });
  const result: FuzzResult = { target: target.name, runs, seed: options.seed };
  if (details.failed && details.counterexample) {
    const input = details.counterexample[0] as Uint8Array;
    const err = (details as { errorInstance?: unknown }).errorInstance;
    result.failure = { message: err instanceof Error ? err.message : String(err), input };
  }
  return result;
}

/** Saves a failing input as test/reliability/regressions/<target>-<sha256 prefix>.bin. */
export function saveRegression(target: string, input: Uint8Array): string {
  const name = `${target}-${createHash('sha256').update(input).digest('hex').slice(0, 12)}.bin`;
  const path = join(REGRESSIONS, name);
  writeFileSync(path, input);
  return path;
}

/** Every kept crasher file, with the target it belongs to (the name's prefix). */
export function regressionFiles(): { target: Target; file: string }[] {
  let names: string[] = [];
  try {
    names = readdirSync(REGRESSIONS).filter((n) => n.endsWith('.bin'));
  } catch {
    return [];
  }
  return names.sort().flatMap((n) => {
    const t = TARGETS.find((x) => n.startsWith(`${x.name}-`));
    return t ? [{ target: t, file: join(REGRESSIONS, n) }] : [];
  });
}
