/**
 * NIfTI loading speed: a gzipped volume is dominated by inflate, so readNifti's throughput is
 * compared with a plain streamed zlib inflate of the same file (the floor any reader pays).
 * Exported as `workloads` ({ name, run }) for bench/index.ts; runnable alone with
 * `node --import tsx bench/nifti.bench.ts`.
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { readNifti, writeNifti } from '../src/io/index.js';
import { createVolume } from '../src/volume/index.js';
import type { BenchWorkload } from './index.js';

export interface NiftiBenchResult {
  /** Uncompressed file size (MB, 1e6 bytes). */
  rawMB: number;
  gzMB: number;
  /** Median over repeats, MB of uncompressed data per second. */
  readNiftiMBps: number;
  zlibInflateMBps: number;
  /** readNifti time / plain inflate time (1 = no overhead beyond inflate). */
  overhead: number;
  summary: string;
}

async function inflateOnly(path: string): Promise<number> {
  let n = 0;
  await pipeline(
    createReadStream(path, { highWaterMark: 1 << 20 }),
    createGunzip({ chunkSize: 1 << 20 }),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        n += chunk.length;
        cb();
      },
    }),
  );
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Writes a smooth int16 volume of `shape` (brain-like compressibility), times both readers. */
export async function benchGzipLoad(shape = [192, 192, 128], repeats = 5): Promise<NiftiBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-bench-nifti-'));
  try {
    const [nx, ny, nz] = shape;
    const data = new Float32Array(nx * ny * nz);
    let s = 1;
    for (let z = 0; z < nz; z++)
      for (let y = 0; y < ny; y++)
        for (let x = 0; x < nx; x++) {
          s = (s * 16807) % 2147483647;
          const r = Math.hypot(x - nx / 2, y - ny / 2, (z - nz / 2) * 1.5) / (nx / 2);
          data[(z * ny + y) * nx + x] = r < 0.9 ? Math.round(800 + 400 * Math.cos(r * 9) + (s % 40)) : 0;
        }
    const path = join(dir, 'bench.nii.gz');
    await writeNifti(path, createVolume(data, shape, { datatype: 'int16', spacing: [1, 1, 1.2] }));
    const gzBytes = statSync(path).size;
    const tRead: number[] = [];
    const tZlib: number[] = [];
    // one untimed pass of each: module loading, the lazy nifti-reader-js import, file cache
    let rawBytes = await inflateOnly(path);
    await readNifti(path);
    for (let i = 0; i < repeats; i++) {
      let t0 = performance.now();
      rawBytes = await inflateOnly(path);
      tZlib.push((performance.now() - t0) / 1000);
      t0 = performance.now();
      const v = await readNifti(path);
      tRead.push((performance.now() - t0) / 1000);
      if (v.data.length !== data.length) throw new Error('bench: wrong voxel count');
    }
    const mb = rawBytes / 1e6;
    const readNiftiMBps = mb / median(tRead);
    const zlibInflateMBps = mb / median(tZlib);
    const overhead = median(tRead) / median(tZlib);
    return {
      rawMB: mb,
      gzMB: gzBytes / 1e6,
      readNiftiMBps,
      zlibInflateMBps,
      overhead,
      summary:
        `nifti gz load ${shape.join('x')} int16 (${mb.toFixed(1)} MB raw, ${(gzBytes / 1e6).toFixed(1)} MB gz): ` +
        `readNifti ${readNiftiMBps.toFixed(0)} MB/s vs zlib inflate ${zlibInflateMBps.toFixed(0)} MB/s ` +
        `(x${overhead.toFixed(2)} of inflate time)`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const workloads: BenchWorkload[] = [
  {
    name: 'nifti-gz-load',
    description:
      'readNifti on a gzipped int16 volume vs a plain streamed zlib inflate of the same file (MB/s)',
    run: async (ctx) => ({ ...(await benchGzipLoad(undefined, Math.max(5, Math.min(ctx.reps, 9)))) }),
  },
];

if (require.main === module) {
  benchGzipLoad().then((r) => console.log(r.summary));
}
