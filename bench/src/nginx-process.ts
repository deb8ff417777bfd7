import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { ManagedProcess } from './managed-process.js';

export interface NginxProcess {
  readonly url: string;
  readonly workers: number;
  /** The master's pid (its workers are its children). */
  readonly pid: number | undefined;
  /** SIGQUIT (graceful shutdown), SIGKILL if it lingers. */
  stop(): Promise<void>;
}

export interface NginxOptions {
  readonly nginx: string;
  /** Private prefix: config, pid file, logs and temp dirs all live here. */
  readonly prefix: string;
  /** The chunk store's `chunks/` directory (`<4 hex>/<id>.raw` files). */
  readonly chunksDir: string;
  readonly workers: number;
}

/**
 * nginx serving a chunk store's files statically under the server's own URLs: `/v1/chunks/<id>`
 * maps to `chunks/<first 4 hex>/<id>.raw`, so one wrk script hits both. Runs in the foreground
 * (`daemon off`) with its own config, prefix and pid file on a free loopback port; it never
 * touches the system's nginx.
 */
export async function startNginx(options: NginxOptions): Promise<NginxProcess> {
  const { prefix } = options;
  await mkdir(join(prefix, 'temp'), { recursive: true });
  const port = await freePort();
  const config = join(prefix, 'nginx.conf');
  await writeFile(config, nginxConfig(options, port));
  const nginx = ManagedProcess.spawn('nginx', options.nginx, ['-p', prefix, '-c', config, '-e', join(prefix, 'error.log')]);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await nginx.stop('SIGQUIT', 10_000);
  };
  try {
    await waitUntilListening(url, nginx);
  } catch (err) {
    await nginx.stop('SIGKILL');
    throw err;
  }
  return { url, workers: options.workers, pid: nginx.pid, stop };
}

function nginxConfig(options: NginxOptions, port: number): string {
  const p = (name: string) => join(options.prefix, name);
  // As root, workers would run as "nobody"; keep the user that wrote the chunk files.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : '';
  return `${user}worker_processes ${options.workers};
daemon off;
master_process on;
pid ${p('nginx.pid')};
error_log ${p('error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path ${p('temp/client_body')};
  proxy_temp_path ${p('temp/proxy')};
  fastcgi_temp_path ${p('temp/fastcgi')};
  uwsgi_temp_path ${p('temp/uwsgi')};
  scgi_temp_path ${p('temp/scgi')};
  server {
    listen 127.0.0.1:${port};
    root ${options.chunksDir};
    location ~ "^/v1/chunks/([0-9a-f]{4})([0-9a-f]{60})$" {
      try_files /$1/$1$2.raw =404;
      add_header Cache-Control "public, max-age=31536000, immutable";
    }
    location / { return 404; }
  }
}
`;
}

async function waitUntilListening(url: string, nginx: ManagedProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (!nginx.running) throw nginx.failure('exited at start');
    try {
      await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) });
      return; // any answer (a 404) means it listens
    } catch {
      if (Date.now() > deadline) throw nginx.failure('did not start listening within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
