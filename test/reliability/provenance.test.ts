/**
 * Results keyed on their inputs (issue 25, items 1 and 2): generate, evaluate and maps record what
 * produced their outputs; a rerun into the same output with another model, other options or
 * changed data is refused (naming the record and what differs), `--redo` replaces the old outputs
 * with exactly what a fresh run writes; a subject whose outputs are incomplete is redone; a fresh
 * train never mixes with another run's checkpoints, and --resume checks the checkpoint's own data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliOk, evaluateArgs, makePhantomRun, trainArgs } from '../helpers/phantom-run.js';
import { runCli } from '../helpers/cli.js';
import { treeHashes } from '../helpers/tree.js';
import { readNifti, writeNifti } from '../../src/io/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'mriseq-provenance-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
let manifest = '';
let modelA = '';
let modelB = '';

test('setup: a 4-subject phantom, generators A and B (other seeds)', { timeout: 180_000 }, async () => {
  const r = await makePhantomRun(tmp, { subjects: 4, split: false });
  manifest = r.manifest;
  modelA = r.model;
  modelB = join(tmp, 'modelB');
  await cliOk([...trainArgs(manifest, modelB), '--seed', '1']);
});

/** The three per-subject commands, writing `out` with the generator in `run`. */
const commands: Record<string, (run: string, out: string) => string[]> = {
  generate: (run, out) => ['generate', '--run', run, '--manifest', manifest, '--target', 't2', '--out', out],
  evaluate: (run, out) => evaluateArgs(run, manifest, join(out, 'table.csv')),
  maps: (run, out) => [
    'maps',
    '--run',
    run,
    '--manifest',
    manifest,
    '--out',
    out,
    '--split',
    'all',
    '--targets',
    't2',
  ],
};

for (const [name, args] of Object.entries(commands)) {
  test(
    `${name}: a rerun with another model is refused, --redo gives exactly a fresh run's outputs`,
    { timeout: 180_000 },
    async () => {
      const out = join(tmp, `${name}-x`);
      await cliOk(args(modelA, out));
      const withA = treeHashes(out, ['.mriseq.lock']);
      const r = await runCli(args(modelB, out));
      assert.equal(r.code, 2, r.out);
      assert.match(r.err, /were made from other inputs; found model: [0-9a-f]{12} -> [0-9a-f]{12}/);
      assert.match(r.err, /provenance\.json/);
      assert.match(r.err, /--redo/);
      assert.deepEqual(treeHashes(out, ['.mriseq.lock']), withA, 'the refused run changed nothing');
      // the same model again: everything is kept (nothing recomputed)
      const again = await runCli(args(modelA, out));
      assert.equal(again.code, 0, again.err);
      assert.deepEqual(treeHashes(out, ['.mriseq.lock']), withA);
      await cliOk([...args(modelB, out), '--redo']);
      const fresh = join(tmp, `${name}-fresh`);
      await cliOk(args(modelB, fresh));
      assert.deepEqual(treeHashes(out, ['.mriseq.lock']), treeHashes(fresh, ['.mriseq.lock']));
    },
  );
}

test(
  'evaluate: changed data under finished rows are refused; a copied cohort (same voxels) resumes',
  { timeout: 180_000 },
  async () => {
    const out = join(tmp, 'eval-data');
    const table = join(out, 'table.csv');
    await cliOk(evaluateArgs(modelA, manifest, table));
    const rows = readFileSync(table, 'utf8');
    // the same cohort copied elsewhere: other file stats, the same voxels: every row is kept
    const copy = join(tmp, 'data-copy');
    cpSync(join(tmp, 'data'), copy, { recursive: true });
    const r = await runCli(evaluateArgs(modelA, join(copy, 'manifest.csv'), table));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /36 rows \(0 new, 36 kept/);
    // one voxel of one subject changed: its finished rows no longer describe it
    const file = join(copy, 'sim-00002', 'sim-00002_t1.nii.gz');
    const v = await readNifti(file);
    const data = Float32Array.from(v.data);
    data[40] += 50;
    await writeNifti(file, { ...v, data });
    const c = await runCli(evaluateArgs(modelA, join(copy, 'manifest.csv'), table));
    assert.equal(c.code, 2, c.out);
    assert.match(c.err, /the data of sim-00002 differ from those its outputs were made from/);
    assert.equal(readFileSync(table, 'utf8'), rows);
  },
);

