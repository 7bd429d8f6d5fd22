/**
 * Classification metrics with scikit-learn's definitions, so numbers match `sklearn.metrics` on the
 * same labels: ROC curve (same threshold points, same intermediate-point dropping), AUC (trapezoid
 * over the full curve, ties counted as half), one-vs-rest macro AUC, per-class precision / recall /
 * F1 / support and the confusion matrix (rows = true class, columns = predicted). AUC comes with a
 * seeded percentile-bootstrap 95% confidence interval.
 */
import { MriseqError } from '../errors/index.js';
import { createRng } from './random.js';

/**
 * An ROC curve (exported as `ClassifierRocCurve`; see {@link classifierRocCurve}).
 *
 * @example
 * ```ts
 * import { classifierRocCurve, type ClassifierRocCurve } from 'mriseq';
 * const roc: ClassifierRocCurve = classifierRocCurve([0, 1, 1], [0.2, 0.6, 0.9]);
 * console.log(roc.fpr.length === roc.tpr.length);
 * ```
 */
export interface RocCurve {
  /** False-positive rate at each threshold, starting at 0. */
  fpr: number[];
  /** True-positive rate at each threshold, starting at 0. */
  tpr: number[];
  /** Score thresholds (a sample is positive when score >= threshold); the first is +Infinity. */
  thresholds: number[];
}

function checkBinary(yTrue: ArrayLike<number>, scores: ArrayLike<number>, what: string): void {
  if (yTrue.length !== scores.length) {
    throw new MriseqError(`labels and scores differ in length`, {
      field: what,
      found: `${yTrue.length} labels, ${scores.length} scores`,
      expected: 'one score per label',
      code: 'metrics.length',
    });
  }
  let pos = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i];
    if (y !== 0 && y !== 1) {
      throw new MriseqError('binary labels must be 0 or 1', {
        field: `${what}[${i}]`,
        found: String(y),
        expected: '0 or 1',
        code: 'metrics.label',
      });
    }
    pos += y;
  }
  if (pos === 0 || pos === yTrue.length) {
    throw new MriseqError('AUC is undefined when only one class is present', {
      field: what,
      found: `${pos} positives of ${yTrue.length}`,
      expected: 'both classes present',
      code: 'metrics.one-class',
    });
  }
}

/**
 * ROC curve as `sklearn.metrics.roc_curve(y, s, drop_intermediate)`: one point per distinct score,
 * collinear intermediate points dropped by default (they do not change the AUC).
 * Exported as `classifierRocCurve`.
 *
 * @param yTrue - Binary labels (1 = positive).
 * @param scores - One score per case (higher = more likely positive).
 * @param options - `dropIntermediate` (default true).
 * @returns False- and true-positive rates and their thresholds.
 * @example
 * ```ts
 * import { classifierRocCurve } from 'mriseq';
 * const { fpr, tpr, thresholds } = classifierRocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * console.log(fpr, tpr, thresholds); // [0, 0, 0.5, 0.5, 1] [0, 0.5, 0.5, 1, 1] [Infinity, 0.8, 0.4, 0.35, 0.1]
 * ```
 */
export function rocCurve(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: { dropIntermediate?: boolean } = {},
): RocCurve {
  checkBinary(yTrue, scores, 'rocCurve');
  const n = yTrue.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const tps: number[] = [];
  const fps: number[] = [];
  const thr: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    if (yTrue[i] === 1) tp++;
    else fp++;
    if (k === n - 1 || scores[order[k + 1]] !== scores[i]) {
      tps.push(tp);
      fps.push(fp);
      thr.push(scores[i]);
    }
  }
  let keep = tps.map((_, i) => i);
  if (options.dropIntermediate ?? true) {
    if (tps.length > 2) {
      keep = [0];
      for (let i = 1; i < tps.length - 1; i++) {
        const d2f = fps[i + 1] - 2 * fps[i] + fps[i - 1];
        const d2t = tps[i + 1] - 2 * tps[i] + tps[i - 1];
        if (d2f !== 0 || d2t !== 0) keep.push(i);
      }
      keep.push(tps.length - 1);
    }
  }
  const P = tp;
  const N = fp;
  return {
    fpr: [0, ...keep.map((i) => fps[i] / N)],
    tpr: [0, ...keep.map((i) => tps[i] / P)],
    thresholds: [Infinity, ...keep.map((i) => thr[i])],
  };
}

