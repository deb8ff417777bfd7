import type { Command } from 'commander';
import { ChunkServerClient, serverUrls } from '@lxchunk/client';
import { InvalidInputError } from '@lxchunk/errors';
import { readToken, type TokenOptions } from './token-source.js';

export interface ServerOptions extends TokenOptions {
  server?: string;
  /** From `--retry-for`, on the commands that have it. */
  retryFor?: number;
}

/**
 * --server, --token and --token-file, also from LXCHUNK_SERVER, LXCHUNK_TOKEN and
 * LXCHUNK_TOKEN_FILE (a token in argv shows up in `ps`; a file or stdin does not).
 */
export function withServerOptions(command: Command): Command {
  return command
    .option('--server <urls>', 'chunk server URL, or replicas of one server as a comma-separated list, tried in order (or LXCHUNK_SERVER)')
    .option('--token <token>', 'bearer token (or LXCHUNK_TOKEN; prefer a file or the variable: argv is visible in ps)')
    .option('--token-file <path>', 'read the bearer token from a file, or from stdin with - (or LXCHUNK_TOKEN_FILE)');
}

export async function clientFrom(options: ServerOptions): Promise<ChunkServerClient> {
  const url = options.server ?? process.env.LXCHUNK_SERVER;
  if (!url) throw new InvalidInputError('no server: pass --server URL or set LXCHUNK_SERVER');
  const token = await readToken(options);
  return new ChunkServerClient({ url: serverUrls(url), ...(token ? { token } : {}), ...(options.retryFor !== undefined ? { retryForMs: options.retryFor } : {}) });
}
