/**
 * Reliability helpers for every writer (Node only):
 * - A run folder lock: two processes writing one run folder would interleave checkpoints and
 *   tables, so the second is refused with a clear "in use" error. The lock is a file created
 *   exclusively (O_EXCL) holding pid, host and start time; a lock left by a process that died on
 *   this host is taken over, one from another host is never guessed stale (a shared filesystem).
 * - Atomic writes of files and folders (temp + rename) whose temp names carry the writer's pid
 *   and host, so a rerun after a SIGKILL removes what the dead writer left, never a live one's.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { MriseqError } from '../errors/index.js';

/**
 * The name of the run lock file {@link acquireRunLock} creates in a run folder.
 *
 * @example
 * ```ts
 * import { LOCK_FILE } from 'mriseq';
 * import { existsSync } from 'node:fs';
 * console.log(existsSync(`runs/demo/${LOCK_FILE}`) ? 'a process may be writing runs/demo' : 'free');
 * ```
 */
export const LOCK_FILE = '.mriseq.lock';

/**
 * What a run lock file records about its owner.
 *
 * @example
 * ```ts
 * import { LOCK_FILE, type RunLockInfo } from 'mriseq';
 * import { readFileSync } from 'node:fs';
 * const info = JSON.parse(readFileSync(`runs/demo/${LOCK_FILE}`, 'utf8')) as RunLockInfo;
 * console.log(`held by pid ${info.pid} on ${info.hostname} since ${info.started}: ${info.command}`);
 * ```
 */
export interface RunLockInfo {
  pid: number;
  hostname: string;
  started: string;
  command: string;
  token: string;
}

/**
 * A held run lock (see {@link acquireRunLock}).
 *
 * @example
 * ```ts
 * import { acquireRunLock, type RunLock } from 'mriseq';
 * const lock: RunLock = acquireRunLock('/tmp/mriseq-run');
 * lock.release();
 * ```
 */
export interface RunLock {
  file: string;
  info: RunLockInfo;
  /** Removes the lock if it is still ours (idempotent; also done at process exit). */
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readInfo(file: string): RunLockInfo | undefined {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as Partial<RunLockInfo>;
    return typeof o.pid === 'number' && typeof o.hostname === 'string' ? (o as RunLockInfo) : undefined;
  } catch {
    return undefined;
  }
}

/** Why an existing lock may be removed, or undefined when its owner may still be running. */
function staleReason(file: string, info: RunLockInfo | undefined): string | undefined {
  if (!info) {
    // unreadable: a writer died between create and write, or is writing right now
    try {
      return Date.now() - statSync(file).mtimeMs > 10_000 ? 'unreadable and older than 10 s' : undefined;
    } catch {
      return 'gone';
    }
  }
  if (info.hostname === hostname() && !alive(info.pid)) return `process ${info.pid} is no longer running`;
  return undefined;
}

/**
 * Takes the lock of a run folder (created if needed) or throws MriseqError code 'run.in_use'.
 * Callers release it when done; it is released at process exit too.
 * The lock is a file ({@link LOCK_FILE}) created exclusively in the folder, holding the owner's pid,
 * host and command; a lock whose process is gone is taken over.
 *
 * @param dir - The run folder (created when missing).
 * @param command - What the lock says is running (default: this process's arguments).
 * @returns The {@link RunLock}; call `release()` when done.
 * @throws {@link MriseqError} 'run.in_use' when a live process holds the lock; a MriseqError naming the
 *   file when the folder or lock cannot be written.
 * @example
 * ```ts
 * import { acquireRunLock } from 'mriseq';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const lock = acquireRunLock(join(mkdtempSync(join(tmpdir(), 'mriseq-')), 'run'), 'my training');
 * try {
 *   console.log(lock.info.pid, lock.file);
 * } finally {
 *   lock.release();
 * }
 * ```
 */
