// `mriseq figures` draws the paper's studies from the specs notebooks 05-08 write to claims/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFigures } from '../../src/cli/commands/figures.js';
import { intervalFigure } from '../../src/plot/index.js';

test('claims/<name>.figure.json specs are collected with their titles; a broken one is skipped, named', async () => {
  const run = mkdtempSync(join(tmpdir(), 'mriseq-claims-figures-'));
  try {
    const claims = join(run, 'claims');
    mkdirSync(claims);
    const fig = intervalFigure([{ label: 'MRI', value: 0.7, lo: 0.6, hi: 0.8 }], {
      title: 'Claim 3: test AUC',
    });
    writeFileSync(join(claims, 'claim3-auc.figure.json'), JSON.stringify(fig));
    writeFileSync(
      join(claims, 'broken.figure.json'),
      JSON.stringify({ data: [{ type: 'nonsense' }], layout: {} }),
    );
    writeFileSync(join(claims, 'cut.figure.json'), '{"data": [');
    writeFileSync(join(claims, 'claim3.json'), JSON.stringify({ not: 'a figure' }));
    const r = await runFigures(run);
    const claim = r.figures.filter((f) => f.name.startsWith('claim-'));
    assert.deepEqual(
      claim.map((f) => [f.name, f.title]),
      [['claim-claim3-auc', 'Claim 3: test AUC']],
    );
    assert.deepEqual(claim[0].fig, fig);
    const broken = r.skipped.find((s) => s.name === 'claim-broken');
    assert.ok(broken, 'the broken spec is reported');
    assert.match(broken.reason, /not a plotly figure/);
    assert.match(r.skipped.find((s) => s.name === 'claim-cut')?.reason ?? '', /not valid JSON/);
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});

test('a run folder without claims/ has no claim figures and no note for them', async () => {
  const run = mkdtempSync(join(tmpdir(), 'mriseq-claims-figures-'));
  try {
    const r = await runFigures(run);
    assert.ok(!r.figures.some((f) => f.name.startsWith('claim')));
    assert.ok(!r.skipped.some((s) => s.name.startsWith('claim')));
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});