/**
 * Area under the ROC curve (binary; equals sklearn's roc_auc_score, ties count one half).
 * @param yTrue - Binary labels (1 = positive).
 * @param scores - One score per case.
 * @returns The AUC in [0, 1].
 * @example
 * ```ts
 * import { rocAuc } from 'mriseq';
 * console.log(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])); // 0.75
 * ```
 */
export function rocAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  const c = rocCurve(yTrue, scores, { dropIntermediate: false });
  let a = 0;
  for (let i = 1; i < c.fpr.length; i++) a += ((c.fpr[i] - c.fpr[i - 1]) * (c.tpr[i] + c.tpr[i - 1])) / 2;
  return a;
}

/**
 * One-vs-rest AUC for several classes: per-class AUC of `probabilities[i][c]` against (y == c),
 * and their unweighted mean (sklearn `roc_auc_score(y, P, multi_class='ovr', average='macro')`).
 * With two classes the macro value is the AUC of class 1, as sklearn reports it.
 * @param yTrue - Class index per case.
 * @param probabilities - One row of class probabilities per case.
 * @returns Each class's one-vs-rest AUC and their macro mean.
 * @throws {@link MriseqError} when rows and labels differ in number or there are fewer than two classes.
 * @example
 * ```ts
 * import { multiclassAuc } from 'mriseq';
 * const p = [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.5, 0.3, 0.2]];
 * console.log(multiclassAuc([0, 1, 2, 1], p));
 * ```
 */
export function multiclassAuc(
  yTrue: ArrayLike<number>,
  probabilities: readonly ArrayLike<number>[],
): { perClass: number[]; macro: number } {
  const k = probabilities[0]?.length ?? 0;
  if (probabilities.length !== yTrue.length || k < 2) {
    throw new MriseqError('expected one probability row per label, with at least two classes', {
      field: 'probabilities',
      found: `${probabilities.length} rows x ${k}`,
      expected: `${yTrue.length} rows x >= 2`,
      code: 'metrics.shape',
    });
  }
  const perClass: number[] = [];
  for (let c = 0; c < k; c++) {
    const y = Array.from(yTrue, (v) => (v === c ? 1 : 0));
    perClass.push(
      rocAuc(
        y,
        probabilities.map((p) => p[c]),
      ),
    );
  }
  const macro = k === 2 ? perClass[1] : perClass.reduce((s, v) => s + v, 0) / k;
  return { perClass, macro };
}

/**
 * What {@link aucWithCi} returns.
 *
 * @example
 * ```ts
 * import { aucWithCi, type AucWithCi } from 'mriseq';
 * const r: AucWithCi = aucWithCi([0, 1, 0, 1], [0.2, 0.9, 0.4, 0.6]);
 * console.log(`${r.auc.toFixed(2)} [${r.ci95.map((x) => x.toFixed(2)).join(', ')}]`);
 * ```
 */
export interface AucWithCi {
  auc: number;
  /** Percentile-bootstrap 95% interval [2.5%, 97.5%]. */
  ci95: [number, number];
  /** Resamples that had both classes (those with one class are redrawn). */
  resamples: number;
  seed: number;
}

