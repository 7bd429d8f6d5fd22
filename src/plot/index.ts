/**
 * Figure builders (browser-safe): plotly JSON specs for every mriseq analysis, plus live training
 * curves. Static export (PNG/SVG with headless Chromium) and figure files live in ./node.ts.
 */
export {
  figureProblems,
  finiteOrNull,
  gridAxes,
  PALETTE,
  TRACE_TYPES,
  type Figure,
  type PlotTrace,
} from './figure.js';
export {
  flattenHistory,
  trainingCurvesFigure,
  contributionMatrixFigure,
  rankingFigure,
  axialSlice,
  differentiationMapFigure,
  pairMetricsFigure,
  rocCurve,
  rocFigure,
  project2d,
  latentScatterFigure,
  gradcamFigure,
  type TrainingPoint,
  type TrainingCurvesOptions,
  type ContributionMatrixInput,
  type ContributionRow,
  type Grid3D,
  type MapOverlayOptions,
  type PairMetricRow,
  type RocCurve,
  type LatentScatterInput,
  type Image2D,
  type GradcamPanel,
} from './builders.js';
export { liveTrainingCurves, LiveTrainingCurves, type LiveCurvesOptions } from './live.js';
export { intervalFigure, type IntervalRow, type IntervalFigureOptions } from './intervals.js';