test(
  'maps: a subject whose region table was not written (failed between its last map and md_regions.json) is redone',
  { timeout: 180_000 },
  async () => {
    const out = join(tmp, 'maps-partial');
    // a folder where md_regions.json should go: the write after the subject's maps fails
    mkdirSync(join(out, 'sim-00000', 'md_regions.json'), { recursive: true });
    const args = commands.maps!(modelA, out);
    const failed = await runCli(args);
    assert.equal(failed.code, 2, failed.out);
    assert.ok(existsSync(join(out, 'sim-00000', 'md_t2.nii.gz')), 'the map was written before the failure');
    rmSync(join(out, 'sim-00000', 'md_regions.json'), { recursive: true });
    await cliOk(args);
    const regions = JSON.parse(readFileSync(join(out, 'sim-00000', 'md_regions.json'), 'utf8')) as {
      subject: string;
    };
    assert.equal(regions.subject, 'sim-00000');
    const fresh = join(tmp, 'maps-partial-fresh');
    await cliOk(commands.maps!(modelA, fresh));
    assert.deepEqual(treeHashes(out, ['.mriseq.lock']), treeHashes(fresh, ['.mriseq.lock']));
  },
);

test(
  "train: a fresh run into a folder holding another run is refused (--redo clears it); --resume checks the checkpoint's own data record",
  { timeout: 180_000 },
  async () => {
    const run = join(tmp, 'train-run');
    await cliOk(trainArgs(manifest, run));
    const fresh = await runCli(trainArgs(manifest, run));
    assert.equal(fresh.code, 2);
    assert.match(fresh.err, /this run folder holds another run.*last, best, summary\.json.*--resume.*--redo/);
    // other volumes under the same subject ids (the phantom with another seed)
    const other = join(tmp, 'other');
    await cliOk([
      'simulate',
      '--out',
      other,
      '--subjects',
      '4',
      '--size',
      '16,16,8',
      '--seed',
      '6',
      '--quiet',
      '--no-split',
    ]);
    const otherManifest = join(other, 'manifest.csv');
    // what an interrupted fresh run on the other data left before this fix: RUN/data.json rewritten
    const otherRun = join(tmp, 'train-other');
    await cliOk(trainArgs(otherManifest, otherRun));
    writeFileSync(join(run, 'data.json'), readFileSync(join(otherRun, 'data.json')));
    const resumed = await runCli([...trainArgs(otherManifest, run), '--resume']);
    assert.equal(resumed.code, 2, resumed.out);
    assert.match(
      resumed.err,
      /last\/data\.json.*trained on other data \(same subject ids, different volumes\)/,
    );
    // --redo: the old run goes, a fresh one on the other data takes its place
    await cliOk([...trainArgs(otherManifest, run), '--redo']);
    assert.deepEqual(
      JSON.parse(readFileSync(join(run, 'last', 'data.json'), 'utf8')),
      JSON.parse(readFileSync(join(otherRun, 'last', 'data.json'), 'utf8')),
    );
  },
);

test(
  'classify, cluster and figures: another run into the same folder is refused, --redo replaces it',
  { timeout: 180_000 },
  async () => {
    const quiet = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      const classify = (out: string, seed: string) => [
        'classify',
        '--phantom',
        '12',
        '--label',
        'highEnhancement',
        '--sequences',
        't1gd',
        '--epochs',
        '1',
        '--width',
        '2',
        '--downsample',
        '4',
        '--no-attention',
        '--seed',
        seed,
        '--out',
        out,
      ];
      const cluster = (out: string, seed: string) => [
        'cluster',
        '--phantom',
        '12',
        '--sequence',
        't1gd',
        '--epochs',
        '1',
        '--k',
        '2',
        '--seed',
        seed,
        '--out',
        out,
      ];
      const figures = (run: string, out: string) => ['figures', '--run', run, '--out', out, '--no-static'];
      const a = join(tmp, 'fig-run-a');
      const b = join(tmp, 'fig-run-b');
      mkdirSync(a);
      mkdirSync(b);
      for (const [name, first, second] of [
        ['classify', classify(join(tmp, 'cls'), '0'), classify(join(tmp, 'cls'), '1')],
        ['cluster', cluster(join(tmp, 'clu'), '0'), cluster(join(tmp, 'clu'), '1')],
        ['figures', figures(a, join(tmp, 'fig')), figures(b, join(tmp, 'fig'))],
      ] as const) {
        await cliOk([...first]);
        const r = await runCli([...second]);
        assert.equal(r.code, 2, `${name}: ${r.out}`);
        assert.match(
          r.err,
          new RegExp(
            `${name}\\.provenance\\.json: inputs: the ${name} outputs in .* were made from other inputs; found`,
          ),
        );
        await cliOk([...second, '--redo']);
      }
    } finally {
      process.stderr.write = quiet;
    }
  },
);
