import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkServerClient, type CallOptions } from '@lxchunk/client';
import { pushImage } from '@lxchunk/sync';
import { seeded } from './helpers/image-fixture.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

type Batch = ReadonlyArray<{ readonly id: string; readonly bytes: Uint8Array }>;

/**
 * A real client whose first upload fails once another is under way; the others are held until
 * their signal aborts or the test lets them go. It counts the uploads that have not settled.
 */
class FirstUploadFails extends ChunkServerClient {
  inFlight = 0;
  private calls = 0;
  private secondStarted!: () => void;
  private readonly othersUnderWay = new Promise<void>((resolve) => (this.secondStarted = resolve));
  private letGo!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.letGo = resolve));

  override async putChunks(chunks: Batch, options: CallOptions = {}): Promise<{ stored: number }> {
    const call = ++this.calls;
    this.inFlight++;
    try {
      if (call === 1) {
        await this.othersUnderWay;
        throw new Error('the first upload failed');
      }
      this.secondStarted();
      await new Promise<void>((resolve, reject) => {
        void this.released.then(resolve);
        options.signal?.addEventListener('abort', () => reject(options.signal!.reason), { once: true });
      });
      return await super.putChunks(chunks, options);
    } finally {
      this.inFlight--;
    }
  }

  release(): void {
    this.letGo();
  }
}

describe('push whose upload fails (real server)', () => {
  let work: string;
  let server: ServerProcess;
  let image: LxdImageFiles;
  let disk: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-push-upload-failure-'));
    server = await startServer(['--no-fsync']);
    image = await buildLxdImage(join(work, 'image'), { seed: 61, serial: '1' });
    // A raw VM disk of 20 MiB of noise: three upload batches of about 8 MiB.
    const bytes = Buffer.from(seeded(20 * 1024 * 1024, 61));
    bytes.set([0x55, 0xaa], 510); // a DOS partition table's boot signature
    bytes.write('EFI PART', 512, 'latin1'); // and the GPT header it protects
    disk = join(work, 'disk.img');
    await writeFile(disk, bytes);
  });
  after(async () => {
    await server?.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('rejects with the first failure only once the other uploads have stopped', async () => {
    const client = new FirstUploadFails({ url: server.url, token: await server.token('push') });
    try {
      await assert.rejects(pushImage({ client, metadataPath: image.metadata, rootfsPath: disk, concurrency: 4 }), /the first upload failed/);
      assert.equal(client.inFlight, 0, 'uploads still running after the push failed');
    } finally {
      client.release();
      await client.close();
    }
  });
});
