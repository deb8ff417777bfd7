import type { Command } from 'commander';
import { ChunkServerClient, envTlsSettings, loadClientTls, serverUrls } from '@lxchunk/client';
import { InvalidInputError } from '@lxchunk/errors';
import { readToken, type TokenOptions } from './token-source.js';

export interface ServerOptions extends TokenOptions {
  server?: string;
  /** From `--retry-for`, on the commands that have it. */
  retryFor?: number;
  ca?: string;
  serverFingerprint?: string;
}

/** Help for the trust options, shared with `chunk agent`. */
export const CA_HELP = "PEM file of the CA certificate(s) to trust for an https:// server instead of the system's CAs (or LXCHUNK_CA)";
export const FINGERPRINT_HELP =
  "trust exactly the https:// server certificate with this SHA-256 (hex, colons allowed; chunk serve prints it): self-signed is fine and the host name is not checked; wins over --ca (or LXCHUNK_SERVER_FINGERPRINT)";

/**
 * --server, --token, --token-file, --ca and --server-fingerprint, also from LXCHUNK_SERVER,
 * LXCHUNK_TOKEN, LXCHUNK_TOKEN_FILE, LXCHUNK_CA and LXCHUNK_SERVER_FINGERPRINT (a token in argv
 * shows up in `ps`; a file or stdin does not).
 */
export function withServerOptions(command: Command): Command {
  return command
    .option('--server <urls>', 'chunk server URL, or replicas of one server as a comma-separated list, tried in order (or LXCHUNK_SERVER)')
    .option('--token <token>', 'bearer token (or LXCHUNK_TOKEN; prefer a file or the variable: argv is visible in ps)')
    .option('--token-file <path>', 'read the bearer token from a file, or from stdin with - (or LXCHUNK_TOKEN_FILE)')
    .option('--ca <file>', CA_HELP)
    .option('--server-fingerprint <sha256>', FINGERPRINT_HELP);
}

export async function clientFrom(options: ServerOptions): Promise<ChunkServerClient> {
  const url = options.server ?? process.env.LXCHUNK_SERVER;
  if (!url) throw new InvalidInputError('no server: pass --server URL or set LXCHUNK_SERVER');
  const token = await readToken(options);
  const tls = await clientTlsFrom(options);
  return new ChunkServerClient({
    url: serverUrls(url),
    ...(token ? { token } : {}),
    ...(options.retryFor !== undefined ? { retryForMs: options.retryFor } : {}),
    ...(tls ? { tls } : {}),
  });
}

/** --ca and --server-fingerprint, else LXCHUNK_CA and LXCHUNK_SERVER_FINGERPRINT (flags win as a pair). */
export function clientTlsFrom(options: Pick<ServerOptions, 'ca' | 'serverFingerprint'>, env: NodeJS.ProcessEnv = process.env): ReturnType<typeof loadClientTls> {
  return loadClientTls([{ caFile: options.ca, fingerprint: options.serverFingerprint, names: TLS_FLAG_NAMES }, envTlsSettings(env)]);
}

export const TLS_FLAG_NAMES = { ca: '--ca', fingerprint: '--server-fingerprint' };
