/**
 * Every figure a run folder has results for, as PNG + SVG + interactive HTML, with an index.html
 * (Node: it reads and writes files): writeRunFigures() is `mriseq figures --run RUN --out DIR`, and
 * runDemo's figures. Inputs (all optional; a missing one is skipped with a note):
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
 *   claims/<name>.figure.json  plotly specs of the paper's studies (notebooks 05-08: AUCs with CIs,
 *                            paired tests), drawn as they are
 *
 * Each folder is searched at RUN and RUN/analysis, RUN/train (history.jsonl), so both flat and
 * nested run layouts work.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { existingFiles as existing, openFolderRecord } from '../reliability/provenance.js';
import { writeFileAtomicSync } from '../reliability/node.js';
import { MriseqError } from '../errors/index.js';
import { escapeHtml } from '../display/index.js';
import {
  contributionMatrixFigure,
  differentiationMapFigure,
  figureProblems,
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
} from '../plot/index.js';
import { closeFigureExporter, writeFigure, type WrittenFigure } from '../plot/node.js';
import { parseEvaluationCsv, rankSequences } from '../analysis/index.js';
import { parseCsv, unescapeCsvCell } from '../csv/index.js';
import { readNifti } from '../io/index.js';
import { axisCodes } from '../volume/index.js';
import type { AcceptanceLine } from '../analysis/index.js';

/**
 * What {@link writeRunFigures} wrote: each figure's files and title, what was skipped and why, and
 * the index page.
 *
 * @example
 * ```ts
 * import { writeRunFigures, type FiguresResult } from 'mriseq';
 * const r: FiguresResult = await writeRunFigures('runs/demo', '/tmp/mriseq-figures', { formats: [] });
 * for (const s of r.skipped) console.log(`${s.name}: ${s.reason}`);
 * console.log(r.index);
 * ```
 */
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

/** <dir>/<name>.nii.gz (or .nii) when present. */
async function optionalNifti(dir: string, name: string) {
  const f = [`${name}.nii.gz`, `${name}.nii`].map((a) => join(dir, a)).find(existsSync);
  return f ? readNifti(f) : undefined;
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

/**
 * The figure specs a run folder supports, each with a file name; notes for what is missing.
 *
 * @param run - A run folder (see the file comment for what it may hold).
 * @returns The plotly figures, M_d(T1Gd) and its baseline first, and what was skipped and why.
 * @throws {@link MriseqError} when `run` is not a folder.
 * @example
 * ```ts
 * import { runFigures } from 'mriseq';
 * const { figures, skipped } = await runFigures('runs/demo');
 * console.log(figures.map((f) => f.name), skipped.length);
 * ```
 */
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
          const truth = await optionalNifti(sdir, 'truth_unique_t1gd');
          const [ox, oy] = axisCodes(anatomy);
          add(name, `M_d ${subject} ${target}`, () =>
            differentiationMapFigure(anatomy, md, {
              title: `M_d(${target}), ${subject}: what the other sequences cannot explain${anat ? '' : ' (no anatomy found)'}`,
              overlayName: 'M_d',
              colorbarTitle: 'M_d: mean |G(x_s) - x_t|<br>(normalised units)',
              truth,
              truthName: "T1Gd's true unique region",
              orientation: { x: ox, y: oy },
            }),
          );
          n++;
        } catch (e) {
          skipped.push({ name, reason: e instanceof Error ? e.message : String(e) });
        }
      }
      // the baseline beside M_d(T1Gd): what a plain subtraction shows
      const sub = await optionalNifti(sdir, 'subtraction_t1gd_t1');
      const anat = await optionalNifti(sdir, 't1gd');
      if (sub && anat) {
        const truth = await optionalNifti(sdir, 'truth_unique_t1gd');
        const [ox, oy] = axisCodes(anat);
        add(`subtraction-${subject}`, `|T1Gd - T1| ${subject}`, () =>
          differentiationMapFigure(anat, sub, {
            title: `Baseline: |T1Gd - T1| subtraction, ${subject}`,
            overlayName: '|T1Gd - T1|',
            colorbarTitle: '|T1Gd - T1|<br>(normalised units)',
            truth,
            truthName: "T1Gd's true unique region",
            orientation: { x: ox, y: oy },
          }),
        );
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

  // The paper's studies (notebooks 05-08 write them): ready figure specs, <name>.figure.json.
  const claimsDir = find(run, ['claims']);
  if (claimsDir && statSync(claimsDir).isDirectory()) {
    for (const f of readdirSync(claimsDir).sort()) {
      const m = /^(.+)\.figure\.json$/.exec(f);
      if (!m) continue;
      const file = join(claimsDir, f);
      let fig: Figure;
      try {
        fig = readJson<Figure>(file);
      } catch (e) {
        skipped.push({ name: `claim-${m[1]}`, reason: e instanceof Error ? e.message : String(e) });
        continue;
      }
      const title = (fig.layout as { title?: { text?: unknown } } | undefined)?.title?.text;
      add(`claim-${m[1]}`, typeof title === 'string' && title ? title : m[1], () => {
        const problems = figureProblems(fig);
        if (problems.length)
          throw new MriseqError('not a plotly figure', {
            file,
            found: problems.slice(0, 3).join('; '),
            expected: '{data: [traces], layout: {...}} as the plot builders write',
          });
        return fig;
      });
    }
  } // no claims/ folder: the studies were not run into this folder, nothing a reader expects here

  // What a reader came for first: M_d(T1Gd) beside its baseline, then the ranking, then the rest.
  const priority = (name: string): number =>
    /^md-.*-t1gd$/.test(name)
      ? 0
      : name.startsWith('subtraction-')
        ? 1
        : name === 'ranking'
          ? 2
          : name === 'contribution-matrix'
            ? 3
            : name.startsWith('md-')
              ? 4
              : 5;
  figures.sort((a, b) => priority(a.name) - priority(b.name));
  return { figures, skipped };
}

