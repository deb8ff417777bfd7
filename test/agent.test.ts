import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { agentOnce as runAgentOnce, aliasTarget as aliasTargetOf, lxcImages as lxcImagesOf } from './helpers/agent-run.js';
import { chunkLikePush } from './helpers/chunk-like-push.js';
import { startLxdDaemon } from '@lxchunk/lxd/test-daemon';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { chunkBin, runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';
import { notPrivate } from './helpers/file-modes.js';

const run = promisify(execFile);

describe('chunk agent with a real LXD daemon and a real server', function () {
  this.timeout(300_000);
  let work: string;
  let server: ServerProcess;
  let lxd: Awaited<ReturnType<typeof startLxdDaemon>>;
  let pushEnv: NodeJS.ProcessEnv;
  let readToken: string;
  const images: LxdImageFiles[] = [];
  const alias = 'debian/bookworm';

  const lxcImages = () => lxcImagesOf(lxd.lxdDir);
  const aliasTarget = (name: string) => aliasTargetOf(lxd.lxdDir, name);
  const agentArgs = () => ['--server', server.url, '--follow', alias, '--cache', join(work, 'agent-cache'), '--lxd-socket', lxd.socketPath];
  const agentOnce = () => runAgentOnce(agentArgs(), { LXCHUNK_TOKEN: readToken });
  const push = async (image: LxdImageFiles) => {
    const result = await runChunk(['push', '--json', '--no-content', '--alias', alias, image.metadata, image.rootfs], { env: pushEnv });
    assert.equal(result.code, 0, result.stderr);
  };

  let umask: number;
  before(async () => {
    umask = process.umask(0o022); // the usual one, inherited by the agent
    work = await mkdtemp(join(tmpdir(), 'lxchunk-agent-'));
    lxd = await startLxdDaemon();
    server = await startServer(['--no-fsync']);
    pushEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') };
    readToken = await server.token('read');
    images.push(await buildLxdImage(join(work, 'v1'), { seed: 11, serial: '1' }));
    for (let i = 2; i <= 5; i++) images.push(await buildLxdImage(join(work, `v${i}`), { seed: 11, from: images[i - 2], serial: String(i) }));
  });
  after(async () => {
    process.umask(umask);
    await server?.destroy();
    await lxd?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('imports the first image and creates the LXD alias', async () => {
    await push(images[0]!);
    const result = await agentOnce();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.results[0]!.action, 'imported');
    assert.equal(result.results[0]!.fingerprint, images[0]!.fingerprint);
    assert.equal(await aliasTarget(alias), images[0]!.fingerprint);
    const imported = (await lxcImages()).find((image) => image.fingerprint === images[0]!.fingerprint)!;
    assert.equal(imported.properties['lxchunk.alias'], alias);
    assert.equal(imported.properties.os, 'debian');
    // Kept as the base the server compresses the next manifest against.
    await stat(join(work, 'agent-cache', 'manifests', `${images[0]!.fingerprint}.json`));
    assert.deepEqual(await notPrivate(join(work, 'agent-cache')), [], 'the cache, its state and staged pulls are private');
  });

  it('does nothing when nothing moved', async () => {
    const result = await agentOnce();
    assert.equal(result.results[0]!.action, 'unchanged');
    assert.equal(result.results[0]!.bytesFetched, 0);
  });

  it('imports the next build fetching only the chunks LXD does not already have', async () => {
    await push(images[1]!);
    // What interrupted pulls of images nobody wants any more left behind, and one still recent.
    const pulls = join(work, 'agent-cache', 'pulls');
    const stale = join(pulls, `.lxchunk-pull-${'a'.repeat(64)}`);
    const recent = join(pulls, `.lxchunk-pull-${'b'.repeat(64)}`);
    for (const dir of [stale, recent]) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'rootfs.partial'), 'left by a killed pull');
    }
    const twoDaysAgo = new Date(Date.now() - 48 * 3600 * 1000);
    await utimes(stale, twoDaysAgo, twoDaysAgo);
    const result = await agentOnce();
    assert.equal(result.code, 0, result.stderr);
    const synced = result.results[0]!;
    assert.equal(synced.action, 'imported');
    assert.equal(synced.fingerprint, images[1]!.fingerprint);
    const size = (await readFile(images[1]!.rootfs)).length;
    assert.ok(synced.bytesFetched < size / 2, `fetched ${synced.bytesFetched} of ${size}`);
    assert.match(result.stderr, new RegExp(`"manifestBase":"${images[0]!.fingerprint}"`), 'the manifest came compressed against the one of the image the alias pointed at');
    assert.ok(synced.bytesReused > size / 2, `reused ${synced.bytesReused}`);
    assert.equal(await aliasTarget(alias), images[1]!.fingerprint);
    assert.ok((await lxcImages()).some((image) => image.fingerprint === images[0]!.fingerprint), 'the previous image is kept as the next seed');
    assert.deepEqual(await readdir(pulls), [`.lxchunk-pull-${'b'.repeat(64)}`], 'the stale pull is gone, the recent one kept');
    await rm(recent, { recursive: true });
  });

  it('removes images it imported beyond the retention, never others', async () => {
    // An image the agent did not import: imported by hand, no alias.
    await run('lxc', ['image', 'import', images[4]!.metadata, images[4]!.rootfs], { env: { ...process.env, LXD_DIR: lxd.lxdDir } });
    await push(images[2]!);
    const result = await agentOnce();
    assert.equal(result.results[0]!.action, 'imported');
    assert.deepEqual(result.results[0]!.pruned, [images[0]!.fingerprint]);
    const present = new Set((await lxcImages()).map((image) => image.fingerprint));
    assert.ok(!present.has(images[0]!.fingerprint));
    assert.ok(present.has(images[1]!.fingerprint) && present.has(images[2]!.fingerprint));
    assert.ok(present.has(images[4]!.fingerprint), 'a hand-imported image is never touched');
  });

  it('after a crash between import and alias, only the alias is moved', async () => {
    await push(images[4]!); // LXD already holds v5 (imported by hand above)
    const result = await agentOnce();
    assert.equal(result.results[0]!.action, 'alias-updated');
    assert.equal(result.results[0]!.bytesFetched, 0);
    assert.equal(await aliasTarget(alias), images[4]!.fingerprint);
  });

  it('after a failed pull, nothing is half-imported, and the next run fetches only the rest', async () => {
    await push(images[3]!);
    const chunksDir = join(server.dataDir, 'chunks');
    const v4Only = new Set((await chunkLikePush(images[3]!.rootfs)).chunks.map((c) => c.id));
    for (const image of [images[1]!, images[2]!, images[4]!]) for (const c of (await chunkLikePush(image.rootfs)).chunks) v4Only.delete(c.id);
    const victim = [...v4Only][0]!;
    const file = join(chunksDir, victim.slice(0, 4), (await readdir(join(chunksDir, victim.slice(0, 4)))).find((n) => n.startsWith(victim))!);
    const saved = await readFile(file);
    await rm(file);
    const failed = await agentOnce();
    assert.equal(failed.code, 3, failed.stderr);
    assert.equal(failed.results[0]!.error!.code, 'CHUNK_NOT_FOUND');
    assert.ok(!(await lxcImages()).some((image) => image.fingerprint === images[3]!.fingerprint), 'no half-imported image');
    assert.equal(await aliasTarget(alias), images[4]!.fingerprint, 'the alias still names an existing image');
    await writeFile(file, saved);
    const resumed = await agentOnce();
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.results[0]!.action, 'imported');
    assert.ok(resumed.results[0]!.bytesFetched < 200_000, `resumed pull fetched ${resumed.results[0]!.bytesFetched}`);
    assert.equal(await aliasTarget(alias), images[3]!.fingerprint);
    const status = await runChunk(['agent', 'status', '--json', '--cache', join(work, 'agent-cache')]);
    assert.equal(JSON.parse(status.stdout).aliases[alias].fingerprint, images[3]!.fingerprint);
  });

  it('as a daemon, follows the change feed and stops cleanly on SIGTERM', async () => {
    const agent = spawn(chunkBin, ['agent', ...agentArgs(), '--poll-interval', '3600'], { env: { ...process.env, LXCHUNK_TOKEN: readToken }, stdio: ['ignore', 'ignore', 'pipe'] });
    let logs = '';
    agent.stderr.setEncoding('utf8').on('data', (text: string) => (logs += text));
    const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
    try {
      await waitFor(async () => (await aliasTarget(alias)) === images[3]!.fingerprint);
      await push(images[2]!); // moving the alias back to an image LXD holds
      await waitFor(async () => (await aliasTarget(alias)) === images[2]!.fingerprint, () => logs);
    } finally {
      agent.kill('SIGTERM');
    }
    assert.equal(await exited, 0, logs);
    assert.match(logs, /"msg":"agent stopped"/);
  });

  it('a missing LXD is a clear error: exit 9, LXD_UNAVAILABLE', async () => {
    const result = await runChunk(['agent', '--once', '--json', '--server', server.url, '--follow', alias, '--cache', join(work, 'c2'), '--lxd-socket', join(work, 'no.socket')], {
      env: { LXCHUNK_TOKEN: readToken },
    });
    assert.equal(result.code, 9, result.stderr);
    assert.match(result.stdout + result.stderr, /LXD_UNAVAILABLE/);
  });
});

async function waitFor(condition: () => Promise<boolean>, describe: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting\n${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
