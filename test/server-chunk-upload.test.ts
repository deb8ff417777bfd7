import assert from 'node:assert/strict';
import { chunkId } from '@lxchunk/chunker';
import { ChunkServerClient, MAX_UPLOAD_CHUNKS } from '@lxchunk/client';
import { BATCH_CONTENT_TYPE, FrameStatus, compressZstdFrame, encodeBatchEnd, encodeBatchStart, encodeFrameHeader } from '@lxchunk/format';
import { http, rawRequest } from './helpers/http.js';
import { seeded } from './helpers/image-fixture.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';
import { storedChunkPaths } from './helpers/stored-chunks.js';

interface Frame {
  readonly id: string;
  readonly status: typeof FrameStatus.identity | typeof FrameStatus.zstd | typeof FrameStatus.missing;
  readonly payload: Uint8Array;
}

function batch(frames: readonly Frame[], options: { trailer?: boolean } = {}): Buffer {
  const parts: Uint8Array[] = [encodeBatchStart()];
  for (const { id, status, payload } of frames) parts.push(encodeFrameHeader(id, status, payload.length), payload);
  if (options.trailer !== false) parts.push(encodeBatchEnd());
  return Buffer.concat(parts);
}

function identity(bytes: Uint8Array, id = chunkId(bytes)): Frame {
  return { id, status: FrameStatus.identity, payload: bytes };
}

describe('server: batched chunk upload (real server process)', () => {
  let server: ServerProcess;
  let push: string;
  let read: string;
  const upload = (body: Uint8Array, token = push, contentType = BATCH_CONTENT_TYPE) =>
    http(server.url, 'POST', '/v1/chunks/upload', { token, body, headers: { 'content-type': contentType } });

  before(async () => {
    server = await startServer(['--no-fsync']);
    push = await server.token('push');
    read = await server.token('read');
  });
  after(async () => server.destroy());

  it('stores raw and zstd frames in one request, verified, and reports what was new', async () => {
    const raw = seeded(20_000, 40);
    const compressible = new Uint8Array(30_000).fill(7);
    const zstd: Frame = { id: chunkId(compressible), status: FrameStatus.zstd, payload: compressZstdFrame(compressible, { level: 3 }) };
    const first = await upload(batch([identity(raw), zstd]));
    assert.equal(first.status, 200, first.body.toString());
    assert.deepEqual(first.json, { chunks: 2, stored: 2 });
    const again = await upload(batch([identity(raw), zstd]));
    assert.deepEqual(again.json, { chunks: 2, stored: 0 });
    const stored = await storedChunkPaths(server.dataDir);
    assert.ok(stored.has(chunkId(raw)) && stored.has(chunkId(compressible)));
    const missing = await http(server.url, 'POST', '/v1/chunks/missing', { token: push, body: { ids: [chunkId(raw), chunkId(compressible)] } });
    assert.deepEqual(missing.json.missing, []);
  });

  it('fails on a chunk whose bytes are not its id: 422 HASH_MISMATCH, and that chunk is not stored', async () => {
    const good = seeded(5000, 41);
    const bad = identity(seeded(5000, 42), chunkId(seeded(5000, 43)));
    const after = seeded(5000, 44);
    const result = await upload(batch([identity(good), bad, identity(after)]));
    assert.equal(result.status, 422);
    assert.equal(result.json.error.code, 'HASH_MISMATCH');
    const stored = await storedChunkPaths(server.dataDir);
    assert.ok(stored.has(chunkId(good)), 'a verified chunk before the bad one is kept');
    assert.ok(!stored.has(bad.id));
    // The chunk after it may or may not have been stored (puts overlap); if it was, it is whole.
    if (stored.has(chunkId(after))) assert.deepEqual((await upload(batch([identity(after)]))).json, { chunks: 1, stored: 0 });
    const undecodable = await upload(batch([{ id: chunkId(seeded(100, 45)), status: FrameStatus.zstd, payload: seeded(100, 46) }]));
    assert.equal(undecodable.status, 422);
    assert.equal(undecodable.json.error.code, 'HASH_MISMATCH');
  });

  it('refuses malformed batches with 400 INVALID_INPUT and stores no partial chunk', async () => {
    const whole = seeded(4000, 47);
    const cut = seeded(4000, 48);
    const truncated = batch([identity(whole), identity(cut)], { trailer: false }).subarray(0, -100);
    for (const [name, body, type] of [
      ['no trailer, last frame cut', truncated, BATCH_CONTENT_TYPE],
      ['bad magic', Buffer.concat([Buffer.from('XXXX'), batch([identity(seeded(10, 49))]).subarray(4)]), BATCH_CONTENT_TYPE],
      ['a "missing" frame', batch([{ id: chunkId(seeded(10, 50)), status: FrameStatus.missing, payload: new Uint8Array(0) }]), BATCH_CONTENT_TYPE],
      ['JSON content type', batch([identity(seeded(10, 51))]), 'application/json'],
    ] as const) {
      const result = await upload(body, push, type);
      assert.equal(result.status, 400, `${name}: ${result.status} ${result.body}`);
      assert.equal(result.json.error.code, 'INVALID_INPUT', name);
    }
    assert.ok(!(await storedChunkPaths(server.dataDir)).has(chunkId(cut)), 'the cut frame is not stored');
  });

  it('needs a push token: 401 anonymous, 403 read-only', async () => {
    const body = batch([identity(seeded(100, 52))]);
    assert.equal((await upload(body, '')).status, 401);
    const forbidden = await upload(body, read);
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.json.error.code, 'FORBIDDEN');
  });

  it('refuses oversized batches with 413: a declared length over the limit, or too many frames', async () => {
    const reply = await rawRequest(
      server.url,
      `POST /v1/chunks/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${push}\r\nContent-Type: ${BATCH_CONTENT_TYPE}\r\nContent-Length: ${129 * 1024 * 1024}\r\n\r\n`,
    );
    assert.match(reply, /^HTTP\/1\.1 413/);
    assert.match(reply, /PAYLOAD_TOO_LARGE/);
    const tiny = Array.from({ length: MAX_UPLOAD_CHUNKS + 1 }, (_, i) => identity(Uint8Array.of(i & 0xff, (i >> 8) & 0xff, 0xaa)));
    const tooMany = await upload(batch(tiny));
    assert.equal(tooMany.status, 413);
    assert.equal(tooMany.json.error.code, 'PAYLOAD_TOO_LARGE');
  });

  it('the client uploads a batch with putChunks and refuses one over the limits before sending', async () => {
    const client = new ChunkServerClient({ url: server.url, token: push });
    const chunks = [seeded(9000, 53), seeded(9000, 54), new Uint8Array(9000)].map((bytes) => ({ id: chunkId(bytes), bytes }));
    assert.deepEqual(await client.putChunks(chunks), { stored: 3 });
    assert.deepEqual(await client.putChunks(chunks), { stored: 0 });
    assert.deepEqual(await client.missingChunks(chunks.map((chunk) => chunk.id)), []);
    const tooMany = Array.from({ length: MAX_UPLOAD_CHUNKS + 1 }, () => chunks[0]!);
    await assert.rejects(client.putChunks(tooMany), { code: 'INVALID_INPUT' });
    await assert.rejects(client.putChunks([{ id: chunks[1]!.id, bytes: chunks[0]!.bytes }]), { code: 'HASH_MISMATCH' });
  });
});
