import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

/**
 * An HTTP proxy that forwards plain requests and tunnels CONNECT (undici tunnels even http://
 * targets by default), recording each, as a corporate proxy would log it.
 */
async function startProxy(): Promise<{ url: string; seen: string[]; server: Server }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const upstream = request(req.url!, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req, client, head) => {
    seen.push(`${req.method} ${req.url}`);
    const [host, port] = req.url!.split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

describe('the client honours HTTP_PROXY and NO_PROXY (real proxy, real server)', () => {
  let server: ServerProcess;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  const proxyEnv = (noProxy: string): NodeJS.ProcessEnv => ({
    LXCHUNK_SERVER: server.url,
    LXCHUNK_TOKEN: '',
    LXCHUNK_TOKEN_FILE: '',
    HTTP_PROXY: proxy.url,
    http_proxy: proxy.url,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
  });

  before(async () => {
    server = await startServer(['--no-fsync']);
    proxy = await startProxy();
  });
  after(async () => {
    await server.destroy();
    proxy.server.closeAllConnections();
    await new Promise((resolve) => proxy.server.close(resolve));
  });

  it('sends requests through HTTP_PROXY', async () => {
    proxy.seen.length = 0;
    const result = await runChunk(['aliases', 'list', '--json'], { env: proxyEnv('') });
    assert.equal(result.code, 0, result.stderr);
    const host = new URL(server.url).host;
    assert.ok(proxy.seen.length > 0, 'the request went through the proxy');
    for (const line of proxy.seen) assert.ok(line === `CONNECT ${host}` || line === `GET ${server.url}/v1/aliases`, line);
  });

  it('goes direct to hosts in NO_PROXY', async () => {
    proxy.seen.length = 0;
    const result = await runChunk(['aliases', 'list', '--json'], { env: proxyEnv('127.0.0.1') });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(proxy.seen, []);
  });
});
