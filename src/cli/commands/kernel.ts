/**
 * `mriseq kernel install|uninstall|info`: the "mriseq (TypeScript)" Jupyter kernelspec.
 *
 * The kernelspec is written directly (kernel.json is a documented, tiny format), so installing
 * needs no Python on PATH; argv holds absolute paths (this Node binary, kernel/launcher.js), so
 * the kernel starts whatever PATH Jupyter runs with.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { allocatorEnv } from '../../engine/malloc-node.js';
import { MriseqError } from '../../errors/index.js';
import { writeFileAtomicSync } from '../../reliability/node.js';

export const KERNEL_NAME = 'mriseq';
export const KERNEL_DISPLAY_NAME = 'mriseq (TypeScript)';

/** The checkout (or installed package) root: src/cli/commands and dist/cli/commands are 3 deep. */
export function packageRoot(): string {
  return resolve(__dirname, '..', '..', '..');
}

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: 'signal';
  env: Record<string, string>;
  metadata: Record<string, unknown>;
}

/**
 * The kernel's malloc (src/engine/malloc-node.ts): jemalloc where installed, preloaded through the
 * kernelspec's env since Jupyter starts the kernel; decided when the spec is written (reinstall
 * after installing jemalloc, or to follow MRISEQ_MALLOC). The installer's own preloads and Node
 * options (the CLI's jemalloc, a user's LD_PRELOAD or NODE_OPTIONS) are not copied into it.
 */
function kernelMallocEnv(): Record<string, string> {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.MALLOC_CONF;
  delete env.NODE_OPTIONS;
  // a choice made at install (MRISEQ_MALLOC=glibc or lean) goes with the kernel, so that its
  // engine applies it (lean) and its summary names it instead of a missing jemalloc
  const choice: Record<string, string> = env.MRISEQ_MALLOC ? { MRISEQ_MALLOC: env.MRISEQ_MALLOC } : {};
  return { ...allocatorEnv(env).set, ...choice };
}

export function kernelSpec(root = packageRoot(), node = process.execPath): KernelSpec {
  return {
    argv: [node, join(root, 'kernel', 'launcher.js'), '--config-path', '{connection_file}'],
    display_name: KERNEL_DISPLAY_NAME,
    language: 'typescript',
    interrupt_mode: 'signal',
    // TensorFlow's C++ start-up chatter would otherwise land in the first cell's output.
    env: { TF_CPP_MIN_LOG_LEVEL: '2', ...kernelMallocEnv() },
    metadata: { debugger: false, mriseq: { root } },
  };
}

/** The per-user Jupyter data directory, as jupyter_core computes it. */
export function userJupyterDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.JUPYTER_DATA_DIR) return env.JUPYTER_DATA_DIR;
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Jupyter');
  if (process.platform === 'win32')
    return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'jupyter');
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'jupyter');
}

/** The kernels folder under a Jupyter data dir or an environment prefix. */
function kernelsDirOfPrefix(prefix: string): string {
  return join(prefix, 'share', 'jupyter', 'kernels');
}

export interface InstallOptions {
  /** Also install for the current user (their Jupyter data dir). */
  user?: boolean;
  /** Install under this environment prefix instead of the project's .venv. */
  prefix?: string;
  root?: string;
}

/** Where a kernelspec goes for these options: the prefix (default .venv), plus the user dir. */
export function kernelTargets(opts: InstallOptions = {}): string[] {
  const root = opts.root ?? packageRoot();
  const targets: string[] = [];
  const prefix = opts.prefix ?? join(root, '.venv');
  if (opts.prefix !== undefined || existsSync(prefix))
    targets.push(join(kernelsDirOfPrefix(prefix), KERNEL_NAME));
  if (opts.user) targets.push(join(userJupyterDataDir(), 'kernels', KERNEL_NAME));
  return targets;
}

/** Writes the kernelspec to every target; returns the folders written. */
export function installKernel(opts: InstallOptions = {}): string[] {
  const root = opts.root ?? packageRoot();
  const launcher = join(root, 'kernel', 'launcher.js');
  if (!existsSync(launcher))
    throw new MriseqError('the kernel launcher is missing', {
      file: launcher,
      expected: 'kernel/launcher.js from mriseq',
    });
  const targets = kernelTargets(opts);
  if (targets.length === 0)
    throw new MriseqError('no Jupyter environment to install into', {
      file: join(root, '.venv'),
      found: 'no .venv',
      expected: 'run `npm run setup` first, or pass --user or --prefix <env>',
    });
  const spec = JSON.stringify(kernelSpec(root), null, 2) + '\n';
  for (const dir of targets) writeFileAtomicSync(join(dir, 'kernel.json'), spec);
  return targets;
}

/** Removes the kernelspec from every target that has one; returns the folders removed. */
export function uninstallKernel(opts: InstallOptions = {}): string[] {
  const removed: string[] = [];
  for (const dir of kernelTargets({ ...opts, user: opts.user ?? true })) {
    const file = join(dir, 'kernel.json');
    if (!existsSync(file)) continue;
    // Only remove what we wrote: a kernelspec of the same name from elsewhere is left alone.
    const spec = JSON.parse(readFileSync(file, 'utf8')) as Partial<KernelSpec>;
    if (spec.display_name !== KERNEL_DISPLAY_NAME) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

export function registerKernel(program: Command): void {
  const kernel = program.command('kernel').description('the "mriseq (TypeScript)" Jupyter kernel');
  kernel
    .command('install')
    .description("install the kernelspec into the project's .venv (and the user's Jupyter dir with --user)")
    .option('--user', "also install into the user's Jupyter data directory")
    .option('--prefix <dir>', 'install under this environment prefix instead of .venv')
    .action((opts: { user?: boolean; prefix?: string }) => {
      for (const dir of installKernel(opts))
        console.log(`installed ${KERNEL_DISPLAY_NAME} kernelspec in ${dir}`);
      if (!existsSync(join(packageRoot(), 'dist', 'index.js')))
        console.log('note: mriseq is not built yet; run `npm run setup` so notebooks can import it');
    });
  kernel
    .command('uninstall')
    .description("remove the kernelspec from the project's .venv and the user's Jupyter dir")
    .option('--prefix <dir>', 'remove from this environment prefix instead of .venv')
    .action((opts: { prefix?: string }) => {
      const removed = uninstallKernel({ prefix: opts.prefix, user: true });
      if (removed.length === 0) console.log('no mriseq kernelspec was installed');
      for (const dir of removed) console.log(`removed ${dir}`);
    });
  kernel
    .command('spec')
    .description('print the kernelspec JSON that install writes')
    .action(() => console.log(JSON.stringify(kernelSpec(), null, 2)));
}
