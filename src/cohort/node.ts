/**
 * Node adapter of the cohort module: manifests on disk (read, write, scan, check), volumes read
 * with the NIfTI reader, the danfojs view, and writing the simulated cohort to disk. Importing this
 * file installs the adapter behind Cohort.fromManifest and cohort.toDataFrame.
 */
import { mkdir, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { signalOrInterrupt } from '../interrupt/index.js';
import { MriseqError } from '../errors/index.js';
import { removeStaleTemps, writeFileAtomic } from '../reliability/node.js';
import { countNonFinite, gridProblem, roleShapeProblem, type Volume } from '../volume/index.js';
import { bestAffine, readNifti, readNiftiHeader, writeNifti, type NiftiHeader } from '../io/index.js';
import {
  phantom as makePhantom,
  Phantom,
  simulateSubject,
  type PhantomOptions,
  type PhantomSequence,
  type PhantomSubject,
} from '../phantom/index.js';
import {
  Cohort,
  phantomLabelNames,
  setCohortNodeAdapter,
  type CohortDataFrame,
  type FromManifestOptions,
  type VolumeSource,
} from './cohort.js';
import {
  assertNoProblems,
  manifestToCsv,
  parseManifestText,
  type Manifest,
  type ManifestProblem,
  type ManifestSubject,
  type Split,
} from './manifest.js';
import { inShard } from './shard.js';
import { stratifiedSplit, type SplitFractions } from './split.js';
import { dict, own, plain } from '../keys/index.js';

export interface ReadManifestResult {
  manifest: Manifest;
  problems: ManifestProblem[];
  /** Absolute folder the manifest's paths are relative to. */
  root: string;
  file: string;
}

/**
 * Reads and parses a manifest (CSV or JSON), collecting every problem.
 * @param path - A .csv or .json manifest.
 * @param options - `allowOutside`: accept paths that leave the manifest's folder.
 * @returns The manifest, its problems, the folder its paths are relative to, and the file.
 * @throws {@link MriseqError} when the file cannot be read (problems in its content are returned, not thrown).
 * @example
 * ```ts
 * import { readManifest, writeManifest } from 'mriseq';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const file = join(mkdtempSync(join(tmpdir(), 'mriseq-')), 'manifest.csv');
 * await writeManifest(file, { mriseqManifest: 1, sequences: ['t1'], subjects: [{ id: 'a', sequences: { t1: 'a.nii' } }] });
 * const { manifest, problems, root } = await readManifest(file);
 * console.log(manifest.subjects.length, problems, root);
 * ```
 */
export async function readManifest(
  path: string,
  options: { allowOutside?: boolean } = {},
): Promise<ReadManifestResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new MriseqError('cannot read the manifest', {
      file: path,
      found: (e as { code?: string }).code ?? String(e),
      expected: 'a readable CSV or JSON manifest',
      code: 'manifest.read',
      cause: e,
    });
  }
  const { manifest, problems } = parseManifestText(text, options);
  return { manifest, problems, root: dirname(resolve(path)), file: path };
}

/** Resolves a manifest path and refuses one that leaves the folder once symlinks are followed. */
export async function resolveManifestPath(root: string, p: string, allowOutside = false): Promise<string> {
  const abs = isAbsolute(p) ? p : resolve(root, p.split('/').join(sep));
  if (allowOutside) return abs;
  const real = await realpath(abs).catch(() => abs);
  const realRoot = await realpath(root).catch(() => root);
  const rel = relative(realRoot, real);
  if (rel.startsWith('..') || isAbsolute(rel))
    throw new MriseqError('path escapes the manifest folder', {
      file: p,
      found: real,
      expected: `a file inside ${realRoot} (or allowOutside)`,
      code: 'manifest.escape',
    });
  return abs;
}

/**
 * Volumes named by a manifest, read with the NIfTI reader.
 * The {@link VolumeSource} of a manifest's files: it reads each path (relative to `root`) with {@link readNifti}.
 *
 * @example
 * ```ts
 * import { Cohort, ManifestSource, readManifest } from 'mriseq';
 * const { manifest, root } = await readManifest('/data/brats/manifest.csv');
 * const cohort = Cohort.fromManifestObject(manifest, new ManifestSource(manifest, root));
 * console.log(cohort.size);
 * ```
 */