export function acquireRunLock(dir: string, command = process.argv.slice(2).join(' ')): RunLock {
  const folder = resolve(dir);
  try {
    mkdirSync(folder, { recursive: true });
  } catch (e) {
    throw writeError(folder, e, 'cannot create the run folder');
  }
  const file = join(folder, LOCK_FILE);
  const info: RunLockInfo = {
    pid: process.pid,
    hostname: hostname(),
    started: new Date().toISOString(),
    command,
    token: randomBytes(8).toString('hex'),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw writeError(file, e, 'cannot create the run lock');
      const other = readInfo(file);
      const stale = staleReason(file, other);
      if (stale === undefined)
        throw new MriseqError('run folder is in use by another mriseq process', {
          file: folder,
          field: LOCK_FILE,
          found: other
            ? `pid ${other.pid} on ${other.hostname} since ${other.started} (${other.command})`
            : 'a lock being written',
          expected: `no other process writing it (if that process is gone, delete ${file})`,
          code: 'run.in_use',
        });
      try {
        unlinkSync(file);
      } catch {
        // another process took it over first; try again
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(info) + '\n');
    } catch (e) {
      // a full disk: an empty lock left behind would read as "being written" for 10 s
      closeSync(fd);
      rmSync(file, { force: true });
      throw writeError(file, e, 'cannot write the run lock');
    }
    closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.removeListener('exit', release);
      if (readInfo(file)?.token === info.token) {
        try {
          unlinkSync(file);
        } catch {
          // already gone
        }
      }
    };
    process.on('exit', release);
    return { file, info, release };
  }
  throw new MriseqError('could not take the run lock (it keeps changing hands)', {
    file,
    code: 'run.in_use',
  });
}

/**
 * Wraps a CLI action so it runs holding the run lock of the folder it writes (released after,
 * also when it throws). folderOf gets the action's first argument (its options, or its first
 * positional argument).
 * @param command - The command name the lock records.
 * @param folderOf - Gets the folder to lock from the action's first argument.
 * @param action - The action to run while holding the lock.
 * @returns The wrapped action (async).
 * @throws {@link MriseqError} 'run.in_use' (from the wrapped call) when another process holds the folder.
 * @example
 * ```ts
 * import { withRunLock } from 'mriseq';
 * const run = withRunLock('export', (o: { out: string }) => o.out, async (o: { out: string }) => {
 *   console.log('writing', o.out);
 * });
 * await run({ out: '/tmp/mriseq-export' });
 * ```
 */
export function withRunLock<A extends [unknown, ...unknown[]]>(
  command: string,
  folderOf: (first: NoInfer<A[0]>) => string,
  action: (...args: A) => unknown,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const lock = acquireRunLock(folderOf(args[0]), command);
    try {
      await action(...args);
    } finally {
      lock.release();
    }
  };
}

// ------------------------------------------------------------------------------ atomic writes

/** Six hex digits of this host's name: temp names say which host's pid they carry. */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);

/** `<pid>-<host>-<random>`: who wrote a temp file or folder. */
function writerTag(): string {
  return `${process.pid}-${HOST_TAG}-${randomBytes(4).toString('hex')}`;
}

/** The temp file beside `path` that an atomic write renames over it. */
export function tempFileFor(path: string): string {
  return `${path}.${writerTag()}.tmp`;
}

interface TempEntry {
  name: string;
  kind: 'file' | 'tmp-folder' | 'old-folder';
  /** The writer's tag (pid-host-random, or pid-random from before host tags). */
  tag: string;
  pid: number;
  host?: string;
}

/** Temp entries of `base` in a folder listing: `<base>.<tag>.tmp`, `<base>.tmp-<tag>`, `<base>.old-<tag>`. */
function tempEntries(names: readonly string[], base: string): TempEntry[] {
  const out: TempEntry[] = [];
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const rest = name.slice(base.length + 1);
    let kind: TempEntry['kind'];
    let tag: string;
    let m: RegExpExecArray | null;
    // legacy file temps wrote <pid>.<hex>; legacy folders <pid>-<hex>
    if ((m = /^(\d+-[0-9a-f]{6}-[0-9a-f]+|\d+\.[0-9a-f]+)\.tmp$/.exec(rest))) {
      kind = 'file';
      tag = m[1]!;
    } else if ((m = /^(tmp|old)-(\d+(?:-[0-9a-f]{6})?(?:-[0-9a-f]+)?)$/.exec(rest))) {
      kind = m[1] === 'tmp' ? 'tmp-folder' : 'old-folder';
      tag = m[2]!;
    } else continue;
    const parts = tag.split(/[-.]/);
    out.push({ name, kind, tag, pid: Number(parts[0]), host: parts.length === 3 ? parts[1] : undefined });
  }
  return out;
}

