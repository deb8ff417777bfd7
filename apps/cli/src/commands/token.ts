import { join } from 'node:path';
import { Command } from 'commander';
import { InvalidInputError, NotFoundError } from '@lxchunk/errors';
import { MetadataDb } from '@lxchunk/server';
import type { CommandContext } from '../command-context.js';
import { duration, parsedOption } from '../options.js';

const SCOPES = ['read', 'push', 'admin'] as const;
type Scope = (typeof SCOPES)[number];

/** Tokens live in the data dir's SQLite database; these commands work whether or not a server runs on it. */
export function tokenCommand(context: CommandContext): Command {
  const command = new Command('token').description('create, list and revoke bearer tokens of a server data directory');
  const withDb = async <T>(dir: string, fn: (db: MetadataDb) => T): Promise<T> => {
    const db = MetadataDb.open(join(dir, 'metadata.db'));
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };

  command
    .command('create')
    .description('create a token; it is printed once and only its hash is stored')
    .requiredOption('--data <dir>', 'server data directory')
    .requiredOption('--name <name>', 'a unique name, e.g. the CI job or host it is for')
    .addOption(parsedOption('--scope <scopes>', 'comma-separated: read, push, admin', parseScopes).default(['read'], 'read'))
    .addOption(parsedOption('--expires <duration>', 'lifetime such as 90d (default: never)', duration))
    .option('--json', 'print {id, name, scopes, token}')
    .action(async (options: { data: string; name: string; scope: Scope[]; expires?: number; json?: boolean }) => {
      const created = await withDb(options.data, (db) =>
        db.tokens.create({ name: options.name, scopes: options.scope, ...(options.expires ? { expiresAt: Date.now() + options.expires } : {}) }),
      );
      if (options.json) context.printJson({ id: created.id, name: options.name, scopes: options.scope, token: created.token });
      else context.print(created.token);
    });

  command
    .command('list')
    .description('list tokens (never their secret)')
    .requiredOption('--data <dir>', 'server data directory')
    .option('--json', 'print {tokens: [...]}')
    .action(async (options: { data: string; json?: boolean }) => {
      const tokens = await withDb(options.data, (db) => db.tokens.list());
      if (options.json) {
        context.printJson({ tokens });
        return;
      }
      for (const token of tokens) {
        const state = token.revokedAt ? 'revoked' : token.expiresAt && token.expiresAt < Date.now() ? 'expired' : 'active';
        context.print(`${String(token.id).padEnd(5)}${token.name.padEnd(24)}${token.scopes.join(',').padEnd(16)}${state}`);
      }
    });

  command
    .command('revoke')
    .description('revoke a token by id or name; it stops working at once')
    .requiredOption('--data <dir>', 'server data directory')
    .argument('<token>', 'token id or name')
    .option('--json', 'print {revoked: true}')
    .action(async (which: string, options: { data: string; json?: boolean }) => {
      const key = /^\d+$/.test(which) ? Number(which) : which;
      const revoked = await withDb(options.data, (db) => db.tokens.revoke(key));
      if (!revoked) throw new NotFoundError(`no active token ${JSON.stringify(which)}`);
      if (options.json) context.printJson({ revoked: true });
      else context.print(`revoked ${which}`);
    });

  return command;
}

function parseScopes(value: string): Scope[] {
  const scopes = value.split(',').map((s) => s.trim());
  for (const scope of scopes) {
    if (!(SCOPES as readonly string[]).includes(scope)) throw new InvalidInputError(`unknown scope ${JSON.stringify(scope)}: use read, push or admin`);
  }
  return scopes as Scope[];
}