export class ManifestSource implements VolumeSource {
  readonly description: string;
  private readonly rows: Map<string, ManifestSubject>;

  constructor(
    readonly manifest: Manifest,
    readonly root: string,
    readonly allowOutside = false,
  ) {
    this.rows = new Map(manifest.subjects.map((s) => [s.id, s]));
    this.description = root;
  }

  async load(id: string, key: string, kind: 'sequence' | 'mask'): Promise<Volume> {
    const row = this.rows.get(id);
    const p = kind === 'sequence' ? own(row?.sequences, key) : own(row?.masks, key);
    if (!p)
      throw new MriseqError('no file for this volume', { field: `${id}.${key}`, code: 'cohort.nofile' });
    return readNifti(await resolveManifestPath(this.root, p, this.allowOutside));
  }

  /** The file's resolved path, size and modification time. */
  async stamp(id: string, key: string, kind: 'sequence' | 'mask'): Promise<string> {
    const row = this.rows.get(id);
    const p = kind === 'sequence' ? own(row?.sequences, key) : own(row?.masks, key);
    if (!p) return 'none';
    const abs = await resolveManifestPath(this.root, p, this.allowOutside);
    const st = await stat(abs).catch(() => undefined);
    return st ? `${abs} ${st.size} ${st.mtimeMs}` : `${abs} missing`;
  }
}

interface DanfoModule {
  DataFrame: new (data: unknown[]) => CohortDataFrame;
}

setCohortNodeAdapter({
  async fromManifest(path: string, options: FromManifestOptions): Promise<Cohort> {
    const r = await readManifest(path, options);
    assertNoProblems(r.problems, path);
    return Cohort.fromManifestObject(
      r.manifest,
      new ManifestSource(r.manifest, r.root, options.allowOutside ?? false),
      options,
    );
  },
  toDataFrame(cohort: Cohort): CohortDataFrame {
    // Loaded on first use: danfojs pulls in tfjs-node and takes seconds to import.
    const danfo = require('danfojs-node') as DanfoModule;
    return new danfo.DataFrame(cohort.toRecords());
  },
});

/**
 * Writes text atomically (temporary file in the same folder, then rename); temp files that killed
 * earlier writers left beside it are removed (src/reliability's shared helper).
 */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text);
}

/**
 * Writes a manifest as CSV (by extension .csv) or JSON.
 * Written atomically (temp file + rename).
 *
 * @param path - Target file; .csv gives the CSV form, anything else JSON.
 * @param m - The manifest.
 * @example
 * ```ts
 * import { scanManifest, writeManifest } from 'mriseq';
 * const dir = '/data/brats';
 * await writeManifest(`${dir}/manifest.csv`, await scanManifest(dir)).catch((e: Error) => console.log(e.message));
 * ```
 */
export async function writeManifest(path: string, m: Manifest): Promise<void> {
  await writeTextAtomic(
    path,
    path.toLowerCase().endsWith('.json') ? JSON.stringify(m, null, 2) + '\n' : manifestToCsv(m),
  );
}

// ---------------------------------------------------------------------------------- scan

/** BraTS file suffix -> manifest sequence key (BraTS 2021 names, BraTS 2023 names, our own keys). */
const BRATS_SEQUENCES: Record<string, string> = {
  t1: 't1',
  t1n: 't1',
  t1ce: 't1gd',
  t1c: 't1gd',
  t1gd: 't1gd',
  t2: 't2',
  t2w: 't2',
  flair: 'flair',
  t2f: 'flair',
  dwi: 'dwi',
  adc: 'adc',
  dce: 'dce',
};

/** Label maps a BraTS-style folder may hold: the segmentation and the phantom's truth maps. */
const BRATS_MASKS = ['seg', 'tissue', 'lesion'];

/**
 * A file {@link scanFolder} left out of the manifest, and why.
 *
 * @example
 * ```ts
 * import { scanFolder, type ScanWarning } from 'mriseq';
 * const { warnings } = await scanFolder('/data/brats');
 * warnings.forEach((w: ScanWarning) => console.log(`${w.file}: ${w.problem}`));
 * ```
 */
export interface ScanWarning {
  /** Path relative to the scanned folder. */
  file: string;
  problem: string;
}

export interface ScanOptions {
  layout?: 'brats';
  /**
   * Called for each file that was not mapped (unknown NIfTI names, duplicates, folders without a
   * sequence). Default: a process warning on stderr, so nothing is dropped silently.
   */
  onWarning?: (w: ScanWarning) => void;
}

