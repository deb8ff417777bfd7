import assert from 'node:assert/strict';
import { http } from './helpers/http.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

describe('server: a wrong method on a known path (real server)', () => {
  let server: ServerProcess;
  let admin: string;
  before(async () => {
    server = await startServer(['--no-fsync']);
    admin = await server.token('admin');
  });
  after(async () => server?.destroy());

  it('is 405 METHOD_NOT_ALLOWED with Allow, not 404', async () => {
    const cases: Array<[string, string, string[]]> = [
      ['DELETE', `/v1/chunks/${'a'.repeat(64)}`, ['GET', 'HEAD', 'PUT']],
      ['POST', '/v1/changes', ['GET', 'HEAD']],
      ['POST', `/v1/images/${'b'.repeat(64)}`, ['DELETE', 'GET', 'HEAD', 'PUT']],
      ['GET', '/v1/gc', ['POST']],
      ['POST', '/metrics', ['GET', 'HEAD']],
    ];
    for (const [method, path, allowed] of cases) {
      const got = await http(server.url, method, path, { token: admin });
      assert.equal(got.status, 405, `${method} ${path}`);
      assert.equal(got.json.error.code, 'METHOD_NOT_ALLOWED', `${method} ${path}`);
      assert.deepEqual(got.headers.get('allow')?.split(', '), allowed, `${method} ${path}: Allow ${got.headers.get('allow')}`);
    }
  });

  it('an unknown path is still 404 NOT_FOUND', async () => {
    const got = await http(server.url, 'GET', '/v1/nothing-here', { token: admin });
    assert.equal(got.status, 404);
    assert.equal(got.json.error.code, 'NOT_FOUND');
  });
});
