import type { Command } from 'commander';
import { initEngine } from '../../engine/index.js';

export function registerEngine(program: Command): void {
  program
    .command('engine')
    .description('choose the tensor backend and say which one runs and why faster ones were skipped')
    .option('--backend <name>', 'force a backend (tensorflow-gpu, tensorflow, wasm, cpu)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { backend?: string; json?: boolean }) => {
      const r = await initEngine({ backend: opts.backend });
      console.log(opts.json ? JSON.stringify(r) : r.summary);
    });
}
