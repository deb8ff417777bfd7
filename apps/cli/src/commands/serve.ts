import { Command, Option } from 'commander';
import { DEFAULT_LIMITS, LOG_LEVELS, SELF_SIGNED_DIR, createServerLogger, resolveServerTls, serverConfig, startServer } from '@lxchunk/server';
import type { CommandContext } from '../command-context.js';
import { duration, listenAddress, parsedOption, repeatable, size, wholeNumber } from '../options.js';
import { CHUNKS_HELP, METADATA_HELP } from '../storage-options.js';

interface ServeOptions {
  redirectPrivate?: boolean;
  redirectTtl: number;
  data?: string;
  chunks?: string;
  metadata?: string;
  listen: { host: string; port: number };
  anonymous: boolean;
  gcInterval: number;
  retention: number;
  lease: number;
  fsync: boolean;
  deltas: boolean;
  deltaCache: number;
  simplestreamsDeltas: number;
  simplestreamsDeltaCache: number;
  simplestreamsDeltaWait: number;
  uploadMemory: number;
  uploadWait: number;
  bodyTimeout: number;
  logLevel: (typeof LOG_LEVELS)[number];
  json?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsSelfSigned?: boolean;
  tlsSan: string[];
}

export function serveCommand(context: CommandContext): Command {
  return new Command('serve')
    .description(
      'run the HTTP chunk server: on a data directory (filesystem chunks + SQLite metadata), or on shared storage ' +
        '(--chunks s3://… and --metadata postgres://…), where any number of servers act as one; SIGTERM drains it',
    )
    .option('--data <dir>', 'data directory, created on first start; one server per directory (optional with --chunks and --metadata: then only the delta cache)')
    .option('--chunks <url>', CHUNKS_HELP)
    .option('--metadata <url>', METADATA_HELP)
    .option('--redirect-private', 'answer reads of private chunks, after the access check, with presigned URLs of the object store (--chunks s3://…), so their bytes do not pass through the server')
    .addOption(parsedOption('--redirect-ttl <duration>', 'how long such a URL is valid', duration).default(duration('5m'), '5m'))
    .addOption(parsedOption('--listen <host:port>', 'address to listen on (port 0 picks a free one)', listenAddress).default(listenAddress('127.0.0.1:8080'), '127.0.0.1:8080'))
    .option('--no-anonymous', 'refuse anonymous reads (by default anonymous callers may read public images)')
    .addOption(parsedOption('--gc-interval <duration>', 'retention + garbage collection period, 0 to disable', duration).default(duration('6h'), '6h'))
    .addOption(parsedOption('--retention <n>', 'images kept per alias (newest targets in its history)', wholeNumber).default(3))
    .addOption(parsedOption('--lease <duration>', 'how long uploaded chunks are safe from GC before a manifest references them', duration).default(duration('24h'), '24h'))
    .option('--no-fsync', 'do not fsync chunk files (faster; a crash may lose recent uploads, which are re-pushed)')
    .option('--no-deltas', 'answer fetches that name base chunks with plain chunks, never deltas (saves server CPU)')
    .addOption(parsedOption('--delta-cache <size>', 'computed deltas kept on disk under DIR/delta-cache, 0 for none', size).default(1024 * 1024 * 1024, '1GiB'))
    .addOption(
      parsedOption('--simplestreams-deltas <n>', 'simplestreams: xdelta3 delta items on an alias\'s newest build from this many builds before it (LXD applies one to the build it holds), 0 for none', wholeNumber).default(3),
    )
    .addOption(parsedOption('--simplestreams-delta-cache <size>', 'simplestreams deltas kept on disk under DIR/simplestreams-deltas', size).default(4 * 1024 * 1024 * 1024, '4GiB'))
    .addOption(parsedOption('--simplestreams-delta-wait <duration>', 'how long a products listing waits for deltas being made (the rest are listed once made)', duration).default(duration('30s'), '30s'))
    .addOption(parsedOption('--upload-memory <size>', 'request-body bytes all uploads together may hold in memory, e.g. 256M', size).default(DEFAULT_LIMITS.maxUploadMemoryBytes, '128MiB'))
    .addOption(parsedOption('--upload-wait <duration>', 'how long an upload waits for that memory before a 503 with Retry-After', duration).default(DEFAULT_LIMITS.uploadMemoryWaitMs, '30s'))
    .addOption(parsedOption('--body-timeout <duration>', 'a request body idle this long is answered 408, 0 to disable', duration).default(DEFAULT_LIMITS.bodyIdleTimeoutMs, '30s'))
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (the server\'s first, then intermediates); needs --tls-key. Default: plain HTTP, e.g. behind a TLS proxy')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--tls-self-signed', `serve HTTPS with a self-signed certificate made on first start and kept in DIR/${SELF_SIGNED_DIR} (needs --data); clients pin its fingerprint (--server-fingerprint), printed at start and by GET /healthz`)
    .option('--tls-san <name>', 'another DNS name or IP address for the self-signed certificate, besides localhost, this host\'s name, 127.0.0.1 and ::1 (repeatable; only when it is first made)', repeatable, [])
    .addOption(new Option('--log-level <level>', 'least severe entries written to the JSON log on stderr (info: one line per request)').choices(LOG_LEVELS).default('info'))
    .option('--json', 'print {"url": ..., "tlsFingerprint": ...} as the first stdout line once listening')
    .action(async (options: ServeOptions) => {
      const logger = createServerLogger(options.logLevel);
      const tls = await resolveServerTls({
        certFile: options.tlsCert,
        keyFile: options.tlsKey,
        selfSigned: options.tlsSelfSigned,
        sans: options.tlsSan,
        dataDir: options.data,
      });
      if (tls?.missingSans.length) {
        logger.warn({ missing: tls.missingSans }, `the self-signed certificate in ${SELF_SIGNED_DIR}/ was made without these names and is kept: delete it (server stopped) to make one with them`);
      }
      const config = serverConfig({
        ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
        dataDir: options.data,
        chunks: options.chunks,
        metadata: options.metadata,
        host: options.listen.host,
        port: options.listen.port,
        anonymousRead: options.anonymous,
        gcIntervalMs: options.gcInterval,
        retentionKeep: Math.max(1, options.retention),
        leaseMs: options.lease,
        fsync: options.fsync,
        deltas: options.deltas,
        deltaCacheBytes: options.deltaCache,
        simplestreamsDeltaBases: options.simplestreamsDeltas,
        simplestreamsDeltaCacheBytes: options.simplestreamsDeltaCache,
        simplestreamsDeltaWaitMs: options.simplestreamsDeltaWait,
        redirectPrivateSeconds: options.redirectPrivate ? Math.max(1, Math.round(options.redirectTtl / 1000)) : 0,
        logger,
        limits: {
          ...DEFAULT_LIMITS,
          maxUploadMemoryBytes: options.uploadMemory,
          uploadMemoryWaitMs: options.uploadWait,
          bodyIdleTimeoutMs: options.bodyTimeout,
        },
      });
      const server = await startServer(config, context.signal);
      const fingerprint = server.tlsFingerprint;
      if (options.json) context.printJson({ url: server.url, ...(fingerprint ? { tlsFingerprint: fingerprint } : {}) });
      else context.print(`lxchunk server listening on ${server.url}${fingerprint ? ` (TLS certificate SHA-256 ${fingerprint})` : ''}`);
      await server.closed;
    });
}
