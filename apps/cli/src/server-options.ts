import type { Command } from 'commander';
import { ChunkServerClient } from '@lxchunk/client';
import { InvalidInputError } from '@lxchunk/errors';

export interface ServerOptions {
  server?: string;
  token?: string;
  /** From `--retry-for`, on the commands that have it. */
  retryFor?: number;
}

/** --server and --token, also from LXCHUNK_SERVER and LXCHUNK_TOKEN (a token in argv shows up in `ps`). */
export function withServerOptions(command: Command): Command {
  return command
    .option('--server <url>', 'chunk server URL (or LXCHUNK_SERVER)')
    .option('--token <token>', 'bearer token (or LXCHUNK_TOKEN; prefer the variable: argv is visible in ps)');
}

export function clientFrom(options: ServerOptions): ChunkServerClient {
  const url = options.server ?? process.env.LXCHUNK_SERVER;
  if (!url) throw new InvalidInputError('no server: pass --server URL or set LXCHUNK_SERVER');
  const token = options.token ?? process.env.LXCHUNK_TOKEN;
  return new ChunkServerClient({ url, ...(token ? { token } : {}), ...(options.retryFor !== undefined ? { retryForMs: options.retryFor } : {}) });
}
