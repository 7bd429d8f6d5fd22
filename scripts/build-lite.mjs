// Builds the zero-install teaching site (npm run lite): a static JupyterLite site whose notebooks
// are TypeScript and run on mriseq's own kernel in a web worker of the student's browser.
//  1. bundles the browser build of mriseq's computing core (src/browser.ts, tfjs included) into
//     one script that sets the global `mriseq` (the kernel loads it on `import ... from 'mriseq'`);
//  2. bundles the kernel's web worker (litekernel/worker: TypeScript's transpiler, the cell
//     runner, completion) and the type declarations completion reads (types.json);
//  3. copies the shipped generators (models/<name>/: config.json, weights.json, weights.bin) for
//     loadPretrained(name);
//  4. builds the kernel extension (litekernel/, a prebuilt JupyterLite extension, against the
//     shared packages of the JupyterLite app in the lite venv) and puts 1-3 into its static folder;
//  5. turns the notebooks' sources (lite/notebooks/*.ts, "// %%" cells; "[shared]" cells copied
//     from the desktop notebooks in notebooks/) into .ipynb files for the `mriseq` kernel;
//  6. runs `jupyter lite build` from the lite venv (python/requirements-lite.txt) with our kernel,
//     plotly's renderer and the mriseq volume viewer as its only extensions.
// The result (default out/lite) is a folder of static files: no CDN is contacted at run time.
// Options: --out DIR, --venv DIR, --models DIR (default models/), --bundle-only (just the mriseq
// bundle, for quick checks), --pretrained-only (copy --models into an already built site).
import { build } from 'esbuild';
import ts from 'typescript';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const out = resolve(root, opt('--out', process.env.MRISEQ_LITE_OUT ?? 'out/lite'));
const venv = resolve(root, opt('--venv', process.env.MRISEQ_LITE_VENV ?? '.venv-lite'));
const models = resolve(root, opt('--models', 'models'));
const stage = resolve(root, 'out/lite-stage');
const contents = join(stage, 'contents');
const kstatic = join(stage, 'kernel-static');
const kernelDir = join(root, 'litekernel');
const EXTENSION = 'mriseq-lite-kernel';
const WORKER_FILE = 'mriseq-kernel-worker.js';

function fail(problem, hint) {
  console.error(`build-lite: ${problem}${hint ? `\n  ${hint}` : ''}`);
  process.exit(2);
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', ...opts });
  if (r.status !== 0) fail(`${basename(cmd)} ${argv.slice(0, 3).join(' ')} failed (exit ${r.status})`);
  return r;
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Total bytes under a folder. */
function sizeOf(p) {
  const s = statSync(p);
  if (!s.isDirectory()) return s.size;
  return readdirSync(p).reduce((n, f) => n + sizeOf(join(p, f)), 0);
}

/**
 * Copies every shipped generator under `from` (models/<name>/, a checkpoint folder, or a run
 * folder with best/) into `to`/<name>/: config.json, weights.json, weights.bin (and model.json). Returns the names.
 */
function copyPretrained(from, to) {
  if (!existsSync(from)) return [];
  const names = [];
  for (const name of readdirSync(from).sort()) {
    const candidates = [join(from, name), join(from, name, 'best')];
    const dir = candidates.find((d) =>
      ['config.json', 'weights.json', 'weights.bin'].every((f) => existsSync(join(d, f))),
    );
    if (!dir) continue;
    mkdirSync(join(to, name), { recursive: true });
    // model.json: a shipped model's card (how it was trained, its measured acceptance).
    for (const f of ['config.json', 'weights.json', 'weights.bin', 'model.json'])
      if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(to, name, f));
    names.push(name);
  }
  return names;
}

if (args.includes('--pretrained-only')) {
  const dest = join(out, 'extensions', EXTENSION, 'static', 'pretrained');
  if (!existsSync(dirname(dest))) fail(`no built site at ${out} (run npm run lite first)`);
  const names = copyPretrained(models, dest);
  console.log(`pretrained: ${names.join(', ') || 'none'} from ${models} into ${dest}`);
  process.exit(0);
}

rmSync(stage, { recursive: true, force: true });
mkdirSync(contents, { recursive: true });
mkdirSync(kstatic, { recursive: true });

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;

/**
 * One minified script for the browser (IIFE: importScripts in the worker runs it); fails when an
 * input matches `forbidden`. Returns its size.
 */
