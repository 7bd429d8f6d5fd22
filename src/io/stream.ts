/**
 * Bounded reading of a (possibly gzipped) file: streamed through node:zlib, which checks every
 * member's CRC and length and continues across concatenated members; the gzip ISIZE trailer is
 * never used to size anything. Output is copied into buffers sized from the validated header, and
 * inflating past that size (plus a small slack for trailing bytes) stops with an error.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { kMaxLength } from 'node:buffer';
import { createGunzip, crc32, inflateRawSync } from 'node:zlib';
import { MriseqError } from '../errors/index.js';

/** Bytes beyond the described data that a gzip may still inflate to (then they are discarded). */
export const TRAILING_SLACK = 1 << 20;

export interface Layout {
  /** Bytes before the data (header, extensions, or the .img offset). */
  headBytes: number;
  dataBytes: number;
}

export interface ReadResult {
  head: Uint8Array;
  /** Starts at offset 0 of its own ArrayBuffer, so typed views are aligned. */
  data: Uint8Array;
}

export function isGzipBytes(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

export async function fileStartsWithGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const b = new Uint8Array(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && isGzipBytes(b);
  } finally {
    await fh.close();
  }
}

/** Thrown into a plain read once the header and data are in: the bytes after them are not read. */
class Complete extends Error {}

export interface ReadBoundedOptions {
  /**
   * The whole compressed file, for a second look when the gzip stream fails: bytes after the last
   * complete member that do not start another member (trailing garbage, which nibabel reads past)
   * are then ignored with a warning; any corrupt member is still an error.
   */
  compressed?: () => Promise<Uint8Array>;
  /** Where such warnings go. */
  onWarning?: (message: string) => void;
  /** Most bytes that second look may inflate to (the reader's memory budget). */
  maxOutput?: number;
}

/**
 * Reads the stream, asking `layoutFrom(prefix)` for the layout once enough bytes are in (it
 * returns undefined to ask for more, up to `maxPrefix` bytes). Throws MriseqError on a short
 * stream, a corrupt gzip or a gzip that inflates too far. Bytes after the data of a plain file
 * are not read (nibabel reads such files too).
 */
export async function readBounded(
  source: Readable,
  gz: boolean,
  file: string,
  layoutFrom: (prefix: Uint8Array, ended: boolean) => Promise<Layout | undefined> | Layout | undefined,
  options: ReadBoundedOptions = {},
): Promise<ReadResult> {
  try {
    return await readOnce(source, gz, file, layoutFrom);
  } catch (e) {
    if (!(gz && options.compressed && e instanceof MriseqError && e.code === 'nifti.gzip_corrupt')) throw e;
    // zlib takes any non-zero byte after a member for the start of another one: walk the members
    // ourselves (each checked: header, deflate stream, CRC-32, length) to tell trailing bytes from
    // a corrupt member
    const members = gunzipMembers(await options.compressed(), file, e, options.maxOutput ?? 2 ** 31);
    if (members.trailing > 0)
      options.onWarning?.(
        `${file}: ${members.trailing} bytes after the gzip stream are not gzip data; ignored (the image ends before them)`,
      );
    return readOnce(Readable.from(members.chunks, { objectMode: false }), false, file, layoutFrom);
  }
}

