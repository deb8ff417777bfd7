import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLxdDaemon } from '@lxchunk/lxd/test-daemon';
import { agentOnce, lxcImages } from './helpers/agent-run.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const run = promisify(execFile);

/**
 * Image properties are not covered by the fingerprint: whatever sits between the pusher and the
 * agent (here the server's own database, rewritten) can change those the manifest carries.
 */
describe('chunk agent and a manifest whose properties were tampered with (real LXD, real server)', function () {
  this.timeout(300_000);
  let work: string;
  let server: ServerProcess;
  let lxd: Awaited<ReturnType<typeof startLxdDaemon>>;
  let readToken: string;
  let image: LxdImageFiles;
  const alias = 'debian/tampered';

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-agent-props-'));
    lxd = await startLxdDaemon();
    server = await startServer(['--no-fsync']);
    readToken = await server.token('read');
    image = await buildLxdImage(join(work, 'v1'), { seed: 31, serial: '1' });
    const pushed = await runChunk(['push', '--json', '--no-content', '--alias', alias, image.metadata, image.rootfs], {
      env: { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') },
    });
    assert.equal(pushed.code, 0, pushed.stderr);
  });
  after(async () => {
    await server?.destroy();
    await lxd?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('takes the properties LXD gets from the metadata.yaml the fingerprint covers, not from the manifest', async () => {
    // One property added, one changed, in the manifest bytes the server serves.
    const tamper = `UPDATE images SET manifest = CAST(replace(replace(CAST(manifest AS TEXT),
      '"properties":{', '"properties":{"aaa.injected":"by-the-path",'), '"os":"debian"', '"os":"tampered"') AS BLOB)`;
    await run('sqlite3', [join(server.dataDir, 'metadata.db'), tamper]);
    const served = await fetch(`${server.url}/v1/images/${image.fingerprint}`, { headers: { authorization: `Bearer ${readToken}` } });
    const manifest = (await served.json()) as { properties: Record<string, string> };
    assert.equal(manifest.properties['aaa.injected'], 'by-the-path', 'the server now serves the tampered manifest');
    assert.equal(manifest.properties.os, 'tampered');

    const result = await agentOnce(['--server', server.url, '--follow', alias, '--cache', join(work, 'cache'), '--lxd-socket', lxd.socketPath], { LXCHUNK_TOKEN: readToken });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.results[0]!.action, 'imported');
    const imported = (await lxcImages(lxd.lxdDir)).find((i) => i.fingerprint === image.fingerprint)!;
    assert.deepEqual(imported.properties, {
      os: 'debian',
      release: 'bookworm',
      serial: '1',
      description: 'Debian bookworm 1',
      'lxchunk.alias': alias,
      'lxchunk.server': server.url,
    });
  });
});