export interface StaleOptions {
  /**
   * Also stale: entries last modified before this time (ms since epoch). A caller holding the run
   * lock passes the lock's start: no other writer may have been running since.
   */
  olderThan?: number;
}

/** True when the writer of a temp entry is gone: a dead pid on this host, or older than the lock. */
function isStale(dir: string, e: TempEntry, options: StaleOptions): boolean {
  if (options.olderThan !== undefined) {
    try {
      if (statSync(join(dir, e.name)).mtimeMs < options.olderThan) return true;
    } catch {
      return false;
    }
  }
  if (e.host !== undefined && e.host !== HOST_TAG) return false; // another host's pid means nothing here
  if (!Number.isInteger(e.pid) || e.pid <= 0 || e.pid === process.pid) return false;
  return !alive(e.pid);
}

/**
 * Removes the temp files and half-swapped folders of `path` left by writers that are gone (killed
 * during an atomic write). A live writer's temp is never touched. Returns the names removed.
 * @param path - A file or folder written atomically; its temps sit beside it.
 * @param options - `olderThan` (ms since epoch): entries older than this count as stale too.
 * @returns The names removed.
 * @example
 * ```ts
 * import { removeStaleTemps } from 'mriseq';
 * console.log(removeStaleTemps('runs/demo/analysis/evaluation.csv'));
 * ```
 */
export function removeStaleTemps(path: string, options: StaleOptions = {}): string[] {
  const dir = dirname(resolve(path));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const e of tempEntries(names, basename(path))) {
    if (!isStale(dir, e, options)) continue;
    try {
      rmSync(join(dir, e.name), { recursive: true, force: true });
      removed.push(e.name);
    } catch {
      // removed by someone else meanwhile, or not ours to remove: leave it
    }
  }
  return removed;
}

