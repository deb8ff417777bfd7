import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { chunkId } from '@lxchunk/chunker';
import { BATCH_CONTENT_TYPE, FrameStatus, encodeBatchEnd, encodeBatchStart, encodeFrameHeader } from '@lxchunk/format';
import { http, rawRequest } from './helpers/http.js';
import { seeded } from './helpers/image-fixture.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

describe('server: bounds on what requests and crashes can hold (real server process)', () => {
  it('removes every temp file a killed server left when it starts, however recent', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lxchunk-server-'));
    try {
      await mkdir(join(dataDir, 'tmp'), { recursive: true });
      // What a kill -9 mid-write leaves: a fresh, partial temp file.
      await writeFile(join(dataDir, 'tmp', `${'ab'.repeat(32)}.4242.0b6f.tmp`), 'partial');
      const server = await startServer(['--no-fsync'], dataDir);
      try {
        assert.deepEqual(await readdir(join(dataDir, 'tmp')), []);
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** Polls the server's metrics until `ready` holds for them (a condition, not a time). */
async function untilMetrics(server: ServerProcess, ready: (text: string) => boolean): Promise<string> {
  for (;;) {
    const text = (await http(server.url, 'GET', '/metrics')).body.toString();
    if (ready(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

function frame(bytes: Uint8Array): Buffer {
  return Buffer.concat([encodeFrameHeader(chunkId(bytes), FrameStatus.identity, bytes.length), bytes]);
}

/** An upload sent by hand over a socket: its head and first `sent` body bytes now, the rest on `finish`. */
function heldUpload(server: ServerProcess, token: string, body: Buffer, sent: number) {
  const { hostname, port } = new URL(server.url);
  const socket = connect(Number(port), hostname);
  let received = '';
  socket.setEncoding('utf8').on('data', (text: string) => (received += text));
  const answered = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  socket.write(
    `POST /v1/chunks/upload HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nContent-Type: ${BATCH_CONTENT_TYPE}\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
  );
  socket.write(body.subarray(0, sent));
  return {
    answered,
    finish: () => socket.write(body.subarray(sent)),
  };
}

describe('server: one memory budget for all uploads (real server process)', () => {
  const BUDGET = 1_000_000;
  const big = (seed: number) => seeded(800_000, seed);
  const batchOf = (bytes: Uint8Array) => Buffer.concat([encodeBatchStart(), frame(bytes), encodeBatchEnd()]);
  const post = (server: ServerProcess, token: string, body: Uint8Array) =>
    http(server.url, 'POST', '/v1/chunks/upload', { token, body, headers: { 'content-type': BATCH_CONTENT_TYPE } });

  it('makes an upload wait while others hold the budget, then stores it', async () => {
    const server = await startServer(['--no-fsync', '--upload-memory', String(BUDGET)]);
    try {
      const push = await server.token('push');
      const first = big(61);
      // The first upload's frame header is in: its whole frame is reserved while its payload trickles.
      const holder = heldUpload(server, push, batchOf(first), 4 + 37 + 1000);
      await untilMetrics(server, (m) => metric(m, 'lxchunk_upload_memory_bytes') >= 800_037);
      const second = big(62);
      const waiting = post(server, push, batchOf(second));
      await untilMetrics(server, (m) => metric(m, 'lxchunk_upload_memory_waiting') === 1);
      holder.finish();
      assert.match(await holder.answered, /^HTTP\/1\.1 200/);
      const result = await waiting;
      assert.equal(result.status, 200, result.body.toString());
      assert.deepEqual(result.json, { chunks: 1, stored: 1 });
      const idle = await untilMetrics(server, (m) => metric(m, 'lxchunk_upload_memory_bytes') === 0);
      assert.equal(metric(idle, 'lxchunk_upload_memory_waiting'), 0);
    } finally {
      await server.destroy();
    }
  });

  it('a client that hangs up while it waits takes nothing from the budget, for whole-body routes and batches', async () => {
    const server = await startServer(['--no-fsync', '--upload-memory', String(BUDGET)]);
    try {
      const push = await server.token('push');
      const { hostname, port } = new URL(server.url);
      const holder = heldUpload(server, push, batchOf(big(66)), 4 + 37 + 1000);
      await untilMetrics(server, (m) => metric(m, 'lxchunk_upload_memory_bytes') >= 800_037);
      // A chunk PUT (its whole body reserved) and a batch (its frame reserved), each waiting for room.
      const chunk = seeded(300_000, 67);
      const waiters = [
        `PUT /v1/chunks/${chunkId(chunk)} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${push}\r\nContent-Length: ${chunk.length}\r\n\r\n`,
        `POST /v1/chunks/upload HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${push}\r\nContent-Type: ${BATCH_CONTENT_TYPE}\r\nContent-Length: ${batchOf(chunk).length}\r\n\r\n`,
      ];
      for (const [i, head] of waiters.entries()) {
        const socket = connect(Number(port), hostname);
        socket.on('error', () => undefined);
        socket.write(i === 0 ? head : Buffer.concat([Buffer.from(head), batchOf(chunk).subarray(0, 4 + 37 + 100)]));
        await untilMetrics(server, (m) => metric(m, 'lxchunk_upload_memory_waiting') === 1);
        socket.destroy();
        // The waiter leaves the queue as soon as its client is gone.
        await untilMetrics(server, (m) => metric(m, 'lxchunk_upload_memory_waiting') === 0);
      }
      holder.finish();
      assert.match(await holder.answered, /^HTTP\/1\.1 200/);
      // Before the fix the hung-up PUT was granted its 300 KB once the holder finished, and kept it.
      await untilMetrics(server, (m) => metric(m, 'lxchunk_upload_memory_bytes') === 0);
      assert.equal((await http(server.url, 'GET', '/healthz')).status, 200);
      assert.equal(server.stderr().includes('"request failed"'), false, server.stderr());
    } finally {
      await server.destroy();
    }
  });

  it('refuses with 503 UNAVAILABLE and Retry-After when it would wait too long; a frame over the whole budget is 413', async () => {
    const server = await startServer(['--no-fsync', '--upload-memory', String(BUDGET), '--upload-wait', '0']);
    try {
      const push = await server.token('push');
      const holder = heldUpload(server, push, batchOf(big(63)), 4 + 37 + 1000);
      await untilMetrics(server, (m) => metric(m, 'lxchunk_upload_memory_bytes') >= 800_037);
      const second = big(64);
      const refused = await post(server, push, batchOf(second));
      assert.equal(refused.status, 503, refused.body.toString());
      assert.equal(refused.json.error.code, 'UNAVAILABLE');
      assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
      // A chunk PUT shares the budget and is refused before its body is read. The refusal closes the
      // connection over unread bytes, which the kernel may answer with a reset: a client that only
      // writes (sending the whole body first) can lose the answer to that race, a client that reads
      // while it sends (curl, fetch) gets it. So send the head and a little of the body, then listen.
      const { host } = new URL(server.url);
      const putHead = `PUT /v1/chunks/${chunkId(second)} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${push}\r\nContent-Length: ${second.length}\r\n\r\n`;
      const put = await rawRequest(server.url, Buffer.concat([Buffer.from(putHead), second.subarray(0, 1000)]), { waitMs: 60_000 });
      assert.match(put, /^HTTP\/1\.1 503/);
      assert.match(put, /Retry-After: \d+/i);
      holder.finish();
      assert.match(await holder.answered, /^HTTP\/1\.1 200/);
      assert.deepEqual((await post(server, push, batchOf(second))).json, { chunks: 1, stored: 1 });
      // Refused as soon as its frame header is in, while the client is still sending (as above: only
      // the start of the body is sent, then the answer is read).
      const body = batchOf(seeded(BUDGET + 1, 65));
      const head = `POST /v1/chunks/upload HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${push}\r\nContent-Type: ${BATCH_CONTENT_TYPE}\r\nContent-Length: ${body.length}\r\n\r\n`;
      const huge = await rawRequest(server.url, Buffer.concat([Buffer.from(head), body.subarray(0, 2000)]), { waitMs: 60_000 });
      assert.match(huge, /^HTTP\/1\.1 413/);
      assert.match(huge, /"code":"PAYLOAD_TOO_LARGE"/);
    } finally {
      await server.destroy();
    }
  });
});

describe('server: a stalled request body times out (real server process)', () => {
  let server: ServerProcess;
  let push: string;
  before(async () => {
    server = await startServer(['--no-fsync', '--body-timeout', '1s']);
    push = await server.token('push');
  });
  after(async () => server.destroy());

  it('answers 408 REQUEST_TIMEOUT and closes the connection, for every kind of body', async () => {
    const { host } = new URL(server.url);
    for (const [method, path, type] of [
      ['PUT', `/v1/chunks/${'ab'.repeat(32)}`, 'application/octet-stream'],
      ['POST', '/v1/chunks/upload', BATCH_CONTENT_TYPE],
      ['POST', '/v1/chunks/missing', 'application/json'],
      ['PUT', `/v1/images/${'ab'.repeat(32)}`, 'application/json'],
    ] as const) {
      const head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${push}\r\nContent-Type: ${type}\r\nContent-Length: 5000\r\n\r\n`;
      // Ten body bytes, then silence. The wait bound only keeps a broken server from hanging the test.
      const answer = await rawRequest(server.url, `${head}LXCB{"ids"`, { waitMs: 60_000 });
      assert.match(answer, /^HTTP\/1\.1 408/, `${method} ${path}: ${answer}`);
      assert.match(answer, /"code":"REQUEST_TIMEOUT"/);
    }
    assert.equal((await http(server.url, 'GET', '/healthz')).status, 200);
  });

  it('an upload answered 408 midway gives back the memory its announced frame holds', async () => {
    // A frame header announcing 60 MiB takes that much of the budget before its payload arrives.
    const announced = Buffer.concat([encodeBatchStart(), encodeFrameHeader('cd'.repeat(32), FrameStatus.identity, 60 * 1024 * 1024), Buffer.alloc(1000)]);
    const held = heldUpload(server, push, Buffer.concat([announced, Buffer.alloc(100_000)]), announced.length);
    assert.match(await held.answered, /^HTTP\/1\.1 408/);
    // Before the fix the handler kept waiting for the rest of the body and held 60 MiB for good.
    await untilMetrics(server, (text) => metric(text, 'lxchunk_upload_memory_bytes') === 0);
  });
});
