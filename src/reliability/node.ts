/**
 * A run folder lock: two processes writing one run folder would interleave checkpoints and
 * tables, so the second is refused with a clear "in use" error. The lock is a file created
 * exclusively (O_EXCL) holding pid, host and start time; a lock left by a process that died on
 * this host is taken over, one from another host is never guessed stale (a shared filesystem).
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MriseqError } from '../errors/index.js';

export const LOCK_FILE = '.mriseq.lock';

export interface RunLockInfo {
  pid: number;
  hostname: string;
  started: string;
  command: string;
  token: string;
}

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
 */
export function acquireRunLock(dir: string, command = process.argv.slice(2).join(' ')): RunLock {
  const folder = resolve(dir);
  try {
    mkdirSync(folder, { recursive: true });
  } catch (e) {
    throw new MriseqError('cannot create the run folder', {
      file: folder,
      found: (e as NodeJS.ErrnoException).code ?? String(e),
      expected: 'a writable folder',
      code: 'io.write',
      cause: e,
    });
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
      if (code !== 'EEXIST')
        throw new MriseqError('cannot create the run lock', {
          file,
          found: code ?? String(e),
          expected: 'a writable run folder',
          code: 'io.write',
          cause: e,
        });
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
    } finally {
      closeSync(fd);
    }
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