async function bundle(entry, file, { globalName, target, banner, forbidden, what }) {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    globalName,
    platform: 'browser',
    target,
    minify: true,
    legalComments: 'eof',
    metafile: true,
    outfile: join(kstatic, file),
    banner: { js: `/* mriseq ${version} ${banner} */` },
    logLevel: 'warning',
  });
  const bad = Object.keys(r.metafile.inputs).filter((f) => forbidden.test(f));
  if (bad.length) fail(`${what}: ${bad.join(', ')}`);
  const size = statSync(join(kstatic, file)).size;
  console.log(`${file}: ${mb(size)}`);
  return size;
}

// 1. The mriseq bundle (defines the global `mriseq`). A Node-only module reaching it means a core
// module broke its browser-safety promise.
await bundle(join(root, 'src/browser.ts'), 'mriseq.js', {
  globalName: 'mriseq',
  target: 'es2020',
  banner: 'browser build (core + @tensorflow/tfjs, MIT/Apache-2.0)',
  forbidden: /(^|\/)(node\.ts|tfjs-node)/,
  what: 'Node-only files reached the browser bundle',
});
if (args.includes('--bundle-only')) process.exit(0);

// 2. The kernel's worker (TypeScript's compiler included; mriseq itself stays in mriseq.js) and
// the declarations for completion.
await bundle(join(kernelDir, 'worker/main.ts'), WORKER_FILE, {
  target: 'es2022',
  banner: 'JupyterLite kernel worker (MIT; TypeScript: Apache-2.0)',
  forbidden: /(^|\/)node\.ts$|tfjs/,
  what: 'the kernel worker must not bundle',
});
writeFileSync(join(kstatic, 'types.json'), JSON.stringify(typeFiles()));
console.log(`types: types.json (${mb(statSync(join(kstatic, 'types.json')).size)})`);

// 3. Shipped generators.
const pretrained = copyPretrained(models, join(kstatic, 'pretrained'));
console.log(
  `pretrained: ${pretrained.join(', ') || `none (no checkpoint folder under ${relative(root, models) || '.'})`}`,
);

// 4. The kernel extension.
const jupyter = join(venv, 'bin/jupyter');
if (!existsSync(jupyter))
  fail(
    `no JupyterLite in ${venv}`,
    `create it: python3 -m venv .venv-lite && .venv-lite/bin/pip install -r python/requirements-lite.txt`,
  );
const extDir = buildKernelExtension();
cpSync(kstatic, join(extDir, 'static'), { recursive: true });

// 5. Notebooks from their "// %%" sources.
const srcDir = join(root, 'lite/notebooks');
const names = readdirSync(srcDir)
  .filter((f) => f.endsWith('.ts'))
  .sort();
for (const name of names) {
  const nb = toNotebook(readFileSync(join(srcDir, name), 'utf8'), name);
  writeFileSync(join(contents, basename(name, '.ts') + '.ipynb'), JSON.stringify(nb, null, 1) + '\n');
}
console.log(`notebooks: ${names.map((n) => basename(n, '.ts')).join(', ')}`);

// 6. The JupyterLite site: our extensions only (nothing else the venv happens to hold).
const extensions = [extDir, join(venv, 'share/jupyter/labextensions/jupyterlab-plotly')];
const viewer = join(root, 'labextension/dist/mriseq-jupyterlab');
if (existsSync(join(viewer, 'package.json'))) extensions.push(viewer);
else
  console.warn(
    `build-lite: no volume viewer (${viewer}; npm run setup builds it): volumes show as HTML slices`,
  );
for (const e of extensions) if (!existsSync(join(e, 'package.json'))) fail(`extension missing: ${e}`);
writeFileSync(
  join(stage, 'jupyter_lite_config.json'),
  JSON.stringify({ LiteBuildConfig: { ignore_sys_prefix: true, federated_extensions: extensions } }, null, 1),
);
const tmpOut = `${out}.tmp-${process.pid}`;
rmSync(tmpOut, { recursive: true, force: true });
copyFileSync(join(root, 'lite/jupyter-lite.json'), join(stage, 'jupyter-lite.json'));
run(
  jupyter,
  ['lite', 'build', '--contents', contents, '--output-dir', tmpOut, '--lite-dir', stage, '--no-sourcemaps'],
  { cwd: stage, env: { ...process.env, PATH: `${join(venv, 'bin')}:${process.env.PATH}` } },
);
// Every notebook must be listed, or the site would open with an empty file browser.
const listing = join(tmpOut, 'api/contents/all.json');
if (!existsSync(listing))
  fail(`the site has no contents listing (${listing}); is jupyter_server installed in ${venv}?`);
const listed = JSON.parse(readFileSync(listing, 'utf8')).content.map((c) => c.name);
for (const n of names)
  if (!listed.includes(basename(n, '.ts') + '.ipynb')) fail(`notebook ${n} missing from the site listing`);
