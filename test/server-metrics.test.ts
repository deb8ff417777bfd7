import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ChunkServerClient } from '@lxchunk/client';
import { http } from './helpers/http.js';
import { makeImage } from './helpers/image-fixture.js';
import { repoRoot } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

/** Every sample of /metrics whose name and labels start with `prefix`, by its full text before the value. */
async function scrape(server: ServerProcess): Promise<Map<string, number>> {
  const text = (await http(server.url, 'GET', '/metrics')).body.toString('utf8');
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe('server: /metrics of a real server', () => {
  let server: ServerProcess;
  let admin: string;
  before(async () => {
    server = await startServer(['--no-fsync', '--gc-interval', '0']);
    admin = await server.token('admin');
  });
  after(async () => server?.destroy());

  it('counts requests by stable code, and reports what is stored, the build, and the last GC', async () => {
    const image = await makeImage({ seed: 71, public: true });
    const client = new ChunkServerClient({ url: server.url, token: admin });
    try {
      await client.putChunks([...image.chunks].map(([id, bytes]) => ({ id, bytes })));
      await client.putManifest(image.fingerprint, image.manifestBytes);
    } finally {
      await client.close();
    }
    assert.equal((await http(server.url, 'GET', `/v1/images/${'e'.repeat(64)}`)).status, 404);
    assert.equal((await http(server.url, 'POST', '/v1/gc', { token: admin })).status, 200);

    const metrics = await scrape(server);
    const get = (key: string) => {
      assert.ok(metrics.has(key), `${key} in /metrics`);
      return metrics.get(key)!;
    };
    assert.equal(get('lxchunk_http_requests_total{route="/v1/images/:fingerprint",method="GET",status="404",code="IMAGE_NOT_FOUND"}'), 1);
    assert.equal(get('lxchunk_http_requests_total{route="/v1/images/:fingerprint",method="PUT",status="201",code="ok"}'), 1);
    assert.ok(get('lxchunk_http_request_duration_seconds_count{route="/v1/images/:fingerprint",code="IMAGE_NOT_FOUND"}') === 1);
    assert.equal(get('lxchunk_stored_images'), 1);
    assert.equal(get('lxchunk_stored_chunks'), image.chunks.size);
    const raw = [...image.chunks.values()].reduce((sum, bytes) => sum + bytes.length, 0);
    assert.ok(get('lxchunk_stored_chunk_bytes') > 0 && get('lxchunk_stored_chunk_bytes') <= raw + 64 * image.chunks.size);
    const { version } = JSON.parse(await readFile(`${repoRoot}/apps/server/package.json`, 'utf8')) as { version: string };
    assert.equal(get(`lxchunk_build_info{version="${version}"}`), 1);
    const lastGc = get('lxchunk_gc_last_run_timestamp_seconds');
    assert.ok(lastGc > 1.7e9, `last GC at ${lastGc}`);
    assert.ok(get('lxchunk_gc_last_duration_seconds') >= 0);
  });
});
