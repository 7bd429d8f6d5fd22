/**
 * NIfTI-1/2 header parsing and validation. nifti-reader-js (ESM-only, loaded with a dynamic
 * import so our CommonJS output can use it) decodes the plain fields; the fields it gets wrong
 * (64-bit dims and vox_offset of NIfTI-2, the affine choice, the NIfTI-1 srow it only keeps when it
 * prefers the sform) are read here, and every size is checked before anything is allocated.
 */
import { MriseqError } from '../errors/index.js';
import type { NiftiDatatypeName } from '../volume/index.js';

export interface DatatypeInfo {
  readonly code: number;
  readonly name: NiftiDatatypeName;
  readonly bytes: number;
}

/** The datatypes we read and write (complex and 128-bit types have no place in a Float32 volume). */
export const DATATYPES: readonly DatatypeInfo[] = [
  { code: 2, name: 'uint8', bytes: 1 },
  { code: 4, name: 'int16', bytes: 2 },
  { code: 8, name: 'int32', bytes: 4 },
  { code: 16, name: 'float32', bytes: 4 },
  { code: 64, name: 'float64', bytes: 8 },
  { code: 256, name: 'int8', bytes: 1 },
  { code: 512, name: 'uint16', bytes: 2 },
  { code: 768, name: 'uint32', bytes: 4 },
  { code: 1024, name: 'int64', bytes: 8 },
  { code: 1280, name: 'uint64', bytes: 8 },
  // 3 bytes R, G, B per voxel; a Volume holds them as a trailing axis of 3 planes
  { code: 128, name: 'rgb24', bytes: 3 },
];

const KNOWN_UNSUPPORTED: Record<number, string> = {
  32: 'complex64',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'rgba32',
};

export function datatypeByName(name: string): DatatypeInfo | undefined {
  return DATATYPES.find((d) => d.name === name);
}

/**
 * A NIfTI-1/2 header as {@link readNiftiHeader} parses it (fields as the standard names them).
 *
 * @example
 * ```ts
 * import { readNiftiHeader, type NiftiHeader } from 'mriseq';
 * const h: NiftiHeader | undefined = await readNiftiHeader('scan.nii.gz').catch(() => undefined);
 * if (h) console.log(h.version, h.sformCode, h.nbytes);
 * ```
 */
export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  /** 'n+1'/'n+2' (data in the same file) or 'ni1'/'ni2' (.hdr/.img pair). */
  single: boolean;
  headerSize: number;
  /** dim[1..dim[0]] as read (before any squeezing to 3D/4D). */
  dims: number[];
  datatype: DatatypeInfo;
  bitpix: number;
  /** pixdim[0..7] after nibabel's fixes (qfac ±1, spatial zeros -> 1, negatives -> abs). */
  pixdim: number[];
  voxOffset: number;
  /** Applied scaling, undefined when none (slope 0 or not finite, like nibabel). */
  slope?: number;
  inter?: number;
  rawSlope: number;
  rawInter: number;
  calMin: number;
  calMax: number;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  srow: number[][];
  xyztUnits: number;
  intentCode: number;
  intentName: string;
  description: string;
  /** Number of voxels and data bytes. */
  nvox: number;
  nbytes: number;
}

interface ReaderModule {
  NIFTI1: new () => ReaderHeader;
  NIFTI2: new () => ReaderHeader;
}
interface ReaderHeader {
  readHeader(data: ArrayBuffer): void;
  littleEndian: boolean;
  datatypeCode: number;
  numBitsPerVoxel: number;
  pixDims: number[];
  scl_slope: number;
  scl_inter: number;
  cal_min: number;
  cal_max: number;
  qform_code: number;
  sform_code: number;
  quatern_b: number;
  quatern_c: number;
  quatern_d: number;
  qoffset_x: number;
  qoffset_y: number;
  qoffset_z: number;
  xyzt_units: number;
  intent_code: number;
  intent_name: string;
  description: string;
  magic: string;
  affine: number[][];
}

let reader: Promise<ReaderModule> | undefined;

/** nifti-reader-js is ESM-only: a dynamic import keeps working from our CommonJS build. */
export function loadReader(): Promise<ReaderModule> {
  reader ??= import('nifti-reader-js').then((m) => m as unknown as ReaderModule);
  return reader;
}

