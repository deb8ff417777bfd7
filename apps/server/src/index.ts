export { startServer, type RunningServer } from './start-server.js';
export { DEFAULT_LIMITS, serverConfig, type ServerConfig, type ServerLimits } from './server-config.js';
export { openMetadata, openStorage, type ServerStorage, type StorageSpec } from './open-storage.js';
export { collectGarbage, type GcReport } from './garbage-collector.js';
export { MetadataDb } from './db/metadata-db.js';
export type { MetadataStore } from './db/metadata-store.js';
export { SqliteMetadataStore } from './db/sqlite-metadata-store.js';
export { LOG_LEVELS, createServerLogger, type Logger } from './server-logger.js';
export { SELF_SIGNED_DIR, resolveServerTls, tlsFingerprint, type ResolvedServerTls, type ServerTls, type ServerTlsRequest } from './server-tls.js';
