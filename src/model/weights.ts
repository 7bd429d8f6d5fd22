/**
 * The generator's weights file format ('mriseq-weights-1'), browser-safe: one little-endian
 * binary blob holding every tensor in parameter order, and a JSON manifest (names, shapes, element
 * offsets and lengths, byte count, the blob's sha256, and the element type). float32 by default;
 * float16 (IEEE 754 binary16, round to nearest even) halves a shipped model's size. Decoding always
 * gives float32. The sha256 itself is computed by the caller (node:crypto in Node, SubtleCrypto in
 * a browser), so this module stays free of platform imports.
 */
import { MriseqError } from '../errors/index.js';
import type { NamedWeights } from './model.js';
import { dict } from '../keys/index.js';

/**
 * The `format` of a mriseq weights manifest (weights.json beside weights.bin).
 *
 * @example
 * ```ts
 * import { WEIGHTS_FORMAT } from 'mriseq/browser';
 * console.log(WEIGHTS_FORMAT); // 'mriseq-weights-1'
 * ```
 */
export const WEIGHTS_FORMAT = 'mriseq-weights-1';

/**
 * Element type of a weights blob.
 *
 * @example
 * ```ts
 * import { type WeightsDtype } from 'mriseq/browser';
 * const dtype: WeightsDtype = 'float16'; // half the size; the shipped generator uses it
 * console.log(dtype);
 * ```
 */
export type WeightsDtype = 'float32' | 'float16';

/**
 * What weights.json says about weights.bin.
 *
 * @example
 * ```ts
 * import { encodeWeights, type WeightsManifest } from 'mriseq/browser';
 * const { manifest } = encodeWeights({ a: { shape: [1], data: new Float32Array(1) } }, ['a']);
 * const full: WeightsManifest = { ...manifest, sha256: 'hex of the bin file' };
 * console.log(full.format, full.tensors);
 * ```
 */
