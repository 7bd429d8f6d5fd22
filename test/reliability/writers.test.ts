/**
 * Every writer of mriseq goes through src/reliability's shared atomic writer: beside each output a
 * temp file left by a killed writer of this host (`<name>.<dead pid>-<host>-<hex>.tmp`) is removed
 * when the output is written again, the output holds the new bytes, and nothing else is left. A
 * writer with its own temp-then-rename copy would leave the dead temp behind. The merge of shard
 * parts never takes such temps (files or half-written folders) for outputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createVolume } from '../../src/volume/index.js';
import { readNifti, writeNifti } from '../../src/io/index.js';
import { saveClassifier } from '../../src/classify/node.js';
import { ResNet3d } from '../../src/classify/index.js';
import { mergeRun, SHARD_MARKER, writeShardMarker } from '../../src/scale/node.js';
import { writeFigure } from '../../src/plot/node.js';
import { installKernel } from '../../src/cli/commands/kernel.js';
import { writeRunFigures } from '../../src/cli/commands/figures.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-writers-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);
/** A pid that ran on this host and is gone now. */
const DEAD_PID = (() => {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
})();

/** Leaves a dead writer's temp beside `path`; returns its name. */
function deadTemp(path: string): string {
  mkdirSync(dirname(path), { recursive: true });
  const name = `${path}.${DEAD_PID}-${HOST}-0badc0de.tmp`;
  writeFileSync(name, 'half written by a killed writer');
  return name;
}

const tempsIn = (dir: string) => readdirSync(dir).filter((n) => /\.tmp$|\.tmp-|\.old-/.test(n));

test('the dead pid is really gone', () => {
  assert.ok(Number.isInteger(DEAD_PID) && DEAD_PID > 0);
  assert.throws(() => process.kill(DEAD_PID, 0), /ESRCH/);
});

test('NIfTI writer (src/io)', async () => {
  const dir = join(tmp, 'io');
  const path = join(dir, 't1.nii.gz');
  deadTemp(path);
  const v = createVolume(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), [2, 2, 2]);
  await writeNifti(path, v);
  assert.deepEqual([...(await readNifti(path)).data], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(readdirSync(dir), ['t1.nii.gz']);
});

test('classifier checkpoint writer (src/classify)', () => {
  const dir = join(tmp, 'classify');
  const path = join(dir, 'model.json');
  deadTemp(path);
  const m = new ResNet3d({ inputChannels: ['t1'], classNames: ['a', 'b'] });
  saveClassifier(m, path);
  m.dispose();
  assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { format: string }).format, 'mriseq-resnet3d');
  assert.deepEqual(readdirSync(dir), ['model.json']);
});

test('scale writer (shard markers)', () => {
  const dir = join(tmp, 'scale');
  const path = join(dir, SHARD_MARKER);
  deadTemp(path);
  writeShardMarker(dir, { command: 'evaluate', shard: { index: 1, count: 2 }, subjects: ['s1'] });
  assert.deepEqual((JSON.parse(readFileSync(path, 'utf8')) as { subjects: string[] }).subjects, ['s1']);
  assert.deepEqual(readdirSync(dir), [SHARD_MARKER]);
});

test('figure files (src/plot, HTML only: no browser needed) and the figures index (CLI)', async () => {
  const dir = join(tmp, 'figures');
  const names = ['plotly.min.js', 'f.html', 'index.html'];
  for (const n of names) deadTemp(join(dir, n));
  const w = await writeFigure({ data: [{ type: 'scatter', x: [0, 1], y: [1, 0] }], layout: {} }, dir, 'f', {
    formats: [],
  });
  assert.match(readFileSync(w.html, 'utf8'), /Plotly\.newPlot/);
  const run = join(tmp, 'empty-run');
  mkdirSync(run);
  const r = await writeRunFigures(run, dir, { formats: [] });
  assert.match(readFileSync(r.index, 'utf8'), /<html/i);
  // the figures' provenance record (which run folder they show) sits beside them
  assert.deepEqual(readdirSync(dir).sort(), [...names, 'figures.provenance.json'].sort());
});

test('kernelspec (mriseq kernel install)', () => {
  const prefix = join(tmp, 'env');
  const [target] = installKernel({ prefix });
  assert.ok(target);
  rmSync(join(target, 'kernel.json'));
  deadTemp(join(target, 'kernel.json'));
  installKernel({ prefix });
  const spec = JSON.parse(readFileSync(join(target, 'kernel.json'), 'utf8')) as { display_name?: string };
  assert.equal(spec.display_name, 'mriseq (TypeScript)');
  assert.deepEqual(tempsIn(target), []);
});

test("merge takes no temp of a part's writers (files or half-written folders) for an output", () => {
  const run = join(tmp, 'merge-run');
  const part = join(run, 'parts', 'maps-0-of-1');
  writeFileSync(join(mkdirP(join(part, 's1')), 'md_t1.nii.gz'), 'map');
  deadTemp(join(part, 's1', 'md_t2.nii.gz'));
  // a folder writer killed mid-way (writeFolderAtomic's names) and a legacy NIfTI temp
  writeFileSync(join(mkdirP(join(part, `s2.tmp-${DEAD_PID}-${HOST}-0badc0de`)), 'md_t1.nii.gz'), 'half');
  writeFileSync(join(mkdirP(join(part, `s3.old-${DEAD_PID}-${HOST}-0badc0de`)), 'md_t1.nii.gz'), 'old');
  writeFileSync(join(part, 's1', `.md_t1.nii.gz.${DEAD_PID}.0badc0de.tmp`), 'legacy');
  writeShardMarker(part, { command: 'maps', shard: { index: 0, count: 1 }, subjects: ['s1'] });
  const r = mergeRun(run);
  assert.equal(r.commands[0]?.files, 1, JSON.stringify(r.commands));
  assert.equal(readFileSync(join(run, 's1', 'md_t1.nii.gz'), 'utf8'), 'map');
  assert.deepEqual(
    readdirSync(run)
      .filter((n) => n !== 'parts')
      .sort(),
    ['s1'],
  );
  assert.deepEqual(readdirSync(join(run, 's1')), ['md_t1.nii.gz']);
});

function mkdirP(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
