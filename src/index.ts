/**
 * mriseq's public entry point for Node (scripts, the CLI and the TypeScript kernel).
 * Everything a notebook cell uses is exported from here.
 */
import { setEngineAdapter } from './engine/index.js';
import { nodeEngineAdapter } from './engine/node.js';

setEngineAdapter(nodeEngineAdapter);

export { MriseqError, isMriseqError, type MriseqErrorInfo } from './errors/index.js';
export { tf, initEngine, engineReport, type EngineReport, type EngineOptions } from './engine/index.js';
