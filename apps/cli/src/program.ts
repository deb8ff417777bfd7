import { Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { agentCommand } from './commands/agent.js';
import { aliasesCommand } from './commands/aliases.js';
import { estimateCommand } from './commands/estimate.js';
import { gcCommand } from './commands/gc.js';
import { imagesCommand } from './commands/images.js';
import { inspectCommand } from './commands/inspect.js';
import { pullCommand } from './commands/pull.js';
import { pushCommand } from './commands/push.js';
import { serveCommand } from './commands/serve.js';
import { tokenCommand } from './commands/token.js';
import { verifyCommand } from './commands/verify.js';

export function createProgram(context: CommandContext): Command {
  const program = new Command('chunk')
    .description('lxchunk: ship LXD images to fleets as content-defined chunks; only new chunks cross the wire')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions()
    .exitOverride();
  program.addCommand(serveCommand(context));
  program.addCommand(pushCommand(context));
  program.addCommand(pullCommand(context));
  program.addCommand(imagesCommand(context));
  program.addCommand(aliasesCommand(context));
  program.addCommand(inspectCommand(context));
  program.addCommand(estimateCommand(context));
  program.addCommand(agentCommand(context));
  program.addCommand(gcCommand(context));
  program.addCommand(verifyCommand(context));
  program.addCommand(tokenCommand(context));
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}
