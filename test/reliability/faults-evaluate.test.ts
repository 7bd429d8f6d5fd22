/**
 * SIGKILL during `mriseq evaluate`'s table writes: the resumed run gives the identical table (same
 * bytes as an uninterrupted run) and no temporary file is left; a read-only output folder and a
 * full disk give one clear error line and leave the earlier table intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leftovers, mriseq, type CliResult } from './faults-helpers.js';
import { evaluateArgs, makePhantomRun, phantomRunPaths } from '../helpers/phantom-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-fault-eval-'));
const mounts: string[] = [];
process.on('exit', () => {
  for (const m of mounts) spawnSync('umount', [m]);
  rmSync(tmp, { recursive: true, force: true });
});
const { manifest, model: run } = phantomRunPaths(tmp);
const evaluate = (out: string) => evaluateArgs(run, manifest, out);

/** Mounts a tmpfs (options e.g. 'size=16k' or 'ro'); undefined with the reason when not permitted. */
function tryMount(dir: string, options: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot mount a tmpfs here (${(r.stderr || r.error?.message || '').trim()})`;
  mounts.push(dir);
  return undefined;
}

let reference = '';
/** The provenance record of the reference table (every subject recorded). */
let record = '';
/** A table cut short, with the record it was written with (a resume needs both). */
function writeTable(dir: string, rows: string): void {
  writeFileSync(join(dir, 'table.csv'), rows);
  writeFileSync(join(dir, 'table.provenance.json'), record);
}
/** The reference table cut after its header and `rows` rows (9 rows a subject). */
const firstRows = (rows: number) =>
  reference
    .split('\n')
    .slice(0, 1 + rows)
    .join('\n') + '\n';

/** A refused write: exit 2, one `mriseq: ` line (LPIPS's note aside), no stack trace; returns the line. */
function oneErrorLine(r: CliResult): string {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('mriseq: ') && !/LPIPS/.test(l));
  assert.equal(lines.length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  return lines[0]!;
}
test('setup: a 4-subject phantom and a 1-step generator', { timeout: 120_000 }, async () => {
  await makePhantomRun(tmp, { subjects: 4, split: false });
  const e = await mriseq(evaluate(join(tmp, 'ref.csv')));
  assert.equal(e.status, 0, e.stderr);
  reference = readFileSync(join(tmp, 'ref.csv'), 'utf8');
  record = readFileSync(join(tmp, 'ref.provenance.json'), 'utf8');
  assert.equal(reference.trim().split('\n').length, 1 + 4 * 9, 'header + 4 subjects x 3 x 3 pairs');
});

test(
  'evaluate killed after 2 of 4 subjects resumes to the identical table',
  { timeout: 120_000 },
  async () => {
    const out = join(tmp, 'killed', 'table.csv');
    const k = await mriseq(evaluate(out), (o) => /evaluate: 2\/4/.test(o));
    assert.ok(k.killed, `killed (status ${k.status}): ${k.stderr}`);
    const partial = readFileSync(out, 'utf8');
    assert.ok(
      reference.startsWith(partial),
      'what survived the kill is a prefix of the full table, rows whole',
    );
    const r = await mriseq(evaluate(out));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /kept from an earlier run/);
    assert.equal(readFileSync(out, 'utf8'), reference);
    assert.deepEqual(leftovers(join(tmp, 'killed')), []);
  },
);

test(
  'a read-only output folder: one clear error line, earlier table intact',
  { timeout: 120_000 },
  async (t) => {
    const ro = join(tmp, 'ro');
    const why = tryMount(ro, 'size=1m');
    if (why) return t.skip(why);
    // half the table, so evaluate has rows to add
    const half = firstRows(2 * 9);
    writeTable(ro, half);
    const rm = spawnSync('mount', ['-o', 'remount,ro', ro], { encoding: 'utf8' });
    if (rm.status !== 0) return t.skip(`cannot remount read-only: ${rm.stderr}`);
    const r = await mriseq(evaluate(join(ro, 'table.csv')));
    const line = oneErrorLine(r);
    // the run lock is the first write into the folder: it names the folder and the cause
    assert.match(line, /ro\/\.mriseq\.lock: cannot create the run lock; found EROFS; expected a writable/i);
    assert.equal(readFileSync(join(ro, 'table.csv'), 'utf8'), half, 'earlier rows untouched');
  },
);

test(
  'a full disk: one clear error line, earlier table intact, no temp file',
  { timeout: 120_000 },
  async (t) => {
    const full = join(tmp, 'full');
    // three pages: the earlier table, its record and the run lock fit, the rewritten table does not
    const why = tryMount(full, 'size=12k');
    if (why) return t.skip(why);
    const half = firstRows(9);
    writeTable(full, half);
    const r = await mriseq(evaluate(join(full, 'table.csv')));
    const line = oneErrorLine(r);
    assert.match(line, /table\.csv.*cannot write file; found ENOSPC/i);
    assert.equal(readFileSync(join(full, 'table.csv'), 'utf8'), half, 'earlier rows untouched');
    assert.deepEqual(leftovers(full), []);
  },
);

test(
  'a disk too full for the run lock: one clear error line, no lock file left',
  { timeout: 120_000 },
  async (t) => {
    const full = join(tmp, 'full-lock');
    const why = tryMount(full, 'size=8k');
    if (why) return t.skip(why);
    writeTable(full, firstRows(9));
    const r = await mriseq(evaluate(join(full, 'table.csv')));
    const line = oneErrorLine(r);
    assert.match(line, /\.mriseq\.lock: cannot write the run lock; found ENOSPC; expected free disk space/);
    assert.deepEqual(readdirSync(full).sort(), ['table.csv', 'table.provenance.json']);
  },
);
