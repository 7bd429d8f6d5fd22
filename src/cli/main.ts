/**
 * The `mriseq` command line. Each capability registers its subcommands from its own file in
 * ./commands; user-facing failures print as one line on stderr with a non-zero exit.
 */
import { Command, CommanderError } from 'commander';
import { isMriseqError } from '../errors/index.js';
import { useNode } from '../platform/node.js';
import { commands } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command('mriseq')
    .description('Multi-sequence MRI representation learning: generate, rank, map.')
    .option('--debug', 'show stack traces for errors')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  // the Node adapters (engine, cohort files), installed here: no command relies on an import's side effect
  useNode();
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (debug) console.error(e);
    else if (isMriseqError(e)) console.error(`mriseq: ${e.message}`);
    else
      console.error(`mriseq: ${e instanceof Error ? e.message : String(e)} (run with --debug for details)`);
    return isMriseqError(e) ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
