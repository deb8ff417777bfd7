/** Everything a server instance needs to know; the CLI builds it from flags. */
export interface ServerConfig {
  readonly dataDir: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Anonymous callers may read public images. */
  readonly anonymousRead: boolean;
  /** How long a chunk uploaded or re-announced by a push is safe from GC without a manifest. */
  readonly leaseMs: number;
  /** Periodic retention + GC; 0 disables it. */
  readonly gcIntervalMs: number;
  /** Images kept per alias (the newest distinct targets in its history). */
  readonly retentionKeep: number;
  /** fsync chunk files before acknowledging them. */
  readonly fsync: boolean;
  readonly limits: ServerLimits;
  readonly log: (entry: Record<string, unknown>) => void;
}

export interface ServerLimits {
  readonly maxChunkBytes: number;
  readonly maxManifestBytes: number;
  readonly maxFetchIds: number;
  /** One `POST /v1/chunks/upload` batch: its body, and its frames. */
  readonly maxUploadBytes: number;
  readonly maxUploadChunks: number;
  readonly maxMissingIds: number;
  readonly maxJsonBytes: number;
  readonly maxWaitSeconds: number;
}

export const DEFAULT_LIMITS: ServerLimits = Object.freeze({
  maxChunkBytes: 64 * 1024 * 1024,
  maxManifestBytes: 64 * 1024 * 1024,
  maxFetchIds: 4096,
  // Room for one largest chunk with its framing; clients send about 8 MiB per batch.
  maxUploadBytes: 128 * 1024 * 1024,
  maxUploadChunks: 4096,
  maxMissingIds: 100_000,
  // 100000 ids as JSON strings are ~6.7 MB.
  maxJsonBytes: 8 * 1024 * 1024,
  maxWaitSeconds: 300,
});

export function serverConfig(partial: Partial<ServerConfig> & Pick<ServerConfig, 'dataDir'>): ServerConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    anonymousRead: true,
    leaseMs: 24 * 3600 * 1000,
    gcIntervalMs: 6 * 3600 * 1000,
    retentionKeep: 3,
    fsync: true,
    limits: DEFAULT_LIMITS,
    log: (entry) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`),
    ...partial,
  };
}
