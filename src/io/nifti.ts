/**
 * Reading and writing NIfTI volumes (Node only): .nii, .nii.gz, .hdr/.img pairs (each possibly
 * gzipped), NIfTI-1 and NIfTI-2, both byte orders, scl_slope/scl_inter applied as nibabel does.
 */
import { existsSync, statSync, realpathSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { basename, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Readable } from 'node:stream';
import { MriseqError } from '../errors/index.js';
import { writeFileAtomic } from '../reliability/node.js';
import { affineZooms, closestOrthogonal, createVolume, det3, type Volume } from '../volume/index.js';
import {
  bestAffine,
  checkExtensions,
  datatypeByName,
  parseHeader,
  qformAffine,
  sformAffine,
  sniffHeaderSize,
  type NiftiHeader,
} from './nifti-header.js';
import {
  bytesSource,
  fileSource,
  fileStartsWithGzip,
  isGzipBytes,
  readBounded,
  type Layout,
} from './stream.js';

/**
 * Options of {@link readNifti} and {@link readNiftiBytes}.
 *
 * @example
 * ```ts
 * import { readNifti, type ReadNiftiOptions } from 'mriseq';
 * const options: ReadNiftiOptions = { maxBytes: 512 * 2 ** 20 };
 * await readNifti('scan.nii.gz', options).catch((e: Error) => console.log(e.message));
 * ```
 */
export interface ReadNiftiOptions {
  /**
   * Most bytes a read may allocate (raw data + Float32 copy), checked from the header before any
   * allocation. Default: half the machine's memory, at most 8 GiB; or MRISEQ_MAX_BYTES.
   */
  maxBytes?: number;
  /**
   * Where the reader's warnings go (bytes after a .nii.gz's gzip stream, an extension size that
   * is not a multiple of 16: read as nibabel reads them). Default: a process warning on stderr.
   */
  onWarning?: (message: string) => void;
}

function warner(options: ReadNiftiOptions): (message: string) => void {
  return options.onWarning ?? ((m) => process.emitWarning(m, 'MriseqNiftiWarning'));
}

/** The gzip reader's second look (see readBounded): the whole compressed file, within the budget. */
function compressedFile(path: string, maxBytes: number): () => Promise<Uint8Array> {
  return async () => {
    const { size } = await stat(path);
    if (size > maxBytes)
      throw new MriseqError('compressed file too large for the memory limit', {
        file: path,
        found: fmtBytes(size),
        expected: `at most ${fmtBytes(maxBytes)}`,
        code: 'nifti.too_large',
      });
    return new Uint8Array(await readFile(path));
  };
}

export function defaultMaxBytes(): number {
  const env = Number(process.env.MRISEQ_MAX_BYTES);
  if (Number.isFinite(env) && env > 0) return env;
  return Math.min(totalmem() / 2, 8 * 2 ** 30);
}

/** The largest single buffer Node can allocate (typed arrays are indexed below 2^32 here). */
const MAX_BUFFER = 2 ** 32 - 1;

function budgetCheck(h: NiftiHeader, file: string, maxBytes: number): void {
  const floats = h.nvox * 4 * (h.datatype.name === 'rgb24' ? 3 : 1);
  const need = h.nbytes + floats + h.voxOffset;
  if (need > maxBytes || h.nbytes > MAX_BUFFER || floats > MAX_BUFFER || h.voxOffset > MAX_BUFFER)
    throw new MriseqError('image too large for the memory limit', {
      file,
      field: 'dim/datatype',
      found: `${h.dims.join(' x ')} ${h.datatype.name} needs ${fmtBytes(need)}`,
      expected: `at most ${fmtBytes(Math.min(maxBytes, MAX_BUFFER))} (raise ReadNiftiOptions.maxBytes or MRISEQ_MAX_BYTES)`,
      code: 'nifti.too_large',
    });
}

function fmtBytes(n: number): string {
  return n >= 2 ** 30
    ? `${(n / 2 ** 30).toFixed(2)} GiB`
    : n >= 2 ** 20
      ? `${(n / 2 ** 20).toFixed(1)} MiB`
      : `${n} B`;
}

type Kind = 'nii' | 'pair';

function kindOf(path: string): { kind: Kind; gzExt: boolean } {
  const p = path.toLowerCase();
  const gzExt = p.endsWith('.gz');
  const stem = gzExt ? p.slice(0, -3) : p;
  if (stem.endsWith('.hdr') || stem.endsWith('.img')) return { kind: 'pair', gzExt };
  return { kind: 'nii', gzExt };
}

/** The .hdr and .img paths of a pair, given either one (each may be gzipped, either case). */
function pairPaths(path: string): { hdr: string; img: string } {
  const gz = path.toLowerCase().endsWith('.gz');
  const stem = path.slice(0, path.length - (gz ? 7 : 4));
  const pick = (e: string) => {
    const c = [e, e.toUpperCase()].flatMap((x) =>
      gz ? [stem + x + '.gz', stem + x] : [stem + x, stem + x + '.gz'],
    );
    return c.find((p) => existsSync(p)) ?? c[0];
  };
  return { hdr: pick('.hdr'), img: pick('.img') };
}

/**
 * Reads a NIfTI file into a Volume (Float32 data with scaling applied, original datatype kept).
 * Reads .nii, .nii.gz and .hdr/.img pairs (each possibly gzipped), NIfTI-1 and NIfTI-2, either
 * byte order, as nibabel does (scl_slope/scl_inter applied, sform preferred over qform).
 *
 * @param path - The file; for a pair either the .hdr or the .img.
 * @param options - `maxBytes`: the most memory the read may allocate.
 * @returns The Volume (float32 data, the file's datatype remembered, header fields kept).
 * @throws {@link MriseqError} naming the file and field: 'io.read' (missing/unreadable), 'nifti.magic',
 *   'nifti.header', 'nifti.dim', 'nifti.datatype', 'nifti.truncated', 'nifti.too_large' (over maxBytes),
 *   'nifti.qform'/'nifti.sform' (unusable affine).
 * @example
 * ```ts
 * import { createVolume, readNifti, writeNifti } from 'mriseq';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const file = join(mkdtempSync(join(tmpdir(), 'mriseq-')), 'x.nii.gz');
 * await writeNifti(file, createVolume(new Float32Array(8).fill(3), [2, 2, 2]));
 * const vol = await readNifti(file);
 * console.log(vol.shape, vol.data[0]); // [2, 2, 2] 3
 * ```
 */
export async function readNifti(path: string, options: ReadNiftiOptions = {}): Promise<Volume> {
  const maxBytes = options.maxBytes ?? defaultMaxBytes();
  const file = path;
  await checkReadable(path);
  const { kind } = kindOf(path);
  if (kind === 'pair') {
    const { hdr, img } = pairPaths(path);
    await checkReadable(hdr);
    let header: NiftiHeader | undefined;
    await readBounded(fileSource(hdr), await fileStartsWithGzip(hdr), hdr, async (prefix, ended) => {
      const h = await headerFromPrefix(prefix, hdr, ended);
      if (!h) return undefined;
      budgetCheck(h, hdr, maxBytes);
      header = h;
      // the header file holds the header and maybe extensions; we keep only the header
      return { headBytes: prefix.length, dataBytes: 0 };
    }).catch((e) => {
      if (header && e instanceof MriseqError && e.code === 'nifti.gzip_too_large') return undefined;
      throw e;
    });
    if (!header) throw new MriseqError('no header read', { file: hdr, code: 'nifti.header' });
    const h = header;
    await checkPairExtensions(hdr, h, warner(options));
    if (h.single)
      throw new MriseqError('header says the data are inside it, not in an .img file', {
        file: hdr,
        field: 'magic',
        found: h.version === 1 ? '"n+1"' : '"n+2"',
        expected: h.version === 1 ? '"ni1" for a .hdr/.img pair' : '"ni2" for a .hdr/.img pair',
        code: 'nifti.magic',
      });
    await checkReadable(img);
    const imgGz = await fileStartsWithGzip(img);
    if (!imgGz) await checkSize(img, h.voxOffset + h.nbytes, h);
    const { data } = await readBounded(
      fileSource(img),
      imgGz,
      img,
      () => ({ headBytes: h.voxOffset, dataBytes: h.nbytes }),
      { compressed: compressedFile(img, maxBytes), onWarning: warner(options), maxOutput: maxBytes },
    );
    return toVolume(h, data, file);
  }
  const gz = await fileStartsWithGzip(path);
  return readSingle(fileSource(path), gz, file, maxBytes, options, {
    compressed: compressedFile(path, maxBytes),
    // a plain file's size is known before its data are read
    checkFileSize: gz ? undefined : (h) => checkSize(path, h.voxOffset + h.nbytes, h),
  });
}

/** A single-file NIfTI (.nii or .nii.gz) from a stream: header, budget, data, extensions. */
async function readSingle(
  source: Readable,
  gz: boolean,
  file: string,
  maxBytes: number,
  options: ReadNiftiOptions,
  how: { compressed: () => Promise<Uint8Array>; checkFileSize?: (h: NiftiHeader) => Promise<void> },
): Promise<Volume> {
  let header: NiftiHeader | undefined;
  const { head, data } = await readBounded(
    source,
    gz,
    file,
    async (prefix, ended) => {
      const h = await headerFromPrefix(prefix, file, ended);
      if (!h) return undefined;
      checkSingle(h, file);
      budgetCheck(h, file, maxBytes);
      await how.checkFileSize?.(h);
      header = h;
      return { headBytes: h.voxOffset, dataBytes: h.nbytes };
    },
    { compressed: how.compressed, onWarning: warner(options), maxOutput: maxBytes },
  );
  checkExtensions(head, header!, header!.voxOffset, file, warner(options));
  return toVolume(header!, data, file);
}

/**
 * Reads a .nii or .nii.gz held in memory (e.g. fetched or uploaded); `name` names it in errors.
 * @param bytes - The whole file's bytes (gzipped or not).
 * @param options - `maxBytes`, and `name` for error messages.
 * @returns The Volume, as {@link readNifti} would give.
 * @throws {@link MriseqError} as {@link readNifti}; a .hdr of a pair has no data and is refused.
 * @example
 * ```ts
 * import { createVolume, encodeNifti, readNiftiBytes } from 'mriseq';
 * const bytes = encodeNifti(createVolume(new Float32Array(8), [2, 2, 2]), { gzip: true });
 * console.log((await readNiftiBytes(bytes, { name: 'upload.nii.gz' })).shape);
 * ```
 */
export async function readNiftiBytes(
  bytes: Uint8Array,
  options: ReadNiftiOptions & { name?: string } = {},
): Promise<Volume> {
  const maxBytes = options.maxBytes ?? defaultMaxBytes();
  const file = options.name ?? '<bytes>';
  return readSingle(bytesSource(bytes), isGzipBytes(bytes), file, maxBytes, options, {
    compressed: async () => bytes,
  });
}

/**
 * Header of a NIfTI file, validated, without reading the data.
 * @param path - A .nii, .nii.gz, .hdr or .img file.
 * @returns The parsed {@link NiftiHeader}.
 * @throws {@link MriseqError} as {@link readNifti} for the header's part.
 * @example
 * ```ts
 * import { createVolume, readNiftiHeader, writeNifti } from 'mriseq';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const file = join(mkdtempSync(join(tmpdir(), 'mriseq-')), 'x.nii');
 * await writeNifti(file, createVolume(new Int16Array(24), [2, 3, 4], { datatype: 'int16' }));
 * const h = await readNiftiHeader(file);
 * console.log(h.dims, h.datatype, h.pixdim.slice(1, 4));
 * ```
 */
export async function readNiftiHeader(path: string): Promise<NiftiHeader> {
  const { kind } = kindOf(path);
  const target = kind === 'pair' ? pairPaths(path).hdr : path;
  await checkReadable(target);
  let header: NiftiHeader | undefined;
  await readBounded(fileSource(target), await fileStartsWithGzip(target), target, async (prefix, ended) => {
    header = await headerFromPrefix(prefix, target, ended);
    return header ? { headBytes: prefix.length, dataBytes: 0 } : undefined;
  }).catch((e) => {
    if (header && e instanceof MriseqError && e.code === 'nifti.gzip_too_large') return undefined;
    throw e;
  });
  return header!;
}

async function headerFromPrefix(
  prefix: Uint8Array,
  file: string,
  ended: boolean,
): Promise<NiftiHeader | undefined> {
  if (prefix.length < 4) {
    if (!ended) return undefined;
    return parseHeader(prefix, file); // throws: too short
  }
  const { size } = sniffHeaderSize(prefix.subarray(0, 4), file);
  if (prefix.length < size) {
    if (!ended) return undefined;
    return parseHeader(prefix, file); // throws: truncated header
  }
  return parseHeader(prefix, file);
}

/** Extensions of a .hdr run to the end of the file (read whole: a header file is small). */
async function checkPairExtensions(
  hdr: string,
  h: NiftiHeader,
  onWarning: (message: string) => void,
): Promise<void> {
  const limit = 64 * 2 ** 20;
  let bytes = new Uint8Array(await readFile(hdr));
  if (isGzipBytes(bytes)) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes, { maxOutputLength: limit }));
    } catch {
      return; // the header itself was read; a corrupt tail is the header reader's to report
    }
  }
  if (bytes.length > limit) return;
  checkExtensions(bytes, h, bytes.length, hdr, onWarning);
}

