/**
 * The "mriseq (TypeScript)" kernel against jupyter_kernel_test (the Jupyter project's protocol
 * conformance suite), plus notebook execution through nbclient and papermill, run by the project's
 * .venv python. The kernelspec is installed into a temporary prefix (JUPYTER_PATH) and the kernel
 * runs in a folder outside the checkout, so `import ... from 'mriseq'` must resolve through the
 * launcher.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  installKernel,
  kernelSpec,
  kernelTargets,
  uninstallKernel,
  userJupyterDataDir,
  KERNEL_DISPLAY_NAME,
} from '../../src/cli/commands/kernel.js';
import { JEMALLOC_CONF, SEMI_SPACE_FLAG } from '../../src/engine/malloc-node.js';
import { jupyterEnv } from '../helpers/kernel.js';

const ROOT = resolve(__dirname, '..', '..');
const PY = join(ROOT, '.venv', 'bin', 'python');

function skipReason(): string | undefined {
  if (!existsSync(PY)) return `no ${PY}: run \`npm run setup\` to create the Jupyter environment`;
  if (!existsSync(join(ROOT, 'dist', 'display', 'index.js')))
    return 'mriseq is not built (dist/display missing): run `npm run build` or `npm run setup`';
  const r = spawnSync(PY, ['-c', 'import jupyter_kernel_test, nbclient, papermill'], { encoding: 'utf8' });
  if (r.status !== 0) return `.venv lacks jupyter_kernel_test/nbclient/papermill: ${r.stderr.trim()}`;
  return undefined;
}
const skip = skipReason();

function runSuite(script: string, prefix: string, cwd: string): void {
  const r = spawnSync(PY, [join(__dirname, script)], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: jupyterEnv(prefix, { PYTHONUNBUFFERED: '1' }),
    timeout: 540_000,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  // Measurements the scripts print ("# ...") show in the test log.
  for (const line of r.stdout.split('\n')) if (line.startsWith('# ')) console.log(line);
  // unittest prints one "... ok" / "FAIL" line per test: show them so failures say which.
  assert.equal(r.status, 0, out);
  assert.match(r.stderr, /\nOK/, out);
  // How many test methods ran (unittest's summary), so the log says what passed.
  const summary = [/Ran \d+ tests?/.exec(r.stderr)?.[0], /^OK.*$/m.exec(r.stderr)?.[0]];
  console.log(`# ${script}: ${summary.filter(Boolean).join(', ') || 'no unittest summary'}`);
}

/** Installs the kernelspec into a temporary prefix and runs a suite from a folder outside the checkout. */
function runWithKernel(script: string): void {
  const prefix = mkdtempSync(join(tmpdir(), 'mriseq-kernel-'));
  const nbDir = mkdtempSync(join(tmpdir(), 'mriseq-nb-'));
  try {
    installKernel({ prefix });
    runSuite(script, prefix, nbDir);
  } finally {
    rmSync(prefix, { recursive: true, force: true });
    rmSync(nbDir, { recursive: true, force: true });
  }
}

test('kernelspec: absolute node + launcher argv, display name, user dir like jupyter_core', () => {
  const spec = kernelSpec('/opt/mriseq', '/usr/local/bin/node');
  assert.deepEqual(spec.argv, [
    '/usr/local/bin/node',
    '/opt/mriseq/kernel/launcher.js',
    '--config-path',
    '{connection_file}',
  ]);
  assert.equal(spec.display_name, 'mriseq (TypeScript)');
  assert.equal(spec.language, 'typescript');
  assert.equal(userJupyterDataDir({ JUPYTER_DATA_DIR: '/x/y' }), '/x/y');
  if (process.platform === 'linux') {
    assert.equal(userJupyterDataDir({ XDG_DATA_HOME: '/xdg' }), '/xdg/jupyter');
  }
});

