import type { ChunkServerClient } from '@lxchunk/client';
import type { LxdClient, LxdImageInfo } from '@lxchunk/lxd';
import { MANAGED_PROPERTY } from './agent-config.js';

export interface PruneContext {
  readonly client: ChunkServerClient;
  readonly lxd: LxdClient;
  readonly keepImages: number;
  readonly log: (entry: Record<string, unknown>) => void;
  readonly signal?: AbortSignal;
}

/**
 * Keeps `keepImages` of the images this agent imported for `alias`: the current one, then those
 * the alias pointed at most recently according to the server's alias history (after a rollback
 * v3 → v2 → v5 that is v2, though v3 was imported later). Deletes the others unless some LXD
 * alias still names them. Images the agent did not import (no lxchunk.alias property) are never
 * touched. Returns the fingerprints removed.
 */
export async function pruneImported(context: PruneContext, alias: string, current: string): Promise<string[]> {
  const { lxd } = context;
  const mine = (await lxd.listImages()).filter((image) => image.properties[MANAGED_PROPERTY] === alias);
  const keep = Math.max(1, context.keepImages);
  if (mine.length <= keep) return [];
  let history: string[];
  try {
    history = (await context.client.aliasHistory(alias, context.signal ? { signal: context.signal } : {})).map((entry) => entry.target);
  } catch (err) {
    if (context.signal?.aborted) throw err;
    // Without the order of moves the wrong image could go: retention waits for the next sync.
    context.log({ level: 'warn', msg: 'alias history unavailable, not pruning this time', alias, error: err instanceof Error ? err.message : String(err) });
    return [];
  }
  const pruned: string[] = [];
  for (const image of retentionOrder(mine, current, history).slice(keep)) {
    if (image.fingerprint === current || image.aliases.length > 0) continue;
    await lxd.deleteImage(image.fingerprint);
    pruned.push(image.fingerprint);
    context.log({ level: 'info', msg: 'removed old image', alias, fingerprint: image.fingerprint });
  }
  return pruned;
}

/**
 * Most worth keeping first: the current target, then by the alias's last move to each image
 * (`history` is newest first), then images the history does not name (it is capped), newest
 * import first.
 */
export function retentionOrder(images: readonly LxdImageInfo[], current: string, history: readonly string[]): LxdImageInfo[] {
  const lastMove = (fingerprint: string) => {
    if (fingerprint === current) return -1;
    const at = history.indexOf(fingerprint);
    return at === -1 ? Number.MAX_SAFE_INTEGER : at;
  };
  return [...images].sort((a, b) => lastMove(a.fingerprint) - lastMove(b.fingerprint) || b.uploadedAt.localeCompare(a.uploadedAt));
}
