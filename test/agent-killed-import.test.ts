import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startLxdDaemon } from '@lxchunk/lxd/test-daemon';
import { agentKilledAt, agentOnce, aliasTarget, lxcImages } from './helpers/agent-run.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

/** Files under `dir`, relative to it ([] when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

describe('chunk agent killed -9 during an LXD import (real LXD, real server)', function () {
  this.timeout(300_000);
  let work: string;
  let server: ServerProcess;
  let lxd: Awaited<ReturnType<typeof startLxdDaemon>>;
  let pushEnv: NodeJS.ProcessEnv;
  let agentEnv: NodeJS.ProcessEnv;
  /** Images whose metadata.yaml has no properties map: LXD cannot take properties in the upload. */
  const bare: LxdImageFiles[] = [];
  let withProperties: LxdImageFiles;
  const alias = 'debian/bare';
  const cache = () => join(work, 'agent-cache');
  const agentArgs = (follow = alias) => ['--server', server.url, '--follow', follow, '--cache', cache(), '--lxd-socket', lxd.socketPath];
  const push = async (image: LxdImageFiles, to = alias) => {
    const result = await runChunk(['push', '--json', '--no-content', '--alias', to, image.metadata, image.rootfs], { env: pushEnv });
    assert.equal(result.code, 0, result.stderr);
  };
  const imageOf = async (fingerprint: string) => (await lxcImages(lxd.lxdDir)).find((image) => image.fingerprint === fingerprint);
  /** What an import stages in the cache until it is done: the pulled files, seed exports. */
  const stagedFiles = async () => (await Promise.all(['pulls', 'exports'].map((dir) => filesUnder(join(cache(), dir))))).flat();
  /** The agent's record of imports under way. */
  const journal = () => filesUnder(join(cache(), 'imports'));

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-agent-kill-'));
    lxd = await startLxdDaemon();
    server = await startServer(['--no-fsync']);
    pushEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') };
    agentEnv = { LXCHUNK_TOKEN: await server.token('read') };
    bare.push(await buildLxdImage(join(work, 'b1'), { seed: 21, serial: '1', bareMetadata: true }));
    for (let i = 2; i <= 5; i++) bare.push(await buildLxdImage(join(work, `b${i}`), { seed: 21, from: bare[i - 2], serial: String(i), bareMetadata: true }));
    withProperties = await buildLxdImage(join(work, 'p1'), { seed: 22, serial: '1' });
    for (const image of bare.slice(0, 2)) {
      await push(image);
      const result = await agentOnce(agentArgs(), agentEnv);
      assert.equal(result.results[0]?.action, 'imported', result.stderr);
    }
  });
  after(async () => {
    await server?.destroy();
    await lxd?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('killed once LXD holds the image but before it is marked: the next run adopts it, prunes, and clears the cache', async () => {
    const [b1, b2, b3] = bare as [LxdImageFiles, LxdImageFiles, LxdImageFiles];
    await push(b3);
    await agentKilledAt('imported', agentArgs(), agentEnv);
    assert.equal((await imageOf(b3.fingerprint))?.properties['lxchunk.alias'], undefined, 'the window the test is about: in LXD, unmarked');

    const rerun = await agentOnce(agentArgs(), agentEnv);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(rerun.results[0]!.action, 'alias-updated');
    assert.equal(rerun.results[0]!.bytesFetched, 0);
    const adopted = await imageOf(b3.fingerprint);
    assert.equal(adopted?.properties['lxchunk.alias'], alias);
    assert.equal(adopted?.properties['lxchunk.server'], server.url);
    assert.equal(await aliasTarget(lxd.lxdDir, alias), b3.fingerprint);
    assert.deepEqual(rerun.results[0]!.pruned, [b1.fingerprint]);
    assert.ok(await imageOf(b2.fingerprint), 'the previous image is kept');
    assert.deepEqual(await stagedFiles(), []);
    assert.deepEqual(await journal(), []);
  });

  it('killed with the pulled image staged, then the alias moved on: the next run removes what was staged', async () => {
    const [, b2, b3, b4, b5] = bare as [LxdImageFiles, LxdImageFiles, LxdImageFiles, LxdImageFiles, LxdImageFiles];
    await push(b4);
    await agentKilledAt('pulled', agentArgs(), agentEnv);
    assert.notDeepEqual(await stagedFiles(), [], 'the pulled files were staged when the agent died');
    await push(b5);

    const rerun = await agentOnce(agentArgs(), agentEnv);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(rerun.results[0]!.action, 'imported');
    assert.equal(await aliasTarget(lxd.lxdDir, alias), b5.fingerprint);
    assert.equal((await imageOf(b5.fingerprint))?.properties['lxchunk.alias'], alias);
    assert.deepEqual(rerun.results[0]!.pruned, [b2.fingerprint]);
    assert.ok(await imageOf(b3.fingerprint));
    assert.equal(await imageOf(b4.fingerprint), undefined);
    assert.deepEqual(await stagedFiles(), []);
    // Kept a while in case LXD was still completing the upload when the agent died: it is then adopted.
    assert.deepEqual(await journal(), [`${b4.fingerprint}.json`]);

    // Once LXD cannot still be at it, the record goes too.
    const entryPath = join(cache(), 'imports', `${b4.fingerprint}.json`);
    const entry = JSON.parse(await readFile(entryPath, 'utf8')) as { startedAt: string };
    await writeFile(entryPath, JSON.stringify({ ...entry, startedAt: new Date(Date.now() - 2 * 3600 * 1000).toISOString() }));
    const later = await agentOnce(agentArgs(), agentEnv);
    assert.equal(later.results[0]?.action, 'unchanged', later.stderr);
    assert.match(later.stderr, /"msg":"dropped abandoned import"/);
    assert.deepEqual(await journal(), []);
  });

  it('an image whose metadata.yaml has a properties map is marked by the upload itself', async () => {
    const other = 'debian/with-properties';
    await push(withProperties, other);
    await agentKilledAt('imported', agentArgs(other), agentEnv);
    const imported = await imageOf(withProperties.fingerprint);
    assert.equal(imported?.properties['lxchunk.alias'], other, 'marked in the same step that created it');
    assert.equal(imported?.properties.os, 'debian');

    const rerun = await agentOnce(agentArgs(other), agentEnv);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(rerun.results[0]!.action, 'alias-updated');
    assert.equal(await aliasTarget(lxd.lxdDir, other), withProperties.fingerprint);
    assert.deepEqual(await stagedFiles(), []);
    assert.deepEqual(await journal(), []);
  });
});
