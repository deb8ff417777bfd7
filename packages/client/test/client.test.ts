import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { chunkId } from '@lxchunk/chunker';
import { isLxchunkError } from '@lxchunk/errors';
import { BATCH_CONTENT_TYPE, FrameStatus, encodeBatchEnd, encodeBatchStart, encodeFrameHeader } from '@lxchunk/format';
import { ChunkEncoder } from '@lxchunk/format';
import { ChunkServerClient, RetryPolicy, aliasPath, parseRetryAfter } from '../src/index.js';
import { FakeServer, sendError, sendJson } from './fake-server.js';

const encoder = new ChunkEncoder();

function makeChunk(i: number, compressible: boolean): Uint8Array {
  const bytes = new Uint8Array(1000 + ((i * 7919) % 5000));
  if (compressible) bytes.fill(i % 251);
  else for (let k = 0; k < bytes.length; k += 32) bytes.set(createHash('sha256').update(`${i}:${k}`).digest().subarray(0, bytes.length - k), k);
  bytes[0] = i & 0xff;
  bytes[1] = i >> 8;
  return bytes;
}

/** A batch body for `ids` from `chunks`; `corrupt` ids get a flipped byte, `cutAfter` frames stop the stream. */
function batchBody(ids: string[], chunks: Map<string, Uint8Array>, options: { corrupt?: Set<string>; cutAfter?: number } = {}): Buffer {
  const parts: Uint8Array[] = [encodeBatchStart()];
  ids.forEach((id, n) => {
    if (options.cutAfter !== undefined && n >= options.cutAfter) return;
    const raw = chunks.get(id);
    if (!raw) {
      parts.push(encodeFrameHeader(id, FrameStatus.missing, 0));
      return;
    }
    const encoded = encoder.encode(raw);
    let payload = Uint8Array.from(encoded.stored);
    if (options.corrupt?.has(id)) {
      if (encoded.encoding === 'zstd') payload = Uint8Array.from(raw);
      payload[payload.length - 1]! ^= 1;
      parts.push(encodeFrameHeader(id, FrameStatus.identity, payload.length), payload);
      return;
    }
    const status = encoded.encoding === 'zstd' ? FrameStatus.zstd : FrameStatus.identity;
    parts.push(encodeFrameHeader(id, status, payload.length), payload);
  });
  if (options.cutAfter === undefined) parts.push(encodeBatchEnd());
  return Buffer.concat(parts);
}

function sendBatch(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': BATCH_CONTENT_TYPE, 'content-length': body.length }).end(body);
}

describe('client: RetryPolicy', () => {
  it('backs off exponentially with jitter in [d/2, d), capped', () => {
    const low = new RetryPolicy({ baseMs: 100, maxMs: 1000, random: () => 0 });
    const high = new RetryPolicy({ baseMs: 100, maxMs: 1000, random: () => 0.999999 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => low.delayMs(n)), [50, 100, 200, 400, 500, 500]);
    assert.ok(Math.abs(high.delayMs(3) - 400) < 0.01);
    assert.equal(low.delayMs(1, 5000), 5000);
    assert.equal(low.delayMs(1, 10 * 60_000), 30_000);
  });

  it('retries for a window after the first failure (60 s by default), the last wait cut to its edge', () => {
    const policy = new RetryPolicy({ baseMs: 100, maxMs: 1000, random: () => 0 });
    assert.equal(policy.retryForMs, 60_000);
    assert.equal(policy.nextDelay(50, 59_000), 500, 'no retry count limit by default');
    assert.equal(policy.nextDelay(50, 59_800), 200);
    assert.equal(policy.nextDelay(50, 60_000), undefined);
    const counted = new RetryPolicy({ retries: 2, retryForMs: 1000, baseMs: 100, random: () => 0 });
    assert.deepEqual([1, 2, 3].map((n) => counted.nextDelay(n, 0)), [50, 100, undefined]);
    assert.equal(new RetryPolicy({ retryForMs: 0 }).nextDelay(1, 0), undefined);
  });

  it('rejects nonsense options and reads Retry-After', () => {
    assert.throws(() => new RetryPolicy({ retries: -1 }), (e: unknown) => isLxchunkError(e, 'INVALID_INPUT'));
    assert.throws(() => new RetryPolicy({ retryForMs: -1 }), (e: unknown) => isLxchunkError(e, 'INVALID_INPUT'));
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(parseRetryAfter('soon'), undefined);
  });
});

