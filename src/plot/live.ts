/** Live training curves: one notebook output replaced in place as steps arrive. */
import { display, type DisplayHandle } from '../display/index.js';
import {
  flattenHistory,
  trainingCurvesFigure,
  type TrainingCurvesOptions,
  type TrainingPoint,
} from './builders.js';
import type { Figure } from './figure.js';

export interface LiveCurvesOptions extends TrainingCurvesOptions {
  /** Minimum milliseconds between two redraws (default 500); the last point is always drawn by done(). */
  throttleMs?: number;
}

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

/** Training curves that update in place; pass `curves.push` as the training progress callback. */
export function liveTrainingCurves(opts: LiveCurvesOptions = {}): LiveTrainingCurves {
  return new LiveTrainingCurves(opts);
}
