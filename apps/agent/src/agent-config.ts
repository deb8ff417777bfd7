import type { ClientTls } from '@lxchunk/client';
import type { RebuildPreference } from '@lxchunk/sync';

/** Everything an agent needs; built by loadAgentConfig from a file, the environment and flags. */
export interface AgentConfig {
  /** The first of serverUrls: the server's name in what the agent marks as imported from it. */
  readonly serverUrl: string;
  /** Replicas of the server, tried in order. */
  readonly serverUrls: readonly string[];
  readonly token: string | undefined;
  /** Which certificates an https:// server may present; undefined: those the system's CAs vouch for. */
  readonly tls: ClientTls | undefined;
  /** Server aliases to mirror into LXD under the same names. */
  readonly follow: readonly string[];
  /** Working directory: staged pulls (resumable), seed indexes, status. */
  readonly cacheDir: string;
  readonly lxdSocket: string | undefined;
  /** Images kept per followed alias among those the agent imported: the current one and the previous (the best seed). */
  readonly keepImages: number;
  /** Full resync period, the fallback when the change feed is silent or down. */
  readonly pollIntervalMs: number;
  /** Long-poll wait on the change feed. */
  readonly waitSeconds: number;
  /** How long a request keeps retrying a server that went away (a restart) before the sync fails. */
  readonly retryForMs: number;
  /** xz blocks: rebuild from content (bytes), fetch compressed (time), or decide per block (auto). */
  readonly prefer: RebuildPreference;
  /** Offer the server the chunks of held images that missing ones replaced, so they may come as deltas. */
  readonly deltas: boolean;
  readonly log: (entry: Record<string, unknown>) => void;
}

export const AGENT_DEFAULTS = Object.freeze({
  cacheDir: '/var/cache/lxchunk',
  keepImages: 2,
  pollIntervalMs: 5 * 60 * 1000,
  waitSeconds: 60,
  retryForMs: 60_000,
  // A fleet updating at once shares the server's egress: there, bytes are the time. One host on
  // its own link may prefer `auto`.
  prefer: 'bytes' as RebuildPreference,
  deltas: true,
});

/** LXD image properties that mark an image as imported by lxchunk, and for which alias. */
export const MANAGED_PROPERTY = 'lxchunk.alias';
export const SOURCE_PROPERTY = 'lxchunk.server';

/** The marks of an image the agent imported for `alias` from `server`. */
export function managedProperties(alias: string, server: string): Record<string, string> {
  return { [MANAGED_PROPERTY]: alias, [SOURCE_PROPERTY]: server };
}