function checkSingle(h: NiftiHeader, file: string): void {
  if (!h.single)
    throw new MriseqError('this is the header of a .hdr/.img pair', {
      file,
      field: 'magic',
      found: h.version === 1 ? '"ni1"' : '"ni2"',
      expected: 'a single-file NIfTI ("n+1"/"n+2"); open the .hdr file instead',
      code: 'nifti.magic',
    });
}

async function checkReadable(path: string): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
  } catch (e) {
    throw new MriseqError('cannot read file', {
      file: path,
      found: (e as { code?: string }).code ?? String(e),
      expected: 'an existing readable file',
      code: 'io.read',
      cause: e,
    });
  }
}

async function checkSize(path: string, need: number, h: NiftiHeader): Promise<void> {
  const size = (await stat(path)).size;
  if (size < need)
    throw new MriseqError('file is truncated', {
      file: path,
      field: 'image data',
      found: `${size} bytes`,
      expected: `${need} bytes (vox_offset ${h.voxOffset} + ${h.dims.join(' x ')} ${h.datatype.name})`,
      code: 'nifti.truncated',
    });
}

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapInPlace(b: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < b.length; i += size)
    for (let a = i, z = i + size - 1; a < z; a++, z--) {
      const t = b[a];
      b[a] = b[z];
      b[z] = t;
    }
}

