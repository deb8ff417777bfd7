export { startServer, type RunningServer } from './start-server.js';
export { DEFAULT_LIMITS, serverConfig, type ServerConfig, type ServerLimits } from './server-config.js';
export { openDataDir, type DataDir } from './data-dir.js';
export { collectGarbage, type GcReport } from './garbage-collector.js';
export { MetadataDb } from './db/metadata-db.js';
export { LOG_LEVELS, createServerLogger, type Logger } from './server-logger.js';