/** 348 (NIfTI-1) or 540 (NIfTI-2), and the byte order, from the first 4 bytes. */
export function sniffHeaderSize(
  first4: Uint8Array,
  file: string,
): { size: 348 | 540; littleEndian: boolean } {
  const dv = new DataView(first4.buffer, first4.byteOffset, 4);
  for (const le of [true, false]) {
    const v = dv.getInt32(0, le);
    if (v === 348 || v === 540) return { size: v, littleEndian: le };
  }
  throw new MriseqError('not a NIfTI file', {
    file,
    field: 'sizeof_hdr',
    found: String(dv.getInt32(0, true)),
    expected: '348 (NIfTI-1) or 540 (NIfTI-2) in either byte order',
    code: 'nifti.magic',
  });
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Parses and validates a header; `hdr` holds at least headerSize bytes. `isPairHeader` is true for
 * a .hdr file (data in the .img file).
 */
export async function parseHeader(hdr: Uint8Array, file: string): Promise<NiftiHeader> {
  const err = (problem: string, field: string, found: string, expected: string, code: string) =>
    new MriseqError(problem, { file, field, found, expected, code });
  if (hdr.length < 4)
    throw err(
      'file too short for a NIfTI header',
      'header',
      `${hdr.length} bytes`,
      '>= 348 bytes',
      'nifti.truncated',
    );
  const { size, littleEndian } = sniffHeaderSize(hdr.subarray(0, 4), file);
  if (hdr.length < size)
    throw err('truncated header', 'header', `${hdr.length} bytes`, `${size} bytes`, 'nifti.truncated');
  const version: 1 | 2 = size === 348 ? 1 : 2;
  const dv = new DataView(hdr.buffer, hdr.byteOffset, size);
  const le = littleEndian;
  const magicAt = version === 1 ? 344 : 4;
  const magic = String.fromCharCode(hdr[magicAt], hdr[magicAt + 1], hdr[magicAt + 2]);
  const want = version === 1 ? ['n+1', 'ni1'] : ['n+2', 'ni2'];
  if (!want.includes(magic) || hdr[magicAt + 3] !== 0)
    throw err(
      'not a NIfTI file (Analyze 7.5 and other formats are not read)',
      'magic',
      JSON.stringify(magic),
      want.map((m) => JSON.stringify(m)).join(' or '),
      'nifti.magic',
    );
  const single = magic[1] === '+';

  // plain fields from nifti-reader-js, on a copy of exactly the header so it parses no extension
  const mod = await loadReader();
  const h = version === 1 ? new mod.NIFTI1() : new mod.NIFTI2();
  const copy = new Uint8Array(size);
  copy.set(hdr.subarray(0, size));
  try {
    h.readHeader(copy.buffer);
  } catch (e) {
    throw new MriseqError('unreadable NIfTI header', {
      file,
      field: 'header',
      code: 'nifti.header',
      cause: e,
    });
  }
  if (h.littleEndian !== le)
    throw err(
      'inconsistent byte order',
      'sizeof_hdr',
      le ? 'little' : 'big',
      'one byte order',
      'nifti.header',
    );

  // dims: NIfTI-2 holds int64 (nifti-reader-js sign-extends twice), read them here for both
  const dimAt = (i: number): number =>
    version === 1 ? dv.getInt16(40 + 2 * i, le) : bigToNumber(dv.getBigInt64(16 + 8 * i, le));
  const ndim = dimAt(0);
  if (!(ndim >= 1 && ndim <= 7))
    throw err('impossible number of dimensions', 'dim[0]', String(ndim), 'an integer in 1..7', 'nifti.dim');
  const dims: number[] = [];
  for (let i = 1; i <= ndim; i++) {
    const d = dimAt(i);
    if (!Number.isSafeInteger(d) || d < 1)
      throw err('impossible dimension', `dim[${i}]`, String(d), 'an integer >= 1', 'nifti.dim');
    dims.push(d);
  }

  const dtCode = h.datatypeCode;
  const datatype = DATATYPES.find((d) => d.code === dtCode);
  if (!datatype) {
    const known = KNOWN_UNSUPPORTED[dtCode];
    throw err(
      known ? `datatype ${known} is not supported` : 'unknown datatype',
      'datatype',
      known ? `${dtCode} (${known})` : String(dtCode),
      DATATYPES.map((d) => `${d.code} (${d.name})`).join(', '),
      'nifti.datatype',
    );
  }
  if (h.numBitsPerVoxel !== datatype.bytes * 8)
    throw err(
      'bitpix does not match the datatype',
      'bitpix',
      String(h.numBitsPerVoxel),
      `${datatype.bytes * 8} for ${datatype.name}`,
      'nifti.bitpix',
    );

  let nvox = 1;
  for (const d of dims) {
    nvox *= d;
    if (nvox > MAX_SAFE)
      throw err(
        'dimensions describe an impossible number of voxels',
        'dim',
        dims.join(' x '),
        'a product below 2^53',
        'nifti.dim',
      );
  }
  const nbytes = nvox * datatype.bytes;

  // vox_offset: float32 in NIfTI-1 (nifti-reader-js's sync reader is right there), int64 in NIfTI-2
  let voxOffset = version === 1 ? dv.getFloat32(108, le) : bigToNumber(dv.getBigInt64(168, le));
  if (!Number.isFinite(voxOffset) || voxOffset < 0 || !Number.isInteger(voxOffset) || voxOffset > MAX_SAFE)
    throw err(
      'bad data offset',
      'vox_offset',
      String(voxOffset),
      'a non-negative integer byte offset',
      'nifti.vox_offset',
    );
  // nibabel and niftilib both read a too-small single-file offset as the end of the header
  const minSingle = version === 1 ? 352 : 544;
  if (single && voxOffset < minSingle) voxOffset = minSingle;

  // pixdim with nibabel's load-time fixes
  const pixdim = [...h.pixDims].map(Number);
  if (!(pixdim[0] === 1 || pixdim[0] === -1)) pixdim[0] = 1;
  for (let i = 1; i <= 3; i++) {
    if (!Number.isFinite(pixdim[i]))
      throw err(
        'voxel size is not a number',
        `pixdim[${i}]`,
        String(pixdim[i]),
        'a finite number',
        'nifti.pixdim',
      );
    if (pixdim[i] === 0) pixdim[i] = 1;
    pixdim[i] = Math.abs(pixdim[i]);
  }

  const rawSlope = h.scl_slope;
  const rawInter = h.scl_inter;
  let slope: number | undefined;
  let inter: number | undefined;
  if (rawSlope !== 0 && Number.isFinite(rawSlope)) {
    if (!Number.isFinite(rawInter))
      throw err(
        'scaling intercept is not finite',
        'scl_inter',
        String(rawInter),
        'a finite number when scl_slope is set',
        'nifti.scl',
      );
    slope = rawSlope;
    inter = rawInter;
  }

  const validCode = (c: number) => (Number.isInteger(c) && c >= 0 && c <= 5 ? c : 0);
  const srow: number[][] = [];
  for (let r = 0; r < 3; r++) {
    srow.push([]);
    for (let c = 0; c < 4; c++)
      srow[r].push(
        version === 1 ? dv.getFloat32(280 + (r * 4 + c) * 4, le) : dv.getFloat64(400 + (r * 4 + c) * 8, le),
      );
  }

  return {
    version,
    littleEndian: le,
    single,
    headerSize: size,
    dims,
    datatype,
    bitpix: h.numBitsPerVoxel,
    pixdim,
    voxOffset,
    slope,
    inter,
    rawSlope,
    rawInter,
    calMin: h.cal_min,
    calMax: h.cal_max,
    qformCode: validCode(h.qform_code),
    sformCode: validCode(h.sform_code),
    quatern: [h.quatern_b, h.quatern_c, h.quatern_d],
    qoffset: [h.qoffset_x, h.qoffset_y, h.qoffset_z],
    srow,
    xyztUnits: h.xyzt_units,
    intentCode: h.intent_code,
    // nifti-reader-js drops embedded NULs; keep them and strip trailing ones, as nibabel does
    intentName: fixedString(hdr, version === 1 ? 328 : 508, 16),
    description: fixedString(hdr, version === 1 ? 148 : 240, 80),
    nvox,
    nbytes,
  };
}

function fixedString(b: Uint8Array, at: number, len: number): string {
  let end = at + len;
  while (end > at && b[end - 1] === 0) end--;
  return String.fromCharCode(...b.subarray(at, end));
}

function bigToNumber(b: bigint): number {
  return b > BigInt(MAX_SAFE) || b < -BigInt(MAX_SAFE) ? Number.NaN : Number(b);
}

type M4 = number[][];

/** nibabel's get_qform: quaternion (w filled positive), pixdim zooms, qfac on the third column. */
export function qformAffine(h: NiftiHeader, file: string): M4 {
  const [b, c, d] = h.quatern;
  const w2 = 1 - (b * b + c * c + d * d);
  // nibabel tolerates float32 round-off below 1 (threshold 3 float32 eps)
  if (w2 < -3 * 1.1920928955078125e-7)
    throw new MriseqError('qform quaternion is not a unit quaternion', {
      file,
      field: 'quatern_b/c/d',
      found: `b²+c²+d² = ${1 - w2}`,
      expected: '<= 1',
      code: 'nifti.qform',
    });
  const w = w2 < 0 ? 0 : Math.sqrt(w2);
  const nq = w * w + b * b + c * c + d * d;
  let R: number[][];
  if (nq < 2.220446049250313e-16)
    R = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
  else {
    const s = 2 / nq;
    const X = b * s,
      Y = c * s,
      Z = d * s;
    const wX = w * X,
      wY = w * Y,
      wZ = w * Z;
    const xX = b * X,
      xY = b * Y,
      xZ = b * Z;
    const yY = c * Y,
      yZ = c * Z,
      zZ = d * Z;
    R = [
      [1 - (yY + zZ), xY - wZ, xZ + wY],
      [xY + wZ, 1 - (xX + zZ), yZ - wX],
      [xZ - wY, yZ + wX, 1 - (xX + yY)],
    ];
  }
  const vox = [h.pixdim[1], h.pixdim[2], h.pixdim[3] * h.pixdim[0]];
  const out: M4 = [0, 1, 2].map((r) => [R[r][0] * vox[0], R[r][1] * vox[1], R[r][2] * vox[2], h.qoffset[r]]);
  out.push([0, 0, 0, 1]);
  return out;
}

export function sformAffine(h: NiftiHeader, file: string): M4 {
  h.srow.forEach((row, r) =>
    row.forEach((v, c) => {
      if (!Number.isFinite(v))
        throw new MriseqError('sform is not finite', {
          file,
          field: `srow_${'xyz'[r]}[${c}]`,
          found: String(v),
          expected: 'a finite number when sform_code > 0',
          code: 'nifti.sform',
        });
    }),
  );
  return [...h.srow.map((r) => [...r]), [0, 0, 0, 1]];
}

/** nibabel's shape_zoom_affine: x flipped, origin at the centre of the grid. */
export function baseAffine(h: NiftiHeader): M4 {
  const shape = [1, 1, 1];
  const zooms = [1, 1, 1];
  for (let i = 0; i < Math.min(3, h.dims.length); i++) {
    shape[i] = h.dims[i];
    zooms[i] = h.pixdim[i + 1];
  }
  zooms[0] *= -1;
  const out: M4 = [0, 1, 2].map((r) => [0, 1, 2].map((c) => (r === c ? zooms[r] : 0)));
  out.forEach((row, r) => row.push((-(shape[r] - 1) / 2) * zooms[r]));
  out.push([0, 0, 0, 1]);
  return out;
}

/** nibabel's get_best_affine: sform if sform_code > 0, else qform if qform_code > 0, else base. */
export function bestAffine(h: NiftiHeader, file: string): M4 {
  if (h.sformCode > 0) return sformAffine(h, file);
  if (h.qformCode > 0) return qformAffine(h, file);
  return baseAffine(h);
}

/**
 * Walks the header extensions (when the extender byte after the header is set) as nibabel does,
 * from the end of the header + 4 to `end` (vox_offset of a single file, the end of a .hdr): each
 * esize (int32, the header's byte order, counting its own 8 bytes) must be at least 8 and keep the
 * extension inside that span; a zero, negative, too small or past-the-end esize is a corrupt
 * header (nibabel refuses these too). A size that is not a multiple of 16 is read, with a warning,
 * as nibabel does. Returns the number of extensions.
 */
export function checkExtensions(
  bytes: Uint8Array,
  h: Pick<NiftiHeader, 'headerSize' | 'littleEndian' | 'single'>,
  end: number,
  file: string,
  onWarning?: (message: string) => void,
): number {
  const flag = h.headerSize;
  if (bytes.length < flag + 4 || bytes[flag] === 0) return 0;
  const stop = Math.min(end, bytes.length);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let pos = flag + 4;
  let n = 0;
  // nibabel stops when fewer than 16 bytes are left
  while (stop - pos >= 16) {
    const esize = dv.getInt32(pos, h.littleEndian);
    const where = `extension ${n + 1} at byte ${pos}`;
    if (esize < 8 || pos + esize > stop)
      throw new MriseqError(
        esize < 8
          ? 'corrupt header extension: impossible size'
          : 'corrupt header extension: it runs past its end',
        {
          file,
          field: `${where}: esize`,
          found: String(esize),
          expected:
            esize < 8
              ? 'at least 8 (a multiple of 16 that counts its own 8 bytes)'
              : `at most ${stop - pos} (the extension must end before ${h.single ? 'the image data (vox_offset)' : 'the end of the header file'})`,
          code: 'nifti.extension',
        },
      );
    if (esize % 16)
      onWarning?.(
        `${file}: ${where}: esize ${esize} is not a multiple of 16 (read as given, as nibabel does)`,
      );
    pos += esize;
    n++;
  }
  return n;
}