/** Raw bytes (aligned, own buffer) to Float32 values with nibabel's scaling. */
function decodeData(h: NiftiHeader, raw: Uint8Array): Float32Array {
  const n = h.nvox;
  if (h.datatype.name === 'rgb24') {
    // no byte order and no scaling for RGB (nibabel applies none); planes R, G, B after the voxels
    const out = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      out[i] = raw[3 * i];
      out[n + i] = raw[3 * i + 1];
      out[2 * n + i] = raw[3 * i + 2];
    }
    return out;
  }
  if (h.littleEndian !== HOST_LE) swapInPlace(raw, h.datatype.bytes);
  const buf = raw.buffer;
  const o = raw.byteOffset;
  let src: ArrayLike<number> | undefined;
  let big: BigInt64Array | BigUint64Array | undefined;
  switch (h.datatype.name) {
    case 'uint8':
      src = new Uint8Array(buf, o, n);
      break;
    case 'int8':
      src = new Int8Array(buf, o, n);
      break;
    case 'int16':
      src = new Int16Array(buf, o, n);
      break;
    case 'uint16':
      src = new Uint16Array(buf, o, n);
      break;
    case 'int32':
      src = new Int32Array(buf, o, n);
      break;
    case 'uint32':
      src = new Uint32Array(buf, o, n);
      break;
    case 'float32':
      src = new Float32Array(buf, o, n);
      break;
    case 'float64':
      src = new Float64Array(buf, o, n);
      break;
    case 'int64':
      big = new BigInt64Array(buf, o, n);
      break;
    case 'uint64':
      big = new BigUint64Array(buf, o, n);
      break;
    default:
      throw new Error(`unreachable datatype ${h.datatype.name}`);
  }
  // slope 1 / intercept 0 (what most writers store) changes nothing: skip the pass, as nibabel does
  const slope = h.slope === 1 && !h.inter ? undefined : h.slope;
  const inter = h.inter ?? 0;
  if (src instanceof Float32Array && slope === undefined) return src;
  if (big) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = Number(big[i]);
      out[i] = slope === undefined ? v : v * slope + inter;
    }
    return out;
  }
  // the typed-array constructor converts far faster than set() or a loop (measured ~4x in V8)
  const out = new Float32Array(src as ArrayLike<number>);
  if (slope === undefined) return out;
  if (h.datatype.bytes <= 2)
    scaleInPlace(out, slope, inter); // 8/16-bit values are exact in float32
  else scaleFrom(src as ArrayLike<number>, out, slope, inter);
  return out;
}

