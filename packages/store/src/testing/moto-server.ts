import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { IoError } from '@lxchunk/errors';

export interface MotoServer {
  /** `http://127.0.0.1:PORT`: the S3 API (path-style addressing). */
  readonly endpoint: string;
  /**
   * Environment for code that builds its client the standard AWS way (S3ChunkStore.fromUrl, a
   * server in a child process): the endpoint, dummy credentials, a region and path style.
   */
  readonly env: Readonly<Record<string, string>>;
  /** Kills the server and its children; resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartMotoServerOptions {
  /** The executable. Default: env MOTO_SERVER, else `moto_server` on PATH. */
  readonly command?: string;
  /** How long to wait for it to answer, in ms. Default 30 000. */
  readonly startTimeoutMs?: number;
}

/** moto's test credentials: any non-empty values work, these are the ones its documentation uses. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

const STDERR_KEPT = 4096;
const ATTEMPTS = 3;

/**
 * Starts `moto_server` (moto's standalone mock of the AWS APIs, S3 included) on a free loopback
 * port and waits until it answers. It runs in its own process group, so `stop` (or this process
 * exiting) also ends whatever the executable's wrappers started.
 */
export async function startMotoServer(options: StartMotoServerOptions = {}): Promise<MotoServer> {
  const command = options.command ?? process.env.MOTO_SERVER ?? 'moto_server';
  let failure: unknown;
  // The free port is only free when we looked: another process may take it first, so retry.
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      return await startOn(command, await freeLoopbackPort(), options.startTimeoutMs ?? 30_000);
    } catch (err) {
      if ((err as { retryable?: boolean }).retryable !== true) throw err;
      failure = err;
    }
  }
  throw failure;
}

async function startOn(command: string, port: number, timeoutMs: number): Promise<MotoServer> {
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  // Drained all along (moto logs every request there), keeping only the end for error messages.
  let stderr = '';
  child.stderr?.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-STDERR_KEPT);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = (): void => killGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err: NodeJS.ErrnoException) => {
      process.removeListener('exit', killOnExit);
      reject(
        err.code === 'ENOENT'
          ? new IoError(`${command} not found: the S3 tests need moto's server (pip install 'moto[server]', or set MOTO_SERVER)`, { cause: err })
          : new IoError(`starting ${command}: ${err.message}`, { cause: err }),
      );
    }),
  );
  const earlyExit = exited.then(() => {
    throw Object.assign(new IoError(`${command} -p ${port} exited before answering: ${stderr.trim().split('\n').slice(-5).join(' | ')}`), {
      retryable: /address already in use/i.test(stderr),
    });
  });

  try {
    await Promise.race([waitUntilAnswering(endpoint, timeoutMs, command), spawnError, earlyExit]);
  } catch (err) {
    await stop();
    throw err;
  }
  const env = {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
    LXCHUNK_S3_FORCE_PATH_STYLE: '1',
  };
  return { endpoint, env, stop };
}

async function waitUntilAnswering(endpoint: string, timeoutMs: number, command: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new IoError(`${command} did not answer on ${endpoint} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