describe('client: alias paths', () => {
  it('keeps slashes between segments and refuses names that could reach another route', () => {
    assert.equal(aliasPath('ubuntu/24.04/amd64'), '/v1/aliases/ubuntu/24.04/amd64');
    assert.equal(aliasPath('a', '/history'), '/v1/aliases/a/history');
    for (const bad of ['', '/a', 'a/', 'a//b', 'a/../b', '..', 'a/./b', 'a/history', 'a b', 'a?x', 'a%2f', '-a', 'x'.repeat(129)]) {
      assert.throws(() => aliasPath(bad), (e: unknown) => isLxchunkError(e, 'INVALID_INPUT'), bad);
    }
  });
});

describe('client: failure handling against a scripted server', () => {
  const fake = new FakeServer();
  let url: string;
  let client: ChunkServerClient;

  before(async () => {
    url = await fake.start();
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    client = new ChunkServerClient({ url, token: 'lxc_test', retries: 3, retryBaseMs: 1 });
  });
  afterEach(async () => {
    await client.close();
  });

  it('retries 503 and 429 (honouring Retry-After) but not 400', async () => {
    fake.handler = (_req, res, n) => {
      if (n === 1) return sendError(res, 503, 'UNAVAILABLE', 'draining');
      if (n === 2) return sendJson(res, 429, { error: { code: 'UNAVAILABLE', message: 'slow down' } }, { 'retry-after': '0' });
      return sendJson(res, 200, { missing: [] });
    };
    assert.deepEqual(await client.missingChunks(['a'.repeat(64)]), []);
    assert.equal(fake.requests.length, 3);
    assert.equal(fake.requests[0]!.headers.authorization, 'Bearer lxc_test');

    fake.requests.length = 0;
    fake.handler = (_req, res) => sendError(res, 400, 'INVALID_INPUT', 'no');
    await assert.rejects(client.missingChunks(['a'.repeat(64)]), (e: unknown) => isLxchunkError(e, 'INVALID_INPUT'));
    assert.equal(fake.requests.length, 1);
  });

  it('gives up after the configured retries with the last error', async () => {
    fake.handler = (_req, res) => sendError(res, 502, 'PROTOCOL_ERROR', 'bad gateway');
    await assert.rejects(client.getChunk('b'.repeat(64)), (e: unknown) => isLxchunkError(e, 'PROTOCOL_ERROR'));
    assert.equal(fake.requests.length, 4);
  });

  it('a status without an lxchunk body still maps by status', async () => {
    fake.handler = (_req, res) => void res.writeHead(401, { 'content-type': 'text/plain' }).end('go away');
    await assert.rejects(client.listAliases(), (e: unknown) => isLxchunkError(e, 'UNAUTHORIZED'));
  });

  it('fetchChunks retries a cut-short stream for the undelivered ids only, and re-asks a corrupt chunk once', async () => {
    const chunks = new Map<string, Uint8Array>();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const bytes = makeChunk(i, i % 2 === 0);
      const id = chunkId(bytes);
      if (i !== 5) chunks.set(id, bytes);
      ids.push(id);
    }
    const corruptId = ids[9]!;
    fake.handler = (req, res, n) => {
      const asked = (JSON.parse(req.body.toString()) as { ids: string[] }).ids;
      if (n === 1) return sendBatch(res, batchBody(asked, chunks, { corrupt: new Set([corruptId]), cutAfter: 20 }));
      if (n === 2) {
        // A socket error mid-body: headers and a few frames, then the connection dies.
        const body = batchBody(asked, chunks);
        res.writeHead(200, { 'content-type': BATCH_CONTENT_TYPE, 'content-length': body.length });
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
        return;
      }
      return sendBatch(res, batchBody(asked, chunks));
    };
    const got = new Map<string, Uint8Array>();
    const result = await client.fetchChunks([...ids, ...ids.slice(0, 10)], async (id, bytes) => {
      assert.ok(!got.has(id), `delivered twice: ${id}`);
      got.set(id, bytes);
      await new Promise((r) => setImmediate(r));
    });
    assert.deepEqual(result.missing, [ids[5]]);
    assert.equal(got.size, 39);
    for (const [id, bytes] of got) assert.ok(Buffer.from(bytes).equals(chunks.get(id)!));
    const asked = fake.requests.map((r) => (JSON.parse(r.body.toString()) as { ids: string[] }).ids);
    assert.equal(asked[0]!.length, 40, 'duplicates are asked for once');
    // Round 2 asks for the corrupt one and everything after the cut, not what was delivered.
    assert.equal(asked[1]![0], corruptId);
    assert.deepEqual(asked[1]!.slice(1), ids.slice(20));
    // Round 3 (after the socket died mid-body) asks only for what round 2 had not delivered.
    assert.equal(asked.length, 3);
    assert.ok(asked[2]!.length > 0 && asked[2]!.length < asked[1]!.length);
    assert.deepEqual(asked[2], asked[1]!.slice(asked[1]!.length - asked[2]!.length));
    assert.ok(fake.requests.every((r) => r.headers['accept-encoding'] === 'zstd'));
    assert.ok(client.bytesReceived > [...chunks.values()].reduce((s, c) => s + c.length, 0) / 4);
  });

  it('a chunk corrupt twice is CHUNK_CORRUPT and never delivered', async () => {
    const bytes = makeChunk(1, false);
    const id = chunkId(bytes);
    fake.handler = (req, res) => sendBatch(res, batchBody([id], new Map([[id, bytes]]), { corrupt: new Set([id]) }));
    const delivered: string[] = [];
    await assert.rejects(
      client.fetchChunks([id], (i) => void delivered.push(i)),
      (e: unknown) => isLxchunkError(e, 'CHUNK_CORRUPT'),
    );
    assert.deepEqual(delivered, []);
    assert.equal(fake.requests.length, 2);
  });

  it('getChunk refuses bytes that do not hash to the id', async () => {
    const bytes = makeChunk(2, false);
    fake.handler = (_req, res) => void res.writeHead(200).end(Buffer.from(bytes).reverse());
    await assert.rejects(client.getChunk(chunkId(bytes)), (e: unknown) => isLxchunkError(e, 'CHUNK_CORRUPT'));
    assert.equal(fake.requests.length, 2);
  });

  it('frames out of request order are a PROTOCOL_ERROR, not retried', async () => {
    const a = makeChunk(3, false);
    const b = makeChunk(4, false);
    const chunks = new Map([
      [chunkId(a), a],
      [chunkId(b), b],
    ]);
    fake.handler = (_req, res) => sendBatch(res, batchBody([chunkId(b), chunkId(a)], chunks));
    await assert.rejects(client.fetchChunks([chunkId(a), chunkId(b)], () => {}), (e: unknown) => isLxchunkError(e, 'PROTOCOL_ERROR'));
    assert.equal(fake.requests.length, 1);
  });

  it('an error from onChunk stops the fetch and comes out as is', async () => {
    const ids: string[] = [];
    const chunks = new Map<string, Uint8Array>();
    for (let i = 0; i < 10; i++) {
      const bytes = makeChunk(i, true);
      chunks.set(chunkId(bytes), bytes);
      ids.push(chunkId(bytes));
    }
    fake.handler = (req, res) => sendBatch(res, batchBody((JSON.parse(req.body.toString()) as { ids: string[] }).ids, chunks));
    const boom = new Error('disk full');
    await assert.rejects(
      client.fetchChunks(ids, () => {
        throw boom;
      }),
      (e: unknown) => e === boom,
    );
    assert.equal(fake.requests.length, 1);
  });

  it('setAlias: a retry refused with 412 for its own lost-answer success is a success', async () => {
    const target = 'c'.repeat(64);
    let applied = false;
    fake.handler = (req, res) => {
      if (req.method === 'PUT') {
        if (!applied) {
          applied = true;
          res.destroy(); // applied, but the answer is lost
          return;
        }
        return sendError(res, 412, 'PRECONDITION_FAILED', 'stale', { current: { target, version: 4 } });
      }
      return sendJson(res, 200, { name: 'ci/x', target, version: 4, updated: '2026-01-01T00:00:00Z' });
    };
    const alias = await client.setAlias('ci/x', target, { version: 3 });
    assert.deepEqual(alias, { name: 'ci/x', target, version: 4, updated: '2026-01-01T00:00:00Z' });
    assert.deepEqual(
      fake.requests.map((r) => `${r.method} ${r.url} ${r.headers['if-match'] ?? ''}`),
      ['PUT /v1/aliases/ci/x "3"', 'PUT /v1/aliases/ci/x "3"', 'GET /v1/aliases/ci/x '],
    );
  });

  it('setAlias: a first-attempt 412 is a lost race, thrown with details.current', async () => {
    const current = { target: 'd'.repeat(64), version: 7 };
    fake.handler = (_req, res) => sendError(res, 412, 'PRECONDITION_FAILED', 'stale', { current });
    await assert.rejects(client.setAlias('x', 'c'.repeat(64), { absent: true }), (e: unknown) => {
      assert.ok(isLxchunkError(e, 'PRECONDITION_FAILED'));
      assert.deepEqual(e.details?.current, current);
      return true;
    });
    assert.equal(fake.requests[0]!.headers['if-none-match'], '*');
    assert.equal(fake.requests.length, 1);
  });

  it('gc is not repeated after a connection lost mid-request', async () => {
    fake.handler = (_req, res) => void res.destroy();
    await assert.rejects(client.gc({ dryRun: true }), (e: unknown) => isLxchunkError(e, 'UNAVAILABLE'));
    assert.equal(fake.requests.length, 1);
    assert.equal(fake.requests[0]!.url, '/v1/gc?dryRun=true');
  });

  it('an abort stops a backoff wait at once', async () => {
    const slow = new ChunkServerClient({ url, retries: 5, retryBaseMs: 10_000 });
    const controller = new AbortController();
    // Aborted once the first attempt is answered: the client is then in its 10 s backoff (a
    // client that waited it out would retry, and run past the test's timeout over five retries).
    fake.handler = (_req, res) => {
      sendError(res, 503, 'UNAVAILABLE', 'busy');
      res.once('finish', () => controller.abort(new Error('stop')));
    };
    await assert.rejects(slow.listImages({}, { signal: controller.signal }), /stop/);
    assert.equal(fake.requests.length, 1, 'no attempt after the abort');
    await slow.close();
  });

  it('health is false while draining and when unreachable', async () => {
    fake.handler = (_req, res) => sendJson(res, 503, { ok: false });
    assert.equal(await client.health(), false);
    fake.handler = (_req, res) => sendJson(res, 200, { ok: true });
    assert.equal(await client.health(), true);
    const gone = new ChunkServerClient({ url: 'http://127.0.0.1:9', retries: 0 });
    assert.equal(await gone.health(), false);
    await gone.close();
  });

  it('sends zstd uploads when they pay, identity otherwise, and counts bytes sent', async () => {
    fake.handler = (_req, res) => void res.writeHead(201).end();
    const squashy = new Uint8Array(100_000);
    assert.deepEqual(await client.putChunk(chunkId(squashy), squashy), { stored: true });
    assert.equal(fake.requests[0]!.headers['content-encoding'], 'zstd');
    assert.ok(fake.requests[0]!.body.length < 1000);
    const noisy = makeChunk(9, false);
    await client.putChunk(chunkId(noisy), noisy);
    assert.equal(fake.requests[1]!.headers['content-encoding'], undefined);
    assert.equal(client.bytesSent, fake.requests[0]!.body.length + noisy.length);
  });

  it('falls back to raw uploads, for good, when the server refuses zstd bodies', async () => {
    fake.handler = (req, res) => {
      if (req.headers['content-encoding'] === 'zstd') return sendError(res, 400, 'INVALID_INPUT', 'unsupported content encoding "zstd"');
      res.writeHead(201).end();
    };
    const squashy = new Uint8Array(50_000).fill(7);
    assert.deepEqual(await client.putChunk(chunkId(squashy), squashy), { stored: true });
    const other = new Uint8Array(50_000).fill(8);
    await client.putChunk(chunkId(other), other);
    assert.deepEqual(
      fake.requests.map((r) => r.headers['content-encoding'] ?? 'identity'),
      ['zstd', 'identity', 'identity'],
    );
  });
});