test("kernelspec env: jemalloc preloaded where installed, never the installer's own preloads", () => {
  const saved = { ...process.env };
  const lib = join(ROOT, 'package.json'); // any file that exists stands in for the library
  try {
    delete process.env.MRISEQ_MALLOC;
    // as when `mriseq kernel install` runs in the CLI that relaunched itself with jemalloc
    Object.assign(process.env, {
      MRISEQ_JEMALLOC: lib,
      LD_PRELOAD: `${lib}:/x/libmine.so`,
      MALLOC_CONF: 'narenas:2',
      NODE_OPTIONS: '--max-semi-space-size=1 --require /x/mine.js',
      MRISEQ_MALLOC_LAUNCHED: lib,
    });
    const env = kernelSpec('/opt/mriseq', '/usr/local/bin/node').env;
    assert.equal(env.LD_PRELOAD, lib);
    assert.equal(env.MALLOC_CONF, JEMALLOC_CONF);
    assert.equal(env.NODE_OPTIONS, SEMI_SPACE_FLAG);
    assert.equal(env.TF_CPP_MIN_LOG_LEVEL, '2');
    process.env.MRISEQ_JEMALLOC = '/nonexistent/libjemalloc.so.2';
    assert.equal(kernelSpec('/opt/mriseq', '/usr/local/bin/node').env.LD_PRELOAD, undefined);
    process.env.MRISEQ_JEMALLOC = lib;
    process.env.MRISEQ_MALLOC = 'lean';
    const lean = kernelSpec('/opt/mriseq', '/usr/local/bin/node').env;
    assert.equal(lean.LD_PRELOAD, undefined);
    assert.equal(lean.MRISEQ_MALLOC, 'lean');
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('install/uninstall into a prefix writes and removes exactly our kernelspec', () => {
  const prefix = mkdtempSync(join(tmpdir(), 'mriseq-kernel-'));
  try {
    const dirs = installKernel({ prefix });
    assert.deepEqual(dirs, [join(prefix, 'share', 'jupyter', 'kernels', 'mriseq')]);
    const spec = JSON.parse(readFileSync(join(dirs[0], 'kernel.json'), 'utf8'));
    assert.equal(spec.display_name, KERNEL_DISPLAY_NAME);
    assert.equal(spec.argv[1], join(ROOT, 'kernel', 'launcher.js'));
    assert.deepEqual(kernelTargets({ prefix }), dirs);
    assert.deepEqual(uninstallKernel({ prefix, user: false }), dirs);
    assert.equal(existsSync(dirs[0]), false);
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
});

test('jupyter kernelspec list sees the installed kernel', { skip }, () => {
  const prefix = mkdtempSync(join(tmpdir(), 'mriseq-kernel-'));
  try {
    installKernel({ prefix });
    const r = spawnSync(PY, ['-m', 'jupyter_client.kernelspecapp', 'list', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, JUPYTER_PATH: join(prefix, 'share', 'jupyter') },
    });
    assert.equal(r.status, 0, r.stderr);
    const specs = JSON.parse(r.stdout).kernelspecs as Record<string, { spec: { display_name: string } }>;
    assert.equal(specs.mriseq?.spec.display_name, 'mriseq (TypeScript)');
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
});

test(
  'npm run setup installed the kernelspec into .venv: its jupyter offers "mriseq (TypeScript)"',
  { skip },
  () => {
    // No JUPYTER_PATH and an empty user data dir: only what .venv holds itself.
    const empty = mkdtempSync(join(tmpdir(), 'mriseq-kernel-user-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, JUPYTER_DATA_DIR: empty };
      delete env.JUPYTER_PATH;
      const r = spawnSync(join(ROOT, '.venv', 'bin', 'jupyter'), ['kernelspec', 'list', '--json'], {
        encoding: 'utf8',
        env,
      });
      assert.equal(r.status, 0, r.stderr);
      const specs = JSON.parse(r.stdout).kernelspecs as Record<
        string,
        { resource_dir: string; spec: { display_name: string; argv: string[] } }
      >;
      const k = specs.mriseq;
      assert.ok(k, `no mriseq kernelspec in .venv (run npm run setup): ${Object.keys(specs).join(', ')}`);
      assert.equal(k.spec.display_name, 'mriseq (TypeScript)');
      assert.ok(k.resource_dir.startsWith(join(ROOT, '.venv')), k.resource_dir);
      assert.equal(k.spec.argv[1], join(ROOT, 'kernel', 'launcher.js'));
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  },
);

test(
  'jupyter_kernel_test: kernel_info, execute, errors, history, completion, inspection, is_complete, display_data',
  { skip, timeout: 300_000 },
  () => runWithKernel('kernel_suite.py'),
);

test(
  'IPython behaviour: TypeScript cells, tracebacks on cell lines, tensors, figure PNGs, comms both ways, interrupting training',
  { skip, timeout: 600_000 },
  () => runWithKernel('kernel_behaviour.py'),
);

test('notebooks run through nbclient and papermill (TypeScript parameters)', { skip, timeout: 300_000 }, () =>
  runWithKernel('notebook_smoke.py'),
);
