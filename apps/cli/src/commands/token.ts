import { Command } from 'commander';
import { InvalidInputError, NotFoundError } from '@lxchunk/errors';
import type { MetadataStore } from '@lxchunk/server';
import type { CommandContext } from '../command-context.js';
import { duration, parsedOption } from '../options.js';
import { METADATA_HELP, openStorageMetadata, type StorageOptions } from '../storage-options.js';

const SCOPES = ['read', 'push', 'admin'] as const;
type Scope = (typeof SCOPES)[number];

/** Tokens live in the server's metadata (SQLite in the data dir, or PostgreSQL); these work whether or not a server runs. */
export function tokenCommand(context: CommandContext): Command {
  const command = new Command('token').description('create, list and revoke bearer tokens of a server (its data directory or its PostgreSQL metadata)');
  const withDb = async <T>(options: StorageOptions, fn: (db: MetadataStore) => Promise<T>): Promise<T> => {
    const db = await openStorageMetadata(options);
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };

  command
    .command('create')
    .description('create a token; it is printed once and only its hash is stored')
    .option('--data <dir>', 'server data directory')
    .option('--metadata <url>', METADATA_HELP)
    .requiredOption('--name <name>', 'a unique name, e.g. the CI job or host it is for')
    .addOption(parsedOption('--scope <scopes>', 'comma-separated: read, push, admin', parseScopes).default(['read'], 'read'))
    .addOption(parsedOption('--expires <duration>', 'lifetime such as 90d (default: never)', duration))
    .option('--json', 'print {id, name, scopes, token}')
    .action(async (options: StorageOptions & { name: string; scope: Scope[]; expires?: number; json?: boolean }) => {
      const created = await withDb(options, (db) =>
        db.tokens.create({ name: options.name, scopes: options.scope, ...(options.expires ? { expiresAt: Date.now() + options.expires } : {}) }),
      );
      if (options.json) context.printJson({ id: created.id, name: options.name, scopes: options.scope, token: created.token });
      else context.print(created.token);
    });

  command
    .command('list')
    .description('list tokens (never their secret)')
    .option('--data <dir>', 'server data directory')
    .option('--metadata <url>', METADATA_HELP)
    .option('--json', 'print {tokens: [...]}')
    .action(async (options: StorageOptions & { json?: boolean }) => {
      const tokens = await withDb(options, (db) => db.tokens.list());
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
    .option('--data <dir>', 'server data directory')
    .option('--metadata <url>', METADATA_HELP)
    .argument('<token>', 'token id or name')
    .option('--json', 'print {revoked: true}')
    .action(async (which: string, options: StorageOptions & { json?: boolean }) => {
      const key = /^\d+$/.test(which) ? Number(which) : which;
      const revoked = await withDb(options, (db) => db.tokens.revoke(key));
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
