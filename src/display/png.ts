/**
 * A browser-safe PNG encoder: 8-bit greyscale, RGB or RGBA, written with stored (uncompressed)
 * deflate blocks so it needs no zlib. The images it makes (slice previews, fallbacks) are small,
 * and a valid PNG without compression is readable everywhere.
 */
import { MriseqError } from '../errors/index.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * The CRC-32 of PNG and gzip (IEEE polynomial).
 *
 * @param bytes - The bytes.
 * @param start - First index (default 0).
 * @param end - End index, exclusive (default the length).
 * @returns The checksum as an unsigned 32-bit integer.
 * @example
 * ```ts
 * import { crc32 } from 'mriseq';
 * console.log(crc32(new TextEncoder().encode('123456789')).toString(16)); // 'cbf43926'
 * ```
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  // 5552 is the largest run that cannot overflow before the modulo (zlib's NMAX).
  for (let i = 0; i < bytes.length;) {
    const end = Math.min(i + 5552, bytes.length);
    for (; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream of stored deflate blocks (RFC 1950/1951). */
function zlibStored(raw: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const out = new Uint8Array(2 + raw.length + blocks * 5 + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let o = 2;
  for (let b = 0; b < blocks; b++) {
    const start = b * 65535;
    const len = Math.min(65535, raw.length - start);
    out[o++] = b === blocks - 1 ? 1 : 0;
    out[o++] = len & 0xff;
    out[o++] = len >>> 8;
    out[o++] = ~len & 0xff;
    out[o++] = (~len >>> 8) & 0xff;
    out.set(raw.subarray(start, start + len), o);
    o += len;
  }
  const ad = adler32(raw);
  out[o++] = ad >>> 24;
  out[o++] = (ad >>> 16) & 0xff;
  out[o++] = (ad >>> 8) & 0xff;
  out[o++] = ad & 0xff;
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/**
 * Uncompressed pixels for {@link encodePng} and {@link montage}.
 *
 * @example
 * ```ts
 * import { encodePng, type RawImage } from 'mriseq';
 * const red: RawImage = { width: 2, height: 1, channels: 3, pixels: Uint8Array.from([255, 0, 0, 255, 0, 0]) };
 * console.log(encodePng(red).length);
 * ```
 */
export interface RawImage {
  width: number;
  height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA) bytes per pixel, rows top to bottom. */
  channels: 1 | 3 | 4;
  pixels: Uint8Array;
}

/**
 * A small PNG encoder (stored zlib blocks, no compression library), browser-safe.
 *
 * @param img - Pixels, rows top to bottom, 1, 3 or 4 bytes per pixel.
 * @returns The PNG file's bytes.
 * @throws {@link MriseqError} when the buffer does not match width × height × channels.
 * @example
 * ```ts
 * import { encodePng } from 'mriseq';
 * import { writeFileSync } from 'node:fs';
 * const pixels = Uint8Array.from({ length: 16 * 16 }, (_, i) => i);
 * writeFileSync('/tmp/ramp.png', encodePng({ width: 16, height: 16, channels: 1, pixels }));
 * ```
 */
export function encodePng(img: RawImage): Uint8Array {
  const { width, height, channels, pixels } = img;
  if (!(width > 0 && height > 0) || pixels.length !== width * height * channels)
    throw new MriseqError('image buffer does not match its size', {
      field: 'pixels',
      found: `${pixels.length} bytes`,
      expected: `${width}x${height}x${channels} = ${width * height * channels} bytes`,
    });
  const stride = width * channels;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++)
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlibStored(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Standard base64 (RFC 4648 with padding), without Buffer or btoa.
 * @param bytes - Any bytes.
 * @returns Their base64 text.
 * @example
 * ```ts
 * import { base64 } from 'mriseq';
 * console.log(base64(new TextEncoder().encode('mri'))); // 'bXJp'
 * ```
 */
export function base64(bytes: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    s += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    s += B64[n >>> 18] + B64[(n >>> 12) & 63] + '==';
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    s += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63] + '=';
  }
  return s;
}
