import assert from 'node:assert/strict';
import { http } from './helpers/http.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

function logLines(server: ServerProcess): Array<Record<string, unknown>> {
  return server
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('server: access log (real server)', () => {
  let server: ServerProcess | undefined;
  afterEach(async () => server?.destroy());

  it('one line per request: method, path without the query, status, code, duration, bytes; never the token', async () => {
    server = await startServer(['--no-fsync']);
    const token = await server.token('read');
    const fp = 'c'.repeat(64);
    assert.equal((await http(server.url, 'GET', `/v1/images/${fp}?base=${'d'.repeat(64)}`, { token })).status, 404);
    assert.equal((await http(server.url, 'GET', '/healthz')).status, 200);
    await server.waitForStderr(/"path":"\/healthz"/);
    const requests = logLines(server).filter((entry) => entry.msg === 'request');
    assert.equal(requests.length, 2, JSON.stringify(requests));
    const [missing, health] = requests;
    assert.deepEqual([missing!.level, missing!.method, missing!.path, missing!.status, missing!.code], ['info', 'GET', `/v1/images/${fp}`, 404, 'IMAGE_NOT_FOUND']);
    assert.deepEqual([health!.method, health!.path, health!.status, health!.code], ['GET', '/healthz', 200, 'ok']);
    for (const entry of requests) {
      assert.equal(typeof entry.durationMs, 'number');
      assert.ok((entry.bytesOut as number) > 0 && entry.bytesIn === 0, JSON.stringify(entry));
      assert.match(String(entry.time), /^\d{4}-\d\d-\d\dT/);
    }
    assert.ok(!server.stderr().includes(token), 'the token is never logged');
  });

  it('--log-level warn leaves out info lines, the access lines among them', async () => {
    server = await startServer(['--no-fsync', '--log-level', 'warn']);
    assert.equal((await http(server.url, 'GET', '/healthz')).status, 200);
    await server.stop();
    assert.deepEqual(logLines(server).filter((entry) => entry.level === 'info'), []);
  });
});
