// Builds the zero-install teaching site (npm run lite):
//  1. bundles the browser build of mriseq's computing core (src/browser.ts, tfjs included) into
//     one script that sets the global `mriseq`;
//  2. turns the teaching notebooks' sources (lite/notebooks/*.js, "// %%" cells) into .ipynb
//     files that ask for the JupyterLite JavaScript (IFrame) kernel;
//  3. runs `jupyter lite build` from the lite venv (python/requirements-lite.txt) with the
//     notebooks and the vendored scripts (mriseq.js, plotly.min.js) as the site's files.
// The result (default out/lite) is a folder of static files: no CDN is contacted at run time.
// Options: --out DIR, --bundle-only (just the bundle, for quick checks), --venv DIR.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const out = resolve(root, opt('--out', process.env.MRISEQ_LITE_OUT ?? 'out/lite'));
const venv = resolve(root, opt('--venv', process.env.MRISEQ_LITE_VENV ?? '.venv-lite'));
const stage = resolve(root, 'out/lite-stage');
const contents = join(stage, 'contents');
// 'lib/' would be skipped: it is in jupyterlite's default ignore list.
const lib = join(contents, 'assets');

function fail(problem, hint) {
  console.error(`build-lite: ${problem}${hint ? `\n  ${hint}` : ''}`);
  process.exit(2);
}

rmSync(stage, { recursive: true, force: true });
mkdirSync(lib, { recursive: true });

// 1. The bundle. IIFE so that a plain <script> (or importScripts in a worker) defines `mriseq`.
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const result = await build({
  entryPoints: [join(root, 'src/browser.ts')],
  bundle: true,
  format: 'iife',
  globalName: 'mriseq',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'eof',
  metafile: true,
  outfile: join(lib, 'mriseq.js'),
  banner: { js: `/* mriseq ${version} browser build (core + @tensorflow/tfjs, MIT/Apache-2.0) */` },
  logLevel: 'warning',
});
// A Node-only module reaching the bundle means a core module broke its browser-safety promise.
const nodeOnly = Object.keys(result.metafile.inputs).filter((f) => /(^|\/)(node\.ts|tfjs-node)/.test(f));
if (nodeOnly.length) fail(`Node-only files reached the browser bundle: ${nodeOnly.join(', ')}`);
const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs)[0]].bytes;
console.log(`bundle: ${join(lib, 'mriseq.js')} (${(bytes / 1e6).toFixed(1)} MB)`);
if (args.includes('--bundle-only')) process.exit(0);

// 2. Vendored plotly.js (the figure specs are plotly JSON).
copyFileSync(join(root, 'node_modules/plotly.js-dist-min/plotly.min.js'), join(lib, 'plotly.min.js'));
copyFileSync(join(root, 'lite/lib/teach.js'), join(lib, 'teach.js'));

// 3. Notebooks from their "// %%" sources.
const srcDir = join(root, 'lite/notebooks');
const names = readdirSync(srcDir)
  .filter((f) => f.endsWith('.js'))
  .sort();
for (const name of names) {
  const nb = toNotebook(readFileSync(join(srcDir, name), 'utf8'), name);
  writeFileSync(join(contents, basename(name, '.js') + '.ipynb'), JSON.stringify(nb, null, 1) + '\n');
}
console.log(`notebooks: ${names.map((n) => basename(n, '.js')).join(', ')}`);

// 4. The JupyterLite site.
const jupyter = join(venv, 'bin/jupyter');
if (!existsSync(jupyter))
  fail(
    `no JupyterLite in ${venv}`,
    `create it: python3 -m venv .venv-lite && .venv-lite/bin/pip install -r python/requirements-lite.txt`,
  );
const tmpOut = `${out}.tmp-${process.pid}`;
rmSync(tmpOut, { recursive: true, force: true });
copyFileSync(join(root, 'lite/jupyter-lite.json'), join(stage, 'jupyter-lite.json'));
const r = spawnSync(
  jupyter,
  ['lite', 'build', '--contents', contents, '--output-dir', tmpOut, '--lite-dir', stage, '--no-sourcemaps'],
  { cwd: stage, stdio: 'inherit', env: { ...process.env, PATH: `${join(venv, 'bin')}:${process.env.PATH}` } },
);
if (r.status !== 0) fail(`jupyter lite build failed (exit ${r.status})`);
// Every notebook must be listed, or the site would open with an empty file browser.
const listing = join(tmpOut, 'api/contents/all.json');
if (!existsSync(listing))
  fail(`the site has no contents listing (${listing}); is jupyter_server installed in ${venv}?`);
const listed = JSON.parse(readFileSync(listing, 'utf8')).content.map((c) => c.name);
for (const n of names)
  if (!listed.includes(basename(n, '.js') + '.ipynb')) fail(`notebook ${n} missing from the site listing`);
// Swap in atomically so a half-built site never replaces a working one.
rmSync(out, { recursive: true, force: true });
renameSync(tmpOut, out);
console.log(`site: ${out} (serve it as static files; open lab/index.html)`);

/** "// %% [markdown]" starts a markdown cell (its lines' leading "// " removed); "// %%" a code cell. */
function toNotebook(text, file) {
  const cells = [];
  let cur;
  for (const line of text.split('\n')) {
    const m = /^\/\/ %%( \[markdown\])?\s*$/.exec(line);
    if (m) {
      cur = { kind: m[1] ? 'markdown' : 'code', lines: [] };
      cells.push(cur);
    } else if (cur) cur.lines.push(cur.kind === 'markdown' ? line.replace(/^\/\/ ?/, '') : line);
    else if (line.trim() && !line.startsWith('//'))
      fail(`${file}: code before the first "// %%" cell marker`);
  }
  const source = (lines) => {
    while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
    while (lines.length && !lines[0].trim()) lines.shift();
    return lines.map((l, i) => (i < lines.length - 1 ? l + '\n' : l));
  };
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'javascript', display_name: 'JavaScript (IFrame)', language: 'javascript' },
      language_info: { name: 'javascript', file_extension: '.js', mimetype: 'text/javascript' },
      mriseq: { source: `lite/notebooks/${file}` },
    },
    cells: cells
      .filter((c) => source([...c.lines]).length)
      .map((c, i) =>
        c.kind === 'markdown'
          ? { cell_type: 'markdown', id: `c${i}`, metadata: {}, source: source(c.lines) }
          : {
              cell_type: 'code',
              id: `c${i}`,
              metadata: {},
              execution_count: null,
              outputs: [],
              source: source(c.lines),
            },
      ),
  };
}