/**
 * What {@link scanFolder} returns.
 *
 * @example
 * ```ts
 * import { scanFolder, type ScanResult } from 'mriseq';
 * const r: ScanResult = await scanFolder('/data/brats');
 * console.log(r.manifest.sequences, r.warnings.length);
 * ```
 */
export interface ScanResult {
  manifest: Manifest;
  /** Files left out of the manifest, each with why. */
  warnings: ScanWarning[];
}

const NIFTI_NAME = /\.(nii(\.gz)?|hdr(\.gz)?)$/i;

/** What a file name in a subject folder maps to, or why it does not. */
function classifyBratsFile(
  id: string,
  file: string,
): { kind: 'sequence' | 'mask'; key: string } | { kind: 'unknown'; why: string } | undefined {
  if (!NIFTI_NAME.test(file)) return undefined; // sidecars, notes: not volumes
  const m = /^(.*)\.nii(\.gz)?$/i.exec(file);
  if (!m) return { kind: 'unknown', why: 'not a .nii/.nii.gz file (convert .hdr/.img pairs first)' };
  const stem = m[1] as string;
  if (!stem.startsWith(`${id}_`) && !stem.startsWith(`${id}-`))
    return { kind: 'unknown', why: `name does not start with the subject id ${id}_` };
  const suffix = stem.slice(id.length + 1).toLowerCase();
  // the suffix is part of a file name: only the table's own keys count
  const seq = own(BRATS_SEQUENCES, suffix);
  if (seq) return { kind: 'sequence', key: seq };
  if (BRATS_MASKS.includes(suffix)) return { kind: 'mask', key: suffix };
  const u = /^unique_(.+)$/.exec(suffix);
  const uq = u ? own(BRATS_SEQUENCES, u[1] as string) : undefined;
  if (uq) return { kind: 'mask', key: `unique_${uq}` };
  return {
    kind: 'unknown',
    why: `unknown suffix '${suffix}' (expected one of ${[...Object.keys(BRATS_SEQUENCES), ...BRATS_MASKS].join(', ')}, unique_<sequence>)`,
  };
}

/**
 * Builds a manifest from a folder in the BraTS layout: one folder per subject holding
 * `<id>_<seq>.nii(.gz)` (t1, t1ce, t2, flair, optional dwi, adc, dce; BraTS 2023's t1n, t1c, t2w,
 * t2f too) and label maps `<id>_seg`, `<id>_tissue`, `<id>_lesion`, `<id>_unique_<seq>`. Any other
 * NIfTI file is left out and reported in `warnings`, never guessed. Paths are relative to `dir`
 * (write the manifest there).
 * @param dir - The folder to scan.
 * @param options - `layout` (only 'brats'), `onWarning` for each file left out (default: a warning on stderr).
 * @returns The manifest and the files left out, each with why.
 * @throws {@link MriseqError} 'unknown layout' for a layout other than 'brats', or when the folder cannot be read.
 * @example
 * ```ts
 * import { scanFolder } from 'mriseq';
 * const { manifest, warnings } = await scanFolder('/data/brats').catch(() => ({ manifest: undefined, warnings: [] }));
 * console.log(manifest?.subjects.length, warnings);
 * ```
 */
