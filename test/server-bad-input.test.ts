import assert from 'node:assert/strict';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { BATCH_CONTENT_TYPE } from '@lxchunk/format';
import { http, rawRequest } from './helpers/http.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const FINGERPRINT = 'a'.repeat(64);

describe('server: malformed requests are 400s, never 500s (real server process)', () => {
  let server: ServerProcess;
  let push: string;

  before(async () => {
    server = await startServer(['--no-fsync']);
    push = await server.token('push');
  });
  after(async () => server.destroy());

  const expect400 = async (what: string, request: Promise<{ status: number; json: any; body: Buffer }>) => {
    const result = await request;
    assert.equal(result.status, 400, `${what}: ${result.status} ${result.body}`);
    assert.equal(result.json.error.code, 'INVALID_INPUT', what);
  };

  it('answers invalid percent-encoding in a path with 400 INVALID_INPUT', async () => {
    for (const [method, path] of [
      ['GET', '/v1/chunks/%ff'],
      ['PUT', '/v1/chunks/%e0%a4'],
      ['GET', '/v1/images/%ff'],
      ['GET', '/v1/aliases/a%ff'],
      ['GET', '/v1/aliases/a%ff/history'],
      ['PUT', '/v1/aliases/a/%zz'],
      ['DELETE', '/v1/aliases/a%ff'],
    ] as const) {
      const body = method === 'PUT' ? { target: FINGERPRINT } : undefined;
      await expect400(`${method} ${path}`, http(server.url, method, path, { token: push, ...(body ? { body } : {}), headers: { 'if-none-match': '*' } }));
    }
  });

  it('answers request bodies that do not decode as their Content-Encoding with 400 INVALID_INPUT', async () => {
    const garbage = Buffer.from('this is not a compressed stream at all');
    const cutGzip = gzipSync(Buffer.from(JSON.stringify({ ids: [FINGERPRINT] }))).subarray(0, 20);
    const brokenBrotli = brotliCompressSync(Buffer.alloc(10_000, 1)).subarray(0, 5);
    for (const [encoding, body] of [
      ['gzip', garbage],
      ['gzip', cutGzip],
      ['deflate', garbage],
      ['br', garbage],
      ['br', brokenBrotli],
    ] as const) {
      const headers = { 'content-encoding': encoding, 'content-type': 'application/json' };
      await expect400(`missing, ${encoding}`, http(server.url, 'POST', '/v1/chunks/missing', { token: push, body, headers }));
      await expect400(`fetch, ${encoding}`, http(server.url, 'POST', '/v1/chunks/fetch', { token: push, body, headers }));
      await expect400(`alias, ${encoding}`, http(server.url, 'PUT', '/v1/aliases/x', { token: push, body, headers: { ...headers, 'if-none-match': '*' } }));
      await expect400(`manifest, ${encoding}`, http(server.url, 'PUT', `/v1/images/${FINGERPRINT}`, { token: push, body, headers }));
    }
  });

  it('refuses content encodings it does not speak with 400 INVALID_INPUT, naming the encoding', async () => {
    const body = Buffer.from('{}');
    for (const [method, path, type] of [
      ['POST', '/v1/chunks/missing', 'application/json'],
      ['PUT', `/v1/images/${FINGERPRINT}`, 'application/json'],
      ['PUT', `/v1/chunks/${FINGERPRINT}`, 'application/octet-stream'],
      ['POST', '/v1/chunks/upload', BATCH_CONTENT_TYPE],
    ] as const) {
      const result = await http(server.url, method, path, { token: push, body, headers: { 'content-encoding': 'x-unknown', 'content-type': type } });
      assert.equal(result.status, 400, `${path}: ${result.status} ${result.body}`);
      assert.equal(result.json.error.code, 'INVALID_INPUT');
      assert.match(result.json.error.message, /x-unknown/, path);
    }
  });

  it('treats an upload the client abandons midway as the client\'s failure, not an internal error', async () => {
    const head = [
      'POST /v1/chunks/upload HTTP/1.1',
      `Host: ${new URL(server.url).host}`,
      `Authorization: Bearer ${push}`,
      `Content-Type: ${BATCH_CONTENT_TYPE}`,
      'Content-Length: 100000',
      '',
      '',
    ].join('\r\n');
    // The client hangs up after 4 body bytes: the server sees the connection close mid-body.
    await rawRequest(server.url, `${head}LXCB`, { endAfterWrite: true });
    // A request after it on a fresh connection proves the server handled the first one.
    assert.equal((await http(server.url, 'GET', '/healthz')).status, 200);
  });

  it('logged no internal error (no stack trace) for any of them', async () => {
    // Stopping is logged last: once that line is in, every earlier request's log line is too.
    await server.stop();
    await server.waitForStderr(/"msg":"server stopped"/);
    assert.doesNotMatch(server.stderr(), /"level":"error"/);
  });
});
