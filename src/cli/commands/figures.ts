/**
 * `mriseq figures --run RUN --out DIR`: every figure the run folder has results for, as PNG + SVG +
 * interactive HTML, with an index.html. Inputs (all optional; a missing one is skipped with a note):
 *
 *   history.jsonl            training progress, one JSON object per line ({step, loss: {...}, ...})
 *   evaluation.csv           tidy synthesis metrics (subject, source, target, psnr, ssim[, mae, lpips]);
 *                            metrics.csv is accepted as the same
 *   ranking.json             `mriseq rank --json` output ({sequences: [{sequence, C_t, C_d, *_ci}],
 *                            A: {sequences, values}}); computed from evaluation.csv when absent
 *   maps/<subject>/md_<target>.nii.gz   M_d maps; the anatomy under them is
 *                            maps/<subject>/<target>.nii.gz when present (else the map alone)
 *   roc.json                 [{name, fpr, tpr, auc?, aucCi?}] (or {curves: [...]})
 *   predictions.csv          subject,label,score[,model] -> ROC per model (when no roc.json)
 *   latent.json              {points: number[][], labels?: (string|number)[], names?: string[]}
 *   gradcam.json             {panels: [{label?, image: {width, height, data}, cam: {...}}]}
 *
 * Each folder is searched at RUN and RUN/analysis, RUN/train (history.jsonl), so both flat and
 * nested run layouts work.
 */
import type { Command } from 'commander';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { existing, openFolderRecord } from './records.js';
import { REDO_HELP } from './sharding.js';
import { withRunLock, writeFileAtomicSync } from '../../reliability/node.js';
import { MriseqError } from '../../errors/index.js';
import { escapeHtml } from '../../display/index.js';
import {
  contributionMatrixFigure,
  differentiationMapFigure,
  flattenHistory,
  gradcamFigure,
  latentScatterFigure,
  pairMetricsFigure,
  rankingFigure,
  rocCurve,
  rocFigure,
  trainingCurvesFigure,
  type ContributionRow,
  type Figure,
  type GradcamPanel,
  type LatentScatterInput,
  type PairMetricRow,
  type RocCurve,
} from '../../plot/index.js';
import { closeFigureExporter, writeFigure, type WrittenFigure } from '../../plot/node.js';
import { parseEvaluationCsv, rankSequences } from '../../analysis/index.js';
import { parseCsv, unescapeCsvCell } from '../../csv/index.js';
import { readNifti } from '../../io/index.js';

export interface FiguresResult {
  written: (WrittenFigure & { title: string })[];
  skipped: { name: string; reason: string }[];
  index: string;
}

function find(
  run: string,
  names: string[],
  subdirs = ['', 'analysis', 'train', 'results'],
): string | undefined {
  for (const d of subdirs) for (const n of names) if (existsSync(join(run, d, n))) return join(run, d, n);
  return undefined;
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new MriseqError('not valid JSON', {
      file,
      found: e instanceof Error ? e.message : String(e),
      expected: 'a JSON document',
      cause: e,
    });
  }
}

