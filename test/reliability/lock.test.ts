/**
 * Two processes writing one run folder: the second gets a clear "in use" MriseqError naming the
 * holder; a lock left by a process that died (SIGKILL, no chance to clean up) is taken over; a
 * released lock can be taken again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE, MriseqError, acquireRunLock } from '../../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-lock-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const child = join(__dirname, 'lock-child.ts');

function holder(dir: string) {
  const p = spawn(process.execPath, ['--import', 'tsx', child, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise<string>((resolve) => {
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
  });
  return { p, ready };
}

function tryLock(dir: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', child, dir], { input: '', encoding: 'utf8' });
}

test(
  'a second process is refused with "in use" while the first holds the run folder',
  { timeout: 60_000 },
  async () => {
    const run = join(tmp, 'run-a');
    const a = holder(run);
    assert.equal(await a.ready, 'locked');
    const b = tryLock(run);
    assert.equal(b.status, 3, b.stdout + b.stderr);
    assert.match(
      b.stdout,
      new RegExp(`MriseqError run\\.in_use: .*in use by another mriseq process.*pid ${a.p.pid} on `),
    );
    // in-process as well: the error is our type with the folder named
    assert.throws(
      () => acquireRunLock(run),
      (e: unknown) => e instanceof MriseqError && e.code === 'run.in_use' && e.message.includes(run),
    );
    a.p.stdin.end(); // A finishes and releases
    await new Promise((r) => a.p.on('close', r));
    assert.ok(!existsSync(join(run, LOCK_FILE)), 'released lock file removed');
    const c = tryLock(run);
    assert.equal(c.status, 0, c.stdout);
  },
);

test('the lock of a SIGKILLed process is stale and taken over', { timeout: 60_000 }, async () => {
  const run = join(tmp, 'run-b');
  const a = holder(run);
  assert.equal(await a.ready, 'locked');
  a.p.kill('SIGKILL');
  await new Promise((r) => a.p.on('close', r));
  assert.ok(existsSync(join(run, LOCK_FILE)), 'a killed process leaves its lock behind');
  const lock = acquireRunLock(run);
  assert.equal(JSON.parse(readFileSync(lock.file, 'utf8')).pid, process.pid);
  lock.release();
  assert.ok(!existsSync(lock.file));
});

test('a lock held on another host is never guessed stale; a fresh unreadable one is in use', () => {
  const run = join(tmp, 'run-c');
  acquireRunLock(run).release();
  const other = { pid: 1, hostname: `not-${hostname()}`, started: 'x', command: 'train', token: 't' };
  writeFileSync(join(run, LOCK_FILE), JSON.stringify(other));
  assert.throws(() => acquireRunLock(run), /in use.*pid 1 on not-/);
  writeFileSync(join(run, LOCK_FILE), '');
  assert.throws(() => acquireRunLock(run), /in use.*a lock being written/);
});
