import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkServerClient } from '@lxchunk/client';
import { encodeManifest } from '@lxchunk/format';
import { makeImage } from './helpers/image-fixture.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

interface ErrorJson {
  error: { code: string; message: string };
}

/** `chunk pull` takes what push printed: an alias, a whole fingerprint, or a unique prefix of one, as lxc does. */
describe('chunk pull: image references', () => {
  let work: string;
  let server: ServerProcess;
  let image: LxdImageFiles;
  let fingerprint: string;
  let readEnv: NodeJS.ProcessEnv;
  let pushToken: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-ref-'));
    server = await startServer(['--no-fsync']);
    pushToken = await server.token('push');
    readEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('read') };
    image = await buildLxdImage(join(work, 'v1'), { seed: 9, serial: '20260101' });
    const pushed = await runChunk(['push', '--json', '--no-content', '--alias', 'ref/private', image.metadata, image.rootfs], {
      env: { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: pushToken },
    });
    assert.equal(pushed.code, 0, pushed.stderr);
    fingerprint = (JSON.parse(pushed.stdout) as { fingerprint: string }).fingerprint;
  });
  after(async () => {
    await server.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('pulls by the 12-digit fingerprint push prints', async () => {
    const result = await runChunk(['pull', '--json', fingerprint.slice(0, 12), '--out', join(work, 'short')], { env: readEnv });
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { fingerprint: string }).fingerprint, fingerprint);
  });

  it('a prefix of several images fails with AMBIGUOUS_REF listing them', async () => {
    // Two manifests whose fingerprints share 16 digits (the server stores what it is given).
    const shared = fingerprint.slice(0, 16);
    const client = new ChunkServerClient({ url: server.url, token: pushToken });
    const twins: string[] = [];
    try {
      for (const seed of [1, 2]) {
        const fixture = await makeImage({ seed: 100 + seed, rootfsBytes: 20_000 });
        const twin = shared + fixture.fingerprint.slice(16);
        await client.putChunks([...fixture.chunks].map(([id, bytes]) => ({ id, bytes })));
        assert.equal(await client.putManifest(twin, encodeManifest({ ...fixture.manifest, fingerprint: twin })), 'created');
        twins.push(twin);
      }
    } finally {
      await client.close();
    }
    const result = await runChunk(['pull', '--json', shared, '--out', join(work, 'ambiguous')], { env: readEnv });
    assert.equal(result.code, 2, result.stderr);
    const error = (JSON.parse(result.stdout) as ErrorJson).error;
    assert.equal(error.code, 'AMBIGUOUS_REF');
    for (const candidate of [fingerprint, ...twins]) assert.ok(error.message.includes(candidate), error.message);
    assert.ok(error.message.includes('ref/private'), 'candidates show their aliases');
  });

  it('a prefix shorter than 8 digits is not taken as a fingerprint, and the message says why', async () => {
    const result = await runChunk(['pull', '--json', fingerprint.slice(0, 6), '--out', join(work, 'tiny')], { env: readEnv });
    assert.equal(result.code, 3);
    const error = (JSON.parse(result.stdout) as ErrorJson).error;
    assert.equal(error.code, 'ALIAS_NOT_FOUND');
    assert.match(error.message, /at least 8 hex digits/);
  });

  it('a private alias pulled without a token: ALIAS_NOT_FOUND with a hint that a token may be needed', async () => {
    const anonymous = await runChunk(['pull', '--json', 'ref/private', '--out', join(work, 'anon')], { env: { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: '' } });
    assert.equal(anonymous.code, 3);
    const error = (JSON.parse(anonymous.stdout) as ErrorJson).error;
    assert.equal(error.code, 'ALIAS_NOT_FOUND');
    assert.match(error.message, /no token was given/);

    const withToken = await runChunk(['pull', '--json', 'ref/absent', '--out', join(work, 'absent')], { env: readEnv });
    assert.equal((JSON.parse(withToken.stdout) as ErrorJson).error.message, 'alias "ref/absent" not found', 'no token hint when a token was given');
  });
});