for (const e of [EXTENSION, 'jupyterlab-plotly'])
  if (!existsSync(join(tmpOut, 'extensions', e, 'package.json')))
    fail(`extension ${e} missing from the site`);
if (!existsSync(join(tmpOut, 'extensions', EXTENSION, 'static', WORKER_FILE)))
  fail('the kernel worker is missing from the site');
// Swap in atomically so a half-built site never replaces a working one.
rmSync(out, { recursive: true, force: true });
renameSync(tmpOut, out);
console.log(`site: ${out} (${mb(sizeOf(out))}; serve it as static files; open lab/index.html)`);

/**
 * Builds litekernel/ as a prebuilt extension (npm ci on first use, tsc, @jupyterlab/builder
 * against the JupyterLite app's own package.json, whose shared packages the extension must use).
 * Skipped when nothing it is built from changed. Returns the extension folder.
 */
function buildKernelExtension() {
  const ext = join(kernelDir, 'dist', EXTENSION);
  const py = join(venv, 'bin/python');
  const tgz = spawnSync(
    py,
    [
      '-c',
      "import jupyterlite_core, pathlib; print(next(pathlib.Path(jupyterlite_core.__file__).parent.glob('jupyterlite-app-*.tgz')))",
    ],
    { encoding: 'utf8' },
  ).stdout?.trim();
  if (!tgz || !existsSync(tgz)) fail(`no JupyterLite app archive in ${venv} (jupyterlite-core installed?)`);
  const core = join(stage, 'lite-app');
  mkdirSync(core, { recursive: true });
  run('tar', ['-xzf', tgz, '-C', core, 'package/lab/package.json']);
  const corePath = join(core, 'package/lab');
  const inputs = [
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    ...readdirSync(join(kernelDir, 'src')).map((f) => `src/${f}`),
    'worker/protocol.ts',
  ];
  const h = createHash('sha256');
  for (const f of inputs) h.update(f).update(readFileSync(join(kernelDir, f)));
  h.update(readFileSync(join(corePath, 'package.json')));
  const sum = h.digest('hex');
  const stamp = join(kernelDir, 'dist', '.build-stamp');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === sum && existsSync(join(ext, 'package.json'))) {
    console.log(`kernel extension: ${EXTENSION} is up to date`);
    return ext;
  }
  const nm = join(kernelDir, 'node_modules');
  if (!existsSync(nm) || statSync(join(kernelDir, 'package-lock.json')).mtimeMs > statSync(nm).mtimeMs)
    run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: kernelDir });
  rmSync(join(kernelDir, 'lib'), { recursive: true, force: true });
  rmSync(join(kernelDir, 'dist'), { recursive: true, force: true });
  run(process.execPath, [join(nm, 'typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: kernelDir });
  run(
    process.execPath,
    [join(nm, '@jupyterlab/builder/lib/build-labextension.js'), '--core-path', corePath, '.'],
    {
      cwd: kernelDir,
    },
  );
  if (!existsSync(join(ext, 'package.json'))) fail(`no build output in ${ext}`);
  writeFileSync(stamp, sum);
  console.log(`kernel extension: built ${EXTENSION}`);
  return ext;
}

/**
 * What completion reads: TypeScript's ES2022 library and mriseq's browser build declarations
 * (dist/*.d.ts, rebuilt with tsc when src/ is newer), as virtual files.
 */
function typeFiles() {
  const files = {};
  const tsLib = join(root, 'node_modules/typescript/lib');
  const addLib = (name) => {
    const key = `/lib/lib.${name}.d.ts`;
    if (key in files) return;
    const text = readFileSync(join(tsLib, `lib.${name}.d.ts`), 'utf8');
    files[key] = text;
    for (const m of text.matchAll(/\/\/\/\s*<reference lib="([^"]+)"/g)) addLib(m[1]);
  };
  addLib('es2022');
  const dist = join(root, 'dist');
  const newest = (dir) =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (t, e) =>
        Math.max(t, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs),
      0,
    );
  if (
    !existsSync(join(dist, 'browser.d.ts')) ||
    newest(join(root, 'src')) > statSync(join(dist, 'browser.d.ts')).mtimeMs
  ) {
    console.log('types: building dist/ (src is newer)');
    run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: root,
    });
  }
  const walk = (file) => {
    const key = `/node_modules/mriseq/${relative(dist, file)}`;
    if (key in files) return;
    const text = readFileSync(file, 'utf8');
    files[key] = text;
    for (const m of text.matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const dep = resolve(dirname(file), m[1].replace(/\.js$/, '.d.ts'));
      if (existsSync(dep)) walk(dep);
    }
  };
  walk(join(dist, 'browser.d.ts'));
  files['/node_modules/mriseq/package.json'] = JSON.stringify({ name: 'mriseq', types: 'browser.d.ts' });
  // The kernel's own 'teach' module (exercise checks): its exports carry their types.
  files['/node_modules/teach/index.d.ts'] = ts.transpileDeclaration(
    readFileSync(join(kernelDir, 'worker/teach.ts'), 'utf8'),
    { fileName: 'teach.ts' },
  ).outputText;
  return files;
}

