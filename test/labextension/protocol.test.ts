// The viewer's MIME payload has one declaration, src/display/viewer-protocol.ts, which the kernel
// side (src/display/viewer-mime.ts) and the JupyterLab extension (labextension/src) both compile.
// Drift shows up here: the extension compiled with its own tsconfig and TypeScript against that
// file (a renamed or retyped payload field the viewer reads fails the compile), and neither side
// declaring the MIME type or the payload shape again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT as root } from '../helpers/jupyterlab.js';
import { VOLUME_MIME, volumeMimePayload } from '../../src/display/index.js';
import * as protocol from '../../src/display/viewer-protocol.js';
import { createVolume } from '../../src/volume/index.js';

const ext = join(root, 'labextension');
const shared = join(root, 'src', 'display', 'viewer-protocol.ts');
const labTsc = join(ext, 'node_modules', 'typescript', 'bin', 'tsc');

test('the kernel side exports the protocol file’s MIME type and writes payloads of its version', () => {
  assert.equal(VOLUME_MIME, protocol.VOLUME_MIME);
  const p = volumeMimePayload(createVolume(new Float32Array(8).fill(1), [2, 2, 2]));
  assert.equal(p.version, 1);
  // the protocol file imports nothing: the extension's build must see no other file of src/
  assert.doesNotMatch(readFileSync(shared, 'utf8'), /^\s*(import|export\s+[^;]*\sfrom)\s/m);
});

test('labextension/src declares no payload shape or MIME string of its own and imports the protocol file', () => {
  const sources = readdirSync(join(ext, 'src')).filter((f) => f.endsWith('.ts'));
  assert.ok(sources.includes('index.ts'), 'labextension/src/index.ts is missing');
  const index = readFileSync(join(ext, 'src', 'index.ts'), 'utf8');
  assert.match(index, /from '\.\.\/\.\.\/src\/display\/viewer-protocol'/);
  for (const f of sources) {
    const text = readFileSync(join(ext, 'src', f), 'utf8');
    assert.ok(
      !["'", '"', '`'].some((q) => text.includes(q + protocol.VOLUME_MIME + q)),
      `${f} spells the MIME type again`,
    );
    assert.doesNotMatch(text, /interface\s+\w*Payload\b/, `${f} declares a payload interface again`);
    assert.doesNotMatch(text, /'uint8'\s*\|\s*'uint16'/, `${f} declares the voxel encodings again`);
  }
});

test(
  'the extension compiles against the one declaration (its own tsconfig and TypeScript)',
  {
    skip: existsSync(labTsc)
      ? false
      : 'labextension/node_modules is not installed (bash scripts/build-labextension.sh installs it)',
  },
  () => {
    const r = spawnSync(process.execPath, [labTsc, '-p', join(ext, 'tsconfig.json'), '--noEmit'], {
      cwd: ext,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  },
);
