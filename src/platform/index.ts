/**
 * Platform adapters, registered one way: an entry point calls usePlatform once with what its
 * platform provides (src/index.ts through ./node.ts's useNode(), src/browser.ts with the browser
 * engine). No module installs an adapter when it is imported, so what works never depends on which
 * files happened to be loaded. Browser-safe. The volume viewer's MIME type needs no adapter: it is
 * the same everywhere, part of src/display's dispatch.
 */
import { setEngineAdapter, type EngineAdapter } from '../engine/index.js';
import { setCohortNodeAdapter, type CohortNodeAdapter } from '../cohort/index.js';

/** What a platform provides to the browser-safe core. */
export interface PlatformAdapters {
  /** How the engine finds and starts a tfjs backend (native TensorFlow in Node, WebGPU/WebGL in a browser). */
  engine: EngineAdapter;
  /**
   * Cohort.fromManifest and cohort.toDataFrame (files, NIfTI, danfojs). None in the browser:
   * those calls then throw 'cohort.node'.
   */
  cohort?: CohortNodeAdapter;
}

/** Installs a platform's adapters (each replaces the one installed before). */
export function usePlatform(adapters: PlatformAdapters): void {
  setEngineAdapter(adapters.engine);
  if (adapters.cohort) setCohortNodeAdapter(adapters.cohort);
}
