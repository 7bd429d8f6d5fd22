/**
 * Generator checkpoints from bytes (src/train/checkpoint.ts), the path the teaching site's
 * loadPretrained takes with fetched files: a folder saved by saveCheckpoint loads to the same
 * weights; the browser's hash (@noble/hashes) agrees with node:crypto; every damaged file is a
 * MriseqError naming it.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { createGenerator, type Seq2SeqConfig } from '../../src/model/index.js';
import {
  generatorFromCheckpoint,
  parseGeneratorConfig,
  parseWeightsManifest,
  unpackWeightsBytes,
} from '../../src/train/index.js';
import { saveCheckpoint } from '../../src/train/node.js';
import { MriseqError } from '../../src/errors/index.js';

setEngineAdapter(nodeEngineAdapter);
let nobleHex: (b: Uint8Array) => string;
before(async () => {
  await initEngine();
  const { sha256 } = await import('@noble/hashes/sha2.js');
  const { bytesToHex } = await import('@noble/hashes/utils.js');
  nobleHex = (b) => bytesToHex(sha256(b));
});

const tiny: Partial<Seq2SeqConfig> = {
  cEnc: [8, 16, 32],
  cLstm: 32,
  cDec: [16, 8, 1],
  nresEnc: 1,
  nresDec: 1,
};
const dir = mkdtempSync(join(tmpdir(), 'mriseq-ckpt-bytes-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const isCode = (code: string, file?: string) => (e: unknown) =>
  e instanceof MriseqError && e.code === code && (file === undefined || e.file === file);

test("the browser's sha256 (@noble/hashes) equals node:crypto's", () => {
  for (const n of [0, 1, 63, 64, 65, 100_000]) {
    const b = randomBytes(n);
    assert.equal(nobleHex(b), createHash('sha256').update(b).digest('hex'));
  }
});

test('a saved checkpoint loads from its bytes to the same weights', () => {
  const model = createGenerator('lite', { ...tiny, sequences: ['t1', 't2'], seed: 4 });
  saveCheckpoint(join(dir, 'ok'), model);
  const config = parseGeneratorConfig(
    JSON.parse(readFileSync(join(dir, 'ok/config.json'), 'utf8')),
    'config.json',
  );
  const manifest = parseWeightsManifest(
    JSON.parse(readFileSync(join(dir, 'ok/weights.json'), 'utf8')),
    'weights.json',
  );
  // An offset view, as a fetched buffer may be: the copy realigns it.
  const raw = readFileSync(join(dir, 'ok/weights.bin'));
  const shifted = new Uint8Array(raw.length + 1);
  shifted.set(raw, 1);
  const weights = unpackWeightsBytes(shifted.subarray(1), manifest, nobleHex, 'weights.bin');
  const loaded = generatorFromCheckpoint(config, weights, 'weights.bin');
  const a = model.getWeights();
  const b = loaded.getWeights();
  assert.deepEqual(Object.keys(b), Object.keys(a));
  for (const k of Object.keys(a)) {
    assert.deepEqual(b[k].shape, a[k].shape);
    assert.deepEqual(b[k].data, a[k].data, k);
  }
  model.dispose();
  loaded.dispose();
});

test('damaged files are MriseqErrors naming the file', () => {
  const config = JSON.parse(readFileSync(join(dir, 'ok/config.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(dir, 'ok/weights.json'), 'utf8'));
  const bin = new Uint8Array(readFileSync(join(dir, 'ok/weights.bin')));
  assert.throws(
    () => parseGeneratorConfig({ ...config, className: 'Other' }, 'c.json'),
    isCode('checkpoint.corrupt', 'c.json'),
  );
  assert.throws(() => parseGeneratorConfig(null, 'c.json'), isCode('checkpoint.corrupt', 'c.json'));
  assert.throws(
    () => parseWeightsManifest({ ...manifest, format: 'x' }, 'w.json'),
    isCode('checkpoint.corrupt', 'w.json'),
  );
  assert.throws(
    () => parseWeightsManifest({ ...manifest, sha256: undefined }, 'w.json'),
    isCode('checkpoint.corrupt', 'w.json'),
  );
  const badEntry = {
    ...manifest,
    tensors: [{ ...manifest.tensors[0], length: manifest.tensors[0].length + 1 }],
  };
  assert.throws(
    () => parseWeightsManifest(badEntry, 'w.json'),
    (e: unknown) => isCode('checkpoint.corrupt', 'w.json')(e) && /tensors\[0\]/.test((e as Error).message),
  );
  const m = parseWeightsManifest(manifest, 'w.json');
  assert.throws(
    () => unpackWeightsBytes(bin.subarray(0, bin.length - 4), m, nobleHex, 'w.bin'),
    isCode('checkpoint.corrupt', 'w.bin'),
  );
  const flipped = bin.slice();
  flipped[17] ^= 1;
  assert.throws(
    () => unpackWeightsBytes(flipped, m, nobleHex, 'w.bin'),
    (e: unknown) => isCode('checkpoint.corrupt', 'w.bin')(e) && /checksum/.test((e as Error).message),
  );
  // Weights of another config: names or shapes differ.
  const other = parseGeneratorConfig({ ...config, config: { ...config.config, nresDec: 2 } }, 'c.json');
  assert.throws(
    () => generatorFromCheckpoint(other, unpackWeightsBytes(bin, m, nobleHex, 'w.bin'), 'w.bin'),
    isCode('checkpoint.mismatch', 'w.bin'),
  );
});