function scaleInPlace(out: Float32Array, slope: number, inter: number): void {
  for (let i = 0; i < out.length; i++) out[i] = out[i] * slope + inter;
}

function scaleFrom(src: ArrayLike<number>, out: Float32Array, slope: number, inter: number): void {
  for (let i = 0; i < out.length; i++) out[i] = src[i] * slope + inter;
}

function toVolume(h: NiftiHeader, raw: Uint8Array, file: string): Volume {
  const extra = h.dims.slice(4);
  if (extra.some((d) => d !== 1))
    throw new MriseqError('more than 4 dimensions are not supported', {
      file,
      field: 'dim',
      found: `[${h.dims.join(', ')}]`,
      expected: 'dim[5..7] = 1 (3D or 4D images)',
      code: 'nifti.dim',
    });
  const shape = [...h.dims.slice(0, 4)];
  while (shape.length < 3) shape.push(1);
  if (h.datatype.name === 'rgb24') {
    if (shape.length > 3 && shape[3] !== 1)
      throw new MriseqError('4D rgb24 images are not supported', {
        file,
        field: 'dim[4]',
        found: String(shape[3]),
        expected: '1 for rgb24 (colour is held as a trailing axis of 3)',
        code: 'nifti.dim',
      });
    shape.length = 3;
    shape.push(3);
  }
  const affine = bestAffine(h, file);
  const spacing = [
    h.pixdim[1],
    h.pixdim[2],
    h.pixdim[3],
    ...(shape.length === 4 ? [Math.abs(h.pixdim[4]) || 1] : []),
  ];
  const data = decodeData(h, raw);
  return createVolume(data, shape, {
    spacing,
    affine,
    datatype: h.datatype.name,
    name: file,
    header: {
      niftiVersion: h.version,
      littleEndian: h.littleEndian,
      sformCode: h.sformCode,
      qformCode: h.qformCode,
      sclSlope: h.rawSlope,
      sclInter: h.rawInter,
      calMin: h.calMin,
      calMax: h.calMax,
      xyztUnits: h.xyztUnits,
      intentCode: h.intentCode,
      intentName: h.intentName,
      description: h.description,
      qform: h.qformCode > 0 ? qformAffine(h, file) : undefined,
      sform: h.sformCode > 0 ? sformAffine(h, file) : undefined,
    },
  });
}