export interface WeightsManifest {
  format: string;
  /** sha256 of the binary file, hex. */
  sha256: string;
  /** Size of the binary file in bytes. */
  bytes: number;
  /** Element type of the binary file (absent: float32, as files written before float16 existed). */
  dtype?: WeightsDtype;
  /** Offsets and lengths count elements, not bytes. */
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * float32 -> binary16 bits, rounding to nearest even (as numpy's astype(float16)).
 * @param value - A number.
 * @returns Its IEEE binary16 bit pattern (0 to 65535).
 * @example
 * ```ts
 * import { fromFloat16Bits, toFloat16Bits } from 'mriseq/browser';
 * console.log(toFloat16Bits(1).toString(16), fromFloat16Bits(toFloat16Bits(0.1))); // '3c00' 0.0999755859375
 * ```
 */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // Inf, NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000; // subnormal: restore the hidden bit, shift into place
    const shift = 14 - e;
    let h = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent: correct
  return sign | h;
}

/**
 * binary16 bits -> number.
 * @param h - A binary16 bit pattern.
 * @returns Its value.
 * @example
 * ```ts
 * import { fromFloat16Bits } from 'mriseq/browser';
 * console.log(fromFloat16Bits(0x3c00), fromFloat16Bits(0x7c00)); // 1 Infinity
 * ```
 */
export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Packs named weights in `order` into one blob; the manifest's sha256 is left for the caller.
 * @param w - Named weights.
 * @param order - The names, in the order to store them.
 * @param dtype - 'float32' (default) or 'float16' on disk.
 * @returns The binary blob and its manifest (without the sha256, which the caller adds).
 * @example
 * ```ts
 * import { decodeWeights, encodeWeights } from 'mriseq/browser';
 * const w = { a: { shape: [2], data: Float32Array.from([1.5, -2]) } };
 * const { bytes, manifest } = encodeWeights(w, ['a'], 'float16');
 * console.log(bytes.length, decodeWeights(bytes, { ...manifest, sha256: '' }).a?.data); // 4 [1.5, -2]
 * ```
 */
export function encodeWeights(
  w: NamedWeights,
  order: readonly string[],
  dtype: WeightsDtype = 'float32',
): { bytes: Uint8Array; manifest: Omit<WeightsManifest, 'sha256'> } {
  let total = 0;
  for (const k of order) total += w[k].data.length;
  const tensors: WeightsManifest['tensors'] = [];
  const bytes = new Uint8Array(total * (dtype === 'float16' ? 2 : 4));
  const view = new DataView(bytes.buffer);
  let off = 0;
  for (const k of order) {
    const d = w[k].data;
    if (dtype === 'float16')
      for (let i = 0; i < d.length; i++) view.setUint16(2 * (off + i), toFloat16Bits(d[i]), true);
    else for (let i = 0; i < d.length; i++) view.setFloat32(4 * (off + i), d[i], true);
    tensors.push({ name: k, shape: [...w[k].shape], offset: off, length: d.length });
    off += d.length;
  }
  return {
    bytes,
    manifest: {
      format: WEIGHTS_FORMAT,
      bytes: bytes.length,
      ...(dtype === 'float16' ? { dtype } : {}),
      tensors,
    },
  };
}

/**
 * Checks a manifest (format, dtype, every entry inside the blob) and decodes the blob into float32
 * tensors. `file` names the files in errors. The sha256 is checked by the caller.
 * @param bytes - The binary blob.
 * @param manifest - Its parsed manifest (checked).
 * @param files - File names for errors.
 * @returns The named weights (float32).
 * @throws {@link MriseqError} when the manifest is not a mriseq weights manifest, has an unknown dtype, or an entry leaves the blob.
 * @example
 * ```ts
 * import { decodeWeights } from 'mriseq/browser';
 * try {
 *   decodeWeights(new Uint8Array(4), { format: 'other' }, { manifest: 'weights.json' });
 * } catch (e) {
 *   console.log((e as Error).message);
 * }
 * ```
 */
export function decodeWeights(
  bytes: Uint8Array,
  manifest: unknown,
  files: { bin?: string; manifest?: string } = {},
): NamedWeights {
  const m = manifest as Partial<WeightsManifest> | null;
  if (!m || typeof m !== 'object' || m.format !== WEIGHTS_FORMAT || !Array.isArray(m.tensors))
    throw new MriseqError('not a mriseq weights manifest', {
      file: files.manifest,
      field: 'format',
      found: String(m?.format),
      expected: WEIGHTS_FORMAT,
      code: 'checkpoint.corrupt',
    });
  const dtype = m.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16')
    throw new MriseqError('unknown weights element type', {
      file: files.manifest,
      field: 'dtype',
      found: String(m.dtype),
      expected: 'float32 or float16',
      code: 'checkpoint.corrupt',
    });
  const size = dtype === 'float16' ? 2 : 4;
  const bytesDeclared = Number(m.bytes);
  m.tensors.forEach((t, i) => {
    const ok =
      t !== null &&
      typeof t === 'object' &&
      typeof t.name === 'string' &&
      Array.isArray(t.shape) &&
      t.shape.every((d) => Number.isInteger(d) && d >= 0) &&
      Number.isInteger(t.offset) &&
      Number.isInteger(t.length) &&
      t.offset >= 0 &&
      t.length === t.shape.reduce((a, b) => a * b, 1) &&
      (t.offset + t.length) * size <= bytesDeclared;
    if (!ok)
      throw new MriseqError('weights manifest entry is malformed', {
        file: files.manifest,
        field: `tensors[${i}]`,
        found: JSON.stringify(t)?.slice(0, 120),
        expected:
          '{name, shape: non-negative integers, offset, length = product of shape} inside the weights file',
        code: 'checkpoint.corrupt',
      });
  });
  if (bytes.length !== bytesDeclared)
    throw new MriseqError('weights file has the wrong size (truncated or replaced?)', {
      file: files.bin,
      found: `${bytes.length} bytes`,
      expected: `${bytesDeclared} bytes`,
      code: 'checkpoint.corrupt',
    });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // names come from the file: '__proto__' or 'constructor' must stay ordinary keys
  const out: NamedWeights = dict();
  for (const t of m.tensors) {
    const data = new Float32Array(t.length);
    if (size === 2)
      for (let i = 0; i < t.length; i++) data[i] = fromFloat16Bits(view.getUint16(2 * (t.offset + i), true));
    else for (let i = 0; i < t.length; i++) data[i] = view.getFloat32(4 * (t.offset + i), true);
    out[t.name] = { shape: t.shape, data };
  }
  return out;
}
