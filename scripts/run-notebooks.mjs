#!/usr/bin/env node
/**
 * `npm run notebooks`: executes every notebook in notebooks/ headless with SMALL parameters
 * (tiny phantom, a few dozen training steps) through papermill with mriseq's TypeScript parameter
 * translator (python/mriseq_papermill.py, run by .venv/bin/python), on the "mriseq (TypeScript)"
 * kernel, and writes the executed copies and an HTML export (nbconvert) into out/notebooks/.
 * Exits non-zero if any notebook fails, naming it.
 *
 *   node scripts/run-notebooks.mjs [name-filter...] [--out DIR] [--keep]
 *   node scripts/run-notebooks.mjs --figures [--out DIR]   (`npm run figures`)
 *   node scripts/run-notebooks.mjs --paper NAME... [--seed N] [--out DIR]
 *
 * --figures regenerates every figure of the notebooks' run folder (DIR/run) with
 * `mriseq figures` into DIR/figures (PNG + SVG + interactive HTML + index.html), first executing
 * notebooks 02-04 when that run folder has no ranking yet.
 *
 * --paper runs the named notebooks at their own defaults, the paper profile of the studies
 * (notebooks 05-07: up to about an hour each on 2 cores), keeping the run folder (so `npm run
 * figures` draws their results next), with a per-cell timeout of 4 h; only the folders (runDir)
 * come from ci-params.json; --seed N sets the notebooks' `seed` (each study's results are named
 * by seed, so several seeds' figures sit side by side).
 *
 * --keep reuses the run folders of a previous execution (default: start from empty run folders,
 * so a stale checkpoint of other parameters is never picked up). MRISEQ_NOTEBOOK_TIMEOUT sets the
 * per-cell timeout in seconds (default 900).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const seedIdx = args.indexOf('--seed');
const seedArg = seedIdx >= 0 ? Number(args[seedIdx + 1]) : undefined;
const out = resolve(outIdx >= 0 ? args[outIdx + 1] : join(root, 'out', 'notebooks'));
const figures = args.includes('--figures');
const paper = args.includes('--paper');
const keep = args.includes('--keep') || figures || paper;
const filters = args.filter(
  (a, i) => !a.startsWith('--') && (outIdx < 0 || i !== outIdx + 1) && (seedIdx < 0 || i !== seedIdx + 1),
);
const python = join(root, '.venv', 'bin', 'python');
const timeout = Number(process.env.MRISEQ_NOTEBOOK_TIMEOUT ?? (paper ? 4 * 3600 : 900));

function run(cmd, argv, opts = {}) {
  return spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
}

function fail(message) {
  console.error(`run-notebooks: ${message}`);
  process.exit(1);
}

if (!existsSync(python))
  fail(`${python} not found: run \`npm run setup\` first (it creates .venv with papermill)`);

// 1. mriseq must be built: the kernel resolves `import ... from 'mriseq'` to dist/.
function newestMtime(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}
const distIndex = join(root, 'dist', 'index.js');
if (!existsSync(distIndex) || newestMtime(join(root, 'src')) > statSync(distIndex).mtimeMs) {
  console.log('building dist/ (src is newer) ...');
  const b = run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  if (b.status !== 0) {
    if (!existsSync(distIndex)) fail('the build failed and there is no dist/index.js');
    console.warn('run-notebooks: the build reported errors; running the notebooks on what it emitted');
  }
}

// 2. The kernel, installed into .venv (papermill's Jupyter looks there).
const k = run(process.execPath, ['bin/mriseq.js', 'kernel', 'install']);
if (k.status !== 0) fail(`kernel install failed:\n${k.stdout}${k.stderr}`);

// 3. Small parameters, one set per notebook (file name prefix; notebooks/ci-params.json). Paths are absolute, so the
//    notebooks' own working directory (notebooks/) does not matter.
mkdirSync(out, { recursive: true });
const runDir = join(out, 'run');
const byodRun = join(out, 'run-byod');
const brats = join(out, 'brats');
if (!keep) for (const d of [runDir, byodRun, brats]) rmSync(d, { recursive: true, force: true });
const paths = { RUN: runDir, BRATS: brats, BYOD: byodRun };
const params = JSON.parse(readFileSync(join(root, 'notebooks', 'ci-params.json'), 'utf8'), (key, value) =>
  typeof value === 'string' && value in paths ? paths[value] : value,
);

// Notebook 09 runs on a phantom written in the BraTS layout by the CLI, as a user's folder would be.
const haveRun = existsSync(join(runDir, 'analysis', 'ranking.json'));
const wanted = figures ? (haveRun ? [] : ['02-', '03-', '04-']) : filters;
const notebooks = readdirSync(join(root, 'notebooks'))
  .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
  .sort()
  .filter((f) => wanted.length === 0 || wanted.some((p) => f.includes(p)))
  .filter(() => !(figures && haveRun));
if (notebooks.length === 0 && !figures) fail(`no notebook matches ${filters.join(', ')}`);
if (paper && filters.length === 0) fail('--paper runs hours: name the notebooks (e.g. 06)');
if (seedArg !== undefined && !(paper && Number.isInteger(seedArg)))
  fail('--seed takes an integer and goes with --paper');
if (notebooks.some((f) => f.startsWith('09')) && !existsSync(brats)) {
  const s = run(process.execPath, [
    'bin/mriseq.js',
    'simulate',
    '--out',
    brats,
    '--subjects',
    '10',
    '--size',
    '32,32,16',
    '--seed',
    '0',
  ]);
  if (s.status !== 0) fail(`mriseq simulate failed:\n${s.stdout}${s.stderr}`);
}

// 4. Execute, export, report.
const results = [];
for (const nb of notebooks) {
  const name = nb.replace(/\.ipynb$/, '');
  const ci = params[nb.slice(0, 2)] ?? {};
  // the paper profile is the notebook's own defaults; only the output folders are CI's
  const p = paper
    ? {
        ...Object.fromEntries(Object.entries(ci).filter(([, v]) => Object.values(paths).includes(v))),
        ...(seedArg === undefined ? {} : { seed: seedArg }),
      }
    : ci;
  const pfile = join(out, `${name}.params.yaml`);
  writeFileSync(pfile, JSON.stringify(p, null, 1) + '\n'); // JSON is valid YAML
  const executed = join(out, nb);
  const t0 = Date.now();
  process.stdout.write(`${name} ... `);
  const r = run(python, [
    join(root, 'python', 'mriseq_papermill.py'),
    join(root, 'notebooks', nb),
    executed,
    '-f',
    pfile,
    '-k',
    'mriseq',
    '--cwd',
    join(root, 'notebooks'),
    '--execution-timeout',
    String(timeout),
    '--no-progress-bar',
  ]);
  const seconds = (Date.now() - t0) / 1000;
  let ok = r.status === 0;
  let why = '';
  if (!ok) {
    const text = `${r.stdout}${r.stderr}`;
    const at = text.lastIndexOf('Exception encountered');
    why = (at >= 0 ? text.slice(at) : text.slice(-3000)).trim();
  }
  if (existsSync(executed)) {
    const h = run(python, ['-m', 'nbconvert', '--to', 'html', '--log-level', 'WARN', executed]);
    if (h.status !== 0) {
      ok = false;
      why ||= `HTML export failed:\n${h.stderr.slice(-2000)}`;
    }
  }
  results.push({ name, ok, seconds });
  console.log(`${ok ? 'ok' : 'FAILED'} (${seconds.toFixed(0)} s)`);
  if (!ok)
    console.error(
      why
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n'),
    );
}
const failed = results.filter((r) => !r.ok);
console.log(`\nexecuted notebooks and HTML: ${out}`);
for (const r of results) console.log(`  ${r.ok ? 'ok    ' : 'FAILED'} ${r.name}  ${r.seconds.toFixed(0)} s`);
if (failed.length) fail(`${failed.length} notebook(s) failed: ${failed.map((r) => r.name).join(', ')}`);
if (figures) {
  const f = run(
    process.execPath,
    ['bin/mriseq.js', 'figures', '--run', runDir, '--out', join(out, 'figures')],
    {
      stdio: 'inherit',
    },
  );
  if (f.status !== 0) fail('mriseq figures failed');
}
