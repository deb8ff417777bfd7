import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkServerClient, MAX_FETCH_IDS, MAX_UPLOAD_CHUNKS } from '@lxchunk/client';
import { pullImage, pulledFileName } from '@lxchunk/sync';
import { makeImage } from './helpers/image-fixture.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

/** What the client retried before a retry window: 4 retries per request. */
const OLD_RETRIES = 4;

describe('a pull outlives a server killed with -9 and restarted (real server processes)', () => {
  let work: string;
  const servers: ServerProcess[] = [];
  after(async () => {
    // The restarted server first: the first one's destroy removes the shared data dir.
    for (const server of servers.reverse()) await server.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('kill -9 mid-pull, restart on the same data dir and port: the pull completes byte-exact', async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-restart-'));
    const first = await startServer(['--no-fsync']);
    servers.push(first);
    // Far more than the loopback socket buffers hold, so the kill lands mid-stream.
    const image = await makeImage({ seed: 61, public: true, rootfsBytes: 24 * 1024 * 1024 });
    const pusher = new ChunkServerClient({ url: first.url, token: await first.token('push') });
    const chunks = [...image.chunks].map(([id, bytes]) => ({ id, bytes }));
    for (let i = 0; i < chunks.length; i += MAX_UPLOAD_CHUNKS) await pusher.putChunks(chunks.slice(i, i + MAX_UPLOAD_CHUNKS));
    await pusher.putManifest(image.fingerprint, image.manifestBytes);
    await pusher.close();

    // Small backoff steps: the old fixed retry count is used up in well under a second.
    const client = new ChunkServerClient({ url: first.url, retryBaseMs: 20 });
    const port = Number(new URL(first.url).port);
    let killed = false;
    const pulling = pullImage({
      client,
      ref: image.fingerprint,
      outDir: join(work, 'out'),
      onProgress: (event) => {
        if (event.phase === 'fetch' && event.done > 0 && !killed) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      },
    });
    await Promise.race([
      once(first.child, 'exit'),
      pulling.then(() => assert.fail('the pull finished before the server was killed: make the image larger')),
    ]);

    // While it is down, its port resets every connection; once the client has come back more
    // often than the old retry count allowed for any batch, the server returns.
    const batches = Math.ceil(image.chunks.size / MAX_FETCH_IDS);
    const enough = OLD_RETRIES * batches + 1;
    const sockets = new Set<Socket>();
    let attempts = 0;
    let reached!: () => void;
    const comeBack = new Promise<void>((resolve) => (reached = resolve));
    const standIn = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
      if (++attempts >= enough) reached();
    });
    standIn.listen(port, '127.0.0.1');
    try {
      await once(standIn, 'listening');
      await Promise.race([
        comeBack,
        pulling.then(
          () => assert.fail('the pull finished while the server was down'),
          (err: unknown) => assert.fail(`the pull gave up after ${attempts} attempt(s) while the server was down: ${String(err)}`),
        ),
      ]);
    } finally {
      standIn.close();
      for (const socket of sockets) socket.destroy();
    }
    await once(standIn, 'close');

    const second = await startServer(['--no-fsync', '--listen', `127.0.0.1:${port}`], first.dataDir);
    servers.push(second);
    const result = await pulling.finally(() => client.close());
    assert.equal(result.fingerprint, image.fingerprint);
    const out = join(work, 'out');
    assert.ok((await readFile(join(out, pulledFileName(image.fingerprint, 'rootfs')))).equals(image.rootfs), 'rootfs byte-exact');
    assert.ok((await readFile(join(out, pulledFileName(image.fingerprint, 'metadata')))).equals(image.metadata), 'metadata byte-exact');
  });
});