// ---------------------------------------------------------------- writing

/**
 * Options of {@link writeNifti}, {@link encodeNifti} and {@link convertNifti}.
 *
 * @example
 * ```ts
 * import { createVolume, encodeNifti, type WriteNiftiOptions } from 'mriseq';
 * const options: WriteNiftiOptions = { datatype: 'int16', gzip: true, level: 9, description: 'mask' };
 * encodeNifti(createVolume(new Float32Array(8), [2, 2, 2]), options);
 * ```
 */
export interface WriteNiftiOptions {
  /** Datatype on disk; default the volume's datatype. */
  datatype?: Volume['datatype'];
  /** gzip the output; default from the extension (.nii.gz). */
  gzip?: boolean;
  /** gzip level 1..9; default 6. */
  level?: number;
  description?: string;
}

const INT_RANGE: Record<string, [number, number]> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  // the largest doubles that fit (2^63 itself would wrap in a BigInt64Array)
  int64: [-(2 ** 63), 2 ** 63 - 1024],
  uint64: [0, 2 ** 64 - 2048],
};

/**
 * The quaternion form of an affine (nibabel's set_qform): zooms are the column norms, a negative
 * determinant goes into qfac, shears are dropped by the polar decomposition.
 */
export function affineToQuaternion(affine: readonly (readonly number[])[]): {
  quatern: [number, number, number];
  qfac: 1 | -1;
  zooms: number[];
  offset: [number, number, number];
} {
  const zooms = affineZooms(affine).map((z) => (z === 0 ? 1 : z));
  let r = [0, 1, 2].map((i) => [0, 1, 2].map((j) => affine[i][j] / zooms[j]));
  let qfac: 1 | -1 = 1;
  if (det3(r) < 0) {
    qfac = -1;
    r = r.map((row) => [row[0], row[1], -row[2]]);
  }
  r = closestOrthogonal(r);
  // Shepperd's method: pick the largest diagonal combination for stability
  const tr = r[0][0] + r[1][1] + r[2][2];
  let w: number, x: number, y: number, z: number;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    w = 0.25 * s;
    x = (r[2][1] - r[1][2]) / s;
    y = (r[0][2] - r[2][0]) / s;
    z = (r[1][0] - r[0][1]) / s;
  } else if (r[0][0] > r[1][1] && r[0][0] > r[2][2]) {
    const s = Math.sqrt(1 + r[0][0] - r[1][1] - r[2][2]) * 2;
    w = (r[2][1] - r[1][2]) / s;
    x = 0.25 * s;
    y = (r[0][1] + r[1][0]) / s;
    z = (r[0][2] + r[2][0]) / s;
  } else if (r[1][1] > r[2][2]) {
    const s = Math.sqrt(1 + r[1][1] - r[0][0] - r[2][2]) * 2;
    w = (r[0][2] - r[2][0]) / s;
    x = (r[0][1] + r[1][0]) / s;
    y = 0.25 * s;
    z = (r[1][2] + r[2][1]) / s;
  } else {
    const s = Math.sqrt(1 + r[2][2] - r[0][0] - r[1][1]) * 2;
    w = (r[1][0] - r[0][1]) / s;
    x = (r[0][2] + r[2][0]) / s;
    y = (r[1][2] + r[2][1]) / s;
    z = 0.25 * s;
  }
  if (w < 0) [w, x, y, z] = [-w, -x, -y, -z];
  return { quatern: [x, y, z], qfac, zooms, offset: [affine[0][3], affine[1][3], affine[2][3]] };
}

