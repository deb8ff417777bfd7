import { Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { inspectCommand } from './commands/inspect.js';

export function createProgram(context: CommandContext): Command {
  const program = new Command('chunk')
    .description('lxchunk: ship LXD images to fleets as content-defined chunks; only new chunks cross the wire')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.addCommand(inspectCommand(context));
  for (const command of program.commands) command.exitOverride();
  return program;
}
