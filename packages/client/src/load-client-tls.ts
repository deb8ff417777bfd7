import { readFile } from 'node:fs/promises';
import { InvalidInputError, userPathError } from '@lxchunk/errors';
import { parseTlsFingerprint } from '@lxchunk/format';
import type { ClientTls } from './server-trust.js';

/** Trust settings from one place a user gives them (flags, the environment, a config file). */
export interface ClientTlsSettings {
  /** Path of a PEM CA bundle. */
  readonly caFile?: string | undefined;
  readonly fingerprint?: string | undefined;
  /** How the user named the two there (e.g. `--ca`, `LXCHUNK_CA`, `ca:`), for errors. */
  readonly names: { readonly ca: string; readonly fingerprint: string };
}

/**
 * The client's TLS options from the first of `sources` (in precedence order) that sets either
 * setting: the two go as a pair, so a flag is never half-overridden by a variable. The CA file is
 * read, the fingerprint checked. Undefined when none sets either: the system's CAs. A pin
 * decides alone, so a CA bundle given with it is not read.
 */
export async function loadClientTls(sources: readonly ClientTlsSettings[]): Promise<ClientTls | undefined> {
  const settings = sources.find((s) => s.caFile || s.fingerprint);
  if (!settings) return undefined;
  if (settings.fingerprint) return { fingerprint: parseTlsFingerprint(settings.fingerprint, settings.names.fingerprint) };
  const path = settings.caFile!;
  let ca: Buffer;
  try {
    ca = await readFile(path);
  } catch (err) {
    throw userPathError(settings.names.ca, path, err);
  }
  // Node would take an empty or wrong file as trusting nothing: every server then "untrusted".
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new InvalidInputError(`${settings.names.ca} ${path}: no PEM certificate in it`);
  return { ca };
}

/** LXCHUNK_CA and LXCHUNK_SERVER_FINGERPRINT, as every lxchunk command and the agent read them. */
export function envTlsSettings(env: NodeJS.ProcessEnv): ClientTlsSettings {
  return { caFile: env.LXCHUNK_CA, fingerprint: env.LXCHUNK_SERVER_FINGERPRINT, names: { ca: 'LXCHUNK_CA', fingerprint: 'LXCHUNK_SERVER_FINGERPRINT' } };
}
