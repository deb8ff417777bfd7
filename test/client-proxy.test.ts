import assert from 'node:assert/strict';
import { startProxy, stopProxy, type HttpProxy } from './helpers/http-proxy.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

describe('the client honours HTTP_PROXY and NO_PROXY (real proxy, real server)', () => {
  let server: ServerProcess;
  let proxy: HttpProxy;
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
    await stopProxy(proxy);
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
