import { join } from 'node:path';
import { ChunkServerClient, sleep } from '@lxchunk/client';
import { isLxchunkError } from '@lxchunk/errors';
import { LxdClient } from '@lxchunk/lxd';
import type { AgentConfig } from './agent-config.js';
import { agentHealth } from './agent-health.js';
import { serveAgentHttp } from './agent-http.js';
import { AgentMetrics } from './agent-metrics.js';
import { writeStatus, type AliasStatus } from './agent-status.js';
import { ManifestCache } from '@lxchunk/sync';
import { exportDirOf, syncAlias, type SyncResult } from './alias-sync.js';
import { ImportJournal } from './import-journal.js';
import { finishInterruptedImports } from './interrupted-imports.js';
import { lockCacheDir } from './instance-lock.js';
import { SeedIndexes } from './seed-indexes.js';

export interface RunningAgent {
  /** Resolves when the agent has stopped (after the signal aborts). */
  readonly done: Promise<void>;
  readonly metrics: AgentMetrics;
}

export interface SyncOutcome {
  readonly alias: string;
  readonly result?: SyncResult;
  readonly error?: { readonly code: string; readonly message: string };
}

const BACKOFF_MAX_MS = 60_000;

function serverClient(config: AgentConfig): ChunkServerClient {
  return new ChunkServerClient({ url: config.serverUrls, retryForMs: config.retryForMs, ...(config.token ? { token: config.token } : {}), ...(config.tls ? { tls: config.tls } : {}) });
}

/**
 * One pass over every followed alias; a failure of one alias does not stop the others. This is
 * `chunk agent --once`. It waits for another `--once` on the same cache directory to finish
 * (runs from a timer may overlap), and is refused with AGENT_LOCKED while a daemon holds it.
 */
export async function syncOnce(config: AgentConfig, signal?: AbortSignal, metrics = new AgentMetrics()): Promise<SyncOutcome[]> {
  const lock = await lockCacheDir(config.cacheDir, 'once', {
    wait: true,
    onWait: (holder) => config.log({ level: 'info', msg: 'waiting for another agent on the cache directory', cacheDir: config.cacheDir, holderPid: holder?.pid ?? null }),
    ...(signal ? { signal } : {}),
  });
  try {
    const client = serverClient(config);
    const lxd = await LxdClient.connect(config.lxdSocket ? { socketPath: config.lxdSocket } : {}).catch(async (err: unknown) => {
      await client.close();
      throw err;
    });
    try {
      return await syncAll(config, client, lxd, metrics, new Map(), signal);
    } finally {
      await Promise.all([client.close(), lxd.close()]);
    }
  } finally {
    await lock.release();
  }
}

/** Syncs `config.follow`, recording each alias's outcome in `statuses`, which is then written whole to the status file. */
async function syncAll(
  config: AgentConfig,
  client: ChunkServerClient,
  lxd: LxdClient,
  metrics: AgentMetrics,
  statuses: Map<string, AliasStatus>,
  signal?: AbortSignal,
): Promise<SyncOutcome[]> {
  const context = {
    client,
    lxd,
    serverUrl: config.serverUrl,
    workDir: config.cacheDir,
    seedIndexes: new SeedIndexes(join(config.cacheDir, 'seed-index')),
    imports: new ImportJournal(join(config.cacheDir, 'imports')),
    manifests: new ManifestCache(join(config.cacheDir, 'manifests')),
    keepImages: config.keepImages,
    prefer: config.prefer,
    deltas: config.deltas,
    log: config.log,
    ...(signal ? { signal } : {}),
  };
  await finishInterruptedImports(lxd, context.imports, exportDirOf(config.cacheDir), config.log);
  const outcomes: SyncOutcome[] = [];
  for (const alias of config.follow) {
    const at = new Date().toISOString();
    try {
      const result = await syncAlias(context, alias);
      outcomes.push({ alias, result });
      statuses.set(alias, { fingerprint: result.fingerprint, action: result.action, lastSync: at, bytesFetched: result.bytesFetched, bytesReused: result.bytesReused });
      metrics.syncs.inc({ action: result.action });
      metrics.bytesFetched.inc(result.bytesFetched);
      metrics.bytesReused.inc(result.bytesReused);
      metrics.lastSuccess.set({ alias }, Date.now() / 1000);
      if (result.action !== 'unchanged') config.log({ level: 'info', msg: 'alias synced', ...result });
    } catch (err) {
      if (signal?.aborted) throw err;
      const code = isLxchunkError(err) ? err.code : ((err as NodeJS.ErrnoException).code ?? 'INTERNAL');
      const message = err instanceof Error ? err.message : String(err);
      outcomes.push({ alias, error: { code, message } });
      recordFailure(statuses, alias, { code, message, at });
      metrics.failures.inc({ code });
    }
  }
  await writeStatus(config.cacheDir, { server: config.serverUrl, pid: process.pid, updated: new Date().toISOString(), aliases: Object.fromEntries(statuses) });
  return outcomes;
}

