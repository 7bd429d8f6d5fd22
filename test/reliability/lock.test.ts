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

/** `mriseq maps` of a model that is not there into `run`: it fails, but only after taking the lock. */
const mapsWithoutModel = (run: string, ...extra: string[]): string[] => [
  'maps',
  '--run',
  join(run, 'no-model'),
  '--manifest',
  'm.csv',
  '--out',
  run,
  ...extra,
];

// Every CLI command that writes into a run folder takes its lock before any work: a second
// writer is refused at once with the clear error, and the refusal is the lock's (the same
// command without a holder fails later, for its own reason, and leaves no lock behind).
const writers: { name: string; args: (held: string) => string[]; folder: (held: string) => string }[] = [
  {
    name: 'evaluate',
    args: (run) => [
      'evaluate',
      '--run',
      join(run, 'no-model'),
      '--manifest',
      'm.csv',
      '--out',
      join(run, 'evaluation.csv'),
    ],
    folder: (run) => run,
  },
  {
    name: 'maps',
    args: (run) => mapsWithoutModel(run),
    folder: (run) => run,
  },
  {
    name: 'maps --shard (locks its part folder)',
    args: (run) => mapsWithoutModel(run, '--shard', '1/2'),
    folder: (run) => join(run, 'parts', 'maps-1-of-2'),
  },
  { name: 'figures', args: (run) => ['figures', '--run', run, '--out', run], folder: (run) => run },
  {
    name: 'classify',
    args: (run) => ['classify', '--label', 'x', '--phantom', '4', '--out', run],
    folder: (run) => run,
  },
  { name: 'cluster', args: (run) => ['cluster', '--phantom', '4', '--out', run], folder: (run) => run },
  { name: 'merge', args: (run) => ['merge', run], folder: (run) => run },
];

for (const w of writers) {
  test(`mriseq ${w.name}: a second writer of the run folder gets "in use"`, { timeout: 60_000 }, async () => {
    const { runCli } = await import('../helpers/cli.js');
    const run = join(tmp, `cli-${w.name.replace(/\W+/g, '-')}`);
    const a = holder(w.folder(run));
    try {
      assert.equal(await a.ready, 'locked');
      const r = await runCli(w.args(run));
      assert.equal(r.code, 2, r.out + r.err);
      assert.match(r.err, new RegExp(`in use by another mriseq process.*pid ${a.p.pid} on `));
    } finally {
      a.p.stdin.end();
      await new Promise((r) => a.p.on('close', r));
    }
    if (w.name.startsWith('evaluate') || w.name.startsWith('maps')) {
      // without the holder the same command gets past the lock (and fails on the missing model)
      const r = await runCli(w.args(run));
      assert.equal(r.code, 2, r.out + r.err);
      assert.doesNotMatch(r.err, /in use/);
      assert.match(r.err, /checkpoint|no generator/i);
      assert.ok(!existsSync(join(w.folder(run), LOCK_FILE)), 'released after the failure');
    }
  });
}

test(
  'shards of one run lock their own part folders: a writer of RUN does not block them',
  { timeout: 60_000 },
  async () => {
    const { runCli } = await import('../helpers/cli.js');
    const run = join(tmp, 'cli-shards');
    const a = holder(run);
    try {
      assert.equal(await a.ready, 'locked');
      const r = await runCli(mapsWithoutModel(run, '--shard', '0/2'));
      assert.equal(r.code, 2);
      assert.doesNotMatch(r.err, /in use/, 'the shard is not refused by the lock of RUN');
    } finally {
      a.p.stdin.end();
      await new Promise((r) => a.p.on('close', r));
    }
  },
);
