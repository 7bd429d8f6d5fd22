/**
 * The phantom and the in-memory cohort (Cohort, manifests, splits, loader) must run in a browser:
 * none of their files may import Node built-ins; file access lives in src/cohort/node.ts only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinModules } from 'node:module';

const root = join(__dirname, '../../src');
const NODE = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

test('phantom and cohort core import no Node built-ins (only cohort/node.ts does)', () => {
  const files = [
    ...readdirSync(join(root, 'phantom')).map((f) => join('phantom', f)),
    ...readdirSync(join(root, 'cohort'))
      .filter((f) => f !== 'node.ts')
      .map((f) => join('cohort', f)),
  ].filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 10);
  for (const f of files) {
    const text = readFileSync(join(root, f), 'utf8');
    for (const m of text.matchAll(/(?:from|import|require\()\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1] as string;
      assert.ok(!NODE.has(spec), `${f} imports ${spec}`);
      assert.ok(
        !spec.endsWith('/node.js') && spec !== 'danfojs-node' && !spec.startsWith('@tensorflow/tfjs-node'),
        `${f} imports ${spec}`,
      );
    }
  }
});
