/**
 * Generator checkpoints as bytes, browser-safe: the weights manifest's format and its checks, and
 * a generator from a checkpoint folder's three files (config.json, weights.json, weights.bin).
 * The Node adapter (./node.ts) reads the files from disk; the browser build (src/browser.ts,
 * loadPretrained) fetches them from the teaching site. The caller hashes (node:crypto in Node,
 * @noble/hashes in the browser), so this module imports neither.
 */
import { MriseqError } from '../errors/index.js';
import { Seq2Seq, validateConfig, type NamedWeights, type Seq2SeqConfig } from '../model/index.js';

export const WEIGHTS_FORMAT = 'mriseq-weights-1';

/** weights.json: where each named tensor lies in weights.bin (float32 little-endian). */
export interface WeightsManifest {
  format: string;
  sha256: string;
  bytes: number;
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
}

/** Checks a parsed weights.json; `file` names it in errors. */
export function parseWeightsManifest(m: unknown, file: string): WeightsManifest {
  const w = m as Partial<WeightsManifest> | null;
  if (!w || typeof w !== 'object' || w.format !== WEIGHTS_FORMAT || !Array.isArray(w.tensors)) {
    throw new MriseqError('not a mriseq weights manifest', {
      file,
      field: 'format',
      found: String(w && typeof w === 'object' ? w.format : w),
      expected: WEIGHTS_FORMAT,
      code: 'checkpoint.corrupt',
    });
  }
  if (!Number.isInteger(w.bytes) || (w.bytes as number) < 0 || typeof w.sha256 !== 'string')
    throw new MriseqError('weights manifest lacks its size or checksum', {
      file,
      field: 'bytes, sha256',
      found: `${String(w.bytes)}, ${String(w.sha256)}`,
      expected: 'a byte count and a sha256 hex digest',
      code: 'checkpoint.corrupt',
    });
  const bytes = w.bytes as number;
  w.tensors.forEach((t, i) => {
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
      (t.offset + t.length) * 4 <= bytes;
    if (!ok)
      throw new MriseqError('weights manifest entry is malformed', {
        file,
        field: `tensors[${i}]`,
        found: JSON.stringify(t)?.slice(0, 120),
        expected:
          '{name, shape: non-negative integers, offset, length = product of shape} inside the weights file',
        code: 'checkpoint.corrupt',
      });
  });
  return w as WeightsManifest;
}

/**
 * The named tensors of weights.bin, after checking its size and sha256 against the manifest.
 * `sha256` hashes bytes to a hex digest; `file` names weights.bin in errors.
 */
export function unpackWeightsBytes(
  bytes: Uint8Array,
  manifest: WeightsManifest,
  sha256: (b: Uint8Array) => string,
  file: string,
): NamedWeights {
  if (bytes.length !== manifest.bytes) {
    throw new MriseqError('weights file has the wrong size (truncated or replaced?)', {
      file,
      found: `${bytes.length} bytes`,
      expected: `${manifest.bytes} bytes`,
      code: 'checkpoint.corrupt',
    });
  }
  const sha = sha256(bytes);
  if (sha !== manifest.sha256) {
    throw new MriseqError('weights file is corrupt (checksum differs)', {
      file,
      field: 'sha256',
      found: sha.slice(0, 16),
      expected: manifest.sha256.slice(0, 16),
      code: 'checkpoint.corrupt',
    });
  }
  // A copy: aligned for Float32Array whatever the offset of the caller's bytes.
  const all = new Float32Array(bytes.slice().buffer);
  const out: NamedWeights = {};
  for (const t of manifest.tensors)
    out[t.name] = { shape: t.shape, data: all.slice(t.offset, t.offset + t.length) };
  return out;
}

/** The generator config of a parsed config.json ({className, config}); `file` names it in errors. */
export function parseGeneratorConfig(configJson: unknown, file: string): Seq2SeqConfig {
  const cfg = configJson as { className?: string; config?: Seq2SeqConfig } | null;
  if (!cfg || typeof cfg !== 'object' || cfg.className !== Seq2Seq.className || !cfg.config) {
    throw new MriseqError('not a mriseq generator config', {
      file,
      field: 'className',
      found: String(cfg && typeof cfg === 'object' ? cfg.className : cfg),
      expected: Seq2Seq.className,
      code: 'checkpoint.corrupt',
    });
  }
  validateConfig(cfg.config, file);
  return cfg.config;
}

/** A generator of `config` holding `weights` (names and shapes must match); `file` names the weights. */
export function generatorFromCheckpoint(config: Seq2SeqConfig, weights: NamedWeights, file: string): Seq2Seq {
  const model = new Seq2Seq(config);
  try {
    model.setWeights(weights, file);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