export async function scanFolder(dir: string, options: ScanOptions = {}): Promise<ScanResult> {
  const layout = options.layout ?? 'brats';
  if (layout !== 'brats')
    throw new MriseqError('unknown layout', {
      field: '--layout',
      found: String(layout),
      expected: 'brats',
      code: 'manifest.layout',
    });
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => d.name)
      .sort();
  } catch (e) {
    throw new MriseqError('cannot read the folder', {
      file: dir,
      found: (e as { code?: string }).code ?? String(e),
      code: 'manifest.scan',
      cause: e,
    });
  }
  const warnings: ScanWarning[] = [];
  const warn = (file: string, problem: string) => {
    const w = { file, problem };
    warnings.push(w);
    if (options.onWarning) options.onWarning(w);
    else process.emitWarning(`${join(dir, file)}: ${problem}`, 'MriseqScanWarning');
  };
  const sequences: string[] = [];
  const masks: string[] = [];
  const subjects: ManifestSubject[] = [];
  for (const id of names) {
    const files = (await readdir(join(dir, id))).sort();
    const s: ManifestSubject = { id, sequences: dict(), masks: dict(), labels: dict(), metadata: dict() };
    const volumes: string[] = [];
    for (const f of files) {
      const c = classifyBratsFile(id, f);
      if (!c) continue;
      const rel = `${id}/${f}`;
      volumes.push(rel);
      if (c.kind === 'unknown') {
        warn(rel, `not in the manifest: ${c.why}`);
        continue;
      }
      const into = c.kind === 'sequence' ? s.sequences : s.masks!;
      const before = own(into, c.key);
      if (before) {
        warn(rel, `not in the manifest: ${before} is already the subject's ${c.key}`);
        continue;
      }
      into[c.key] = rel;
      const list = c.kind === 'sequence' ? sequences : masks;
      if (!list.includes(c.key)) list.push(c.key);
    }
    if (Object.keys(s.sequences).length > 0) subjects.push(s);
    else if (volumes.length > 0)
      warn(`${id}/`, 'folder skipped: no sequence file (t1, t1ce, t2, flair, ...)');
  }
  const order = ['t1', 't1gd', 't2', 'flair', 'dwi', 'adc', 'dce'];
  sequences.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  masks.sort((a, b) => (a === 'seg' ? -1 : b === 'seg' ? 1 : a < b ? -1 : 1));
  for (const s of subjects) {
    for (const q of sequences) s.sequences[q] ??= null;
    for (const q of masks) s.masks![q] ??= null;
    s.sequences = plain(s.sequences);
    s.masks = plain(s.masks!);
    s.labels = plain(s.labels!);
    s.metadata = plain(s.metadata!);
  }
  return { manifest: { mriseqManifest: 1, sequences, masks, labels: [], subjects }, warnings };
}

/**
 * scanFolder's manifest (files it leaves out go to options.onWarning, or stderr).
 * @param dir - A folder in the BraTS layout (see {@link scanFolder}).
 * @param options - As {@link scanFolder}.
 * @returns The manifest (paths relative to `dir`).
 * @throws {@link MriseqError} as {@link scanFolder}.
 * @example
 * ```ts
 * import { scanManifest, simulateToDisk } from 'mriseq';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const dir = mkdtempSync(join(tmpdir(), 'mriseq-'));
 * await simulateToDisk({ out: dir, subjects: 2, size: [32, 32, 16] });
 * console.log((await scanManifest(dir)).sequences); // ['t1', 't1gd', 't2', 'flair']
 * ```
 */
export async function scanManifest(dir: string, options: ScanOptions = {}): Promise<Manifest> {
  return (await scanFolder(dir, options)).manifest;
}

// --------------------------------------------------------------------------------- check

export interface CheckOptions {
  allowOutside?: boolean;
  /** Read every volume's header (default true); false only checks that files exist. */
  headers?: boolean;
  /** Decode every volume completely (catches truncated data; slower). Default: headers only. */
  full?: boolean;
  /** Relative tolerance on spacing comparisons (default 1e-4). */
  spacingTolerance?: number;
  /** Largest distance (mm) between the grid corners of two sequences' affines (default AFFINE_TOLERANCE_MM). */
  affineTolerance?: number;
}

/**
 * What {@link checkManifest} found.
 *
 * @example
 * ```ts
 * import { checkManifest, formatProblem, type CheckReport } from 'mriseq';
 * const report: CheckReport = await checkManifest('/data/brats/manifest.csv');
 * if (!report.ok) console.log(report.problems.map(formatProblem).join('\n'));
 * ```
 */
export interface CheckReport {
  file: string;
  subjects: number;
  files: number;
  problems: ManifestProblem[];
  ok: boolean;
}

/**
 * Validates a manifest and everything it points at, reporting every problem at once with row and
 * column: schema, duplicate ids, escaping paths (after symlinks), missing files, unreadable
 * volumes, a 4D file in a 3D role, shape/spacing/affine mismatches between a subject's volumes
 * (affines within AFFINE_TOLERANCE_MM at the grid corners), and with `full` non-finite voxels.
 * @param path - A .csv or .json manifest.
 * @param options - `allowOutside`, `headers` (read every header, default true), `full` (decode every
 *   volume), spacing tolerance.
 * @returns A {@link CheckReport}; `ok` when there is no problem.
 * @example
 * ```ts
 * import { checkManifest, simulateToDisk } from 'mriseq';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const dir = mkdtempSync(join(tmpdir(), 'mriseq-'));
 * await simulateToDisk({ out: dir, subjects: 2, size: [32, 32, 16] });
 * const report = await checkManifest(join(dir, 'manifest.csv'));
 * console.log(report.ok, report.subjects, report.files);
 * ```
 */
