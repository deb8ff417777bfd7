import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { join } from 'node:path';
import { ChunkServerClient, sleep } from '@lxchunk/client';
import { isLxchunkError } from '@lxchunk/errors';
import { LxdClient } from '@lxchunk/lxd';
import type { AgentConfig } from './agent-config.js';
import { AgentMetrics } from './agent-metrics.js';
import { writeStatus, type AliasStatus } from './agent-status.js';
import { ManifestCache } from '@lxchunk/sync';
import { syncAlias, type SyncResult } from './alias-sync.js';
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
  return new ChunkServerClient({ url: config.serverUrl, retryForMs: config.retryForMs, ...(config.token ? { token: config.token } : {}) });
}

/**
 * One pass over every followed alias; a failure of one alias does not stop the others. This is
 * `chunk agent --once`, and each round of the daemon.
 */
export async function syncOnce(config: AgentConfig, signal?: AbortSignal, metrics = new AgentMetrics()): Promise<SyncOutcome[]> {
  const client = serverClient(config);
  const lxd = await LxdClient.connect(config.lxdSocket ? { socketPath: config.lxdSocket } : {});
  try {
    return await syncAll(config, client, lxd, metrics, signal);
  } finally {
    await Promise.all([client.close(), lxd.close()]);
  }
}

async function syncAll(config: AgentConfig, client: ChunkServerClient, lxd: LxdClient, metrics: AgentMetrics, signal?: AbortSignal): Promise<SyncOutcome[]> {
  const context = {
    client,
    lxd,
    serverUrl: config.serverUrl,
    workDir: config.cacheDir,
    seedIndexes: new SeedIndexes(join(config.cacheDir, 'seed-index')),
    manifests: new ManifestCache(join(config.cacheDir, 'manifests')),
    keepImages: config.keepImages,
    log: config.log,
    ...(signal ? { signal } : {}),
  };
  const outcomes: SyncOutcome[] = [];
  const statuses: Record<string, AliasStatus> = {};
  for (const alias of config.follow) {
    const at = new Date().toISOString();
    try {
      const result = await syncAlias(context, alias);
      outcomes.push({ alias, result });
      statuses[alias] = { fingerprint: result.fingerprint, action: result.action, lastSync: at, bytesFetched: result.bytesFetched, bytesReused: result.bytesReused };
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
      statuses[alias] = { lastError: { code, message, at } };
      metrics.failures.inc({ code });
    }
  }
  await writeStatus(config.cacheDir, { server: config.serverUrl, pid: process.pid, updated: new Date().toISOString(), aliases: statuses });
  return outcomes;
}

/**
 * The daemon: syncs every followed alias, then follows the server's change feed (long-poll),
 * resyncing an alias when it moves and everything every `pollIntervalMs` as a fallback. A server
 * or LXD that goes away is retried with backoff and logged once per outage, not once per try.
 */
export async function startAgent(config: AgentConfig, signal: AbortSignal, options: { metricsListen?: { host: string; port: number } } = {}): Promise<RunningAgent> {
  const metrics = new AgentMetrics();
  let metricsServer: Server | undefined;
  if (options.metricsListen) {
    metricsServer = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      void metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text));
    }).listen(options.metricsListen.port, options.metricsListen.host);
    await once(metricsServer, 'listening');
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
              const outcomes = await syncAll({ ...config, follow: due }, client, lxd, metrics, signal);
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
          if (outage !== code) config.log({ level: 'error', msg: 'sync loop failed, retrying with backoff', code, error: err instanceof Error ? err.message : String(err) });
          outage = code;
          since = undefined;
          nextFullSync = 0;
          await sleep(backoff, signal).catch(() => undefined);
          backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        }
      }
    } finally {
      await client.close();
      if (metricsServer) await new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
      config.log({ level: 'info', msg: 'agent stopped' });
    }
  })();
  return { done, metrics };
}
