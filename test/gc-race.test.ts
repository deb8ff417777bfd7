import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkId } from '@lxchunk/chunker';
import { ChunkServerClient } from '@lxchunk/client';
import { pushImage } from '@lxchunk/sync';
import { chunkLikePush } from './helpers/chunk-like-push.js';
import { http } from './helpers/http.js';
import { seeded } from './helpers/image-fixture.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';
import { storedChunkPaths } from './helpers/stored-chunks.js';

/** Random chunks of 1-3 KiB, distinct per (round, index). */
function randomChunks(count: number, seed: number): Array<{ id: string; bytes: Uint8Array }> {
  return Array.from({ length: count }, (_, i) => {
    const bytes = seeded(1024 + ((i * 7919) % 2048), seed * 100_003 + i);
    return { id: chunkId(bytes), bytes };
  });
}

/**
 * Runs GC passes back to back until `work` settles, so every step of the work has a pass running
 * beside it; then one more pass, after all of it was answered.
 */
async function withGcLoop<T>(server: ServerProcess, admin: string, work: () => Promise<T>): Promise<{ result: T; passes: number }> {
  let done = false;
  let passes = 0;
  const loop = (async () => {
    while (!done) {
      const gc = await http(server.url, 'POST', '/v1/gc', { token: admin });
      assert.equal(gc.status, 200, gc.body.toString());
      passes++;
    }
  })();
  try {
    return { result: await work(), passes };
  } finally {
    done = true;
    await loop;
    const last = await http(server.url, 'POST', '/v1/gc', { token: admin });
    assert.equal(last.status, 200);
  }
}

describe('GC keeps every chunk it promised (real server, GC racing pushes)', () => {
  let server: ServerProcess;
  let admin: string;
  let client: ChunkServerClient;

  // A fresh server each: a GC pass walks every stored chunk, so what one test leaves slows the next.
  beforeEach(async () => {
    server = await startServer(['--no-fsync', '--gc-interval', '0']);
    admin = await server.token('admin');
    client = new ChunkServerClient({ url: server.url, token: await server.token('push') });
  });
  afterEach(async () => {
    await client.close();
    await server.destroy();
  });

  it('a chunk answered present by the missing-check survives GC until the lease ends', async () => {
    // Chunks on disk that no image references and no lease covers: what an image deleted long ago leaves.
    const orphans = randomChunks(2000, 1);
    const fan = join(server.dataDir, 'chunks');
    for (const { id, bytes } of orphans) {
      await mkdir(join(fan, id.slice(0, 4)), { recursive: true });
      const tmp = join(server.dataDir, `orphan-${id}`);
      await writeFile(tmp, bytes);
      await rename(tmp, join(fan, id.slice(0, 4), `${id}.raw`));
    }
    const promised = new Set<string>();
    await withGcLoop(server, admin, async () => {
      for (let i = 0; i < orphans.length; i += 100) {
        const ids = orphans.slice(i, i + 100).map((chunk) => chunk.id);
        const missing = new Set(await client.missingChunks(ids));
        for (const id of ids) if (!missing.has(id)) promised.add(id);
      }
    });
    assert.ok(promised.size > 0, 'some orphans were still there when asked about');
    const stored = await storedChunkPaths(server.dataDir);
    const lost = [...promised].filter((id) => !stored.has(id));
    assert.equal(lost.length, 0, `${lost.length} of ${promised.size} chunks answered present were collected, e.g. ${lost.slice(0, 3).join(', ')}`);
  });

  it('a chunk whose upload was answered 200 survives GC, 20 rounds', async () => {
    let lostTotal = 0;
    let uploaded = 0;
    for (let round = 0; round < 20; round++) {
      const chunks = randomChunks(300, 100 + round);
      await withGcLoop(server, admin, async () => {
        for (let i = 0; i < chunks.length; i += 30) await client.putChunks(chunks.slice(i, i + 30));
      });
      const stored = await storedChunkPaths(server.dataDir);
      lostTotal += chunks.filter((chunk) => !stored.has(chunk.id)).length;
      uploaded += chunks.length;
    }
    assert.equal(lostTotal, 0, `${lostTotal} of ${uploaded} uploaded chunks were collected before any manifest`);
  });

  describe('push', () => {
    let work: string;
    let image: LxdImageFiles;
    before(async () => {
      work = await mkdtemp(join(tmpdir(), 'lxchunk-gc-race-'));
      image = await buildLxdImage(join(work, 'v1'), { seed: 77, serial: '1' });
    });
    after(async () => rm(work, { recursive: true, force: true }));

    it('recovers from CHUNKS_MISSING by asking again which chunks the server lacks', async () => {
      const first = await pushImage({ client, metadataPath: image.metadata, rootfsPath: image.rootfs, content: false });
      const deleted = await http(server.url, 'DELETE', `/v1/images/${first.fingerprint}`, { token: admin });
      assert.equal(deleted.status, 204);
      // The next push is told every chunk is present; then one vanishes before its manifest commit
      // (a chunk found corrupt and moved aside, or removed by hand: the server cannot keep it).
      let removed: string | undefined;
      const flaky = new (class extends ChunkServerClient {
        override async putManifest(...args: Parameters<ChunkServerClient['putManifest']>) {
          if (!removed) {
            const id = (await chunkLikePush(image.rootfs)).chunks[0]!.id;
            await rm((await storedChunkPaths(server.dataDir)).get(id)!);
            removed = id;
          }
          return super.putManifest(...args);
        }
      })({ url: server.url, token: await server.token('push') });
      try {
        const again = await pushImage({ client: flaky, metadataPath: image.metadata, rootfsPath: image.rootfs, content: false });
        assert.equal(again.fingerprint, first.fingerprint);
        assert.equal(again.manifestStatus, 'created');
        assert.equal(again.chunksUploaded, 1, 'only the vanished chunk was sent again');
        assert.ok((await storedChunkPaths(server.dataDir)).has(removed!));
      } finally {
        await flaky.close();
      }
    });
  });
});
