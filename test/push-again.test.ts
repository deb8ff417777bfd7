import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkServerClient } from '@lxchunk/client';
import { pushImage } from '@lxchunk/sync';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

describe('push of an image the server already has (real server)', () => {
  let work: string;
  let server: ServerProcess;
  let client: ChunkServerClient;
  let image: LxdImageFiles;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-push-again-'));
    server = await startServer(['--no-fsync']);
    client = new ChunkServerClient({ url: server.url, token: await server.token('push') });
    image = await buildLxdImage(join(work, 'image'), { seed: 51, serial: '20261201' });
  });
  after(async () => {
    await client?.close();
    await server?.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('asks first, and sends neither the manifest nor the missing-check again', async () => {
    const first = await pushImage({ client, metadataPath: image.metadata, rootfsPath: image.rootfs, content: false });
    assert.equal(first.manifestStatus, 'created');
    const manifestBytes = (await client.getManifest(image.fingerprint)).bytes.length;

    const again = await pushImage({ client, metadataPath: image.metadata, rootfsPath: image.rootfs, content: false, aliases: ['debian/again'] });
    assert.equal(again.manifestStatus, 'exists');
    assert.equal(again.chunksUploaded, 0);
    assert.ok(again.bytesUploaded < manifestBytes / 10, `${again.bytesUploaded} bytes uploaded by a re-push; the manifest is ${manifestBytes}`);
    assert.equal((await client.getAlias('debian/again'))?.target, image.fingerprint, 'aliases still move');
  });
});
