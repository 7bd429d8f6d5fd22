// The API reference's contract (issue 22): every public export of src/index.ts (and the names
// src/browser.ts adds) has a doc comment, a @param per parameter and an @example, and every example
// compiles against the public API.
// `npm run docs:api:check` checks that docs/api/ is what the sources build (a TypeDoc run, ~30 s,
// kept out of the test suite's budget).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiInventory, BROWSER_ENTRY, checkExamples, entryProgram, ENTRY } from '../../scripts/api-docs.js';

const program = entryProgram([ENTRY, BROWSER_ENTRY]);
const node = apiInventory(ENTRY, program);
// The browser build (src/browser.ts) re-exports the core modules whole: the names it adds beyond
// src/index.ts are public too (the teaching site's global `mriseq`).
const nodeNames = new Set(node.map((e) => e.name));
const browserOnly = apiInventory(BROWSER_ENTRY, program).filter((e) => !nodeNames.has(e.name));
const api = [...node, ...browserOnly];

/** What an export's documentation lacks, empty when complete. */
function lacks(e: (typeof api)[number]): string[] {
  return [
    !e.documented && 'a doc comment',
    e.examples.length === 0 && 'an @example with a ```ts block',
    e.undocumentedParams.length > 0 && `@param for ${e.undocumentedParams.join(', ')}`,
  ].filter((s): s is string => typeof s === 'string');
}

test('the public API is the checker-resolved export list of src/index.ts', () => {
  // A guard on the inventory itself: an empty or tiny list would make the checks below vacuous.
  assert.ok(node.length > 300, `only ${node.length} exports found`);
  assert.ok(
    browserOnly.some((e) => e.name === 'ModelRng'),
    'the browser-only exports are missing',
  );
  for (const name of ['MriseqError', 'phantom', 'Seq2Seq', 'rankSequences', 'classifierRocCurve', 'tf'])
    assert.ok(
      api.some((e) => e.name === name),
      `${name} is missing from the inventory`,
    );
});

test('every public export has a doc comment, an @example and a @param per parameter', () => {
  const missing = api.flatMap((e) => {
    const l = lacks(e);
    return l.length ? [`${e.name} (${e.where}) lacks ${l.join(', ')}`] : [];
  });
  assert.deepEqual(
    missing,
    [],
    `${missing.length} public exports are not fully documented:\n${missing.join('\n')}`,
  );
});

test('the inventory sees a missing doc comment, @example or @param, through a re-export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-apidocs-'));
  try {
    const fence = '`'.repeat(3);
    writeFileSync(
      join(dir, 'lib.ts'),
      [
        '/**',
        ' * Adds one.',
        ' * @param a - A number.',
        ' * @example',
        ` * ${fence}ts`,
        " * import { good } from 'mriseq';",
        ' * good(1);',
        ` * ${fence}`,
        ' */',
        'export function good(a: number): number { return a + 1; }',
        '/** Half documented. */',
        'export function half(a: number, b: number): number { return a + b; }',
        'export interface Bare { x: number }',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'entry.ts'), "export { good, half as renamed, type Bare } from './lib';\n");
    const found = apiInventory(join(dir, 'entry.ts')).map((e) => `${e.name}: ${lacks(e).join(', ')}`);
    assert.deepEqual(found, [
      'Bare: a doc comment, an @example with a ```ts block',
      'good: ',
      'renamed: an @example with a ```ts block, @param for a, b',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every @example compiles against the public API', () => {
  const problems = checkExamples(api, program);
  const lines = problems.map((p) => `${p.name}: ${p.message}`);
  assert.ok(
    api.reduce((n, e) => n + e.examples.length, 0) > 100,
    'too few examples found: is the extraction broken?',
  );
  assert.deepEqual(lines, [], `${problems.length} example problems:\n${lines.join('\n')}`);
});

test('the example check fails on a wrong example, naming the export and the compiler message', () => {
  const fake = (name: string, code: string) => ({
    name,
    kind: 'function',
    where: 'test',
    documented: true,
    examples: [code],
    undocumentedParams: [],
  });
  const problems = checkExamples(
    [
      fake('good', "import { percentile } from 'mriseq';\nconsole.log(percentile([1, 2], 50));\n"),
      fake('typo', "import { percentile } from 'mriseq';\npercentile([1, 2], '50');\n"),
      fake('elsewhere', "import { percentile } from '../src/volume/index.js';\nvoid percentile;\n"),
    ],
    program,
  );
  assert.deepEqual([...new Set(problems.map((p) => p.name))].sort(), ['elsewhere', 'typo']);
  assert.match(problems.find((p) => p.name === 'typo')!.message, /line 2: .*'string'.*'number'/);
});
