/**
 * JupyterLab from the project's .venv on loopback (random port, token, temporary root and
 * settings) and Debian's headless Chromium driven by playwright-core: what the browser tests of
 * the viewer share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

export const ROOT = resolve(__dirname, '../..');
export const JUPYTER = join(ROOT, '.venv/bin/jupyter');
export const CHROMIUM = '/usr/bin/chromium';
const INSTALLED = join(ROOT, '.venv/share/jupyter/labextensions/mriseq-jupyterlab/package.json');

/** Why a browser test cannot run here, or false. */
export function labMissing(): string | false {
  if (!existsSync(JUPYTER)) return `no JupyterLab in .venv (${JUPYTER}); run scripts/setup.sh`;
  if (!existsSync(CHROMIUM)) return `no ${CHROMIUM} (apt-get install chromium)`;
  if (!existsSync(INSTALLED)) return 'mriseq-jupyterlab is not built; run scripts/build-labextension.sh';
  if (!existsSync(join(ROOT, 'node_modules/playwright-core'))) return 'playwright-core is not installed';
  return false;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

async function waitForServer(url: string, proc: ChildProcess, log: () => string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`JupyterLab exited (${proc.exitCode}):\n${log()}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`JupyterLab did not answer ${url} within ${ms / 1000}s:\n${log()}`);
}

export interface Lab {
  /** http://127.0.0.1:port */
  base: string;
  token: string;
  /** The server root (notebooks go here). */
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts JupyterLab in a fresh temporary root. `exposeApp` puts the app at window.jupyterapp (its
 * commands and the notebook's kernel) for tests that drive it.
 */
export async function startLab(opts: { env?: NodeJS.ProcessEnv; exposeApp?: boolean } = {}): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-lab-'));
  // No "get notified about Jupyter news?" toast over screenshots.
  mkdirSync(join(dir, '.settings/@jupyterlab/apputils-extension'), { recursive: true });
  writeFileSync(
    join(dir, '.settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings'),
    JSON.stringify({ fetchNews: 'false' }),
  );
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  let log = '';
  const lab = spawn(
    JUPYTER,
    [
      'lab',
      '--no-browser',
      '--ServerApp.open_browser=False',
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      `--IdentityProvider.token=${token}`,
      `--ServerApp.root_dir=${dir}`,
      '--LabApp.news_url=None',
      '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
      ...(opts.exposeApp ? ['--LabApp.expose_app_in_browser=True'] : []),
      // Containers often run tests as root; Jupyter refuses that unless told.
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ],
    {
      cwd: dir,
      detached: true,
      env: {
        ...process.env,
        ...opts.env,
        JUPYTERLAB_SETTINGS_DIR: join(dir, '.settings'),
        JUPYTERLAB_WORKSPACES_DIR: join(dir, '.workspaces'),
        JUPYTER_RUNTIME_DIR: join(dir, '.runtime'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  lab.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  lab.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const stop = async () => {
    try {
      if (lab.pid) process.kill(-lab.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 1000));
    try {
      if (lab.pid && lab.exitCode === null) process.kill(-lab.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForServer(`${base}/api/status?token=${token}`, lab, () => log, 240_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { base, token, dir, log: () => log, stop };
}

/** Minimal view of the playwright-core objects the tests use. */
export type BrowserContext = Awaited<
  ReturnType<(typeof import('playwright-core'))['chromium']['launchPersistentContext']>
>;

/**
 * Flags for Debian's headless Chromium here: WebGL2 on SwiftShader, and no background networking
 * (it would keep trying hosts that cannot be reached).
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-swiftshader',
];

/** Writes an nbformat 4 notebook with these code cells (outputs kept as given) on a kernel. */
export function writeNotebook(
  file: string,
  kernelspec: { name: string; display_name: string; language: string },
  cells: { id: string; source: string; outputs?: unknown[]; execution_count?: number | null }[],
): void {
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec, language_info: { name: kernelspec.language } },
    cells: cells.map((c) => ({
      cell_type: 'code',
      id: c.id,
      execution_count: c.execution_count ?? null,
      metadata: {},
      source: c.source,
      outputs: c.outputs ?? [],
    })),
  };
  writeFileSync(file, JSON.stringify(nb));
}

/** Headless Chromium (Debian's, SwiftShader for WebGL) with a fresh profile. */
export async function launchChromium(): Promise<{ browser: BrowserContext; close(): Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'mriseq-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1500, height: 1100 },
    args: CHROMIUM_FLAGS,
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