export async function checkManifest(path: string, options: CheckOptions = {}): Promise<CheckReport> {
  const r = await readManifest(path, options);
  const problems = [...r.problems];
  let files = 0;
  const tol = options.spacingTolerance ?? 1e-4;
  for (let k = 0; k < r.manifest.subjects.length; k++) {
    const s = r.manifest.subjects[k] as ManifestSubject;
    const row = k + 1;
    let ref: { column: string; shape: number[]; spacing: number[]; affine: number[][] } | undefined;
    const entries = [
      ...Object.entries(s.sequences ?? {}).map(([c, p]) => ({ column: c, p, mask: false })),
      ...Object.entries(s.masks ?? {}).map(([c, p]) => ({ column: c, p, mask: true })),
    ];
    for (const { column, p, mask } of entries) {
      if (typeof p !== 'string' || p === '') continue;
      files++;
      let abs: string;
      try {
        abs = await resolveManifestPath(r.root, p, options.allowOutside);
      } catch {
        if (!problems.some((q) => q.row === row && q.column === column && q.code === 'manifest.escape'))
          problems.push({
            row,
            column,
            problem: 'path escapes the manifest folder',
            found: p,
            expected: 'a file inside the folder',
            code: 'manifest.escape',
          });
        continue;
      }
      const st = await stat(abs).catch(() => undefined);
      if (!st || !st.isFile()) {
        problems.push({
          row,
          column,
          problem: st ? 'not a file' : 'file not found',
          found: p,
          code: 'manifest.missing-file',
        });
        continue;
      }
      if (options.headers === false) continue;
      let h: { shape: number[]; spacing: number[]; dims: number[]; affine: number[][] };
      let nonFinite = 0;
      try {
        const header = await readNiftiHeader(abs);
        h = { ...headerGeometry(header), dims: header.dims, affine: bestAffine(header, abs) };
        if (options.full) nonFinite = countNonFinite((await readNifti(abs)).data);
      } catch (e) {
        problems.push({
          row,
          column,
          problem: 'unreadable volume',
          found: e instanceof Error ? e.message.slice(0, 160) : String(e),
          expected: 'a NIfTI file',
          code: 'manifest.unreadable',
        });
        continue;
      }
      const dims = roleShapeProblem(column, mask ? 'mask' : 'sequence', h.dims);
      if (dims) problems.push({ row, column, ...dims, code: 'manifest.dims' });
      if (nonFinite > 0)
        problems.push({
          row,
          column,
          problem: `${nonFinite} non-finite voxel${nonFinite > 1 ? 's' : ''} (NaN or Inf)`,
          found: p,
          expected: 'finite voxels (train, evaluate and maps refuse this file)',
          code: 'manifest.nonfinite',
        });
      const spatial = { shape: h.shape.slice(0, 3), spacing: h.spacing.slice(0, 3), affine: h.affine };
      if (!ref) {
        ref = { column, ...spatial };
        continue;
      }
      const grid = gridProblem(ref, spatial, options.affineTolerance);
      if (spatial.shape.join('x') !== ref.shape.join('x'))
        problems.push({
          row,
          column,
          problem: `shape differs from ${ref.column}`,
          found: spatial.shape.join('x'),
          expected: ref.shape.join('x'),
          code: 'manifest.shape',
        });
      else if (
        spatial.spacing.some(
          (v, i) => Math.abs(v - (ref!.spacing[i] as number)) > tol * Math.max(1, Math.abs(v)),
        )
      )
        problems.push({
          row,
          column,
          problem: `spacing differs from ${ref.column}`,
          found: spatial.spacing.map((v) => +v.toFixed(4)).join('x'),
          expected: ref.spacing.map((v) => +v.toFixed(4)).join('x'),
          code: 'manifest.spacing',
        });
      else if (grid)
        problems.push({
          row,
          column,
          problem: `${grid.problem} from ${ref.column}`,
          found: grid.found,
          expected: grid.expected,
          code: 'manifest.affine',
        });
    }
  }
  problems.sort((a, b) => a.row - b.row);
  return { file: path, subjects: r.manifest.subjects.length, files, problems, ok: problems.length === 0 };
}

