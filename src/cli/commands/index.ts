import type { Command } from 'commander';
import { registerEngine } from './engine.js';
import { registerDemo } from './demo.js';
import { registerAnalysis } from './analysis.js';
import { registerScale } from './scale.js';
import { registerKernel } from './kernel.js';
import { registerFigures } from './figures.js';
import { registerIo } from './io.js';
import { registerModel } from './model.js';
import { registerCohort } from './cohort.js';
import { registerDownstream } from './downstream.js';
import { registerPretrained } from './pretrained.js';

/** Every subcommand group; each capability adds its own register function here. */
export const commands: ((program: Command) => void)[] = [
  registerEngine,
  registerDemo,
  registerAnalysis,
  registerScale,
  registerKernel,
  registerFigures,
  registerIo,
  registerModel,
  registerCohort,
  registerDownstream,
  registerPretrained,
];
