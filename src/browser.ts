/**
 * The browser entry of mriseq: the same computing core as the Node package (phantom, volume,
 * lite generator, training loop, metrics, C_t/C_d ranking, M_d maps, plotly figure specs), with
 * the browser engine adapter (webgpu, then webgl, then cpu) instead of native TensorFlow.
 * scripts/build-lite.mjs bundles this file (tfjs included) into one script that sets the
 * global `mriseq`. Only the core modules' index.ts files are re-exported: their node.ts adapters
 * (files, processes) have no place in a browser. The API reference lists here only what this
 * entry adds to the Node one; its examples import it as 'mriseq/browser'.
 *
 * @module mriseq/browser
 */
import '@tensorflow/tfjs-backend-webgpu';
import { MriseqError } from './errors/index.js';
import { Cohort } from './cohort/index.js';
import { phantom } from './phantom/index.js';
import { Seq2Seq, decodeWeights, validateConfig, type Seq2SeqConfig } from './model/index.js';
import {
  tf,
  setEngineAdapter,
  initEngine,
  engineReport,
  type BackendCandidate,
  type LoadedBackend,
} from './engine/index.js';

/** The browser adapter: GPU backends first, then the pure-JavaScript cpu backend. */
const browserCandidates = (): BackendCandidate[] => [
  ...['webgpu', 'webgl'].map((name): BackendCandidate => ({
    name,
    async load(): Promise<LoadedBackend> {
      if (name === 'webgpu') {
        // Asking first keeps tfjs from printing its own failure (a console line a notebook shows).
        const nav = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } })
          .navigator;
        if (!nav?.gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
        if (!(await nav.gpu.requestAdapter().catch(() => null)))
          throw new Error('WebGPU is present but offers no GPU adapter');
      }
      if (!(await tf.setBackend(name))) throw new Error(`tfjs backend '${name}' did not start here`);
      const wrong = readbackProblem();
      if (wrong) {
        // Frees its device: a WebGPU backend left alive kept WebGL from starting after it.
        tf.removeBackend(name);
        throw new Error(`${name} gives wrong values back here (${wrong})`);
      }
      return { tfBackend: name, detail: gpuDetail(name) };
    },
  })),
  {
    name: 'cpu',
    async load(): Promise<LoadedBackend> {
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
      return { tfBackend: 'cpu', detail: 'pure JavaScript, no GPU: expect training to take ~10x longer' };
    },
  },
];

/**
 * A GPU backend must give back what it computed. mriseq reads results synchronously (dataSync)
 * in training, generation and metrics; WebGPU in a web worker on Chromium's software adapter
 * (SwiftShader) computes correctly but its synchronous reads return zeros, so training "ran" with
 * losses of exactly 0 (measured 2026-12, docs/teaching.md). A backend that fails this check is
 * skipped like one that does not start: never a silent wrong result.
 */
function readbackProblem(): string | undefined {
  const got = tf.tidy(() => {
    const ew = tf.add(tf.tensor1d([1, 2, 3, 4]), 1);
    const conv = tf.conv2d(
      tf.ones([1, 4, 4, 1]) as tf.Tensor4D,
      tf.ones([3, 3, 1, 1]) as tf.Tensor4D,
      1,
      'same',
    );
    return [Array.from(ew.dataSync()), Array.from(conv.dataSync())];
  });
  // Closed form: 1 + [1..4]; a 3x3 box sum of ones over a 4x4 image with zero padding.
  const want = [
    [2, 3, 4, 5],
    [4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4],
  ];
  for (let i = 0; i < want.length; i++)
    if (got[i].length !== want[i].length || got[i].some((v, j) => Math.abs(v - want[i][j]) > 1e-4))
      return `a synchronous read of [${want[i].join(', ')}] gave [${got[i].join(', ')}]`;
  return undefined;
}

