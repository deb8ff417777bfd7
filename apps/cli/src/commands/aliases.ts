import { Command } from 'commander';
import { AliasNotFoundError, InvalidInputError } from '@lxchunk/errors';
import { resolveImageRef } from '@lxchunk/sync';
import type { CommandContext } from '../command-context.js';
import { parsedOption, wholeNumber } from '../options.js';
import { withServerOptions, type ServerOptions } from '../server-options.js';
import { withClient } from '../with-client.js';

interface JsonOption extends ServerOptions {
  json?: boolean;
}

/** Server aliases (GET/PUT/DELETE /v1/aliases): every change is a compare-and-swap on the alias version. */
export function aliasesCommand(context: CommandContext): Command {
  const command = new Command('aliases').description('list, show, delete and roll back aliases on a server, and show their history');
  const signal = context.signal;

  withServerOptions(command.command('list').description('list aliases whose target the caller may read'))
    .option('--json', 'print {aliases: [{name, target, version, updated}]}')
    .action(async (options: JsonOption) => {
      const aliases = await withClient(options, (client) => client.listAliases({ signal }));
      if (options.json) context.printJson({ aliases });
      else for (const a of aliases) context.print(`${a.name.padEnd(32)} ${a.target.slice(0, 12)}  v${a.version}  ${a.updated}`);
    });

  withServerOptions(command.command('show').description('show where an alias points').argument('<name>', 'alias name'))
    .option('--json', 'print {name, target, version, updated}')
    .action(async (name: string, options: JsonOption) => {
      const alias = await withClient(options, (client) => client.getAlias(name, { signal }));
      if (!alias) throw new AliasNotFoundError(name);
      if (options.json) context.printJson(alias);
      else context.print(`${alias.name} -> ${alias.target} (version ${alias.version}, updated ${alias.updated})`);
    });

  withServerOptions(command.command('history').description('past targets of an alias, newest first').argument('<name>', 'alias name'))
    .option('--json', 'print {history: [{target, version, at}]}')
    .action(async (name: string, options: JsonOption) => {
      const history = await withClient(options, (client) => client.aliasHistory(name, { signal }));
      if (options.json) context.printJson({ history });
      else for (const h of history) context.print(`v${String(h.version).padEnd(5)} ${h.target}  ${h.at}`);
    });

  withServerOptions(command.command('delete').description('delete an alias (push scope); its images stay until retention drops them').argument('<name>', 'alias name'))
    .addOption(parsedOption('--if-version <n>', 'delete only if the alias is still at this version (else exit 8, PRECONDITION_FAILED)', wholeNumber))
    .option('--json', 'print {deleted: name}')
    .action(async (name: string, options: JsonOption & { ifVersion?: number }) => {
      await withClient(options, (client) => client.deleteAlias(name, options.ifVersion, { signal }));
      if (options.json) context.printJson({ deleted: name });
      else context.print(`deleted alias ${name}`);
    });

  withServerOptions(
    command
      .command('rollback')
      .description('point an alias back at its previous target (or --to one), by compare-and-swap: a concurrent move makes it fail, exit 8')
      .argument('<name>', 'alias name'),
  )
    .option('--to <ref>', 'the target to roll back to: a fingerprint, a unique prefix or another alias (default: the newest earlier target)')
    .option('--json', 'print {name, target, version, updated, previous}')
    .action(async (name: string, options: JsonOption & { to?: string }) => {
      const { moved, previous } = await withClient(options, async (client) => {
        const current = await client.getAlias(name, { signal });
        if (!current) throw new AliasNotFoundError(name);
        let target: string | undefined;
        if (options.to !== undefined) target = await resolveImageRef(client, options.to, signal);
        else target = (await client.aliasHistory(name, { signal })).find((h) => h.version < current.version && h.target !== current.target)?.target;
        if (!target) throw new InvalidInputError(`alias ${JSON.stringify(name)} has no earlier target to roll back to`);
        // If-Match the version read above: a push that moved the alias meanwhile wins, and we say so.
        return { moved: await client.setAlias(name, target, { version: current.version }, undefined, { signal }), previous: current.target };
      });
      if (options.json) context.printJson({ ...moved, previous });
      else context.print(`${moved.name} -> ${moved.target.slice(0, 12)} (version ${moved.version}; was ${previous.slice(0, 12)})`);
    });

  return command;
}