/** What the run was (run.json, written by the demo) and its acceptance table (acceptance.json). */
function runSummaryHtml(run: string): string {
  const parts: string[] = [];
  const runFile = find(run, ['run.json']);
  if (runFile) {
    const r = readJson<{
      model?: string;
      date?: string;
      phantom?: { seed: number; size: number[]; heldOut: { start: number; count: number } };
    }>(runFile);
    parts.push(
      `<p>Generator: <b>${escapeHtml(String(r.model ?? 'unknown'))}</b>` +
        (r.phantom
          ? `; held-out phantom subjects ${r.phantom.heldOut.start}-${r.phantom.heldOut.start + r.phantom.heldOut.count - 1} (seed ${r.phantom.seed}, ${r.phantom.size.join('x')} voxels)`
          : '') +
        (r.date ? `; ${escapeHtml(r.date.slice(0, 16).replace('T', ' '))} UTC` : '') +
        '</p>',
    );
  }
  const accFile = find(run, ['acceptance.json']);
  if (accFile) {
    const a = readJson<{ lines?: AcceptanceLine[]; note?: string }>(accFile);
    if (Array.isArray(a.lines)) {
      const rows = a.lines
        .map(
          (l) =>
            `<tr><td>${l.pass === null ? '' : l.pass ? '&#10003; pass' : '&#10007; FAIL'}</td><td>${escapeHtml(l.check)}</td><td>${escapeHtml(l.measured)}</td><td>${escapeHtml(l.required)}</td></tr>`,
        )
        .join('\n');
      parts.push(
        `<h2>Does the generator recover the phantom's truth?</h2><table><tr><th></th><th>check</th><th>measured</th><th>required</th></tr>\n${rows}\n</table>` +
          (a.note ? `<p><i>${escapeHtml(a.note)}</i></p>` : ''),
      );
    }
  }
  return parts.join('\n');
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
    `<style>body{font:14px sans-serif;margin:2em}figure{display:inline-block;margin:1em;vertical-align:top}` +
    `table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>` +
    `<h1>mriseq figures: ${escapeHtml(basename(resolve(run)))}</h1><p>Run folder: ${escapeHtml(resolve(run))} ` +
    `(${escapeHtml(relative(out, run) || '.')} from here)</p>\n${runSummaryHtml(run)}\n<h2>Figures</h2>\n${cards}\n` +
    (notes ? `<h2>Skipped</h2><ul>\n${notes}\n</ul>` : '') +
    `</body></html>\n`
  );
}

/**
 * Writes every figure of a run folder (PNG + SVG + HTML) and index.html into `out`, with a
 * provenance record: figures of another run folder are refused (or removed first with `redo`).
 *
 * @param run - The run folder ({@link runFigures}).
 * @param out - The figures folder.
 * @param opts - formats: the static images (default PNG and SVG, which need Chromium; [] for HTML
 *   only); redo: replace the figures of another run folder.
 * @returns What was written and skipped, and the index page.
 * @throws {@link MriseqError} when `run` is not a folder, or `out` holds figures of other inputs
 *   (without redo).
 * @example
 * ```ts
 * import { writeRunFigures } from 'mriseq';
 * const r = await writeRunFigures('runs/demo', 'runs/demo/figures', { formats: [] });
 * console.log(`${r.written.length} figures, index ${r.index}`);
 * ```
 */
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