function writeError(file: string, e: unknown, message = 'cannot write file'): MriseqError {
  if (e instanceof MriseqError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  return new MriseqError(message, {
    file,
    found: code ?? String(e),
    expected: code === 'ENOSPC' ? 'free disk space' : 'a writable folder',
    code: 'io.write',
    cause: e,
  });
}

function fsyncPath(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on folders; the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface AtomicWriteOptions {
  /** fsync the data before the rename (survives power loss, not only a killed process). */
  durable?: boolean;
}

/**
 * Writes a file atomically: a temp file beside it, then a rename, so a reader sees the old or the
 * new content, never half. Temp files of killed earlier writers of the same file are removed.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = tempFileFor(path);
  try {
    await mkdir(dirname(resolve(path)), { recursive: true });
    removeStaleTemps(path);
    await writeFile(tmp, data, options.durable ? { flush: true } : undefined);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw writeError(path, e);
  }
}

/** writeFileAtomic, synchronously. */
export function writeFileAtomicSync(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): void {
  const tmp = tempFileFor(path);
  try {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    removeStaleTemps(path);
    writeFileSync(tmp, data, options.durable ? { flush: true } : undefined);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeError(path, e);
  }
}

/** Where a folder write stands (for progress and for crash tests). */
export type FolderWriteStage = 'written' | 'moved-old' | 'swapped';

export interface AtomicFolderOptions extends AtomicWriteOptions {
  /** Called at each stage: files written in the temp folder; old folder moved aside; new one in place. */
  onStage?: (stage: FolderWriteStage) => void;
  /** Passed to the clean-up of earlier writers' leftovers (see removeStaleTemps). */
  stale?: StaleOptions;
}

/**
 * Writes a folder of files atomically: a complete temp folder `<dir>.tmp-<tag>`, then the old
 * folder is moved aside to `<dir>.old-<tag>`, the new one renamed into place and the old removed.
 * A kill between the two renames leaves no `dir`: recoverFolder / findFolder take the complete
 * temp folder then (the old one's presence proves it was complete).
 */
export function writeFolderAtomic(
  dir: string,
  files: Record<string, string | Uint8Array>,
  options: AtomicFolderOptions = {},
): void {
  const target = resolve(dir);
  const tag = writerTag();
  const tmp = `${target}.tmp-${tag}`;
  const old = `${target}.old-${tag}`;
  try {
    mkdirSync(dirname(target), { recursive: true });
    recoverFolder(target, options.stale);
    mkdirSync(tmp);
    for (const [name, data] of Object.entries(files))
      writeFileSync(join(tmp, name), data, options.durable ? { flush: true } : undefined);
    if (options.durable) fsyncPath(tmp);
    options.onStage?.('written');
    const hadOld = existsSync(target);
    if (hadOld) renameSync(target, old);
    options.onStage?.('moved-old');
    renameSync(tmp, target);
    if (options.durable) fsyncPath(dirname(target));
    options.onStage?.('swapped');
    if (hadOld) rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    try {
      // failed between the renames: put the previous version back
      if (!existsSync(target) && existsSync(old)) renameSync(old, target);
    } catch {
      // recoverFolder does it on the next write or resume
    }
    throw writeError(target, e);
  }
}

/** The complete version of a folder left by a writer killed between its renames, if any. */
function orphanVersion(dir: string, options: StaleOptions): { from: string; kind: string } | undefined {
  const parent = dirname(dir);
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return undefined;
  }
  const entries = tempEntries(names, basename(dir)).filter((e) => isStale(parent, e, options));
  const olds = entries.filter((e) => e.kind === 'old-folder');
  const mtime = (n: string) => {
    try {
      return statSync(join(parent, n)).mtimeMs;
    } catch {
      return 0;
    }
  };
  olds.sort((a, b) => mtime(b.name) - mtime(a.name));
  for (const o of olds) {
    const tmp = entries.find((e) => e.kind === 'tmp-folder' && e.tag === o.tag);
    // the old folder is moved aside only after the new one is complete: prefer the newer
    if (tmp) return { from: join(parent, tmp.name), kind: 'new' };
    return { from: join(parent, o.name), kind: 'previous' };
  }
  return undefined;
}

/**
 * Read-only: `dir` when it exists, else the complete folder a writer killed between its renames
 * left beside it (the new version if complete, else the previous one), else undefined.
 * @param dir - A folder an atomic folder writer replaces.
 * @returns `dir`, or the complete version a killed writer left beside it, or undefined.
 * @example
 * ```ts
 * import { findFolder } from 'mriseq';
 * console.log(findFolder('runs/lite/best') ?? 'no checkpoint');
 * ```
 */
export function findFolder(dir: string): string | undefined {
  const target = resolve(dir);
  if (existsSync(target)) return target;
  // any writer, live or dead: a reader only looks
  return orphanVersion(target, { olderThan: Number.POSITIVE_INFINITY })?.from;
}

/**
 * Puts back `dir` when a killed writer left it missing between its renames, and removes the
 * leftovers of dead writers. Returns what was put back (or undefined when nothing was missing).
 * @param dir - The folder an atomic folder writer (checkpoints, shipped models) replaces.
 * @param options - As {@link removeStaleTemps}.
 * @returns The folder that was put back, or undefined when `dir` was not missing.
 * @example
 * ```ts
 * import { recoverFolder } from 'mriseq';
 * const restored = recoverFolder('runs/lite/best');
 * if (restored) console.log('put back', restored);
 * ```
 */
export function recoverFolder(dir: string, options: StaleOptions = {}): string | undefined {
  const target = resolve(dir);
  let restored: string | undefined;
  if (!existsSync(target)) {
    const o = orphanVersion(target, options);
    if (o) {
      renameSync(o.from, target);
      restored = o.from;
    }
  }
  removeStaleTemps(target, options);
  return restored;
}
