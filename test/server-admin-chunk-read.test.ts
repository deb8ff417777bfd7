import assert from 'node:assert/strict';
import { chunkId } from '@lxchunk/chunker';
import { http } from './helpers/http.js';
import { seeded } from './helpers/image-fixture.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

describe('server: an admin reads every stored chunk (real server)', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer(['--no-fsync']);
  });
  after(async () => server?.destroy());

  it('a chunk no image references: 200 for admin, 404 CHUNK_NOT_FOUND for read', async () => {
    const [push, read, admin] = await Promise.all([server.token('push'), server.token('read'), server.token('admin')]);
    const bytes = seeded(5000, 61);
    const id = chunkId(bytes);
    assert.equal((await http(server.url, 'PUT', `/v1/chunks/${id}`, { token: push, body: bytes })).status, 201);

    const asAdmin = await http(server.url, 'GET', `/v1/chunks/${id}`, { token: admin });
    assert.equal(asAdmin.status, 200);
    assert.ok(asAdmin.body.equals(bytes));
    assert.match(asAdmin.headers.get('cache-control') ?? '', /^private/);
    const fetched = await http(server.url, 'POST', '/v1/chunks/fetch', { token: admin, body: { ids: [id] } });
    assert.equal(fetched.body[4 + 32], 0, 'fetch sends it too (status 0: identity bytes)');

    const asReader = await http(server.url, 'GET', `/v1/chunks/${id}`, { token: read });
    assert.equal(asReader.status, 404);
    assert.equal(asReader.json.error.code, 'CHUNK_NOT_FOUND');
    assert.equal((await http(server.url, 'GET', `/v1/chunks/${id}`)).status, 404);
  });
});
