import type { Command } from 'commander';
import { initEngine } from '../../engine/index.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job on the simulated cohort: simulate, train briefly, rank, map, write figures')
    .option('--out <dir>', 'output folder', 'runs/demo')
    .action(async (_opts: { out: string }) => {
      const r = await initEngine();
      console.log(r.summary);
    });
}
