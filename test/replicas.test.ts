import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLxdDaemon, type LxdTestDaemon } from '@lxchunk/lxd/test-daemon';
import { freshDatabaseUrl, startPrivatePostgres, type PrivatePostgres } from '@lxchunk/server/testing';
import { createTestBucket, startMotoServer, type MotoServer, type TestBucket } from '@lxchunk/store/testing';
import { aliasTarget, startAgentProcess } from './helpers/agent-run.js';
import type { PullJson, PushJson } from './helpers/cli-json.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

/**
 * Two `chunk serve` replicas over one S3 bucket (moto_server) and one PostgreSQL database (a
 * private cluster) are one server: what goes in through one comes out of the other, the change
 * feed and alias compare-and-swap span both, a replica killed mid-pull costs the pull nothing,
 * and GC on one while pushing through the other loses nothing.
 */
describe('server replicas on S3 and PostgreSQL (real processes, moto_server, a private PostgreSQL, a real LXD)', function () {
  let work: string;
  let moto: MotoServer;
  let bucket: TestBucket;
  let postgres: PrivatePostgres;
  let storageArgs: string[];
  let a: ServerProcess;
  let b: ServerProcess;
  let pushToken: string;
  let readToken: string;
  let adminToken: string;
  let v1: LxdImageFiles;
  let v2: LxdImageFiles;

  const replica = (name: string, env: NodeJS.ProcessEnv = {}) => startServer(['--no-fsync', ...storageArgs], join(work, name), { env: { ...moto.env, ...env } });
  const push = async (server: string, image: LxdImageFiles, ...extra: string[]) => {
    const result = await runChunk(['push', '--json', '--no-content', ...extra, image.metadata, image.rootfs], { env: { LXCHUNK_SERVER: server, LXCHUNK_TOKEN: pushToken } });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as PushJson;
  };
  const pull = async (servers: string, ref: string, out: string) => {
    const result = await runChunk(['pull', '--json', ref, '--out', out], { env: { LXCHUNK_SERVER: servers, LXCHUNK_TOKEN: readToken } });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as PullJson;
  };
  const sameBytes = async (a: string, b: string) => assert.ok((await readFile(a)).equals(await readFile(b)), `${a} differs from ${b}`);

  before(async function () {
    this.timeout(300_000);
    work = await mkdtemp(join(tmpdir(), 'lxchunk-replicas-'));
    [moto, postgres] = await Promise.all([startMotoServer(), startPrivatePostgres()]);
    bucket = await createTestBucket(moto.endpoint);
    storageArgs = ['--chunks', `s3://${bucket.bucket}/lxchunk`, '--metadata', await freshDatabaseUrl(postgres.url)];
    [a, b] = await Promise.all([replica('a'), replica('b')]);
    pushToken = await a.token('push');
    readToken = await b.token('read');
    adminToken = await a.token('admin');
    v1 = await buildLxdImage(join(work, 'v1'), { seed: 31, serial: '20261201', files: 200 });
    v2 = await buildLxdImage(join(work, 'v2'), { seed: 31, from: v1, serial: '20261202', change: 20 });
  });
  after(async function () {
    this.timeout(120_000);
    await Promise.all([a?.destroy(), b?.destroy()]);
    await bucket?.remove().catch(() => undefined);
    await Promise.all([moto?.stop(), postgres?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('an image pushed through one replica is pulled byte-exact through the other', async () => {
    const pushed = await push(a.url, v1, '--alias', 'replicas/bookworm');
    assert.equal(pushed.fingerprint, v1.fingerprint);
    assert.ok(pushed.chunksUploaded > 0);
    const pulled = await pull(b.url, 'replicas/bookworm', join(work, 'pull-b'));
    assert.equal(pulled.fingerprint, v1.fingerprint);
    await sameBytes(join(work, 'pull-b', `${v1.fingerprint}.rootfs`), v1.rootfs);
    await sameBytes(join(work, 'pull-b', v1.fingerprint), v1.metadata);
  });

  it('a long-poll on one replica wakes when the alias moves through the other (LISTEN/NOTIFY)', async () => {
    const client = { headers: { authorization: `Bearer ${readToken}` } };
    const { seq } = (await (await fetch(`${b.url}/v1/changes`, client)).json()) as { seq: number };
    const started = performance.now();
    const waiting = fetch(`${b.url}/v1/changes?since=${seq}&wait=60`, client).then((r) => r.json() as Promise<{ changes: Array<{ alias: string; target: string }> }>);
    await push(a.url, v2, '--alias', 'replicas/bookworm');
    const answer = await waiting;
    assert.deepEqual(answer.changes.map((c) => [c.alias, c.target]), [['replicas/bookworm', v2.fingerprint]]);
    assert.ok(performance.now() - started < 30_000, 'woken by the change, not by the 60 s wait');
  });

  it('alias compare-and-swap holds across replicas: of two moves from one version, exactly one wins', async () => {
    const read = { headers: { authorization: `Bearer ${readToken}` } };
    const current = (await (await fetch(`${a.url}/v1/aliases/replicas/bookworm`, read)).json()) as { version: number };
    assert.ok(current.version >= 2);
    const move = (server: ServerProcess, target: string) =>
      fetch(`${server.url}/v1/aliases/replicas/bookworm`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${pushToken}`, 'content-type': 'application/json', 'if-match': `"${current.version}"` },
        body: JSON.stringify({ target }),
      });
    const answers = await Promise.all([move(a, v1.fingerprint), move(b, v1.fingerprint), move(a, v1.fingerprint), move(b, v1.fingerprint)]);
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 412, 412, 412]);
    const after = (await (await fetch(`${b.url}/v1/aliases/replicas/bookworm`, read)).json()) as { version: number };
    assert.equal(after.version, current.version + 1);
  });

  it('a replica killed mid-pull costs the pull nothing: it finishes through the other', async () => {
    // A third replica that SIGKILLs itself after sending 10 chunks of a batched fetch.
    const doomed = await replica('doomed', { LXCHUNK_CRASH_AT: 'serve.fetch:10' });
    try {
      const pulled = await pull(`${doomed.url},${b.url}`, v2.fingerprint, join(work, 'pull-failover'));
      assert.equal(pulled.fingerprint, v2.fingerprint);
      await sameBytes(join(work, 'pull-failover', `${v2.fingerprint}.rootfs`), v2.rootfs);
      assert.equal(await doomed.stop(), null, 'the first replica was killed, not stopped');
      assert.equal(doomed.child.signalCode, 'SIGKILL');
    } finally {
      await doomed.destroy();
    }
  });

  it('GC on one replica while pushing through the other loses nothing', async function () {
    this.timeout(600_000);
    // Images that exist only as leased chunks while GC sweeps: the race GC's claims must win.
    const images = await Promise.all([1, 2].map((n) => buildLxdImage(join(work, `gc-${n}`), { seed: 100 + n, serial: `2026120${n}`, files: 100 })));
    let pushing = true;
    const gcs = (async () => {
      let passes = 0;
      while (pushing || passes < 2) {
        const gc = await runChunk(['gc', '--json', '--server', a.url, '--token', adminToken]);
        assert.equal(gc.code, 0, gc.stderr);
        passes++;
      }
      return passes;
    })();
    try {
      for (const [n, image] of images.entries()) await push(b.url, image, '--alias', `replicas/gc-${n}`);
    } finally {
      pushing = false;
    }
    assert.ok((await gcs) >= 2);
    for (const [n, image] of images.entries()) {
      const out = join(work, `gc-pull-${n}`);
      await pull(`${a.url},${b.url}`, `replicas/gc-${n}`, out);
      await sameBytes(join(out, `${image.fingerprint}.rootfs`), image.rootfs);
    }
    const verify = await runChunk(['verify', '--json', ...storageArgs], { env: moto.env });
    assert.equal(verify.code, 0, verify.stderr);
    const report = JSON.parse(verify.stdout) as { corrupt: number; chunks: number };
    assert.equal(report.corrupt, 0);
    assert.ok(report.chunks > 0);
  });

  describe('the agent following one replica', () => {
    let lxd: LxdTestDaemon;
    before(async function () {
      this.timeout(120_000);
      lxd = await startLxdDaemon();
    });
    after(async () => lxd?.stop());

    it('sees the alias move through the other and imports into the real LXD', async function () {
      this.timeout(300_000);
      await push(a.url, v1, '--alias', 'replicas/agent');
      const agent = startAgentProcess(
        ['agent', '--server', `${b.url},${a.url}`, '--follow', 'replicas/agent', '--cache', join(work, 'agent-cache'), '--lxd-socket', lxd.socketPath, '--poll-interval', '3600'],
        { LXCHUNK_TOKEN: readToken },
      );
      try {
        await agent.logged('"msg":"alias synced","alias":"replicas/agent"');
        assert.equal(await aliasTarget(lxd.lxdDir, 'replicas/agent'), v1.fingerprint);
        // Through the other replica; the poll interval is an hour, so only the change feed can tell the agent.
        await push(a.url, v2, '--alias', 'replicas/agent');
        await agent.logged(`"msg":"alias synced","alias":"replicas/agent","fingerprint":"${v2.fingerprint}"`);
        assert.equal(await aliasTarget(lxd.lxdDir, 'replicas/agent'), v2.fingerprint);
      } finally {
        agent.child.kill('SIGTERM');
        await agent.exited;
      }
    });
  });
});
