/**
 * Platform adapters are installed one way, by an entry point: the browser entry installs its
 * engine and no file reader, so Cohort.fromManifest is a clear 'cohort.node' error there even when
 * the Node adapter's file has been loaded (importing it installs nothing); the Node entry installs
 * both with useNode(). The viewer's MIME type needs no registration in either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cohort, createVolume, MriseqError, toMimeBundle, VOLUME_MIME } from '../../src/browser.js';
// loaded, not installed: the file has no import side effect
import { simulateToDisk } from '../../src/cohort/node.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-platform-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

test('the browser entry has no file reader: Cohort.fromManifest and toDataFrame are cohort.node errors', async () => {
  await simulateToDisk({ out: tmp, subjects: 2, size: [16, 16, 8] });
  const manifest = join(tmp, 'manifest.csv');
  await assert.rejects(
    async () => Cohort.fromManifest(manifest),
    (e: unknown) =>
      e instanceof MriseqError &&
      e.code === 'cohort.node' &&
      /needs Node/.test(e.message) &&
      /useNode\(\)/.test(e.message),
  );
  assert.throws(
    () => Cohort.fromPhantom({ subjects: 2, size: [16, 16, 8] }).toDataFrame(),
    (e: unknown) => e instanceof MriseqError && e.code === 'cohort.node',
  );
  // a bare Volume still gets the viewer's MIME type: nothing had to register it
  const v = createVolume(
    new Float32Array(8 * 8 * 4).map((_, i) => i),
    [8, 8, 4],
  );
  assert.ok(VOLUME_MIME in toMimeBundle(v).data);

  // the Node entry installs the Node adapters when imported (useNode()): the same call now reads the files
  const node = await import('../../src/index.js');
  const cohort = await Cohort.fromManifest(manifest);
  assert.deepEqual(cohort.ids, ['sim-00000', 'sim-00001']);
  assert.equal(typeof node.useNode, 'function');
});