/** Chooses raw integer values (and slope/intercept if needed) for an integer datatype. */
function quantise(
  data: Float32Array,
  name: string,
  hint?: { slope?: number; inter?: number },
): { raw: Float64Array; slope: number; inter: number } {
  const [lo, hi] = INT_RANGE[name];
  const n = data.length;
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  let hasNaN = false;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (Number.isNaN(v)) hasNaN = true;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    if (integral && !Number.isInteger(v)) integral = false;
  }
  if (min === Infinity) min = max = 0;
  // NaN is written as the stored value that reads back as 0 (nibabel's nan2zero): 0 must be in
  // the range the scaling covers, else NaN would read back as the data minimum
  if (hasNaN) {
    min = Math.min(min, 0);
    max = Math.max(max, 0);
  }
  const raw = new Float64Array(n);
  const fill = (slope: number, inter: number) => {
    for (let i = 0; i < n; i++) {
      const v = data[i];
      // NaN -> 0 and ±Inf -> range ends, as nibabel writes non-finite values to integer types
      if (Number.isNaN(v)) raw[i] = Math.min(Math.max(Math.round((0 - inter) / slope), lo), hi);
      else raw[i] = Math.min(Math.max(Math.round((v - inter) / slope), lo), hi);
    }
  };
  if (integral && min >= lo && max <= hi) {
    fill(1, 0);
    return { raw, slope: 1, inter: 0 };
  }
  // the stored scaling round-trips exactly when the data came from this file unchanged
  const s0 = hint?.slope;
  const i0 = hint?.inter ?? 0;
  const zeroFits = (slope: number, inter: number) => {
    const z = Math.round((0 - inter) / slope);
    return z >= lo && z <= hi;
  };
  if (
    s0 !== undefined &&
    s0 !== 0 &&
    Number.isFinite(s0) &&
    Number.isFinite(i0) &&
    (!hasNaN || zeroFits(s0, i0))
  ) {
    fill(s0, i0);
    let exact = true;
    for (let i = 0; i < n && exact; i++) {
      const v = data[i];
      if (Number.isFinite(v) && Math.fround(raw[i] * s0 + i0) !== v) exact = false;
    }
    if (exact) return { raw, slope: s0, inter: i0 };
  }
  const slope = Math.fround(max > min ? (max - min) / (hi - lo) : 1);
  const inter = Math.fround(max > min ? min - lo * slope : min);
  fill(slope, inter);
  return { raw, slope, inter };
}

const sameMatrix = (a: readonly (readonly number[])[], b: readonly (readonly number[])[]) =>
  a.every((row, r) => row.every((v, c) => v === b[r][c]));

/**
 * The file's own qform, when the volume still has the geometry it was read with (its affine is
 * the stored sform, or the qform itself): a qform that differs from the sform is then kept.
 */
function keptQform(vol: Volume): readonly (readonly number[])[] | undefined {
  const h = vol.header;
  if (!h?.qform) return undefined;
  return sameMatrix(h.sform ?? h.qform, vol.affine) ? h.qform : undefined;
}