/** A failure keeps the image the alias last synced to: it is still what LXD serves. */
function recordFailure(statuses: Map<string, AliasStatus>, alias: string, lastError: NonNullable<AliasStatus['lastError']>): void {
  const fingerprint = statuses.get(alias)?.fingerprint;
  statuses.set(alias, { ...(fingerprint ? { fingerprint } : {}), lastError });
}

/**
 * The daemon: syncs every followed alias, then follows the server's change feed (long-poll),
 * resyncing an alias when it moves and everything every `pollIntervalMs` as a fallback. A server
 * or LXD that goes away is retried with backoff and logged once per outage, not once per try.
 */
export async function startAgent(config: AgentConfig, signal: AbortSignal, options: { metricsListen?: { host: string; port: number } } = {}): Promise<RunningAgent> {
  // A second daemon on the same cache directory is a mistake: refused at once (AGENT_LOCKED).
  const lock = await lockCacheDir(config.cacheDir, 'daemon', { wait: false });
  const metrics = new AgentMetrics();
  // Every followed alias's last outcome, across rounds that sync only the aliases that moved.
  const statuses = new Map<string, AliasStatus>();
  let http: Awaited<ReturnType<typeof serveAgentHttp>> | undefined;
  if (options.metricsListen) {
    const probeLxd = async () => (await LxdClient.connect(config.lxdSocket ? { socketPath: config.lxdSocket } : {})).close();
    try {
      http = await serveAgentHttp(options.metricsListen, metrics, () => agentHealth(statuses, probeLxd));
    } catch (err) {
      await lock.release();
      throw err;
    }
    config.log({ level: 'info', msg: 'metrics listening', url: http.url });
  }
  const done = (async () => {
    const client = serverClient(config);
    let outage: string | undefined;
    let backoff = 1000;
    let since: number | undefined;
    let nextFullSync = 0;
    try {
      while (!signal.aborted) {
        try {
          if (since === undefined) since = (await client.changes(undefined, 0, { signal })).seq;
          let due = config.follow;
          if (Date.now() < nextFullSync) {
            const feed = await client.changes(since, Math.min(config.waitSeconds, Math.ceil((nextFullSync - Date.now()) / 1000)), { signal });
            since = feed.seq;
            const moved = new Set(feed.changes.map((change) => change.alias));
            due = config.follow.filter((alias) => moved.has(alias));
          } else {
            nextFullSync = Date.now() + config.pollIntervalMs;
          }
          if (due.length > 0) {
            const lxd = await LxdClient.connect(config.lxdSocket ? { socketPath: config.lxdSocket } : {});
            try {
              const outcomes = await syncAll({ ...config, follow: due }, client, lxd, metrics, statuses, signal);
              for (const failed of outcomes.filter((o) => o.error)) {
                config.log({ level: 'warn', msg: 'alias sync failed, will retry', alias: failed.alias, ...failed.error });
                nextFullSync = Math.min(nextFullSync, Date.now() + backoff);
              }
            } finally {
              await lxd.close();
            }
          }
          if (outage) config.log({ level: 'info', msg: 'recovered', after: outage });
          outage = undefined;
          backoff = 1000;
        } catch (err) {
          if (signal.aborted) break;
          const code = isLxchunkError(err) ? err.code : 'INTERNAL';
          const message = err instanceof Error ? err.message : String(err);
          if (outage !== code) config.log({ level: 'error', msg: 'sync loop failed, retrying with backoff', code, error: message });
          // No alias could sync (the server or LXD is away): each one's last sync failed.
          for (const alias of config.follow) recordFailure(statuses, alias, { code, message, at: new Date().toISOString() });
          outage = code;
          since = undefined;
          nextFullSync = 0;
          await sleep(backoff, signal).catch(() => undefined);
          backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        }
      }
    } finally {
      await client.close();
      if (http) await new Promise<void>((resolve) => http!.server.close(() => resolve()));
      await lock.release();
      config.log({ level: 'info', msg: 'agent stopped' });
    }
  })();
  return { done, metrics };
}
