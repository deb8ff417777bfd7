import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ChunkServerClient } from '@lxchunk/client';
import { MANIFEST_DICT_MEDIA_TYPE } from '@lxchunk/format';
import { makeImage, type ImageFixture } from './helpers/image-fixture.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const run = promisify(execFile);

interface CurlResult {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly body: Buffer;
}

/** A real curl, as an operator types it: `--compressed` asks for and decodes every coding curl knows. */
async function curl(url: string, args: readonly string[] = []): Promise<CurlResult> {
  const dir = await mkdtemp(join(tmpdir(), 'lxchunk-curl-'));
  try {
    const { stdout } = await run('curl', ['-sS', '-D', join(dir, 'headers'), ...args, url], { encoding: 'buffer', maxBuffer: 64 << 20 });
    return { ...parseHeaders(await readFile(join(dir, 'headers'), 'latin1')), body: stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function parseHeaders(text: string): Omit<CurlResult, 'body'> {
  const lines = text.split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const at = line.indexOf(':');
    if (at > 0) headers.set(line.slice(0, at).toLowerCase(), line.slice(at + 1).trim());
  }
  return { status, headers };
}

describe('server: manifest representations (real server, real curl)', () => {
  let server: ServerProcess;
  let v1: ImageFixture;
  let v2: ImageFixture;
  let client: ChunkServerClient;

  before(async () => {
    server = await startServer(['--no-fsync']);
    const push = new ChunkServerClient({ url: server.url, token: await server.token('push') });
    v1 = await makeImage({ seed: 41, public: true });
    v2 = await makeImage({ seed: 42, public: true, shareWith: v1 });
    for (const image of [v1, v2]) {
      await push.putChunks([...image.chunks].map(([id, bytes]) => ({ id, bytes })));
      await push.putManifest(image.fingerprint, image.manifestBytes);
    }
    await push.close();
    client = new ChunkServerClient({ url: server.url });
  });
  after(async () => {
    await client?.close();
    await server.destroy();
  });

  it('curl --compressed prints the manifest JSON, with and without ?base=', async () => {
    for (const query of ['', `?base=${v1.fingerprint}`]) {
      const got = await curl(`${server.url}/v1/images/${v2.fingerprint}${query}`, ['--compressed']);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(v2.manifestBytes), `curl --compressed ${query || '(no base)'} prints the manifest`);
    }
  });

  it('each representation has its own ETag; zstd is a Content-Encoding, the dictionary form its own media type', async () => {
    const path = `${server.url}/v1/images/${v2.fingerprint}`;
    const plain = await curl(path);
    const zstd = await curl(path, ['-H', 'Accept-Encoding: zstd']);
    const dict = await curl(`${path}?base=${v1.fingerprint}`, ['-H', `Accept: ${MANIFEST_DICT_MEDIA_TYPE}, application/json`, '-H', 'Accept-Encoding: zstd']);
    assert.equal(plain.headers.get('etag'), `"${v2.fingerprint}"`);
    assert.equal(plain.headers.get('content-encoding'), undefined);
    assert.equal(zstd.headers.get('content-encoding'), 'zstd');
    assert.equal(zstd.headers.get('etag'), `"${v2.fingerprint}.zstd"`);
    assert.match(zstd.headers.get('vary') ?? '', /Accept-Encoding/);
    assert.equal(dict.headers.get('content-encoding'), undefined, 'a dictionary-compressed body is not a content coding');
    assert.equal(dict.headers.get('content-type'), MANIFEST_DICT_MEDIA_TYPE);
    assert.equal(dict.headers.get('etag'), `"${v2.fingerprint}.base-${v1.fingerprint}"`);
    assert.equal(dict.headers.get('lxchunk-manifest-base'), v1.fingerprint);
    assert.match(dict.headers.get('vary') ?? '', /Accept\b/);
    assert.ok(dict.body.length < zstd.body.length, 'the base makes it smaller');
    // Without the media type in Accept, ?base= cannot change what a plain HTTP client gets.
    const ignored = await curl(`${path}?base=${v1.fingerprint}`, ['-H', 'Accept-Encoding: zstd']);
    assert.equal(ignored.headers.get('etag'), `"${v2.fingerprint}.zstd"`);
  });

  it('If-None-Match with the representation\'s ETag is 304', async () => {
    const path = `${server.url}/v1/images/${v2.fingerprint}`;
    const again = await curl(path, ['-H', 'Accept-Encoding: zstd', '-H', `If-None-Match: "${v2.fingerprint}.zstd"`]);
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  it('the client reads the dictionary form, and the plain forms', async () => {
    const withBase = await client.getManifest(v2.fingerprint, { base: { fingerprint: v1.fingerprint, bytes: v1.manifestBytes } });
    assert.equal(withBase.base, v1.fingerprint);
    assert.ok(Buffer.from(withBase.bytes).equals(v2.manifestBytes));
    const plain = await client.getManifest(v2.fingerprint);
    assert.equal(plain.base, undefined);
    assert.ok(Buffer.from(plain.bytes).equals(v2.manifestBytes));
  });
});
