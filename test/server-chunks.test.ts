import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chunkId } from '@lxchunk/chunker';
import { ChunkBatchDecoder, FrameStatus, decodeChunk } from '@lxchunk/format';
import { http, rawRequest } from './helpers/http.js';
import { makeImage, seeded, type ImageFixture } from './helpers/image-fixture.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

async function storedChunkFiles(dataDir: string): Promise<string[]> {
  const files: string[] = [];
  for (const fan of await readdir(join(dataDir, 'chunks')).catch(() => [])) {
    for (const name of await readdir(join(dataDir, 'chunks', fan))) files.push(name);
  }
  return files.sort();
}

async function pushImage(server: ServerProcess, token: string, image: ImageFixture): Promise<void> {
  for (const [id, bytes] of image.chunks) {
    const put = await http(server.url, 'PUT', `/v1/chunks/${id}`, { token, body: bytes });
    assert.ok(put.status === 201 || put.status === 200, `chunk put: ${put.status} ${put.body}`);
  }
  const result = await http(server.url, 'PUT', `/v1/images/${image.fingerprint}`, { token, body: image.manifestBytes });
  assert.ok(result.status === 201 || result.status === 200, `manifest put: ${result.status} ${result.body}`);
}

describe('server: chunks (real server process)', () => {
  let server: ServerProcess;
  let push: string;
  let read: string;
  let publicImage: ImageFixture;
  let privateImage: ImageFixture;

  before(async () => {
    server = await startServer(['--no-fsync']);
    push = await server.token('push');
    read = await server.token('read');
    publicImage = await makeImage({ seed: 1, public: true });
    privateImage = await makeImage({ seed: 2, public: false });
    await pushImage(server, push, publicImage);
    await pushImage(server, push, privateImage);
  });
  after(async () => server.destroy());

  it('stores a chunk once: 201, then 200, and GET returns the exact bytes with a strong ETag', async () => {
    const bytes = seeded(5000, 99);
    const id = chunkId(bytes);
    assert.equal((await http(server.url, 'PUT', `/v1/chunks/${id}`, { token: push, body: bytes })).status, 201);
    assert.equal((await http(server.url, 'PUT', `/v1/chunks/${id}`, { token: push, body: bytes })).status, 200);
    // Not referenced by any image yet: nobody may read it, not even a read token.
    assert.equal((await http(server.url, 'GET', `/v1/chunks/${id}`, { token: read })).status, 404);
    const [someId, someBytes] = [...publicImage.chunks][3]!;
    const got = await http(server.url, 'GET', `/v1/chunks/${someId}`);
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(someBytes));
    assert.equal(got.headers.get('etag'), `"${someId}"`);
    assert.match(got.headers.get('cache-control')!, /^public, .*immutable/);
    const head = await http(server.url, 'HEAD', `/v1/chunks/${someId}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(someBytes.length));
    // fetch would add Cache-Control: no-cache to a conditional request, which rightly defeats 304.
    const cached = await http(server.url, 'GET', `/v1/chunks/${someId}`, { headers: { 'if-none-match': `"${someId}"`, 'cache-control': 'max-age=0', pragma: '' } });
    assert.equal(cached.status, 304);
  });

  it('serves the stored zstd form only to clients that accept it, verified either way', async () => {
    const compressible = [...publicImage.chunks.values()].length; // ensure the image exists
    assert.ok(compressible > 0);
    const text = new Uint8Array(10_000).fill(97);
    const image = await makeImage({ seed: 3, public: true });
    const id = chunkId(text);
    await http(server.url, 'PUT', `/v1/chunks/${id}`, { token: push, body: text });
    // Reference it from an image so it becomes readable: a manifest whose metadata is that chunk.
    const withText = await makeImageWithChunk(image, text);
    await pushImage(server, push, withText);
    const plain = await http(server.url, 'GET', `/v1/chunks/${id}`);
    assert.ok(plain.body.equals(text));
    assert.equal(plain.headers.get('content-encoding'), null);
    const response = await fetch(`${server.url}/v1/chunks/${id}`, { headers: { 'accept-encoding': 'zstd' } });
    assert.equal(response.headers.get('content-encoding'), 'zstd');
    const stored = new Uint8Array(await response.arrayBuffer());
    assert.ok(stored.length < text.length / 10);
    assert.deepEqual(Buffer.from(decodeChunk(id, 'zstd', stored)), Buffer.from(text));
  });

  it('refuses a body whose hash is not the id (422) and stores nothing', async () => {
    const before = await storedChunkFiles(server.dataDir);
    const bytes = seeded(4000, 5);
    const wrongId = chunkId(seeded(4000, 6));
    const result = await http(server.url, 'PUT', `/v1/chunks/${wrongId}`, { token: push, body: bytes });
    assert.equal(result.status, 422);
    assert.equal(result.json.error.code, 'HASH_MISMATCH');
    assert.deepEqual(await storedChunkFiles(server.dataDir), before);
  });

  it('refuses invalid ids, including path tricks, with 400 INVALID_ID', async () => {
    for (const id of ['ABCD'.repeat(16), 'a'.repeat(63), 'a'.repeat(65), `${'a'.repeat(60)}%2F..`, 'g'.repeat(64)]) {
      const result = await http(server.url, 'GET', `/v1/chunks/${id}`);
      assert.equal(result.status, 400, id);
      assert.equal(result.json.error.code, 'INVALID_ID');
    }
    const traversal = await rawRequest(server.url, `GET /v1/chunks/../../metadata.db HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(traversal, /^HTTP\/1\.1 404/);
    assert.doesNotMatch(traversal, /SQLite/);
  });

  it('needs a push token to upload: 401 anonymous, 403 read-only, 401 for a bad token', async () => {
    const bytes = seeded(100, 7);
    const id = chunkId(bytes);
    assert.equal((await http(server.url, 'PUT', `/v1/chunks/${id}`, { body: bytes })).status, 401);
    const forbidden = await http(server.url, 'PUT', `/v1/chunks/${id}`, { token: read, body: bytes });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.json.error.code, 'FORBIDDEN');
    const bad = await http(server.url, 'PUT', `/v1/chunks/${id}`, { token: 'lxc_not-a-real-token', body: bytes });
    assert.equal(bad.status, 401);
    assert.equal(bad.json.error.code, 'UNAUTHORIZED');
  });

  it('refuses an oversized chunk with 413 before storing anything', async () => {
    const before = await storedChunkFiles(server.dataDir);
    const reply = await rawRequest(
      server.url,
      `PUT /v1/chunks/${'a'.repeat(64)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${push}\r\nContent-Length: ${64 * 1024 * 1024 + 1}\r\n\r\n`,
    );
    assert.match(reply, /^HTTP\/1\.1 413/);
    assert.match(reply, /PAYLOAD_TOO_LARGE/);
    assert.deepEqual(await storedChunkFiles(server.dataDir), before);
  });

  it('stores nothing from a truncated body (the client hangs up before Content-Length bytes)', async () => {
    const before = await storedChunkFiles(server.dataDir);
    const bytes = Buffer.from(seeded(10_000, 8));
    const id = chunkId(bytes);
    const head = `PUT /v1/chunks/${id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${push}\r\nContent-Length: ${bytes.length}\r\n\r\n`;
    await rawRequest(server.url, Buffer.concat([Buffer.from(head), bytes.subarray(0, 5000)]), { endAfterWrite: true, waitMs: 300 });
    assert.deepEqual(await storedChunkFiles(server.dataDir), before);
    assert.equal((await http(server.url, 'POST', '/v1/chunks/missing', { token: push, body: { ids: [id] } })).json.missing[0], id);
  });

  it('stores nothing when Content-Length is shorter than the data (the rest is a bad next request)', async () => {
    const bytes = Buffer.from(seeded(3000, 9));
    const id = chunkId(bytes);
    const head = `PUT /v1/chunks/${id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${push}\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n`;
    const reply = await rawRequest(server.url, Buffer.concat([Buffer.from(head), bytes]));
    // Node answers the first 1000 bytes (a hash mismatch) or the garbage that follows (400), whichever it parses first.
    assert.match(reply, /^HTTP\/1\.1 4\d\d/);
    assert.equal((await http(server.url, 'POST', '/v1/chunks/missing', { token: push, body: { ids: [id] } })).json.missing[0], id);
  });

  it('is safe under concurrent puts of the same chunk', async () => {
    const bytes = seeded(30_000, 10);
    const id = chunkId(bytes);
    const results = await Promise.all(Array.from({ length: 20 }, () => http(server.url, 'PUT', `/v1/chunks/${id}`, { token: push, body: bytes })));
    assert.ok(results.every((r) => r.status === 200 || r.status === 201));
    assert.ok(results.some((r) => r.status === 201));
    const files = (await storedChunkFiles(server.dataDir)).filter((name) => name.startsWith(id));
    assert.equal(files.length, 1);
  });

  it('answers which of many ids are missing, in order and deduplicated', async () => {
    const present = [...publicImage.chunks.keys()].slice(0, 3);
    const absent = [chunkId(seeded(10, 11)), chunkId(seeded(10, 12))];
    const result = await http(server.url, 'POST', '/v1/chunks/missing', { token: push, body: { ids: [absent[0], ...present, absent[1], absent[0]] } });
    assert.equal(result.status, 200);
    assert.deepEqual(result.json.missing, absent);
    assert.equal((await http(server.url, 'POST', '/v1/chunks/missing', { body: { ids: present } })).status, 401);
  });

  it('refuses malformed and oversized id lists', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ ids: 'x' }, 400, 'INVALID_INPUT'],
      [{ ids: ['nope'] }, 400, 'INVALID_ID'],
      [{ ids: [], extra: 1 }, 400, 'INVALID_INPUT'],
      [{ ids: Array(100_001).fill('a'.repeat(64)) }, 413, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [body, status, code] of cases) {
      const result = await http(server.url, 'POST', '/v1/chunks/missing', { token: push, body: body as object });
      assert.equal(result.status, status, JSON.stringify(body).slice(0, 80));
      assert.equal(result.json.error.code, code);
    }
    const malformed = await http(server.url, 'POST', '/v1/chunks/missing', { token: push, body: '{"ids": [', headers: { 'content-type': 'application/json' } });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error.code, 'INVALID_INPUT');
    const tooMany = await http(server.url, 'POST', '/v1/chunks/fetch', { body: { ids: Array(4097).fill('a'.repeat(64)) } });
    assert.equal(tooMany.status, 413);
  });

  it('streams many chunks in one framed response, in order, missing ones marked', async () => {
    const ids = [...publicImage.chunks.keys()];
    const unknown = chunkId(seeded(10, 13));
    const result = await http(server.url, 'POST', '/v1/chunks/fetch', { body: { ids: [...ids, unknown, ids[0]] } });
    assert.equal(result.status, 200);
    assert.equal(result.headers.get('content-type'), 'application/vnd.lxchunk.chunks');
    const frames: Array<{ id: string; status: number; payload: Buffer }> = [];
    const decoder = new ChunkBatchDecoder();
    decoder.push(result.body, (frame) => frames.push({ id: frame.id, status: frame.status, payload: Buffer.from(frame.payload) }));
    decoder.finish();
    assert.deepEqual(frames.map((f) => f.id), [...ids, unknown, ids[0]]);
    for (const frame of frames.slice(0, ids.length)) {
      assert.equal(frame.status, FrameStatus.identity);
      assert.ok(frame.payload.equals(publicImage.chunks.get(frame.id)!));
    }
    assert.equal(frames[ids.length]!.status, FrameStatus.missing);
  });

  describe('private content cannot be probed', () => {
    it('a chunk only a private image references looks absent to anonymous callers, identical to a chunk that does not exist', async () => {
      const privateOnly = [...privateImage.chunks.keys()].find((id) => !publicImage.chunks.has(id))!;
      const nonexistent = chunkId(seeded(10, 14));
      const a = await http(server.url, 'GET', `/v1/chunks/${privateOnly}`);
      const b = await http(server.url, 'GET', `/v1/chunks/${nonexistent}`);
      assert.equal(a.status, 404);
      assert.equal(b.status, 404);
      assert.equal(a.json.error.code, b.json.error.code);
      assert.equal(a.json.error.message.replace(privateOnly, 'ID'), b.json.error.message.replace(nonexistent, 'ID'));
      assert.equal((await http(server.url, 'HEAD', `/v1/chunks/${privateOnly}`)).status, 404);
      const batch = await http(server.url, 'POST', '/v1/chunks/fetch', { body: { ids: [privateOnly] } });
      const statuses: number[] = [];
      const decoder = new ChunkBatchDecoder();
      decoder.push(batch.body, (frame) => statuses.push(frame.status));
      assert.deepEqual(statuses, [FrameStatus.missing]);
    });

    it('a read token may read it, with a private cache policy', async () => {
      const privateOnly = [...privateImage.chunks.keys()].find((id) => !publicImage.chunks.has(id))!;
      const result = await http(server.url, 'GET', `/v1/chunks/${privateOnly}`, { token: read });
      assert.equal(result.status, 200);
      assert.match(result.headers.get('cache-control')!, /^private/);
      assert.ok(result.body.equals(privateImage.chunks.get(privateOnly)!));
    });
  });

  it('reports a corrupted chunk on disk as absent and never sends its bytes', async () => {
    const { writeFile } = await import('node:fs/promises');
    const [id, bytes] = [...publicImage.chunks].at(-2)!;
    const files = await storedChunkFiles(server.dataDir);
    const name = files.find((f) => f.startsWith(id))!;
    const path = join(server.dataDir, 'chunks', id.slice(0, 4), name);
    const damaged = Buffer.from(name.endsWith('.raw') ? bytes : await (await import('node:fs/promises')).readFile(path));
    damaged[damaged.length >> 1] = damaged[damaged.length >> 1]! ^ 0xff;
    await writeFile(path, damaged);
    const single = await http(server.url, 'GET', `/v1/chunks/${id}`);
    assert.equal(single.status, 404);
    const batch = await http(server.url, 'POST', '/v1/chunks/fetch', { body: { ids: [id] } });
    const statuses: number[] = [];
    new ChunkBatchDecoder().push(batch.body, (frame) => statuses.push(frame.status));
    assert.deepEqual(statuses, [FrameStatus.missing]);
    // A push of the right bytes repairs it.
    assert.equal((await http(server.url, 'PUT', `/v1/chunks/${id}`, { token: push, body: bytes })).status, 201);
    assert.ok((await http(server.url, 'GET', `/v1/chunks/${id}`)).body.equals(bytes));
  });
});

/** An image whose metadata file is exactly `chunk`, so that chunk becomes readable once pushed. */
async function makeImageWithChunk(base: ImageFixture, chunk: Uint8Array): Promise<ImageFixture> {
  const { createHash } = await import('node:crypto');
  const { encodeManifest } = await import('@lxchunk/format');
  const id = chunkId(chunk);
  const metadataIndex = { size: chunk.length, sha256: createHash('sha256').update(chunk).digest('hex'), params: base.manifest.files[0]!.index.params, method: 'cdc' as const, chunks: [{ id, length: chunk.length }] };
  const fingerprint = createHash('sha256').update(chunk).update(base.rootfs).digest('hex');
  const manifest = { ...base.manifest, fingerprint, files: [{ role: 'metadata' as const, index: metadataIndex }, base.manifest.files[1]!] };
  const chunks = new Map(base.chunks);
  chunks.set(id, chunk);
  return { ...base, fingerprint, manifest, manifestBytes: encodeManifest(manifest), chunks, metadata: chunk };
}
