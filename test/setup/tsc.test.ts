/**
 * `npx tsc` in the repository runs the project's TypeScript, not the 5.0 fork tslab depends on.
 * npm links a bin name once, from the shallowest package first and then by path, so the fork
 * (node_modules/@tslab/typescript-for-tslab) used to own node_modules/.bin/tsc; package.json's
 * `@mriseq/typescript` alias (the same TypeScript, a path that sorts first) takes the links back
 * straight after `npm ci`, with no setup step rewriting them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = join(__dirname, '..', '..');
const pkg = (dir: string): { name: string; version: string } =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string };

test("npx tsc and npx tsserver are the project's TypeScript", () => {
  const want = pkg(join(root, 'node_modules', 'typescript')).version;
  const r = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['--version'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `Version ${want}`);
  for (const bin of ['tsc', 'tsserver']) {
    // the link's package: bin/<name> inside a package folder
    const owner = pkg(dirname(dirname(realpathSync(join(root, 'node_modules', '.bin', bin)))));
    assert.deepEqual(owner, { ...owner, name: 'typescript', version: want }, `node_modules/.bin/${bin}`);
  }
});

test("the alias that owns npx tsc asks for the same TypeScript as the project's typescript", () => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  assert.equal(
    manifest.devDependencies['@mriseq/typescript'],
    `npm:typescript@${manifest.devDependencies.typescript}`,
  );
  assert.equal(
    pkg(join(root, 'node_modules', '@mriseq', 'typescript')).version,
    pkg(join(root, 'node_modules', 'typescript')).version,
  );
  // tslab still has its fork (the kernel resolves it by package name from tslab's folder)
  const fork = require.resolve('@tslab/typescript-for-tslab/package.json', {
    paths: [dirname(require.resolve('tslab/package.json'))],
  });
  assert.equal(pkg(dirname(fork)).name, '@tslab/typescript-for-tslab');
});
