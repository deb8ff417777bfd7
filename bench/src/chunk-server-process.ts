import { join } from 'node:path';
import { ManagedProcess } from './managed-process.js';

export interface ChunkServerProcess {
  readonly url: string;
  readonly process: ManagedProcess;
  /** SIGTERM (the server drains and exits), SIGKILL after a grace period. */
  stop(): Promise<void>;
}

export interface ChunkServerOptions {
  /** The repository root (bin/chunk lives there). */
  readonly root: string;
  readonly dataDir: string;
  /** When set, the server runs under `node --cpu-prof` and writes its profile here on exit. */
  readonly cpuProfileDir?: string;
  /** Shared storage instead of the data dir's own: `--chunks s3://…`, `--metadata postgres://…`. */
  readonly storageArgs?: readonly string[];
  /** Added to this process's environment (an S3 endpoint and its credentials). */
  readonly env?: Readonly<Record<string, string>>;
  /** More `chunk serve` options (e.g. `--simplestreams-delta-wait 10m`). */
  readonly serveArgs?: readonly string[];
}

/** `bin/chunk serve --data DIR --listen 127.0.0.1:0 --json --no-fsync [storage args] [serve args]`, as its own process. */
export async function startChunkServer(options: ChunkServerOptions): Promise<ChunkServerProcess> {
  const serveArgs = ['serve', '--data', options.dataDir, '--listen', '127.0.0.1:0', '--json', '--no-fsync', ...(options.storageArgs ?? []), ...(options.serveArgs ?? [])];
  const spawnOptions = options.env ? { env: { ...process.env, ...options.env } } : {};
  // bin/chunk execs node on the CLI's entry point; --cpu-prof is not allowed in NODE_OPTIONS, so a
  // profiled server runs that entry point directly.
  const server = options.cpuProfileDir
    ? ManagedProcess.spawn('chunk serve', process.execPath, [
        '--cpu-prof',
        `--cpu-prof-dir=${options.cpuProfileDir}`,
        join(options.root, 'apps/cli/dist/src/main.js'),
        ...serveArgs,
      ], spawnOptions)
    : ManagedProcess.spawn('chunk serve', join(options.root, 'bin/chunk'), serveArgs, spawnOptions);
  try {
    const line = await server.firstLine(30_000);
    const url = (JSON.parse(line) as { url?: unknown }).url;
    if (typeof url !== 'string') throw server.failure(`printed ${line} instead of {"url": ...}`);
    return {
      url,
      process: server,
      async stop() {
        const exit = await server.stop('SIGTERM', 20_000);
        if (exit.code !== 0) process.stderr.write(`chunk serve exited with ${exit.code ?? exit.signal}: ${server.stderr.slice(-1000)}\n`);
      },
    };
  } catch (err) {
    await server.stop('SIGKILL');
    throw err;
  }
}

/**
 * `bin/chunk token create --data DIR --name NAME --scope SCOPE --json` (or `--metadata URL` for a
 * server on PostgreSQL): the token's secret.
 */
export async function createToken(root: string, dataDir: string | { readonly metadata: string }, name: string, scope: string): Promise<string> {
  const command = ManagedProcess.spawn('chunk token create', join(root, 'bin/chunk'), [
    'token',
    'create',
    ...(typeof dataDir === 'string' ? ['--data', dataDir] : ['--metadata', dataDir.metadata]),
    '--name',
    name,
    '--scope',
    scope,
    '--json',
  ]);
  await command.success();
  const token = (JSON.parse(command.stdout) as { token?: unknown }).token;
  if (typeof token !== 'string') throw command.failure(`printed ${command.stdout} without a token`);
  return token;
}