/** Names the GPU behind WebGL when the browser says (e.g. 'SwiftShader' means no real GPU). */
function gpuDetail(name: string): string | undefined {
  if (name !== 'webgl') return undefined;
  try {
    const gl = (tf.backend() as unknown as { gpgpu?: { gl?: WebGLRenderingContext } }).gpgpu?.gl;
    if (!gl) return undefined;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const r = ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    return typeof r === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** The backend names a student may ask for: ?backend=cpu in the page URL or initEngine({backend}). */
function requestedFromUrl(): string | undefined {
  try {
    const loc = (globalThis as { location?: { search?: string } }).location;
    const v = new URLSearchParams(loc?.search ?? '').get('backend');
    return v ?? undefined;
  } catch {
    return undefined;
  }
}

setEngineAdapter({
  platform: 'browser',
  candidates: browserCandidates,
  requested: requestedFromUrl,
  requestedFrom: '?backend= in the page address',
});

/** Where loadPretrained finds the shipped generators when no baseUrl is given (the site's kernel sets it). */
const PRETRAINED_BASE_KEY = Symbol.for('mriseq.pretrained.baseUrl');

/** Fetches the files of a shipped generator's folder on the site; errors name the URL. */
function pretrainedFolder(nameOrRef: string, baseUrl: string | undefined) {
  const name = nameOrRef.replace(/^pretrained:/, '');
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name))
    throw new MriseqError('not a shipped generator name', {
      field: 'name',
      found: JSON.stringify(nameOrRef),
      expected: "a folder name such as 'phantom-lite'",
      code: 'pretrained.name',
    });
  const base = baseUrl ?? (globalThis as Record<symbol, unknown>)[PRETRAINED_BASE_KEY];
  if (typeof base !== 'string')
    throw new MriseqError('no location for the shipped generators', {
      field: 'baseUrl',
      expected: "loadPretrained(name, { baseUrl }) or the teaching site's kernel",
      code: 'pretrained.base',
    });
  const here = (globalThis as { location?: { href: string } }).location?.href;
  const dir = new URL(`${name}/`, here ? new URL(base, here) : base);
  const get = async (file: string): Promise<Response> => {
    const url = new URL(file, dir).href;
    let r: Response;
    try {
      r = await fetch(url);
    } catch (e) {
      throw new MriseqError('could not fetch the shipped generator', {
        file: url,
        cause: e,
        code: 'pretrained.fetch',
      });
    }
    if (!r.ok)
      throw new MriseqError(
        r.status === 404
          ? `no shipped generator '${name}' on this site`
          : 'could not fetch the shipped generator',
        {
          file: url,
          found: `HTTP ${r.status}`,
          expected: `models/${name}/ copied into the site by scripts/build-lite.mjs`,
          code: r.status === 404 ? 'pretrained.missing' : 'pretrained.fetch',
        },
      );
    return r;
  };
  const json = async (file: string): Promise<unknown> => {
    const r = await get(file);
    try {
      return await r.json();
    } catch (e) {
      throw new MriseqError('not valid JSON', { file: r.url, cause: e, code: 'checkpoint.corrupt' });
    }
  };
  return { name, dir, get, json };
}

/**
 * A shipped generator by name (e.g. 'phantom-lite' or 'pretrained:phantom-lite'), fetched from the
 * teaching site: the same checkpoint folder as models/<name>/ in the repository (config.json,
 * weights.json, weights.bin in float32 or float16), copied into the site by
 * scripts/build-lite.mjs. The weights' size and sha256 are checked (@noble/hashes: SubtleCrypto
 * is missing on plain-http hosts). `baseUrl`: the folder holding <name>/ (default: the one the
 * site's kernel announces). Node's loadPretrained reads the same folder from disk.
 */
