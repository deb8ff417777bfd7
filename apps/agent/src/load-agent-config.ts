import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { InvalidInputError, userPathError } from '@lxchunk/errors';
import { validateAliasName } from '@lxchunk/format';
import { envTlsSettings, loadClientTls, serverUrls } from '@lxchunk/client';
import { REBUILD_PREFERENCES, type RebuildPreference } from '@lxchunk/sync';
import { AGENT_DEFAULTS, type AgentConfig } from './agent-config.js';

/** The config file's shape (e.g. /etc/lxchunk/agent.yaml); every key optional. */
interface AgentFile {
  /** One URL, or replicas of one server: a list, or a comma-separated string. */
  server?: string | string[];
  token?: string;
  tokenFile?: string;
  /** PEM CA bundle trusted for an https:// server instead of the system's CAs. */
  ca?: string;
  /** The server certificate's SHA-256: trust exactly it (wins over ca). */
  serverFingerprint?: string;
  follow?: string[];
  cacheDir?: string;
  lxdSocket?: string;
  keepImages?: number;
  pollIntervalSeconds?: number;
  waitSeconds?: number;
  retryForSeconds?: number;
  prefer?: RebuildPreference;
  deltas?: boolean;
}

const FILE_KEYS = new Set(['server', 'token', 'tokenFile', 'ca', 'serverFingerprint', 'follow', 'cacheDir', 'lxdSocket', 'keepImages', 'pollIntervalSeconds', 'waitSeconds', 'retryForSeconds', 'prefer', 'deltas']);

/**
 * Flags win over environment variables (LXCHUNK_SERVER, LXCHUNK_TOKEN, LXCHUNK_FOLLOW as a
 * comma-separated list, LXCHUNK_CACHE, LXD_SOCKET, LXCHUNK_PREFER, LXCHUNK_CA and
 * LXCHUNK_SERVER_FINGERPRINT), which win over the config file. The CA and the fingerprint go as
 * a pair: the first of these three that sets either decides.
 */
export async function loadAgentConfig(
  flags: Partial<Omit<AgentFile, 'follow' | 'server'>> & { server?: string; follow?: readonly string[]; configFile?: string },
  env: NodeJS.ProcessEnv,
  log: AgentConfig['log'],
): Promise<AgentConfig> {
  const file = await readAgentFile(flags.configFile);
  const tokenFromFile = file.tokenFile ? await readFile(file.tokenFile, 'utf8').then((t) => t.trim(), (err: unknown) => Promise.reject(userPathError('tokenFile', file.tokenFile!, err))) : undefined;
  const follow = flags.follow?.length ? flags.follow : env.LXCHUNK_FOLLOW ? env.LXCHUNK_FOLLOW.split(',').map((s) => s.trim()).filter(Boolean) : (file.follow ?? []);
  const urls = serverUrls(flags.server ?? env.LXCHUNK_SERVER ?? file.server ?? '');
  if (urls.length === 0) throw new InvalidInputError('no server: pass --server, set LXCHUNK_SERVER, or put server: in the config file');
  if (follow.length === 0) throw new InvalidInputError('nothing to follow: pass --follow ALIAS (repeatable), LXCHUNK_FOLLOW, or follow: in the config file');
  const tls = await loadClientTls([
    { caFile: flags.ca, fingerprint: flags.serverFingerprint, names: { ca: '--ca', fingerprint: '--server-fingerprint' } },
    envTlsSettings(env),
    { caFile: file.ca, fingerprint: file.serverFingerprint, names: { ca: `${flags.configFile}: ca`, fingerprint: `${flags.configFile}: serverFingerprint` } },
  ]);
  return {
    serverUrl: urls[0]!,
    serverUrls: urls,
    token: flags.token ?? env.LXCHUNK_TOKEN ?? file.token ?? tokenFromFile,
    tls,
    follow: follow.map(validateAliasName),
    cacheDir: cacheDirOf(flags, env, file),
    lxdSocket: flags.lxdSocket ?? env.LXD_SOCKET ?? file.lxdSocket,
    keepImages: positive(flags.keepImages ?? file.keepImages ?? AGENT_DEFAULTS.keepImages, 'keepImages'),
    pollIntervalMs: positive(flags.pollIntervalSeconds ?? file.pollIntervalSeconds ?? AGENT_DEFAULTS.pollIntervalMs / 1000, 'pollIntervalSeconds') * 1000,
    waitSeconds: positive(flags.waitSeconds ?? file.waitSeconds ?? AGENT_DEFAULTS.waitSeconds, 'waitSeconds'),
    retryForMs: nonNegative(flags.retryForSeconds ?? file.retryForSeconds ?? AGENT_DEFAULTS.retryForMs / 1000, 'retryForSeconds') * 1000,
    prefer: preference(flags.prefer ?? (env.LXCHUNK_PREFER as RebuildPreference | undefined) ?? file.prefer ?? AGENT_DEFAULTS.prefer),
    deltas: flags.deltas ?? file.deltas ?? AGENT_DEFAULTS.deltas,
    log,
  };
}

/** The agent's cache directory alone (for `agent status`), found as loadAgentConfig finds it. */
export async function agentCacheDir(flags: { cacheDir?: string; configFile?: string }, env: NodeJS.ProcessEnv): Promise<string> {
  return cacheDirOf(flags, env, await readAgentFile(flags.configFile));
}

function cacheDirOf(flags: { cacheDir?: string }, env: NodeJS.ProcessEnv, file: AgentFile): string {
  return flags.cacheDir ?? env.LXCHUNK_CACHE ?? file.cacheDir ?? AGENT_DEFAULTS.cacheDir;
}

async function readAgentFile(path: string | undefined): Promise<AgentFile> {
  if (!path) return {};
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw userPathError('--config', path, err);
  }
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (err) {
    throw new InvalidInputError(`cannot read agent config ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidInputError(`${path}: expected a mapping of settings`);
  for (const key of Object.keys(parsed)) {
    if (!FILE_KEYS.has(key)) throw new InvalidInputError(`${path}: unknown setting ${JSON.stringify(key)} (known: ${[...FILE_KEYS].join(', ')})`);
  }
  const file = parsed as AgentFile;
  if (file.server !== undefined && typeof file.server !== 'string' && (!Array.isArray(file.server) || file.server.some((u) => typeof u !== 'string'))) {
    throw new InvalidInputError(`${path}: server must be a URL or a list of URLs (replicas of one server)`);
  }
  for (const key of ['ca', 'serverFingerprint'] as const) {
    if (file[key] !== undefined && typeof file[key] !== 'string') throw new InvalidInputError(`${path}: ${key} must be a string`);
  }
  if (file.deltas !== undefined && typeof file.deltas !== 'boolean') throw new InvalidInputError(`${path}: deltas must be true or false`);
  if (file.follow !== undefined && (!Array.isArray(file.follow) || file.follow.some((a) => typeof a !== 'string'))) {
    throw new InvalidInputError(`${path}: follow must be a list of alias names`);
  }
  return file;
}

function preference(value: string): RebuildPreference {
  if (!(REBUILD_PREFERENCES as readonly string[]).includes(value)) throw new InvalidInputError(`prefer must be one of ${REBUILD_PREFERENCES.join(', ')}, got ${JSON.stringify(value)}`);
  return value as RebuildPreference;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidInputError(`${name} must be a positive number, got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new InvalidInputError(`${name} must be a number of at least 0, got ${value}`);
  return value;
}
