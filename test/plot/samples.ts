/** One figure of every kind from small synthetic inputs; `k` changes every input. */
import {
  contributionMatrixFigure,
  differentiationMapFigure,
  gradcamFigure,
  intervalFigure,
  latentScatterFigure,
  pairMetricsFigure,
  rankingFigure,
  rocCurve,
  rocFigure,
  trainingCurvesFigure,
  type Figure,
} from '../../src/plot/index.js';

export function sampleFigures(k: number): Record<string, Figure> {
  const seqs = ['t1', 't1gd', 't2', 'flair'];
  const A = seqs.map((_, i) => seqs.map((_, j) => (i === j ? NaN : Math.sin(i * 3 + j + k) * (1 + k))));
  const [nx, ny, nz] = [16, 16, 6];
  const anat = Float32Array.from(
    { length: nx * ny * nz },
    (_, i) => ((i % nx) + (Math.floor(i / nx) % ny)) * (1 + k),
  );
  const md = Float32Array.from({ length: nx * ny * nz }, (_, i) => {
    const x = i % nx;
    const y = Math.floor(i / nx) % ny;
    return Math.hypot(x - 5 - 5 * k, y - 8) < 4 ? 1 : 0;
  });
  const img = { width: 12, height: 10, data: Array.from({ length: 120 }, (_, i) => (i * (k + 1)) % 17) };
  const cam = {
    width: 12,
    height: 10,
    data: Array.from({ length: 120 }, (_, i) => ((i % 12) + k * 5 > 8 ? 1 : 0)),
  };
  return {
    training: trainingCurvesFigure(
      Array.from({ length: 20 }, (_, s) => ({
        step: s + 1,
        'loss.total': (1 + k) / (s + 1),
        validationPsnr: 20 + s * (k + 1) * 0.3,
      })),
    ),
    contribution: contributionMatrixFigure({ sequences: seqs, A }),
    ranking: rankingFigure(
      seqs.map((s, i) => ({
        sequence: s,
        C_t: Math.cos(i + k),
        C_d: Math.sin(i * 2 + k),
        C_t_ci: [Math.cos(i + k) - 0.2, Math.cos(i + k) + 0.1] as [number, number],
        C_d_ci: [Math.sin(i * 2 + k) - 0.1, Math.sin(i * 2 + k) + 0.3] as [number, number],
      })),
    ),
    maps: differentiationMapFigure(
      { data: anat, shape: [nx, ny, nz] },
      { data: md, shape: [nx, ny, nz] },
      {
        count: 3,
        truth: { data: Float32Array.from(md, (v) => (v > 0.5 ? 1 : 0)), shape: [nx, ny, nz] },
        orientation: { x: 'R', y: 'A' },
        colorbarTitle: 'M_d (normalised units)',
      },
    ),
    pairs: pairMetricsFigure(
      seqs.flatMap((s, i) => [
        { subject: 'a', source: s, target: seqs[(i + 1) % 4], psnr: 20 + i + k, ssim: 0.6 + 0.05 * i },
        { subject: 'b', source: s, target: seqs[(i + 1) % 4], psnr: 22 + i + k, ssim: 0.62 + 0.05 * i },
      ]),
    ),
    roc: rocFigure([
      rocCurve([0.1, 0.4, 0.35, 0.8, 0.7, 0.2], [0, 0, 1, 1, k ? 0 : 1, 0], 'MRI'),
      rocCurve([0.3, 0.2, 0.9, 0.6, 0.65, 0.1], [0, 0, 1, 1, 1, 0], 'MRI + M_d'),
    ]),
    latent: latentScatterFigure({
      points: Array.from({ length: 20 }, (_, i) => [Math.sin(i + k), Math.cos(i * 0.5), i % 3]),
      labels: Array.from({ length: 20 }, (_, i) => `c${i % 3}`),
    }),
    gradcam: gradcamFigure([
      { image: img, cam, label: 't1' },
      { image: img, cam: { ...cam, data: cam.data.map((v) => 1 - v) }, label: 'flair' },
    ]),
    intervals: intervalFigure(
      [
        { label: 't1', value: 0.6 + 0.1 * k, lo: 0.5, hi: 0.7, group: 'group AUC' },
        { label: 't1', value: 0.55, lo: 0.4, hi: 0.7, group: 'subtype AUC', note: 'p 0.2' },
        { label: 'all four', value: 0.9, lo: 0.85, group: 'group AUC' },
      ],
      { title: 'AUC per input', xTitle: 'AUC', refs: [{ x: 0.5, label: 'chance' }], range: [0, 1] },
    ),
  };
}
