/**
 * Static export through plotly.js in Debian's headless Chromium, and `mriseq figures` on a run
 * folder. Images are decoded (PNG) or read (SVG) and must differ between different inputs and
 * match for equal inputs; plotly.js's own Plotly.validate checks every builder's spec.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FigureExporter, chromiumPath, figureHtml } from '../../src/plot/node.js';
import { writeRunFigures } from '../../src/cli/commands/figures.js';
import { writeNifti } from '../../src/io/index.js';
import { decodePng } from '../display/png-decode.js';
import { sampleFigures } from './samples.js';

const skip = existsSync(chromiumPath())
  ? undefined
  : `no Chromium at ${chromiumPath()} (apt-get install chromium)`;
let exporter: Promise<FigureExporter> | undefined;
const getExporter = () => (exporter ??= FigureExporter.launch());
after(async () => {
  if (exporter) await (await exporter).close();
});

function differingPixels(a: Buffer, b: Buffer): number {
  const x = decodePng(a);
  const y = decodePng(b);
  assert.deepEqual([x.width, x.height, x.channels], [y.width, y.height, y.channels]);
  let n = 0;
  for (let i = 0; i < x.pixels.length; i++) if (x.pixels[i] !== y.pixels[i]) n++;
  return n;
}

test('Plotly.validate accepts every builder spec', { skip, timeout: 120_000 }, async () => {
  const ex = await getExporter();
  for (const [name, fig] of Object.entries(sampleFigures(0)))
    assert.deepEqual(await ex.validate(fig), [], name);
  // and it is a real check: an unknown attribute is reported
  const bad = await ex.validate({ data: [{ type: 'bar', x: [1], y: [1], notAnAttribute: 3 }], layout: {} });
  assert.ok(bad.length > 0);
});

test(
  'PNG and SVG are non-empty, differ between inputs, equal for equal inputs',
  { skip, timeout: 180_000 },
  async () => {
    const ex = await getExporter();
    const a = sampleFigures(0);
    const b = sampleFigures(1);
    for (const name of ['ranking', 'maps', 'roc', 'contribution']) {
      const pa = await ex.toImage(a[name], 'png', { width: 400, height: 300 });
      const pb = await ex.toImage(b[name], 'png', { width: 400, height: 300 });
      const pa2 = await ex.toImage(a[name], 'png', { width: 400, height: 300 });
      const d = decodePng(pa);
      assert.deepEqual([d.width, d.height], [400, 300], name);
      // not blank: more than one distinct colour
      const colours = new Set<number>();
      for (let i = 0; i < d.pixels.length; i += d.channels)
        colours.add((d.pixels[i] << 16) | (d.pixels[i + 1] << 8) | d.pixels[i + 2]);
      assert.ok(colours.size > 5, `${name}: ${colours.size} colours`);
      assert.ok(differingPixels(pa, pb) > 100, `${name}: different inputs, different pixels`);
      assert.equal(differingPixels(pa, pa2), 0, `${name}: same input, same pixels`);
      const sa = await ex.toImage(a[name], 'svg');
      const sb = await ex.toImage(b[name], 'svg');
      assert.match(sa, /^<svg[\s\S]*<\/svg>$/);
      assert.notEqual(sa, sb, name);
    }
    // scale doubles the pixel size
    const big = decodePng(await ex.toImage(a.roc, 'png', { width: 200, height: 100, scale: 2 }));
    assert.deepEqual([big.width, big.height], [400, 200]);
  },
);

test('standalone HTML carries the spec and plotly.js, no CDN', () => {
  const html = figureHtml(sampleFigures(0).roc, { plotlySrc: 'plotly.min.js' });
  assert.match(html, /<script src="plotly\.min\.js"><\/script>/);
  assert.doesNotMatch(html, /https?:\/\//);
  assert.match(html, /Plotly\.newPlot\('fig'/);
});

test(
  'mriseq figures: PNG + SVG + HTML per result in a run folder, index.html, notes for missing inputs',
  { skip, timeout: 300_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mriseq-figs-'));
    try {
      const run = join(dir, 'run');
      const out = join(dir, 'out');
      mkdirSync(join(run, 'maps', 'sub-01'), { recursive: true });
      writeFileSync(
        join(run, 'history.jsonl'),
        Array.from({ length: 5 }, (_, s) =>
          JSON.stringify({ step: s + 1, loss: { total: 1 / (s + 1) }, lr: 1e-3 }),
        ).join('\n') + '\n',
      );
      const seqs = ['t1', 't2', 'flair'];
      const lines = ['subject,source,target,psnr,ssim'];
      for (const subj of ['a', 'b', 'c'])
        for (const s of seqs)
          for (const t of seqs)
            if (s !== t)
              lines.push(
                `${subj},${s},${t},${20 + seqs.indexOf(s) * 2 + (subj.charCodeAt(0) % 3)},${0.6 + seqs.indexOf(t) * 0.05}`,
              );
      writeFileSync(join(run, 'evaluation.csv'), lines.join('\n') + '\n');
      const [nx, ny, nz] = [12, 12, 4];
      const eye = [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ];
      const vol = (f: (i: number) => number) => ({
        data: Float32Array.from({ length: nx * ny * nz }, (_, i) => f(i)),
        shape: [nx, ny, nz],
        spacing: [1, 1, 1],
        affine: eye,
        datatype: 'float32' as const,
      });
      await writeNifti(
        join(run, 'maps', 'sub-01', 'md_flair.nii.gz'),
        vol((i) => (i % nx > 6 ? 1 : 0)),
      );
      await writeNifti(
        join(run, 'maps', 'sub-01', 'flair.nii.gz'),
        vol((i) => i % 7),
      );
      // the demo's extras: the true unique mask, the subtraction and its anatomy, what ran
      await writeNifti(
        join(run, 'maps', 'sub-01', 'truth_unique_t1gd.nii.gz'),
        vol((i) => (i % 5 === 0 ? 1 : 0)),
      );
      await writeNifti(
        join(run, 'maps', 'sub-01', 'subtraction_t1gd_t1.nii.gz'),
        vol((i) => (i % 5) / 5),
      );
      await writeNifti(
        join(run, 'maps', 'sub-01', 't1gd.nii.gz'),
        vol((i) => i % 3),
      );
      writeFileSync(
        join(run, 'run.json'),
        JSON.stringify({
          model: 'pretrained:phantom-lite',
          phantom: { seed: 0, size: [64, 64, 32], heldOut: { start: 204, count: 12 } },
        }),
      );
      writeFileSync(
        join(run, 'acceptance.json'),
        JSON.stringify({
          lines: [
            { check: 'C_d ranks t1gd <first>', measured: 't1gd > t1', required: 't1gd first', pass: true },
          ],
        }),
      );
      writeFileSync(
        join(run, 'latent.json'),
        JSON.stringify({
          points: [
            [0, 1],
            [1, 0],
            [2, 2],
          ],
          labels: ['a', 'b', 'a'],
        }),
      );
      const r = await writeRunFigures(run, out);
      const names = r.written.map((w) => w.name).sort();
      assert.deepEqual(names, [
        'contribution-matrix',
        'latent',
        'md-sub-01-flair',
        'pair-metrics',
        'ranking',
        'subtraction-sub-01',
        'training',
      ]);
      for (const w of r.written) {
        assert.ok(decodePng(readFileSync(w.png!)).width > 0, w.name);
        assert.match(readFileSync(w.svg!, 'utf8'), /^<svg/);
        assert.match(readFileSync(w.html, 'utf8'), /Plotly\.newPlot/);
      }
      assert.ok(existsSync(join(out, 'plotly.min.js')));
      assert.deepEqual(r.skipped.map((s) => s.name).sort(), ['gradcam', 'roc']);
      const index = readFileSync(r.index, 'utf8');
      for (const n of names) assert.match(index, new RegExp(`${n}\\.png`));
      assert.match(index, /roc: no roc\.json or predictions\.csv/);
      // the page names the run and what produced it, and carries the acceptance table (escaped)
      assert.match(index, /<h1>mriseq figures: run<\/h1>/);
      assert.match(index, /Generator: <b>pretrained:phantom-lite<\/b>; held-out phantom subjects 204-215/);
      assert.match(index, /<td>&#10003; pass<\/td><td>C_d ranks t1gd &lt;first&gt;<\/td>/);
      // the subtraction baseline comes right after the maps it is the baseline of
      assert.ok(index.indexOf('subtraction-sub-01.png') < index.indexOf('ranking.png'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