function headerGeometry(h: NiftiHeader): { shape: number[]; spacing: number[] } {
  return { shape: h.dims.slice(0, 3), spacing: h.pixdim.slice(1, 1 + Math.min(3, h.dims.length)) };
}

// ------------------------------------------------------------------------------ simulate

/**
 * Options of {@link simulateToDisk}: the phantom's options plus where and how to write.
 *
 * @example
 * ```ts
 * import { simulateToDisk, type SimulateToDiskOptions } from 'mriseq';
 * const options: SimulateToDiskOptions = { out: '/tmp/phantom', subjects: 8, split: { train: 0.75, val: 0, test: 0.25 } };
 * await simulateToDisk(options);
 * ```
 */
export interface SimulateToDiskOptions extends PhantomOptions {
  /** Output folder. */
  out: string;
  /** Only the subjects of this shard (shardOf(id, count) === index). */
  shard?: { index: number; count: number };
  /**
   * Split column written to the manifest: seeded (the cohort seed), stratified by lesionType over
   * the whole cohort (so every shard agrees). Default { train: 0.7, val: 0.15, test: 0.15 };
   * false writes no split column.
   */
  split?: Partial<SplitFractions> | false;
  /** Called after each subject is written. */
  onProgress?: (done: number, total: number, id: string) => void;
  /** Stop early (between subjects). */
  signal?: AbortSignal;
}

export interface SimulateResult {
  manifest: Manifest;
  manifestPath: string;
  written: number;
  skipped: number;
}

const BRATS_NAME: Record<PhantomSequence, string> = {
  t1: 't1',
  t1gd: 't1ce',
  t2: 't2',
  flair: 'flair',
  dwi: 'dwi',
  dce: 'dce',
};

/** The manifest rows of phantom subjects as written by simulateToDisk (file names only). */
export function phantomManifestSubject(
  s: Pick<PhantomSubject, 'id' | 'index' | 'sequences' | 'missing' | 'labels'>,
  ph: Phantom,
): ManifestSubject {
  const seqs = ph.sequences;
  const file = (name: string): string => `${s.id}/${s.id}_${name}.nii.gz`;
  return {
    id: s.id,
    sequences: Object.fromEntries(seqs.map((q) => [q, s.sequences.includes(q) ? file(BRATS_NAME[q]) : null])),
    masks: {
      seg: file('seg'),
      tissue: file('tissue'),
      lesion: file('lesion'),
      ...Object.fromEntries(
        seqs
          .filter((q) => q === 't1gd' || q === 'dwi' || q === 'dce')
          .map((q) => [`unique_${q}`, file(`unique_${BRATS_NAME[q]}`)]),
      ),
    },
    labels: {
      lesionGroup: s.labels.lesionGroup,
      lesionType: s.labels.lesionType,
      highEnhancement: s.labels.highEnhancement,
      ...(ph.options.dce ? { kinetics: s.labels.kinetics, washout: s.labels.washout } : {}),
    },
    split: null,
    metadata: {
      index: s.index,
      enhancingFraction: Number(s.labels.enhancingFraction.toFixed(4)),
      kinetics: s.labels.kinetics,
      missing: s.missing.join(' '),
    },
  };
}

/**
 * Writes the simulated cohort in the BraTS layout (`<id>/<id>_{t1,t1ce,t2,flair,seg,...}.nii.gz`
 * plus truth maps) and `manifest.csv` (or `manifest.shard-I-of-N.csv` for a shard). Every file is
 * written atomically; the same seed gives the same bytes. Subjects whose folder is complete are
 * skipped, so an interrupted run resumes.
 * @param options - The phantom's options plus `out` (folder), `shard`, `split`, `onProgress`, `signal`.
 * @returns The manifest, its path, and how many subjects were written and skipped (already complete).
 * @throws {@link MriseqError} when `out` holds a different simulation, or when interrupted through `signal`.
 * @example
 * ```ts
 * import { simulateToDisk } from 'mriseq';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const out = mkdtempSync(join(tmpdir(), 'mriseq-'));
 * await simulateToDisk({ out, subjects: 3, size: [32, 32, 16], seed: 1, onProgress: (d, n) => console.log(`${d}/${n}`) });
 * ```
 */