export async function loadPretrained(
  nameOrRef = 'phantom-lite',
  options: { baseUrl?: string } = {},
): Promise<Seq2Seq> {
  const { dir, get, json } = pretrainedFolder(nameOrRef, options.baseUrl);
  const configUrl = new URL('config.json', dir).href;
  const cfg = (await json('config.json')) as { className?: string; config?: Seq2SeqConfig } | null;
  if (!cfg || cfg.className !== Seq2Seq.className || !cfg.config)
    throw new MriseqError('not a mriseq generator config', {
      file: configUrl,
      field: 'className',
      found: String(cfg?.className),
      expected: Seq2Seq.className,
      code: 'checkpoint.corrupt',
    });
  validateConfig(cfg.config, configUrl);
  const manifestUrl = new URL('weights.json', dir).href;
  const manifest = (await json('weights.json')) as { sha256?: unknown };
  const bin = await get('weights.bin');
  const bytes = new Uint8Array(await bin.arrayBuffer());
  // decodeWeights checks the manifest and the size before the checksum is worth computing.
  const weights = decodeWeights(bytes, manifest, { bin: bin.url, manifest: manifestUrl });
  // @noble/hashes is ESM-only: imported when needed (esbuild inlines it into the bundle).
  const { sha256 } = await import('@noble/hashes/sha2.js');
  const { bytesToHex } = await import('@noble/hashes/utils.js');
  const sha = bytesToHex(sha256(bytes));
  if (sha !== manifest.sha256)
    throw new MriseqError('weights file is corrupt (checksum differs)', {
      file: bin.url,
      field: 'sha256',
      found: sha.slice(0, 16),
      expected: String(manifest.sha256).slice(0, 16),
      code: 'checkpoint.corrupt',
    });
  const model = new Seq2Seq(cfg.config);
  try {
    model.setWeights(weights, bin.url);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * Subjects a shipped generator never saw, as a Cohort (split 'test' on every subject), as Node's
 * pretrainedCohort: `count` subjects of the phantom its model card (model.json) names, from `start`
 * (default: right after the subjects its card's acceptance measured).
 */
export async function pretrainedCohort(
  nameOrRef = 'phantom-lite',
  count = 12,
  start?: number,
  options: { baseUrl?: string } = {},
): Promise<Cohort> {
  const { get, json } = pretrainedFolder(nameOrRef, options.baseUrl);
  const url = (await get('model.json')).url;
  const card = (await json('model.json')) as {
    phantom?: { seed?: number; size?: [number, number, number]; train?: number; validation?: number };
    acceptance?: { heldOut?: { start?: number; count?: number } };
  };
  const p = card.phantom;
  const held = card.acceptance?.heldOut;
  if (
    !p ||
    !Number.isInteger(p.seed) ||
    !Array.isArray(p.size) ||
    !Number.isInteger(p.train) ||
    !Number.isInteger(p.validation) ||
    !Number.isInteger(held?.start) ||
    !Number.isInteger(held?.count)
  )
    throw new MriseqError('model card lacks its phantom or held-out subjects', {
      file: url,
      field: 'phantom, acceptance.heldOut',
      expected: 'the card mriseq pretrained pack writes',
      code: 'pretrained.corrupt',
    });
  const from = start ?? (held!.start as number) + (held!.count as number);
  if (from < (p.train as number) + (p.validation as number))
    throw new MriseqError('these subjects trained or validated the generator', {
      field: 'start',
      found: String(from),
      expected: `>= ${(p.train as number) + (p.validation as number)}`,
      code: 'pretrained.heldout',
    });
  const ph = phantom({ subjects: from + count, seed: p.seed, size: p.size });
  const ids = new Set(ph.ids().slice(from));
  return Cohort.fromPhantom(ph)
    .filter((e) => ids.has(e.id))
    .withSplit({ fractions: { train: 0, val: 0, test: 1 } });
}

export { tf, initEngine, engineReport };
export { engineBackends, type EngineReport, type EngineOptions } from './engine/index.js';
export { MriseqError } from './errors/index.js';
export * from './interrupt/index.js';
export * from './volume/index.js';
export * from './cohort/index.js';
export * from './display/index.js';
export * from './phantom/index.js';
export * from './model/index.js';
export * from './train/index.js';
export * from './analysis/index.js';
export * from './plot/index.js';
export * from './csv/index.js';
// Two modules export these names; the browser build keeps the Node package's meaning
// (volume's percentile over voxels, the phantom's Rng) and offers the others under clearer names.
export { percentile } from './volume/index.js';
export { percentile as bootstrapPercentile } from './analysis/index.js';
export { Rng } from './phantom/index.js';
export { Rng as ModelRng } from './model/index.js';
export { Mulberry32, mulberry32, normalFrom, permutation } from './random/index.js';
