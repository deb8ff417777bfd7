import { isLxchunkError } from '@lxchunk/errors';
import type { AliasStatus } from './agent-status.js';

export interface AgentHealth {
  /** False when the last sync of some followed alias failed, or LXD does not answer now. */
  readonly healthy: boolean;
  readonly lxd: { readonly reachable: true } | { readonly reachable: false; readonly error: { readonly code: string; readonly message: string } };
  /** The last sync of each followed alias; one not synced yet since the start is absent (not a failure). */
  readonly aliases: Readonly<Record<string, AliasStatus>>;
}

/**
 * What /healthz answers (200 when healthy, else 503): the daemon's last sync per alias and a live
 * probe of LXD, so that a monitor sees both a failing alias and an LXD that went away between syncs.
 */
export async function agentHealth(aliases: ReadonlyMap<string, AliasStatus>, probeLxd: () => Promise<void>): Promise<AgentHealth> {
  let lxd: AgentHealth['lxd'] = { reachable: true };
  try {
    await probeLxd();
  } catch (err) {
    lxd = { reachable: false, error: { code: isLxchunkError(err) ? err.code : 'LXD_UNAVAILABLE', message: err instanceof Error ? err.message : String(err) } };
  }
  const failing = [...aliases.values()].some((status) => status.lastError);
  return { healthy: lxd.reachable && !failing, lxd, aliases: Object.fromEntries(aliases) };
}