/**
 * "// %% [markdown]" starts a markdown cell (its lines' leading "// " removed), "// %%" a code
 * cell, "// %% [parameters]" the code cell tagged `parameters`, and
 * "// %% [shared] notebooks/NAME.ipynb: PREFIX" the code cell of that desktop notebook whose
 * source starts with PREFIX, copied verbatim (nothing may follow the marker in the source); a
 * "[shared] lite/notebooks/NAME.ts: PREFIX" cell comes from another teaching notebook.
 */
function toNotebook(text, file) {
  const cells = parseCells(text, file);
  const source = (lines) => {
    while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
    while (lines.length && !lines[0].trim()) lines.shift();
    return lines;
  };
  const split = (lines) => lines.map((l, i) => (i < lines.length - 1 ? l + '\n' : l));
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'mriseq', display_name: 'mriseq (TypeScript)', language: 'typescript' },
      language_info: { name: 'typescript', file_extension: '.ts', mimetype: 'text/typescript' },
      mriseq: { source: `lite/notebooks/${file}` },
    },
    cells: cells
      .map((c) => {
        if (c.kind === 'shared') {
          if (source([...c.lines]).length)
            fail(`${file}: a [shared] cell takes its code from ${c.ref}; remove the lines after its marker`);
          return { ...c, lines: sharedCell(c.ref, file) };
        }
        return c;
      })
      .filter((c) => source([...c.lines]).length)
      .map((c, i) => {
        const lines = split(source(c.lines));
        if (c.kind === 'markdown') return { cell_type: 'markdown', id: `c${i}`, metadata: {}, source: lines };
        const metadata =
          c.kind === 'parameters'
            ? { tags: ['parameters'] }
            : c.kind === 'shared'
              ? { mriseq: { shared: c.ref.split(':')[0] } }
              : {};
        return {
          cell_type: 'code',
          id: `c${i}`,
          metadata,
          execution_count: null,
          outputs: [],
          source: lines,
        };
      }),
  };
}

/** The "// %%" cells of a notebook source: { kind, lines, ref }. */
function parseCells(text, file) {
  const cells = [];
  let cur;
  for (const line of text.split('\n')) {
    const m = /^\/\/ %%(?: \[(markdown|parameters|shared)\](.*))?\s*$/.exec(line);
    if (m) {
      cur = { kind: m[1] ?? 'code', lines: [], ref: m[2]?.trim() };
      cells.push(cur);
    } else if (cur) cur.lines.push(cur.kind === 'markdown' ? line.replace(/^\/\/ ?/, '') : line);
    else if (line.trim() && !line.startsWith('//'))
      fail(`${file}: code before the first "// %%" cell marker`);
  }
  return cells;
}

/**
 * The lines of the one code cell that starts with the given text, in a desktop notebook
 * (notebooks/NAME.ipynb) or in another teaching notebook's source (lite/notebooks/NAME.ts).
 */
function sharedCell(ref, file) {
  const m = /^((?:notebooks\/[\w.-]+\.ipynb)|(?:lite\/notebooks\/[\w.-]+\.ts)):\s*(.+)$/.exec(ref ?? '');
  if (!m)
    fail(
      `${file}: a [shared] marker needs "notebooks/NAME.ipynb: first words of the cell" (or lite/notebooks/NAME.ts), got "${ref}"`,
    );
  const path = join(root, m[1]);
  if (!existsSync(path)) fail(`${file}: ${m[1]} does not exist`);
  const sources = m[1].endsWith('.ts')
    ? parseCells(readFileSync(path, 'utf8'), m[1])
        .filter((c) => c.kind === 'code')
        .map((c) => c.lines.join('\n').trim())
    : JSON.parse(readFileSync(path, 'utf8'))
        .cells.filter((c) => c.cell_type === 'code')
        .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
  const found = sources.filter((src) => src.trimStart().startsWith(m[2]));
  if (found.length !== 1)
    fail(`${file}: ${found.length} code cells of ${m[1]} start with "${m[2]}" (need exactly one)`);
  return found[0].split('\n');
}
