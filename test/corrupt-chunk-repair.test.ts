import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkServerClient } from '@lxchunk/client';
import { chunkLikePush } from './helpers/chunk-like-push.js';
import { http } from './helpers/http.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';
import { flipStoredByte, quarantinedFiles, storedChunkPaths } from './helpers/stored-chunks.js';

describe('a corrupt chunk on the server is quarantined and repaired by pushing again (real server)', () => {
  let work: string;
  let server: ServerProcess;
  let image: LxdImageFiles;
  let rootfsChunks: { id: string; bytes: Uint8Array }[];
  let pushToken: string;
  let readToken: string;

  const push = async () => {
    const result = await runChunk(['push', '--json', '--no-content', image.metadata, image.rootfs], { env: { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: pushToken } });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as { chunksUploaded: number; chunksTotal: number };
  };
  const pull = (out: string) => runChunk(['pull', '--json', image.fingerprint, '--out', out], { env: { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: readToken } });
  const missing = async (ids: string[]) => {
    const result = await http(server.url, 'POST', '/v1/chunks/missing', { token: pushToken, body: { ids } });
    assert.equal(result.status, 200);
    return (result.json as { missing: string[] }).missing;
  };
  const metric = async (name: string) => {
    const text = (await http(server.url, 'GET', '/metrics')).body.toString('utf8');
    const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    assert.ok(match, `${name} is not in /metrics`);
    return Number(match[1]);
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-repair-'));
    server = await startServer(['--no-fsync']);
    pushToken = await server.token('push');
    readToken = await server.token('read');
    image = await buildLxdImage(join(work, 'image'), { seed: 31, serial: '20261203' });
    const rootfs = await readFile(image.rootfs);
    rootfsChunks = [];
    await chunkLikePush(image.rootfs, { onChunk: ({ id, offset, bytes }) => rootfsChunks.push({ id, bytes: rootfs.subarray(offset, offset + bytes.length) }) });
    await push();
  });
  after(async () => {
    await server.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('a pull fails on it, the server quarantines it and reports it missing, the next push uploads it again, and a pull is then byte-exact', async () => {
    const { id } = rootfsChunks[4]!;
    const path = (await storedChunkPaths(server.dataDir)).get(id)!;
    const damaged = await flipStoredByte(path);
    assert.deepEqual(await missing([id]), [], 'before any read, the damaged chunk looks present');

    const failed = await pull(join(work, 'pull-fails'));
    assert.notEqual(failed.code, 0, 'the pull must not succeed on a corrupt chunk');

    assert.deepEqual(await missing([id]), [id], 'after the failed read the server reports the chunk missing');
    const [held, ...others] = await quarantinedFiles(server.dataDir);
    assert.deepEqual(others, []);
    assert.ok(held?.startsWith(`${id}.`), `quarantine holds ${held}`);
    assert.ok((await readFile(join(server.dataDir, 'quarantine', held!))).equals(damaged), 'the damaged bytes are kept as they were');
    assert.equal(await metric('lxchunk_chunks_quarantined_total'), 1);
    assert.equal(await metric('lxchunk_quarantined_chunks'), 1);

    const again = await push();
    assert.equal(again.chunksUploaded, 1, 'the second push uploads exactly the quarantined chunk');
    const out = join(work, 'pull-repaired');
    const repaired = await pull(out);
    assert.equal(repaired.code, 0, repaired.stderr);
    assert.ok((await readFile(join(out, `${image.fingerprint}.rootfs`))).equals(await readFile(image.rootfs)), 'the pulled rootfs is byte-exact');
  });

  it('an upload of a chunk whose stored copy is corrupt replaces it, keeping the damaged copy in quarantine', async () => {
    const { id, bytes } = rootfsChunks[9]!;
    await flipStoredByte((await storedChunkPaths(server.dataDir)).get(id)!);
    const before = (await quarantinedFiles(server.dataDir)).length;
    const client = new ChunkServerClient({ url: server.url, token: pushToken });
    try {
      // The batched upload, as `chunk push` sends it, without a read having found the damage first.
      assert.deepEqual(await client.putChunks([{ id, bytes }]), { stored: 1 });
    } finally {
      await client.close();
    }
    const quarantined = await quarantinedFiles(server.dataDir);
    assert.equal(quarantined.length, before + 1);
    assert.ok(quarantined.some((name) => name.startsWith(`${id}.`)));
    const out = join(work, 'pull-after-upload');
    const pulled = await pull(out);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.ok((await readFile(join(out, `${image.fingerprint}.rootfs`))).equals(await readFile(image.rootfs)));
  });
});
