import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres: the cluster's superuser, trust auth, no password. */
  readonly url: string;
  /** Stops the server at once (no checkpoint: nothing here is worth keeping) and removes its files. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL cluster for tests: initdb into a temporary directory, a server on a
 * free loopback port with its unix sockets in that directory, trust auth, fsync off. Never touches
 * the machine's own cluster. initdb and pg_ctl refuse to run as root: as root, they run as the
 * `postgres` user, which then owns the directory. The server is stopped when this process exits,
 * should the caller not get to stop().
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'lxchunk-pg-'));
  const data = join(dir, 'data');
  const asPostgres = process.getuid?.() === 0;
  if (asPostgres) chownSync(dir, idOf('-u'), idOf('-g'));
  const tool = (name: string, args: string[]): Promise<unknown> => {
    const path = bin === undefined ? name : join(bin, name);
    return asPostgres ? run('runuser', ['-u', 'postgres', '--', path, ...args]) : run(path, args);
  };

  let stopped = false;
  const stopNow = (): void => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stopNow);
    const path = bin === undefined ? 'pg_ctl' : join(bin, 'pg_ctl');
    const args = ['stop', '-D', data, '-m', 'immediate'];
    try {
      if (existsSync(join(data, 'postmaster.pid'))) {
        execFileSync(asPostgres ? 'runuser' : path, asPostgres ? ['-u', 'postgres', '--', path, ...args] : args, { stdio: 'ignore' });
      }
    } catch {
      // Already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await tool('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    // A free port can be taken between the probe and the start: try a few.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const options = [
        `-k ${dir}`,
        `-p ${port}`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=300',
      ].join(' ');
      try {
        await tool('pg_ctl', ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', options]);
      } catch (err) {
        if (attempt < 3) continue;
        throw err;
      }
      process.on('exit', stopNow);
      return {
        url: `postgres://postgres@127.0.0.1:${port}/postgres`,
        stop: async () => stopNow(),
      };
    }
  } catch (err) {
    stopNow();
    throw err;
  }
}

/** The newest /usr/lib/postgresql/<version>/bin (Debian keeps versions side by side); undefined: use PATH. */
function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0]!, 'bin') : undefined;
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
