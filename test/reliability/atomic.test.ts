/**
 * The shared atomic writers of src/reliability, crashed for real: a child process SIGKILLs itself
 * at each stage of a folder write (files written; old folder moved aside; new one in place) or
 * after writing a file's temp. Readers must always find a complete version, a rerun must put the
 * folder back and remove what the dead writer left, and a live writer's temp is never touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findFolder,
  recoverFolder,
  removeStaleTemps,
  writeFolderAtomic,
} from '../../src/reliability/node.js';
import { writeTextAtomic } from '../../src/cohort/node.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-atomic-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const childFile = join(__dirname, 'atomic-child.ts');
const child = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', childFile, ...args], { encoding: 'utf8' });

const version = (dir: string) => {
  const a = readFileSync(join(dir, 'a.txt'), 'utf8');
  assert.equal(readFileSync(join(dir, 'b.txt'), 'utf8'), a, `${dir}: both files of one version`);
  return a.trim();
};

for (const stage of ['written', 'moved-old', 'swapped'] as const) {
  test(`folder write killed at '${stage}': readers find a complete version, a rerun restores it and tidies up`, () => {
    const parent = join(tmp, stage);
    mkdirSync(parent);
    const dir = join(parent, 'last');
    assert.equal(child('folder', dir, 'none', 'v1').status, 0);
    const k = child('folder', dir, stage, 'v2');
    assert.equal(k.signal, 'SIGKILL', k.stderr);
    const left = readdirSync(parent).filter((n) => n !== 'last');
    assert.ok(left.length > 0, `the kill left temp folders (${readdirSync(parent).join(', ')})`);
    // between the renames the folder itself is gone: the window the fallback covers
    assert.equal(existsSync(dir), stage !== 'moved-old');
    const want = stage === 'written' ? 'v1' : 'v2';
    const found = findFolder(dir);
    assert.ok(found, 'a complete version is found');
    assert.equal(version(found), want);
    recoverFolder(dir);
    assert.equal(version(dir), want);
    assert.deepEqual(readdirSync(parent), ['last'], 'nothing of the dead writer is left');
    writeFolderAtomic(dir, { 'a.txt': 'v3\n', 'b.txt': 'v3\n' });
    assert.equal(version(dir), 'v3');
    assert.deepEqual(readdirSync(parent), ['last']);
  });
}

test('a later write recovers a folder left between the renames by itself (no explicit recover)', () => {
  const parent = join(tmp, 'implicit');
  mkdirSync(parent);
  const dir = join(parent, 'best');
  child('folder', dir, 'none', 'v1');
  assert.equal(child('folder', dir, 'moved-old', 'v2').signal, 'SIGKILL');
  assert.ok(!existsSync(dir));
  writeFolderAtomic(dir, { 'a.txt': 'v3\n', 'b.txt': 'v3\n' });
  assert.equal(version(dir), 'v3');
  assert.deepEqual(readdirSync(parent), ['best']);
});

test("a file write removes a dead writer's temp, never a live writer's, another host's or another file's", async () => {
  const dir = join(tmp, 'files');
  mkdirSync(dir);
  const path = join(dir, 'manifest.csv');
  const dead = child('file', path, 'half a manifest');
  assert.equal(dead.signal, 'SIGKILL');
  const deadTemps = readdirSync(dir);
  assert.equal(deadTemps.length, 1, 'the killed writer left its temp');
  assert.match(deadTemps[0]!, /^manifest\.csv\.\d+-[0-9a-f]{6}-[0-9a-f]{8}\.tmp$/);
  const deadPid = Number(deadTemps[0]!.split('.')[2]!.split('-')[0]);

  const live = spawn(process.execPath, ['--import', 'tsx', childFile, 'hold', path], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => live.stdout.on('data', () => resolve()));
  const liveTemp = readdirSync(dir).find((n) => n.startsWith(`manifest.csv.${live.pid}-`));
  assert.ok(liveTemp, 'the live writer has its temp');
  const myHost = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);
  const otherHost = `manifest.csv.${deadPid}-${myHost === '000000' ? '111111' : '000000'}-0badc0de.tmp`;
  const unrelated = [otherHost, 'manifest.csv.bak', `other.csv.${deadPid}-${myHost}-0badc0de.tmp`];
  for (const n of unrelated) writeFileSync(join(dir, n), 'x');

  await writeTextAtomic(path, 'id,t1\n');
  assert.equal(readFileSync(path, 'utf8'), 'id,t1\n');
  assert.deepEqual(readdirSync(dir).sort(), [...unrelated, 'manifest.csv', liveTemp].sort());

  live.stdin.end();
  await new Promise((r) => live.on('close', r));
  // the holder is gone now: its temp is a dead writer's
  assert.deepEqual(removeStaleTemps(path), [liveTemp]);
  // a caller holding the run lock may also drop anything older than its lock
  assert.deepEqual(removeStaleTemps(path, { olderThan: Date.now() + 1000 }), [otherHost]);
  assert.deepEqual(readdirSync(dir).sort(), ['manifest.csv', 'manifest.csv.bak', unrelated[2]].sort());
});