/** The figure specs a run folder supports, each with a file name; notes for what is missing. */
export async function runFigures(run: string): Promise<{
  figures: { name: string; title: string; fig: Figure }[];
  skipped: { name: string; reason: string }[];
}> {
  if (!existsSync(run) || !statSync(run).isDirectory())
    throw new MriseqError('run folder not found', {
      file: run,
      expected: 'a folder written by mriseq (train/analysis outputs)',
    });
  const figures: { name: string; title: string; fig: Figure }[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const add = (name: string, title: string, make: () => Figure) => {
    try {
      figures.push({ name, title, fig: make() });
    } catch (e) {
      skipped.push({ name, reason: e instanceof Error ? e.message : String(e) });
    }
  };

  // training curves
  const hist = find(run, ['history.jsonl']);
  if (hist) {
    add('training', 'Training curves', () => {
      const lines = readFileSync(hist, 'utf8')
        .split('\n')
        .filter((l) => l.trim());
      const recs = lines.map((l, i) => {
        try {
          return JSON.parse(l) as unknown;
        } catch {
          throw new MriseqError('line is not JSON', {
            file: hist,
            field: `line ${i + 1}`,
            expected: 'one JSON object per line',
          });
        }
      });
      const pts = flattenHistory(recs);
      if (pts.length === 0)
        throw new MriseqError('no training steps', { file: hist, expected: 'objects with a numeric step' });
      return trainingCurvesFigure(pts, { logY: true });
    });
  } else skipped.push({ name: 'training', reason: 'no history.jsonl' });

  // evaluation table and ranking
  const evalCsv = find(run, ['evaluation.csv', 'metrics.csv']);
  const rows = evalCsv ? parseEvaluationCsv(readFileSync(evalCsv, 'utf8'), evalCsv) : undefined;
  if (rows)
    add('pair-metrics', 'Synthesis metrics per pair', () =>
      pairMetricsFigure(rows as unknown as PairMetricRow[]),
    );
  else skipped.push({ name: 'pair-metrics', reason: 'no evaluation.csv' });

  const rankFile = find(run, ['ranking.json']);
  let ranking:
    { rows: ContributionRow[]; sequences: string[]; A: (number | null)[][]; level?: number } | undefined;
  if (rankFile) {
    const j = readJson<{
      sequences?: ContributionRow[];
      A?: { sequences: string[]; values: (number | null)[][] };
      matrix?: { sequences: string[]; A: (number | null)[][] };
      level?: number;
    }>(rankFile);
    const A = j.A
      ? { sequences: j.A.sequences, A: j.A.values }
      : j.matrix
        ? { sequences: j.matrix.sequences, A: j.matrix.A }
        : undefined;
    if (!Array.isArray(j.sequences) || !A)
      skipped.push({
        name: 'ranking',
        reason: `${rankFile}: expected {sequences: [...], A: {sequences, values}}`,
      });
    else ranking = { rows: j.sequences, sequences: A.sequences, A: A.A, level: j.level };
  } else if (rows) {
    const r = rankSequences(rows, { resamples: 200, seed: 0 });
    ranking = { rows: r.sequences, sequences: r.matrix.sequences, A: r.matrix.A, level: r.level };
  }
  if (ranking) {
    const rk = ranking;
    add('contribution-matrix', 'Contribution matrix A', () =>
      contributionMatrixFigure({ sequences: rk.sequences, A: rk.A }),
    );
    add('ranking', 'C_t / C_d ranking', () => rankingFigure(rk.rows, { level: rk.level }));
  } else skipped.push({ name: 'ranking', reason: 'no ranking.json or evaluation.csv' });

  // M_d maps
  const mapsDir = find(run, ['maps']);
  if (mapsDir && statSync(mapsDir).isDirectory()) {
    let n = 0;
    for (const subject of readdirSync(mapsDir).sort()) {
      const sdir = join(mapsDir, subject);
      if (!statSync(sdir).isDirectory()) continue;
      for (const f of readdirSync(sdir).sort()) {
        const m = /^md_(.+)\.nii(\.gz)?$/.exec(f);
        if (!m) continue;
        const target = m[1];
        const name = `md-${subject}-${target}`;
        try {
          const md = await readNifti(join(sdir, f));
          const anat = [`${target}.nii.gz`, `${target}.nii`].map((a) => join(sdir, a)).find(existsSync);
          const anatomy = anat ? await readNifti(anat) : md;
          add(name, `M_d ${subject} ${target}`, () =>
            differentiationMapFigure(anatomy, md, {
              title: `M_d for ${target}, ${subject}${anat ? '' : ' (no anatomy found)'}`,
            }),
          );
          n++;
        } catch (e) {
          skipped.push({ name, reason: e instanceof Error ? e.message : String(e) });
        }
      }
    }
    if (n === 0) skipped.push({ name: 'maps', reason: `${mapsDir} has no <subject>/md_<target>.nii.gz` });
  } else skipped.push({ name: 'maps', reason: 'no maps/ folder' });

  // ROC
  const rocFile = find(run, ['roc.json']);
  const predFile = find(run, ['predictions.csv']);
  if (rocFile) {
    const j = readJson<RocCurve[] | { curves: RocCurve[] }>(rocFile);
    add('roc', 'ROC', () => rocFigure(Array.isArray(j) ? j : j.curves));
  } else if (predFile) {
    add('roc', 'ROC', () => {
      const [head = [], ...recs] = parseCsv(readFileSync(predFile, 'utf8')).map((r) =>
        r.map(unescapeCsvCell),
      );
      const col = (c: string) => head.indexOf(c);
      if (col('label') < 0 || col('score') < 0)
        throw new MriseqError('predictions need label and score columns', {
          file: predFile,
          found: head.join(','),
          expected: 'subject,label,score[,model]',
        });
      const byModel = new Map<string, { s: number[]; l: (0 | 1)[] }>();
      for (const r of recs) {
        const model = col('model') >= 0 ? r[col('model')] : 'model';
        const g = byModel.get(model) ?? { s: [], l: [] };
        g.s.push(Number(r[col('score')]));
        g.l.push(Number(r[col('label')]) === 1 ? 1 : 0);
        byModel.set(model, g);
      }
      return rocFigure([...byModel].map(([m, g]) => rocCurve(g.s, g.l, m)));
    });
  } else skipped.push({ name: 'roc', reason: 'no roc.json or predictions.csv' });

  const latentFile = find(run, ['latent.json']);
  if (latentFile)
    add('latent', 'Latent space', () => latentScatterFigure(readJson<LatentScatterInput>(latentFile)));
  else skipped.push({ name: 'latent', reason: 'no latent.json' });

  const camFile = find(run, ['gradcam.json']);
  if (camFile)
    add('gradcam', 'Grad-CAM', () => gradcamFigure(readJson<{ panels: GradcamPanel[] }>(camFile).panels));
  else skipped.push({ name: 'gradcam', reason: 'no gradcam.json' });

  return { figures, skipped };
}

function indexHtml(
  run: string,
  written: FiguresResult['written'],
  skipped: FiguresResult['skipped'],
  out: string,
): string {
  const cards = written
    .map(
      (w) =>
        `<figure>` +
        (w.png
          ? `<a href="${escapeHtml(basename(w.html))}"><img src="${escapeHtml(basename(w.png))}" alt="${escapeHtml(w.title)}" style="max-width:480px"></a>`
          : '') +
        `<figcaption>${escapeHtml(w.title)}: <a href="${escapeHtml(basename(w.html))}">interactive</a>` +
        (w.svg ? ` · <a href="${escapeHtml(basename(w.svg))}">SVG</a>` : '') +
        (w.png ? ` · <a href="${escapeHtml(basename(w.png))}">PNG</a>` : '') +
        `</figcaption></figure>`,
    )
    .join('\n');
  const notes = skipped.map((s) => `<li>${escapeHtml(s.name)}: ${escapeHtml(s.reason)}</li>`).join('\n');
  return (
    `<!doctype html>\n<html><head><meta charset="utf-8"><title>mriseq figures</title>` +
    `<style>body{font:14px sans-serif;margin:2em}figure{display:inline-block;margin:1em;vertical-align:top}</style></head><body>` +
    `<h1>mriseq figures</h1><p>Run: ${escapeHtml(relative(out, run) || run)}</p>\n${cards}\n` +
    (notes ? `<h2>Skipped</h2><ul>\n${notes}\n</ul>` : '') +
    `</body></html>\n`
  );
}

/** Writes every figure of a run folder (PNG + SVG + HTML) and index.html into `out`. */
export async function writeRunFigures(
  run: string,
  out: string,
  opts: { formats?: ('png' | 'svg')[]; redo?: boolean } = {},
): Promise<FiguresResult> {
  const { figures, skipped } = await runFigures(run);
  mkdirSync(out, { recursive: true });
  // figures of another run folder are not left beside these as if they were this run's
  const record = openFolderRecord(
    out,
    'figures',
    { run: resolve(run), formats: opts.formats ?? ['png', 'svg'] },
    opts.redo,
    (dir) => existing(dir, ['index.html']),
  );
  const written: FiguresResult['written'] = [];
  try {
    for (const f of figures)
      written.push({ ...(await writeFigure(f.fig, out, f.name, { formats: opts.formats })), title: f.title });
  } finally {
    await closeFigureExporter();
  }
  const index = join(out, 'index.html');
  writeFileAtomicSync(index, indexHtml(run, written, skipped, out));
  record.finish([
    ...written.flatMap((w) => [w.html, w.png, w.svg].filter((f): f is string => f !== undefined)),
    ...existing(out, ['plotly.min.js']),
    'index.html',
  ]);
  return { written, skipped, index };
}

export function registerFigures(program: Command): void {
  program
    .command('figures')
    .description('write every figure of a run folder as PNG + SVG + interactive HTML, with an index.html')
    .requiredOption(
      '--run <dir>',
      'run folder (history.jsonl, evaluation.csv, ranking.json, maps/, roc.json, ...)',
    )
    .requiredOption('--out <dir>', 'output folder')
    .option('--no-static', 'skip PNG/SVG (no Chromium needed): interactive HTML only')
    .option('--redo', REDO_HELP)
    .action(
      // the run lock of the folder written (two figure writers would interleave index.html)
      withRunLock(
        'figures',
        (opts: { out: string }) => opts.out,
        async (opts: { run: string; out: string; static: boolean; redo?: boolean }) => {
          const r = await writeRunFigures(opts.run, opts.out, {
            formats: opts.static ? ['png', 'svg'] : [],
            redo: opts.redo,
          });
          for (const w of r.written)
            console.log(`wrote ${w.name}: ${[w.png, w.svg, w.html].filter(Boolean).join(', ')}`);
          for (const s of r.skipped) console.log(`skipped ${s.name}: ${s.reason}`);
          console.log(`index: ${r.index}`);
        },
      ),
    );
}
