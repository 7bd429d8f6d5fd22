/** Live training curves: one notebook output replaced in place as steps arrive. */
import { display, type DisplayHandle } from '../display/index.js';
import {
  flattenHistory,
  trainingCurvesFigure,
  type TrainingCurvesOptions,
  type TrainingPoint,
} from './builders.js';
import type { Figure } from './figure.js';

/**
 * Options of {@link liveTrainingCurves}.
 *
 * @example
 * ```ts
 * import { liveTrainingCurves, type LiveCurvesOptions, initEngine } from 'mriseq';
 * await initEngine();
 * const o: LiveCurvesOptions = { throttleMs: 250, secondary: ['validationPsnr'] };
 * liveTrainingCurves(o);
 * ```
 */
export interface LiveCurvesOptions extends TrainingCurvesOptions {
  /** Minimum milliseconds between two redraws (default 500); the last point is always drawn by done(). */
  throttleMs?: number;
}

/**
 * A training-curves figure that redraws in place in a notebook as steps arrive (see {@link liveTrainingCurves}).
 *
 * @example
 * ```ts
 * import { LiveTrainingCurves } from 'mriseq';
 * const curves = new LiveTrainingCurves({ throttleMs: 1000 });
 * curves.push({ step: 1, loss: { total: 2 } });
 * curves.done();
 * console.log(curves.history);
 * ```
 */
export class LiveTrainingCurves {
  readonly history: TrainingPoint[] = [];
  private handle?: DisplayHandle;
  private last = 0;

  constructor(private readonly opts: LiveCurvesOptions = {}) {}

  figure(): Figure {
    return trainingCurvesFigure(this.history, this.opts);
  }

  /** Adds a step: a TrainingPoint or a training progress event ({ step, loss: {...}, ... }). */
  push(point: TrainingPoint | object): void {
    this.history.push(...flattenHistory([point]));
    const now = Date.now();
    if (now - this.last < (this.opts.throttleMs ?? 500)) return;
    this.last = now;
    this.draw();
  }

  /** Draws the final state. */
  done(): void {
    this.draw();
  }

  private draw(): void {
    if (this.handle) this.handle.update(this.figure());
    else this.handle = display(this.figure());
  }
}

/**
 * Training curves that update in place; pass `curves.push` as the training progress callback.
 * @param opts - Curve options plus `throttleMs` (minimum ms between redraws, default 500).
 * @returns A {@link LiveTrainingCurves}.
 * @example
 * ```ts
 * import { createGenerator, liveTrainingCurves, phantom, train, initEngine } from 'mriseq';
 * await initEngine();
 * const curves = liveTrainingCurves({ logY: true });
 * const model = createGenerator('lite');
 * await train(model, [phantom({ size: [32, 32, 16] }).subject(0)], { steps: 3, crop: 32, onProgress: (e) => curves.push(e) });
 * curves.done();
 * model.dispose();
 * ```
 */
export function liveTrainingCurves(opts: LiveCurvesOptions = {}): LiveTrainingCurves {
  return new LiveTrainingCurves(opts);
}