/** The inflated members of a gzip file, verified, and how many trailing non-gzip bytes follow them. */
function gunzipMembers(
  buf: Uint8Array,
  file: string,
  original: MriseqError,
  maxOutput: number,
): { chunks: Uint8Array[]; trailing: number } {
  const chunks: Uint8Array[] = [];
  let off = 0;
  let inflated = 0;
  const corrupt = (why: string) =>
    new MriseqError('corrupt gzip data', {
      file,
      field: 'gzip stream',
      found: `${why} at byte ${off} (${original.found ?? ''})`,
      expected: 'a valid gzip stream (CRC and length checked)',
      code: 'nifti.gzip_corrupt',
      cause: original,
    });
  while (off < buf.length) {
    // zero padding after the last member is common and fine (gzip and zlib skip it)
    let rest = off;
    while (rest < buf.length && buf[rest] === 0) rest++;
    if (rest === buf.length) break;
    if (buf[off] !== 0x1f || buf[off + 1] !== 0x8b) {
      if (chunks.length === 0) throw corrupt('no gzip header');
      return { chunks, trailing: buf.length - off };
    }
    if (buf[off + 2] !== 8) throw corrupt('unknown compression method');
    const flags = buf[off + 3] ?? 0;
    let p = off + 10;
    if (flags & 4) p += 2 + ((buf[p] ?? 0) | ((buf[p + 1] ?? 0) << 8));
    for (const bit of [8, 16]) {
      if (!(flags & bit)) continue;
      while (p < buf.length && buf[p] !== 0) p++;
      p++;
    }
    if (flags & 2) p += 2;
    if (p > buf.length) throw corrupt('truncated gzip header');
    let out: Buffer;
    let used: number;
    try {
      const r = inflateRawSync(buf.subarray(p), {
        info: true,
        maxOutputLength: Math.min(kMaxLength, Math.max(1, maxOutput - inflated)),
      }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      out = r.buffer;
      used = r.engine.bytesWritten;
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        throw new MriseqError('gzip inflates beyond the memory limit (possible gzip bomb)', {
          file,
          field: 'gzip stream',
          found: `more than ${maxOutput} bytes`,
          expected: 'an image within the memory limit',
          code: 'nifti.gzip_too_large',
        });
      throw corrupt((e as Error).message);
    }
    inflated += out.length;
    const t = p + used;
    if (t + 8 > buf.length) throw corrupt('truncated gzip trailer');
    const dv = new DataView(buf.buffer, buf.byteOffset + t, 8);
    if (dv.getUint32(0, true) !== crc32(out) >>> 0) throw corrupt('CRC-32 differs');
    if (dv.getUint32(4, true) !== out.length % 2 ** 32) throw corrupt('length differs');
    chunks.push(out);
    off = t + 8;
  }
  if (chunks.length === 0) throw corrupt('no gzip member');
  return { chunks, trailing: 0 };
}

async function readOnce(
  source: Readable,
  gz: boolean,
  file: string,
  layoutFrom: (prefix: Uint8Array, ended: boolean) => Promise<Layout | undefined> | Layout | undefined,
): Promise<ReadResult> {
  const prefixParts: Uint8Array[] = [];
  let prefixLen = 0;
  let layout: Layout | undefined;
  let head = new Uint8Array(0);
  let data = new Uint8Array(0);
  let pos = 0; // bytes placed so far (head then data)
  let extra = 0;

  const place = (chunk: Uint8Array) => {
    const total = head.length + data.length;
    let off = 0;
    while (off < chunk.length && pos < total) {
      if (pos < head.length) {
        const n = Math.min(head.length - pos, chunk.length - off);
        head.set(chunk.subarray(off, off + n), pos);
        pos += n;
        off += n;
      } else {
        const n = Math.min(total - pos, chunk.length - off);
        data.set(chunk.subarray(off, off + n), pos - head.length);
        pos += n;
        off += n;
      }
    }
    extra += chunk.length - off;
  };

  const tooBig = () =>
    new MriseqError('gzip inflates beyond the size the header describes (possible gzip bomb)', {
      file,
      field: 'gzip stream',
      found: `more than ${head.length + data.length + TRAILING_SLACK} bytes`,
      expected: `${head.length + data.length} bytes (header + data)`,
      code: 'nifti.gzip_too_large',
    });

  // a plain file is complete once header and data are in (a gzip is read on to its CRC check)
  const done = () =>
    !gz && layout && pos >= head.length + data.length ? new Complete('image read') : undefined;

  const take = async (chunk: Uint8Array) => {
    if (!layout) {
      prefixParts.push(chunk);
      prefixLen += chunk.length;
      const prefix = concat(prefixParts, prefixLen);
      layout = await layoutFrom(prefix, false);
      if (!layout) return;
      head = new Uint8Array(layout.headBytes);
      data = new Uint8Array(layout.dataBytes);
      prefixParts.length = 0;
      place(prefix);
    } else place(chunk);
    if (extra > TRAILING_SLACK) throw tooBig();
  };
  // a Writable sink keeps zlib's own flow control (measurably faster than for-await on the stream)
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Uint8Array, _enc, cb) {
      if (!layout) take(chunk).then(() => cb(done()), cb);
      else {
        try {
          place(chunk);
          cb(done() ?? (extra > TRAILING_SLACK ? tooBig() : undefined));
        } catch (e) {
          cb(e as Error);
        }
      }
    },
  });
  try {
    await (gz
      ? pipelineAsync(source, createGunzip({ chunkSize: 1 << 20 }), sink)
      : pipelineAsync(source, sink));
  } catch (e) {
    source.destroy();
    if (e instanceof Complete) return { head, data };
    if (e instanceof MriseqError) throw e;
    const code = (e as { code?: string }).code ?? '';
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')
      throw new MriseqError('cannot read file', {
        file,
        found: code,
        expected: 'a readable file',
        code: 'io.read',
        cause: e,
      });
    throw new MriseqError(gz ? 'corrupt gzip data' : 'read failed', {
      file,
      field: gz ? 'gzip stream' : 'file',
      found: e instanceof Error ? e.message : String(e),
      expected: gz ? 'a valid gzip stream (CRC and length checked)' : 'a readable file',
      code: gz ? 'nifti.gzip_corrupt' : 'io.read',
      cause: e,
    });
  }
  if (!layout) {
    const prefix = concat(prefixParts, prefixLen);
    layout = await layoutFrom(prefix, true);
    if (!layout)
      throw new MriseqError('file ends before the header is complete', {
        file,
        field: 'header',
        found: `${prefixLen} bytes`,
        expected: 'a complete NIfTI header',
        code: 'nifti.truncated',
      });
    head = new Uint8Array(layout.headBytes);
    data = new Uint8Array(layout.dataBytes);
    place(prefix);
  }
  if (pos < head.length + data.length)
    throw new MriseqError('file is truncated', {
      file,
      field: pos < head.length ? 'header/extensions' : 'image data',
      found: `${pos} bytes${gz ? ' after inflating' : ''}`,
      expected: `${head.length + data.length} bytes (vox_offset ${head.length} + data ${data.length})`,
      code: 'nifti.truncated',
    });
  return { head, data };
}

function concat(parts: Uint8Array[], len: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  parts.length = 0;
  parts.push(out);
  return out;
}

export function fileSource(path: string): Readable {
  return createReadStream(path, { highWaterMark: 1 << 20 });
}

export function bytesSource(bytes: Uint8Array): Readable {
  // one chunk per MiB so inflate output is consumed as it is produced
  const chunks: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += 1 << 20) chunks.push(bytes.subarray(o, o + (1 << 20)));
  return Readable.from(chunks, { objectMode: false });
}
