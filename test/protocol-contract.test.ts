import assert from 'node:assert/strict';
import { chunkId } from '@lxchunk/chunker';
import { ChunkServerClient, MAX_FETCH_IDS, MAX_MISSING_IDS, MAX_UPLOAD_BYTES, MAX_UPLOAD_CHUNKS, MAX_WAIT_SECONDS } from '@lxchunk/client';
import { BATCH_CONTENT_TYPE, FrameStatus, PROTOCOL_LIMITS, batchStreamBytes, encodeBatchEnd, encodeBatchStart, encodeFrameHeader } from '@lxchunk/format';
import { http, rawRequest } from './helpers/http.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

/**
 * Client and server read their limits and the alias rule from one contract (@lxchunk/format):
 * what the client refuses before sending, a default server refuses too, and what the client
 * sends at the limit, the server takes.
 */
describe('one wire contract: client and server agree (real server process)', () => {
  let server: ServerProcess;
  let push: string;
  let client: ChunkServerClient;

  before(async () => {
    server = await startServer(['--no-fsync']);
    push = await server.token('push');
    client = new ChunkServerClient({ url: server.url, token: push, retries: 0 });
  });
  after(async () => {
    await client.close();
    await server.destroy();
  });

  it('the client limits are the contract limits', () => {
    assert.equal(MAX_FETCH_IDS, PROTOCOL_LIMITS.maxFetchIds);
    assert.equal(MAX_MISSING_IDS, PROTOCOL_LIMITS.maxMissingIds);
    assert.equal(MAX_UPLOAD_CHUNKS, PROTOCOL_LIMITS.maxUploadChunks);
    assert.equal(MAX_WAIT_SECONDS, PROTOCOL_LIMITS.maxWaitSeconds);
    // The fullest batch the client sends fills the server's body limit exactly, framing included.
    assert.equal(batchStreamBytes(MAX_UPLOAD_CHUNKS, MAX_UPLOAD_BYTES), PROTOCOL_LIMITS.maxUploadBytes);
    const byteLength = Buffer.concat([encodeBatchStart(), encodeFrameHeader('0'.repeat(64), FrameStatus.identity, 3), new Uint8Array(3), encodeBatchEnd()]).length;
    assert.equal(batchStreamBytes(1, 3), byteLength);
    // The largest missing-check the client sends fits the server's JSON body limit.
    assert.ok(JSON.stringify({ ids: Array.from({ length: MAX_MISSING_IDS }, () => 'f'.repeat(64)) }).length <= PROTOCOL_LIMITS.maxJsonBytes);
  });

  it('an upload batch over the frame limit: the client refuses it before sending, the server answers 413', async () => {
    const chunks = (marker: number) => Array.from({ length: MAX_UPLOAD_CHUNKS + 1 }, (_, i) => Uint8Array.of(i & 0xff, i >> 8, marker)).map((bytes) => ({ id: chunkId(bytes), bytes }));
    const frames = chunks(0x5a);
    await assert.rejects(client.putChunks(frames), { code: 'INVALID_INPUT' });
    const parts = [encodeBatchStart(), ...frames.flatMap(({ id, bytes }) => [encodeFrameHeader(id, FrameStatus.identity, bytes.length), bytes]), encodeBatchEnd()];
    const refused = await http(server.url, 'POST', '/v1/chunks/upload', { token: push, body: Buffer.concat(parts), headers: { 'content-type': BATCH_CONTENT_TYPE } });
    assert.equal(refused.status, 413);
    assert.equal(refused.json.error.code, 'PAYLOAD_TOO_LARGE');
    // At the limit both agree the other way (fresh chunks: the refused batch may have stored some before its 413).
    assert.deepEqual(await client.putChunks(chunks(0x5b).slice(0, MAX_UPLOAD_CHUNKS)), { stored: MAX_UPLOAD_CHUNKS });
  });

  it('a chunk over the size limit: the client refuses it, the server answers 413 from its Content-Length', async () => {
    const tooLarge = new Uint8Array(PROTOCOL_LIMITS.maxChunkBytes + 1);
    const id = 'ab'.repeat(32);
    await assert.rejects(client.putChunk(id, tooLarge), { code: 'INVALID_INPUT' });
    await assert.rejects(client.putChunks([{ id, bytes: tooLarge }]), { code: 'INVALID_INPUT' });
    const reply = await rawRequest(
      server.url,
      `PUT /v1/chunks/${id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${push}\r\nContent-Length: ${tooLarge.length}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(reply, /^HTTP\/1\.1 413/);
  });

  it('missing-checks: the server refuses one id more than the client ever sends at once', async () => {
    const ids = Array.from({ length: MAX_MISSING_IDS + 1 }, (_, i) => i.toString(16).padStart(64, '0'));
    const refused = await http(server.url, 'POST', '/v1/chunks/missing', { token: push, body: { ids } });
    assert.equal(refused.status, 413);
    assert.equal((await client.missingChunks(ids)).length, ids.length, 'the client splits it instead');
  });

  it('long-polls: both refuse a wait beyond the limit', async () => {
    await assert.rejects(client.changes(0, MAX_WAIT_SECONDS + 1), { code: 'INVALID_INPUT' });
    const refused = await http(server.url, 'GET', `/v1/changes?since=0&wait=${MAX_WAIT_SECONDS + 1}`, { token: push });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.code, 'INVALID_INPUT');
  });

  it('alias names: the server refuses `.` segments and a final `history` as the client does', async () => {
    const target = 'cd'.repeat(32);
    for (const name of ['a/./b', 'x/history', 'a/.', 'a//b']) {
      await assert.rejects(client.setAlias(name, target, { absent: true }), { code: 'INVALID_INPUT' }, name);
      // Sent raw: a URL parser would fold `/./` away before the server saw it.
      const body = JSON.stringify({ target });
      const reply = await rawRequest(
        server.url,
        `PUT /v1/aliases/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${push}\r\nIf-None-Match: *\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      assert.match(reply, /^HTTP\/1\.1 400/, name);
      assert.match(reply, /INVALID_INPUT/, name);
    }
  });
});
