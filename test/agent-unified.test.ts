import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLxdDaemon } from '@lxchunk/lxd/test-daemon';
import { agentOnce as runAgentOnce, aliasTarget as aliasTargetOf, lxcImages as lxcImagesOf } from './helpers/agent-run.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';
import { buildUnifiedImage, type UnifiedImageFile } from './helpers/unified-image.js';

describe('chunk agent imports unified tarball images into a real LXD', function () {
  this.timeout(300_000);
  let work: string;
  let server: ServerProcess;
  let lxd: Awaited<ReturnType<typeof startLxdDaemon>>;
  let pushEnv: NodeJS.ProcessEnv;
  let readToken: string;
  const alias = 'published/unified';

  const agentOnce = () =>
    runAgentOnce(['--server', server.url, '--follow', alias, '--cache', join(work, 'agent-cache'), '--lxd-socket', lxd.socketPath], {
      LXCHUNK_TOKEN: readToken,
    });
  const push = async (image: UnifiedImageFile) => {
    const result = await runChunk(['push', '--json', '--alias', alias, image.tarball], { env: pushEnv });
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { fingerprint: string }).fingerprint, image.fingerprint);
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-agent-unified-'));
    lxd = await startLxdDaemon();
    server = await startServer(['--no-fsync']);
    pushEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') };
    readToken = await server.token('read');
  });
  after(async () => {
    await server?.destroy();
    await lxd?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('imports a gzip unified tarball under the fingerprint LXD computes for it (its sha256), with the alias', async () => {
    const image = await buildUnifiedImage(join(work, 'gz'), { seed: 3, serial: '1', compress: '-z' });
    await push(image);
    const result = await agentOnce();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.results[0]!.action, 'imported');
    assert.equal(result.results[0]!.fingerprint, image.fingerprint);
    assert.equal(await aliasTargetOf(lxd.lxdDir, alias), image.fingerprint);
    const imported = (await lxcImagesOf(lxd.lxdDir)).find((i) => i.fingerprint === image.fingerprint)!;
    assert.equal(imported.properties.os, 'debian', "LXD read the tarball's metadata.yaml");
    assert.equal(imported.properties['lxchunk.alias'], alias);
    // LXD keeps a unified image as one file: the tarball we pushed, byte for byte.
    assert.equal((await stat(join(lxd.lxdDir, 'images', image.fingerprint))).size, (await stat(image.tarball)).size);
  });

  it('imports the next uncompressed build seeded by the one LXD holds, fetching a fraction', async () => {
    const v1 = await buildUnifiedImage(join(work, 'v1'), { seed: 4, serial: '1', compress: '' });
    await push(v1);
    assert.equal((await agentOnce()).results[0]!.fingerprint, v1.fingerprint);
    const v2 = await buildUnifiedImage(join(work, 'v2'), { seed: 4, serial: '2', compress: '' });
    await push(v2);
    const result = await agentOnce();
    assert.equal(result.code, 0, result.stderr);
    const synced = result.results[0]!;
    assert.equal(synced.action, 'imported');
    assert.equal(await aliasTargetOf(lxd.lxdDir, alias), v2.fingerprint);
    const size = (await stat(v2.tarball)).size;
    assert.ok(synced.bytesReused > size / 2, `reused ${synced.bytesReused} of ${size}`);
    assert.ok(synced.bytesFetched < size / 4, `fetched ${synced.bytesFetched} of ${size}`);
  });
});
