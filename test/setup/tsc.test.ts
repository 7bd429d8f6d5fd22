/**
 * `npx tsc` in the repository runs the project's TypeScript, not the 5.0 fork tslab depends on
 * (whose bin used to win npm's node_modules/.bin link; scripts/setup.sh points it back).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

test("npx tsc and npx tsserver are the project's TypeScript", () => {
  const want = (
    JSON.parse(readFileSync(join(root, 'node_modules', 'typescript', 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const r = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['--version'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `Version ${want}`);
  const link = spawnSync('readlink', ['-f', join(root, 'node_modules', '.bin', 'tsserver')], {
    encoding: 'utf8',
  });
  assert.equal(link.stdout.trim(), join(root, 'node_modules', 'typescript', 'bin', 'tsserver'));
});