function percentile(sorted: number[], q: number): number {
  // numpy's default 'linear' interpolation, so a user can recompute the interval from the samples.
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * AUC with a seeded percentile-bootstrap 95% CI: subjects are resampled with replacement; a
 * resample holding only one class is redrawn (its AUC is undefined). `scores` may be one score per
 * subject (binary) or one probability row per subject (one-vs-rest macro AUC).
 * @param yTrue - Class index (or 0/1) per subject.
 * @param scores - One score per subject (binary) or one probability row per subject.
 * @param options - Bootstrap `resamples` (default 1000) and `seed`.
 * @returns The AUC, its 95% percentile-bootstrap interval, the resamples used and the seed.
 * @throws {@link MriseqError} as {@link multiclassAuc} for probability rows.
 * @example
 * ```ts
 * import { aucWithCi } from 'mriseq';
 * const r = aucWithCi([0, 0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.4, 0.8, 0.9], { resamples: 500, seed: 1 });
 * console.log(r.auc, r.ci95);
 * ```
 */
export function aucWithCi(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number> | readonly ArrayLike<number>[],
  options: { resamples?: number; seed?: number } = {},
): AucWithCi {
  const B = options.resamples ?? 1000;
  const seed = options.seed ?? 0;
  const rows = Array.from(scores as ArrayLike<number | ArrayLike<number>>);
  const multi = typeof rows[0] !== 'number';
  const k = multi ? (rows[0] as ArrayLike<number>).length : 2;
  const score = (idx: number[]): number =>
    multi
      ? multiclassAuc(
          idx.map((i) => yTrue[i]),
          idx.map((i) => rows[i] as ArrayLike<number>),
        ).macro
      : rocAuc(
          idx.map((i) => yTrue[i]),
          idx.map((i) => rows[i] as number),
        );
  const n = yTrue.length;
  const auc = score(Array.from({ length: n }, (_, i) => i));
  const rng = createRng(seed);
  const samples: number[] = [];
  let guard = 0;
  while (samples.length < B) {
    if (++guard > B * 100) break;
    const idx = Array.from({ length: n }, () => Math.floor(rng() * n));
    const seen = new Set(idx.map((i) => yTrue[i]));
    if (multi ? seen.size < k : seen.size < 2) continue;
    samples.push(score(idx));
  }
  samples.sort((a, b) => a - b);
  return {
    auc,
    ci95: [percentile(samples, 0.025), percentile(samples, 0.975)],
    resamples: samples.length,
    seed,
  };
}

/**
 * What {@link classificationReport} returns.
 *
 * @example
 * ```ts
 * import { classificationReport, type ClassReport } from 'mriseq';
 * const r: ClassReport = classificationReport([0, 1, 1], [0, 1, 0]);
 * console.log(r.precision, r.recall, r.f1, r.support);
 * ```
 */
export interface ClassReport {
  /** Per class, in class-index order. */
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  /** confusion[t][p]: subjects of true class t predicted as p. */
  confusion: number[][];
  accuracy: number;
  macroF1: number;
}

/**
 * Per-class precision / recall / F1 / support and the confusion matrix, as
 * `sklearn.metrics.precision_recall_fscore_support(..., labels=range(k), zero_division=0)`.
 * @param yTrue - True class index per subject.
 * @param yPred - Predicted class index per subject.
 * @param numClasses - Number of classes; more when a label's index is larger (default: the largest index seen + 1).
 * @returns Per-class precision, recall, F1 and support, the confusion matrix, accuracy and macro F1.
 * @throws {@link MriseqError} when the label arrays differ in length.
 * @example
 * ```ts
 * import { classificationReport } from 'mriseq';
 * const r = classificationReport([0, 0, 1, 1, 2], [0, 1, 1, 1, 2]);
 * console.log(r.confusion, r.accuracy, r.macroF1); // accuracy 0.8
 * ```
 */
export function classificationReport(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  numClasses?: number,
): ClassReport {
  if (yTrue.length !== yPred.length) {
    throw new MriseqError('true and predicted labels differ in length', {
      field: 'yPred',
      found: String(yPred.length),
      expected: String(yTrue.length),
      code: 'metrics.length',
    });
  }
  let k = numClasses ?? 0;
  for (let i = 0; i < yTrue.length; i++) k = Math.max(k, yTrue[i] + 1, yPred[i] + 1);
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < yTrue.length; i++) confusion[yTrue[i]][yPred[i]]++;
  const precision: number[] = [];
  const recall: number[] = [];
  const f1: number[] = [];
  const support: number[] = [];
  let correct = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c][c];
    correct += tp;
    const predicted = confusion.reduce((s, row) => s + row[c], 0);
    const actual = confusion[c].reduce((s, v) => s + v, 0);
    const p = predicted ? tp / predicted : 0;
    const r = actual ? tp / actual : 0;
    precision.push(p);
    recall.push(r);
    f1.push(p + r ? (2 * p * r) / (p + r) : 0);
    support.push(actual);
  }
  return {
    precision,
    recall,
    f1,
    support,
    confusion,
    accuracy: yTrue.length ? correct / yTrue.length : 0,
    macroF1: f1.reduce((s, v) => s + v, 0) / Math.max(k, 1),
  };
}

