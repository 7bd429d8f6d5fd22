/**
 * The Node platform: native TensorFlow (src/engine/node.ts) and manifests, NIfTI volumes and
 * danfojs (src/cohort/node.ts), installed by one call.
 */
import { nodeEngineAdapter } from '../engine/node.js';
import { nodeCohortAdapter } from '../cohort/node.js';
import { usePlatform } from './index.js';

/**
 * Installs mriseq's Node adapters: the engine's native TensorFlow backends and the cohort's file
 * reader (Cohort.fromManifest, cohort.toDataFrame). Importing 'mriseq' calls it, as does the
 * `mriseq` command line, so a notebook or script never needs to; it is exported for code that
 * installed other adapters (a test, an application) and wants Node's back. Calling it again
 * re-installs them; the engine then chooses its backend again at the next initEngine().
 * @example
 * ```ts
 * import { Cohort, simulateToDisk, useNode } from 'mriseq';
 * useNode(); // already done by importing 'mriseq'
 * const dir = '/tmp/mriseq-use-node'; // a new folder
 * await simulateToDisk({ out: dir, subjects: 2, size: [16, 16, 8] });
 * console.log((await Cohort.fromManifest(`${dir}/manifest.csv`)).ids); // [ 'sim-00000', 'sim-00001' ]
 * ```
 */
export function useNode(): void {
  usePlatform({ engine: nodeEngineAdapter, cohort: nodeCohortAdapter });
}