/**
 * Encodes a Volume as NIfTI-1 single-file bytes (little-endian), gzipped when asked.
 * @param vol - The volume to encode.
 * @param options - Datatype on disk, gzip and its level, description.
 * @returns The file's bytes.
 * @throws {@link MriseqError} 'nifti.datatype' for a datatype it cannot write (complex64) or rgb24
 *   without a trailing axis of 3 colour planes; a dimension too large for NIfTI-1.
 * @example
 * ```ts
 * import { createVolume, encodeNifti } from 'mriseq';
 * const bytes = encodeNifti(createVolume(new Float32Array(8), [2, 2, 2]), { datatype: 'uint8' });
 * console.log(bytes.length); // 352-byte header + 8 voxels
 * ```
 */
export function encodeNifti(vol: Volume, options: WriteNiftiOptions = {}): Uint8Array {
  const dtName = options.datatype ?? vol.datatype;
  const dt = datatypeByName(dtName);
  if (!dt)
    throw new MriseqError('cannot write this datatype', {
      field: 'datatype',
      found: dtName,
      expected: 'uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64 or rgb24',
      code: 'nifti.datatype',
    });
  const n = vol.data.length;
  const rgb = dt.name === 'rgb24';
  if (rgb && !(vol.shape.length === 4 && vol.shape[3] === 3))
    throw new MriseqError('rgb24 needs a trailing axis of 3 colour planes', {
      field: 'shape',
      found: JSON.stringify(vol.shape),
      expected: '[nx, ny, nz, 3]',
      code: 'nifti.datatype',
    });
  const shape = rgb ? vol.shape.slice(0, 3) : vol.shape;
  if (shape.some((d) => d > 32767))
    throw new MriseqError('dimension too large for NIfTI-1', {
      field: 'shape',
      found: JSON.stringify(shape),
      expected: 'every dimension <= 32767',
      code: 'nifti.dim',
    });
  const out = new Uint8Array(352 + (rgb ? n : n * dt.bytes));
  const dv = new DataView(out.buffer);
  dv.setInt32(0, 348, true);
  dv.setInt16(40, shape.length, true);
  for (let i = 0; i < 7; i++) dv.setInt16(42 + 2 * i, shape[i] ?? 1, true);
  dv.setInt16(68, vol.header?.intentCode ?? 0, true);
  dv.setInt16(70, dt.code, true);
  dv.setInt16(72, dt.bytes * 8, true);
  const q = affineToQuaternion(keptQform(vol) ?? vol.affine);
  dv.setFloat32(76, q.qfac, true);
  for (let i = 0; i < 3; i++) dv.setFloat32(80 + 4 * i, q.zooms[i], true);
  if (shape.length === 4) dv.setFloat32(92, vol.spacing[3] ?? 1, true);
  for (let i = shape.length + 1; i < 8; i++) dv.setFloat32(76 + 4 * i, 1, true);
  dv.setFloat32(108, 352, true);
  let slope = 1;
  let inter = 0;
  const payload = new Uint8Array(out.buffer, 352);
  const bytesView = (ctor: {
    new (b: ArrayBuffer, o: number, l: number): { [i: number]: number | bigint };
  }) => new ctor(out.buffer, 352, n);
  if (rgb) {
    const nv = n / 3;
    for (let i = 0; i < nv; i++)
      for (let c = 0; c < 3; c++) {
        const v = vol.data[c * nv + i];
        payload[3 * i + c] = Number.isNaN(v) ? 0 : Math.min(255, Math.max(0, Math.round(v)));
      }
  } else if (dt.name === 'float32') payload.set(new Uint8Array(vol.data.buffer, vol.data.byteOffset, n * 4));
  else if (dt.name === 'float64') new Float64Array(out.buffer, 352, n).set(vol.data);
  else {
    const hint =
      vol.datatype === dt.name ? { slope: vol.header?.sclSlope, inter: vol.header?.sclInter } : undefined;
    const qd = quantise(vol.data, dt.name, hint);
    slope = qd.slope;
    inter = qd.inter;
    if (dt.name === 'int64' || dt.name === 'uint64') {
      const view =
        dt.name === 'int64' ? new BigInt64Array(out.buffer, 352, n) : new BigUint64Array(out.buffer, 352, n);
      for (let i = 0; i < n; i++) view[i] = BigInt(qd.raw[i]);
    } else {
      const ctor = {
        uint8: Uint8Array,
        int8: Int8Array,
        int16: Int16Array,
        uint16: Uint16Array,
        int32: Int32Array,
        uint32: Uint32Array,
      }[dt.name as 'uint8'];
      (bytesView(ctor) as Uint8Array).set(qd.raw);
    }
  }
  if (!HOST_LE && !rgb) swapInPlace(payload, dt.bytes);
  dv.setFloat32(112, slope, true);
  dv.setFloat32(116, inter, true);
  dv.setUint8(123, vol.header?.xyztUnits ?? 10); // mm + s
  const desc = (options.description ?? vol.header?.description ?? 'mriseq').slice(0, 79);
  for (let i = 0; i < desc.length; i++) out[148 + i] = desc.charCodeAt(i) & 0x7f;
  const qcode = vol.header?.qformCode || vol.header?.sformCode || 1;
  const scode = vol.header?.sformCode || vol.header?.qformCode || 1;
  dv.setInt16(252, qcode, true);
  dv.setInt16(254, scode, true);
  for (let i = 0; i < 3; i++) dv.setFloat32(256 + 4 * i, q.quatern[i], true);
  for (let i = 0; i < 3; i++) dv.setFloat32(268 + 4 * i, q.offset[i], true);
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 4; c++) dv.setFloat32(280 + (r * 4 + c) * 4, vol.affine[r][c], true);
  out.set([0x6e, 0x2b, 0x31, 0], 344); // "n+1\0"
  return options.gzip ? new Uint8Array(gzipSync(out, { level: options.level ?? 6 })) : out;
}

