/**
 * The browser build's loadPretrained (src/browser.ts), run in Node against a local web server,
 * as the teaching site's kernel runs it against the site: a checkpoint folder written by
 * saveCheckpoint loads to the same weights; the browser's sha256 (@noble/hashes) agrees with
 * node:crypto; a missing model, a damaged weights file and a bad name are MriseqErrors naming
 * the URL. The engine is tfjs's cpu backend, asked for explicitly (the browser adapter in Node).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  createGenerator,
  initEngine,
  loadPretrained,
  MriseqError,
  phantom,
  pretrainedCohort,
} from '../../src/browser.js';
import { saveCheckpoint } from '../../src/train/node.js';
import { SMALL_GENERATOR } from '../helpers/generator.js';

const dir = mkdtempSync(join(tmpdir(), 'mriseq-browser-pretrained-'));
let server: Server;
let base = '';

before(async () => {
  await initEngine({ backend: 'cpu' });
  server = createServer((req, res) => {
    const p = normalize(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    if (!p.startsWith(dir) || !existsSync(p)) return void res.writeHead(404).end();
    res.writeHead(200).end(readFileSync(p));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the browser's sha256 (@noble/hashes) equals node:crypto's", async () => {
  const { sha256 } = await import('@noble/hashes/sha2.js');
  const { bytesToHex } = await import('@noble/hashes/utils.js');
  for (const n of [0, 1, 63, 64, 65, 100_000]) {
    const b = randomBytes(n);
    assert.equal(bytesToHex(sha256(b)), createHash('sha256').update(b).digest('hex'));
  }
});

test('a checkpoint folder on a web server loads to the same weights, by name or pretrained:name', async () => {
  const model = createGenerator('lite', { ...SMALL_GENERATOR, sequences: ['t1', 't2'], seed: 4 });
  saveCheckpoint(join(dir, 'tiny'), model);
  for (const ref of ['tiny', 'pretrained:tiny']) {
    const loaded = await loadPretrained(ref, { baseUrl: base });
    const a = model.getWeights();
    const b = loaded.getWeights();
    assert.deepEqual(Object.keys(b), Object.keys(a));
    for (const k of Object.keys(a)) assert.deepEqual(b[k].data, a[k].data, k);
    assert.deepEqual(loaded.config, model.config);
    loaded.dispose();
  }
  model.dispose();
});

test('missing, damaged or misnamed: MriseqErrors naming the URL', async () => {
  const is = (code: string, file?: RegExp) => (e: unknown) =>
    e instanceof MriseqError && e.code === code && (file === undefined || file.test(e.file ?? ''));
  await assert.rejects(
    loadPretrained('nothing-here', { baseUrl: base }),
    is('pretrained.missing', /nothing-here\/config\.json$/),
  );
  await assert.rejects(loadPretrained('../etc', { baseUrl: base }), is('pretrained.name'));
  await assert.rejects(loadPretrained('tiny'), is('pretrained.base'));
  cpSync(join(dir, 'tiny'), join(dir, 'flipped'), { recursive: true });
  const bin = readFileSync(join(dir, 'flipped/weights.bin'));
  bin[17] ^= 1;
  writeFileSync(join(dir, 'flipped/weights.bin'), bin);
  await assert.rejects(
    loadPretrained('flipped', { baseUrl: base }),
    (e: unknown) =>
      is('checkpoint.corrupt', /flipped\/weights\.bin$/)(e) && /checksum/.test((e as Error).message),
  );
  cpSync(join(dir, 'tiny'), join(dir, 'short'), { recursive: true });
  writeFileSync(join(dir, 'short/weights.bin'), bin.subarray(0, bin.length - 4));
  await assert.rejects(
    loadPretrained('short', { baseUrl: base }),
    is('checkpoint.corrupt', /short\/weights\.bin$/),
  );
  cpSync(join(dir, 'tiny'), join(dir, 'other'), { recursive: true });
  writeFileSync(join(dir, 'other/config.json'), JSON.stringify({ className: 'Other', config: {} }));
  await assert.rejects(
    loadPretrained('other', { baseUrl: base }),
    is('checkpoint.corrupt', /other\/config\.json$/),
  );
});

test("pretrainedCohort: the subjects after those the card's acceptance measured, all held out", async () => {
  const card = {
    phantom: { seed: 3, size: [16, 16, 8], train: 2, validation: 1 },
    acceptance: { heldOut: { start: 3, count: 2 } },
  };
  writeFileSync(join(dir, 'tiny/model.json'), JSON.stringify(card));
  const c = await pretrainedCohort('tiny', 2, undefined, { baseUrl: base });
  const ids = phantom({ subjects: 7, seed: 3, size: [16, 16, 8] })
    .ids()
    .slice(5, 7);
  assert.deepEqual(c.ids, ids);
  assert.deepEqual(c.recordedSplit('test').ids, ids);
  const v = await c.subject(ids[0]).loadAll();
  assert.deepEqual(v.t1.shape, [16, 16, 8]);
  await assert.rejects(
    pretrainedCohort('tiny', 2, 2, { baseUrl: base }),
    (e: unknown) => e instanceof MriseqError && e.code === 'pretrained.heldout',
  );
  writeFileSync(join(dir, 'tiny/model.json'), JSON.stringify({ phantom: card.phantom }));
  await assert.rejects(
    pretrainedCohort('tiny', 2, undefined, { baseUrl: base }),
    (e: unknown) =>
      e instanceof MriseqError && e.code === 'pretrained.corrupt' && /tiny\/model\.json$/.test(e.file ?? ''),
  );
});