/**
 * Accumulates labels and scores over batches (MONAI's cumulative-metric pattern) and aggregates
 * once into AUC with CI, per-class ROC curves and the per-class report.
 * @example
 * ```ts
 * import { AucMetric } from 'mriseq';
 * const metric = new AucMetric();
 * metric.update([0, 1], [[0.8, 0.2], [0.3, 0.7]]);
 * metric.update([1, 0], [[0.4, 0.6], [0.6, 0.4]]);
 * console.log(metric.aggregate({ resamples: 200 }).auc); // 1
 * metric.reset();
 * ```
 */
export class AucMetric {
  private labels: number[] = [];
  private rows: number[][] = [];

  update(labels: ArrayLike<number>, probabilities: readonly ArrayLike<number>[]): void {
    for (let i = 0; i < labels.length; i++) {
      this.labels.push(labels[i]);
      this.rows.push(Array.from(probabilities[i]));
    }
  }

  reset(): void {
    this.labels = [];
    this.rows = [];
  }

  aggregate(options: { resamples?: number; seed?: number } = {}): ClassifierEvaluation {
    return evaluateClassifier(this.labels, this.rows, options);
  }
}

/**
 * What {@link evaluateClassifier} returns.
 *
 * @example
 * ```ts
 * import { evaluateClassifier, type ClassifierEvaluation } from 'mriseq';
 * const e: ClassifierEvaluation = evaluateClassifier([0, 1, 1, 0], [[0.9, 0.1], [0.3, 0.7], [0.4, 0.6], [0.5, 0.5]]);
 * console.log(e.perClassAuc, e.report.confusion);
 * ```
 */
export interface ClassifierEvaluation extends AucWithCi {
  /** One-vs-rest AUC of each class (for two classes: [1 - auc, auc] mirrored curves). */
  perClassAuc: number[];
  /** One-vs-rest ROC curve per class. */
  roc: RocCurve[];
  report: ClassReport;
}

/**
 * Everything a downstream table needs from labels and predicted class probabilities.
 * @param yTrue - True class index per subject.
 * @param probabilities - One probability row per subject (the predicted class is the row's argmax).
 * @param options - Bootstrap `resamples` and `seed` of the AUC's CI.
 * @returns AUC with CI, per-class AUCs and ROC curves, and the classification report.
 * @throws {@link MriseqError} as {@link multiclassAuc}.
 * @example
 * ```ts
 * import { evaluateClassifier } from 'mriseq';
 * const e = evaluateClassifier([0, 1, 1, 0], [[0.7, 0.3], [0.4, 0.6], [0.2, 0.8], [0.6, 0.4]], { resamples: 200 });
 * console.log(e.auc, e.ci95, e.report.accuracy, e.roc.length);
 * ```
 */
export function evaluateClassifier(
  yTrue: ArrayLike<number>,
  probabilities: readonly ArrayLike<number>[],
  options: { resamples?: number; seed?: number } = {},
): ClassifierEvaluation {
  const k = probabilities[0]?.length ?? 0;
  const binary = k === 2;
  const ci = binary
    ? aucWithCi(
        yTrue,
        probabilities.map((p) => p[1]),
        options,
      )
    : aucWithCi(yTrue, probabilities, options);
  const { perClass } = multiclassAuc(yTrue, probabilities);
  const roc = Array.from({ length: k }, (_, c) =>
    rocCurve(
      Array.from(yTrue, (v) => (v === c ? 1 : 0)),
      probabilities.map((p) => p[c]),
    ),
  );
  const pred = probabilities.map((p) => argmax(p));
  return { ...ci, perClassAuc: perClass, roc, report: classificationReport(yTrue, pred, k) };
}

export function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  return best;
}