export async function simulateToDisk(options: SimulateToDiskOptions): Promise<SimulateResult> {
  const signal = signalOrInterrupt(options.signal);
  const ph = makePhantom(options);
  const out = resolve(options.out);
  await mkdir(out, { recursive: true });
  // Resuming skips complete subjects, so a folder must never mix two simulations.
  const o = ph.options;
  const recipe = JSON.stringify({
    seed: o.seed,
    size: o.size,
    missing: o.missing,
    dwi: o.dwi,
    dce: o.dce,
    uniqueFraction: o.uniqueFraction,
    noise: o.noise,
    bias: o.bias,
    uniqueThreshold: o.uniqueThreshold,
    idPrefix: o.idPrefix,
  });
  const recipeFile = join(out, '.mriseq-simulate.json');
  // a run killed while writing the recipe left its temp; the recipe itself is written only once
  removeStaleTemps(recipeFile);
  const previous = await readFile(recipeFile, 'utf8').catch(() => undefined);
  if (previous !== undefined && previous.trim() !== recipe)
    throw new MriseqError('the output folder holds a different simulation', {
      file: out,
      field: '.mriseq-simulate.json',
      found: previous.trim(),
      expected: `${recipe} (use a new folder)`,
      code: 'simulate.mismatch',
    });
  if (previous === undefined) await writeTextAtomic(recipeFile, recipe + '\n');
  const ids = ph.ids().filter((id) => !options.shard || inShard(id, options.shard));
  const splitOf = new Map<string, Split>();
  if (options.split !== false) {
    const a = stratifiedSplit(
      ph.ids().map((id) => ({ id, stratum: ph.info(id).labels.lesionType })),
      { train: 0.7, val: 0.15, test: 0.15, ...(options.split ?? {}) },
      ph.options.seed,
    );
    for (const name of ['train', 'val', 'test'] as const) for (const id of a[name]) splitOf.set(id, name);
  }
  const subjects: ManifestSubject[] = [];
  let written = 0;
  let skipped = 0;
  for (let k = 0; k < ids.length; k++) {
    if (signal?.aborted)
      throw new MriseqError('simulation interrupted', {
        field: 'signal',
        found: `${k} of ${ids.length} subjects written`,
        code: 'simulate.aborted',
      });
    const id = ids[k] as string;
    const info = ph.info(id);
    const row = phantomManifestSubject(info, ph);
    row.split = splitOf.get(id) ?? null;
    const paths = [...Object.values(row.sequences), ...Object.values(row.masks ?? {})].filter(
      (p): p is string => !!p,
    );
    const done = await Promise.all(
      paths.map((p) =>
        stat(join(out, p)).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (done.every(Boolean)) skipped++;
    else {
      const s = simulateSubject(info.index, ph.options);
      await mkdir(join(out, id), { recursive: true });
      const file = (p: string | null | undefined): string => join(out, p as string);
      for (const q of s.sequences) await writeNifti(file(row.sequences[q]), s.volumes[q] as Volume);
      await writeNifti(file(row.masks!.seg), s.truth.seg);
      await writeNifti(file(row.masks!.tissue), s.truth.tissue);
      await writeNifti(file(row.masks!.lesion), s.truth.lesion);
      for (const [key, p] of Object.entries(row.masks!))
        if (key.startsWith('unique_'))
          await writeNifti(file(p), s.truth.unique[key.slice(7) as PhantomSequence] as Volume);
      written++;
    }
    subjects.push(row);
    options.onProgress?.(k + 1, ids.length, id);
  }
  const manifest: Manifest = {
    mriseqManifest: 1,
    description: `mriseq phantom: seed ${ph.options.seed}, ${ph.options.subjects} subjects, size ${ph.options.size.join('x')}, missing ${ph.options.missing}, uniqueFraction ${ph.options.uniqueFraction}`,
    sequences: ph.sequences,
    masks: Object.keys(subjects[0]?.masks ?? phantomManifestSubject(ph.info(0), ph).masks ?? {}),
    labels: phantomLabelNames(ph),
    subjects,
  };
  const name = options.shard
    ? `manifest.shard-${options.shard.index}-of-${options.shard.count}.csv`
    : 'manifest.csv';
  const manifestPath = join(out, name);
  await writeManifest(manifestPath, manifest);
  return { manifest, manifestPath, written, skipped };
}
