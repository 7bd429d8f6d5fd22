/**
 * The committed notebooks are well-formed: valid nbformat 4 (checked by the nbformat package
 * itself, in .venv), on the mriseq kernel, with one code cell tagged `parameters` whose
 * declarations papermill's TypeScript translator (python/mriseq_papermill.py) can read, prose
 * between the code, and no stored outputs, execution counts or errors. The small parameters that
 * `npm run notebooks` injects (notebooks/ci-params.json) must all be declared in that cell, so a
 * renamed parameter cannot silently stop taking effect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KERNEL_NAME } from '../../src/cli/commands/kernel.js';

const root = resolve(__dirname, '..', '..');
const dir = join(root, 'notebooks');
const venvPython = join(root, '.venv', 'bin', 'python');
const notebooks = readdirSync(dir)
  .filter((f) => f.endsWith('.ipynb'))
  .sort();

interface Cell {
  cell_type: string;
  source: string | string[];
  metadata: { tags?: string[] };
  outputs?: unknown[];
  execution_count?: number | null;
}
interface Notebook {
  nbformat: number;
  metadata: { kernelspec?: { name?: string; language?: string } };
  cells: Cell[];
}

const text = (c: Cell) => (Array.isArray(c.source) ? c.source.join('') : c.source);
const ciParams = JSON.parse(readFileSync(join(dir, 'ci-params.json'), 'utf8')) as Record<
  string,
  Record<string, unknown>
>;

test('the nine notebooks promised by issue 10 exist', () => {
  for (const prefix of ['01-', '02-', '03-', '04-', '05-', '06-', '07-', '08-', '09-'])
    assert.ok(
      notebooks.some((f) => f.startsWith(prefix)),
      `no notebook ${prefix}*.ipynb`,
    );
});

for (const file of notebooks) {
  test(`${file}: mriseq kernel, one parameters cell, prose, no outputs`, () => {
    const nb = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Notebook;
    assert.equal(nb.nbformat, 4);
    assert.equal(nb.metadata.kernelspec?.name, KERNEL_NAME);
    assert.equal(nb.metadata.kernelspec?.language, 'typescript');
    const params = nb.cells.filter((c) => c.metadata.tags?.includes('parameters'));
    assert.equal(params.length, 1, 'exactly one cell tagged parameters');
    assert.equal(params[0].cell_type, 'code');
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    const prose = nb.cells.filter((c) => c.cell_type === 'markdown');
    assert.ok(prose.length >= 3, 'the notebook explains itself in markdown cells');
    assert.equal(nb.cells[0].cell_type, 'markdown', 'opens with a markdown introduction');
    for (const [i, c] of code.entries()) {
      assert.deepEqual(c.outputs, [], `code cell ${i} has stored outputs`);
      assert.equal(c.execution_count ?? null, null, `code cell ${i} has an execution count`);
      assert.ok(!/\bpapermill\b/.test(JSON.stringify(c.metadata)), `code cell ${i} has papermill metadata`);
    }
    // Every parameter npm run notebooks injects is declared in the parameters cell.
    const declared = new Set(
      [...text(params[0]).matchAll(/^\s*const\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]),
    );
    const injected = Object.keys(ciParams[file.slice(0, 2)] ?? {});
    assert.ok(injected.length > 0, `notebooks/ci-params.json has no parameters for ${file}`);
    for (const name of injected)
      assert.ok(declared.has(name), `ci parameter ${name} is not declared in ${file}`);
  });
}

test(
  'nbformat validates every notebook and the papermill translator reads each parameters cell',
  { skip: existsSync(venvPython) ? false : `${venvPython} missing (npm run setup creates it)` },
  () => {
    const script = `
import json, sys, nbformat
sys.path.insert(0, ${JSON.stringify(join(root, 'python'))})
from mriseq_papermill import TypeScriptTranslator
out = {}
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    cell = [c for c in nb.cells if 'parameters' in c.metadata.get('tags', [])][0]
    out[path] = [p.name for p in TypeScriptTranslator.inspect(cell)]
print(json.dumps(out))
`;
    const files = notebooks.map((f) => join(dir, f));
    const r = spawnSync(venvPython, ['-c', script, ...files], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const names = JSON.parse(r.stdout) as Record<string, string[]>;
    for (const f of files) {
      const nb = JSON.parse(readFileSync(f, 'utf8')) as Notebook;
      const cell = nb.cells.find((c) => c.metadata.tags?.includes('parameters'))!;
      const declared = text(cell)
        .split('\n')
        .filter((l) => /^\s*const\s/.test(l)).length;
      assert.equal(names[f].length, declared, `translator read ${names[f].join(', ')} in ${f}`);
    }
  },
);
