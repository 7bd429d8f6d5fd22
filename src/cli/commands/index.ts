import type { Command } from 'commander';
import { registerEngine } from './engine.js';
import { registerDemo } from './demo.js';

/** Every subcommand group; each capability adds its own register function here. */
export const commands: ((program: Command) => void)[] = [registerEngine, registerDemo];
