/**
 * mriseq's public entry point for Node (scripts, the CLI and the TypeScript kernel).
 * Everything a notebook cell uses is exported from here. Each module adds its exports in its own
 * section below.
 */
import { setEngineAdapter } from './engine/index.js';
import { nodeEngineAdapter } from './engine/node.js';

setEngineAdapter(nodeEngineAdapter);

// errors
export { MriseqError, isMriseqError, type MriseqErrorInfo } from './errors/index.js';
// engine
export { tf, initEngine, engineReport, type EngineReport, type EngineOptions } from './engine/index.js';
// volume
export type { Volume, NiftiDatatypeName } from './volume/index.js';
// io
// phantom
// cohort
// model
// train
// analysis
// classify
// cluster
// plot
// display
