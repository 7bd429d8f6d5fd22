/**
 * The shipped generator models/phantom-lite: it loads (by name, and as `pretrained:phantom-lite`
 * wherever a run folder goes) with its checksum verified; it was trained on the phantom this code
 * makes (a change to the phantom's design or its training subjects fails here, printing the
 * commands that retrain it); and it passes the phantom acceptance on held-out subjects it never
 * saw (every check: M_d(T1Gd) lesion AUC >= 0.9, specificity, C_d T1Gd first and T1 last).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { generatorFunction, phantomAcceptance, formatAcceptance } from '../../src/analysis/index.js';
import { loadGenerator } from '../../src/train/node.js';
import {
  checkPretrainedPhantom,
  heldOutSubjects,
  loadPretrained,
  pretrainedDir,
  readModelCard,
} from '../../src/pretrained/node.js';
import { MriseqError } from '../../src/errors/index.js';

setEngineAdapter(nodeEngineAdapter);
before(async () => {
  await initEngine();
});

const card = readModelCard('phantom-lite');
const retrain = `retrain it with:\n  ${card.training.commands.join('\n  ')}`;

test('phantom-lite loads by name and as pretrained:phantom-lite, and its card describes its weights', () => {
  const dir = pretrainedDir('phantom-lite');
  const bin = readFileSync(join(dir, 'weights.bin'));
  assert.equal(createHash('sha256').update(bin).digest('hex'), card.sha256);
  assert.equal(bin.length, card.parameters * 2, 'float16: two bytes a parameter');
  const a = loadPretrained('phantom-lite');
  const b = loadGenerator('pretrained:phantom-lite');
  assert.equal(a.countParams(), card.parameters);
  assert.deepEqual(a.config.sequences, ['t1', 't1gd', 't2', 'flair']);
  const wa = a.getWeights();
  const wb = b.getWeights();
  for (const k of Object.keys(wa)) assert.deepEqual(wa[k].data, wb[k].data, k);
  a.dispose();
  b.dispose();
  assert.throws(() => loadGenerator('pretrained:no-such-model'), MriseqError);
  assert.equal(card.acceptance.passed, true);
});

test('phantom-lite was trained on the phantom this code makes (design and every training subject)', () => {
  const r = checkPretrainedPhantom('phantom-lite', { data: true });
  assert.ok(r.design.ok, `the phantom's design changed since phantom-lite was trained: ${retrain}`);
  assert.ok(r.data?.ok, `the phantom's training subjects changed since phantom-lite was trained: ${retrain}`);
});

test('phantom-lite passes the phantom acceptance on held-out subjects (every check)', async () => {
  const model = loadPretrained('phantom-lite');
  const { start, count } = card.acceptance.heldOut;
  // the card measured `count` subjects from `start`; here a few more, never seen in training
  const subjects = heldOutSubjects(card.phantom, 6, start + count);
  const report = await phantomAcceptance(subjects, generatorFunction(model), { resamples: 200 });
  model.dispose();
  const text = formatAcceptance(report);
  assert.ok(report.checks.aucAtLeast, `M_d(t1gd) lesion AUC below 0.9\n${text}`);
  assert.ok(report.checks.specific, `another target's M_d scores as high on T1Gd's mask\n${text}`);
  assert.ok(report.checks.uniqueFirst, `C_d does not rank t1gd first\n${text}`);
  assert.ok(report.checks.lastLast, `C_d does not rank t1 last\n${text}`);
  assert.equal(report.ranking.matrix.rows, 'cross');
});