/**
 * Writes a Volume as NIfTI-1 (.nii or .nii.gz), atomically through the shared writer of
 * src/reliability: a temporary file in the same folder is renamed over the target, so readers
 * never see a half-written file, and temps of killed earlier writers are removed.
 * @param path - Target ending .nii or .nii.gz (gzip follows the extension unless `options.gzip`).
 * @param vol - The volume to write.
 * @param options - Datatype on disk, gzip and its level, description.
 * @throws {@link MriseqError} when the name ends in neither .nii nor .nii.gz, as {@link encodeNifti},
 *   or when the write fails.
 * @example
 * ```ts
 * import { phantom, writeNifti } from 'mriseq';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const dir = mkdtempSync(join(tmpdir(), 'mriseq-'));
 * await writeNifti(join(dir, 't1.nii.gz'), phantom({ size: [32, 32, 16] }).subject(0).volumes.t1!);
 * ```
 */
export async function writeNifti(path: string, vol: Volume, options: WriteNiftiOptions = {}): Promise<void> {
  const lower = path.toLowerCase();
  if (!lower.endsWith('.nii') && !lower.endsWith('.nii.gz'))
    throw new MriseqError('cannot tell the output format from the file name', {
      file: path,
      field: 'extension',
      found: basename(path),
      expected: '.nii or .nii.gz',
      code: 'io.extension',
    });
  const bytes = encodeNifti(vol, { ...options, gzip: options.gzip ?? lower.endsWith('.gz') });
  await writeFileAtomic(path, bytes);
}

/** True when two paths name the same file on disk (used to refuse converting a file onto itself). */
export function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    if (!existsSync(b)) return false;
    if (realpathSync(a) === realpathSync(b)) return true;
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}

/**
 * Reads IN and writes it to OUT (format from OUT's extension); never overwrites the input.
 * @param input - The file to read (any format {@link readNifti} reads).
 * @param output - The file to write (.nii or .nii.gz).
 * @param options - As {@link writeNifti}.
 * @returns The volume that was written.
 * @throws {@link MriseqError} when output is the input file, or as {@link readNifti} / {@link writeNifti}.
 * @example
 * ```ts
 * import { convertNifti, createVolume, writeNifti } from 'mriseq';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const dir = mkdtempSync(join(tmpdir(), 'mriseq-'));
 * await writeNifti(join(dir, 'a.nii'), createVolume(new Float32Array(8), [2, 2, 2]));
 * await convertNifti(join(dir, 'a.nii'), join(dir, 'a.nii.gz'));
 * ```
 */
export async function convertNifti(
  input: string,
  output: string,
  options: WriteNiftiOptions = {},
): Promise<Volume> {
  const vol = await readNifti(input);
  const inputs = kindOf(input).kind === 'pair' ? Object.values(pairPaths(input)) : [input];
  for (const p of inputs)
    if (sameFile(p, output))
      throw new MriseqError('refusing to overwrite the input file', {
        file: output,
        field: 'OUT',
        found: 'the same file as IN',
        expected: 'a different output path',
        code: 'io.overwrite',
      });
  await writeNifti(output, vol, options);
  return vol;
}

export type { NiftiHeader, Layout };
