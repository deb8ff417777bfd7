import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadAgentConfig } from '@lxchunk/agent';
import { ChunkServerClient } from '@lxchunk/client';
import { startProxy, stopProxy } from './helpers/http-proxy.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk, type RunResult } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const run = promisify(execFile);

/** openssl's own view of a PEM certificate's SHA-256 (of its DER), as an independent check. */
async function opensslFingerprint(certPath: string): Promise<string> {
  const { stdout } = await run('sh', ['-c', `openssl x509 -in "$1" -outform DER | sha256sum`, 'sh', certPath]);
  return stdout.split(' ')[0]!;
}

/** GET /healthz over HTTPS, trusting exactly `ca`. */
function healthz(url: string, ca: Buffer): Promise<{ ok: boolean; tlsFingerprint?: string }> {
  return new Promise((resolve, reject) => {
    request(`${url}/healthz`, { ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (text: string) => (body += text));
      res.on('end', () => resolve(JSON.parse(body) as { ok: boolean; tlsFingerprint?: string }));
    })
      .on('error', reject)
      .end();
  });
}

function errorOf(result: RunResult): { code: string; message: string } {
  return (JSON.parse(result.stdout) as { error: { code: string; message: string } }).error;
}

/** `chunk serve` over HTTPS, and the clients' two ways to trust it: a CA bundle, or a pinned fingerprint. */
describe('TLS: chunk serve over HTTPS, clients by CA or pin', () => {
  let work: string;
  let server: ServerProcess;
  let image: LxdImageFiles;
  let token: string;
  let certPath: string;
  const env = () => ({ LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: token, LXCHUNK_CA: '', LXCHUNK_SERVER_FINGERPRINT: '' });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-tls-'));
    server = await startServer(['--no-fsync', '--tls-self-signed', '--tls-san', 'chunks.example.test']);
    certPath = join(server.dataDir, 'tls', 'server.crt');
    token = await server.token('push,admin');
    image = await buildLxdImage(join(work, 'v1'), { seed: 21, serial: '20260301' });
  });
  after(async () => {
    await server.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('serves https with a self-signed certificate in <data>/tls whose fingerprint chunk serve, the log and /healthz show', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const expected = await opensslFingerprint(certPath);
    assert.equal(server.tlsFingerprint, expected);
    assert.deepEqual(await healthz(server.url, await readFile(certPath)), { ok: true, tlsFingerprint: expected });
    await server.waitForStderr(new RegExp(`"tlsFingerprint":"${expected}".*"msg":"server listening"`));
    assert.equal((await stat(join(server.dataDir, 'tls', 'server.key'))).mode & 0o777, 0o600);
    const { stdout } = await run('openssl', ['x509', '-in', certPath, '-noout', '-ext', 'subjectAltName,extendedKeyUsage']);
    assert.match(stdout, /DNS:localhost/);
    assert.match(stdout, /DNS:chunks\.example\.test/);
    assert.match(stdout, /IP Address:127\.0\.0\.1/);
    assert.match(stdout, /IP Address:0:0:0:0:0:0:0:1/);
    assert.match(stdout, /TLS Web Server Authentication/);
  });

  it('push and pull succeed with --server-fingerprint (colons and upper case tolerated)', async () => {
    const pin = server.tlsFingerprint!.toUpperCase().replace(/(..)(?!$)/g, '$1:');
    const pushed = await runChunk(['push', '--no-content', '--alias', 'tls/one', '--server-fingerprint', pin, image.metadata, image.rootfs], { env: env() });
    assert.equal(pushed.code, 0, pushed.stderr);
    const pulled = await runChunk(['pull', 'tls/one', '--out', join(work, 'pinned'), '--server-fingerprint', server.tlsFingerprint!], { env: env() });
    assert.equal(pulled.code, 0, pulled.stderr);
  });

  it('a wrong fingerprint fails at once with TLS_UNTRUSTED naming both, without retries', async () => {
    const wrong = createHash('sha256').update('not the server').digest('hex');
    const started = Date.now();
    const pushed = await runChunk(['push', '--json', '--no-content', '--alias', 'tls/two', '--server-fingerprint', wrong, image.metadata, image.rootfs], { env: env() });
    const pulled = await runChunk(['pull', '--json', 'tls/one', '--out', join(work, 'wrong')], { env: { ...env(), LXCHUNK_SERVER_FINGERPRINT: wrong } });
    // A retried connection error would keep going for the default 60 s.
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
    for (const result of [pushed, pulled]) {
      assert.equal(result.code, 7, result.stderr);
      const error = errorOf(result);
      assert.equal(error.code, 'TLS_UNTRUSTED');
      assert.ok(error.message.includes(server.tlsFingerprint!) && error.message.includes(wrong), error.message);
      assert.doesNotMatch(error.message, /gave up after/);
    }
  });

  it('push and pull succeed with --ca (or LXCHUNK_CA) set to the certificate', async () => {
    const pushed = await runChunk(['push', '--no-content', '--alias', 'tls/three', '--ca', certPath, image.metadata, image.rootfs], { env: env() });
    assert.equal(pushed.code, 0, pushed.stderr);
    const pulled = await runChunk(['pull', 'tls/three', '--out', join(work, 'ca')], { env: { ...env(), LXCHUNK_CA: certPath } });
    assert.equal(pulled.code, 0, pulled.stderr);
  });

  it('without either, the system CAs do not vouch for it: TLS_UNTRUSTED with the fingerprint to pin', async () => {
    const result = await runChunk(['pull', '--json', 'tls/one', '--out', join(work, 'none')], { env: env() });
    assert.equal(result.code, 7, result.stderr);
    const error = errorOf(result);
    assert.equal(error.code, 'TLS_UNTRUSTED');
    assert.ok(error.message.includes(server.tlsFingerprint!), error.message);
  });

  it('through an HTTPS_PROXY tunnel, the pin and the CA are judged on the server\'s certificate', async () => {
    const proxy = await startProxy();
    try {
      const viaProxy = { ...env(), HTTPS_PROXY: proxy.url, https_proxy: proxy.url, NO_PROXY: '', no_proxy: '' };
      const pinned = await runChunk(['images', 'list', '--json', '--server-fingerprint', server.tlsFingerprint!], { env: viaProxy });
      assert.equal(pinned.code, 0, pinned.stderr);
      assert.ok(proxy.seen.includes(`CONNECT ${new URL(server.url).host}`), proxy.seen.join(', '));
      const byCa = await runChunk(['images', 'list', '--json', '--ca', certPath], { env: viaProxy });
      assert.equal(byCa.code, 0, byCa.stderr);
      const wrong = await runChunk(['images', 'list', '--json', '--server-fingerprint', 'cd'.repeat(32)], { env: viaProxy });
      assert.equal(errorOf(wrong).code, 'TLS_UNTRUSTED');
      const none = await runChunk(['images', 'list', '--json'], { env: viaProxy });
      assert.equal(errorOf(none).code, 'TLS_UNTRUSTED');
    } finally {
      await stopProxy(proxy);
    }
  });

  it('a restart keeps the certificate, so pins keep working', async () => {
    const before = server.tlsFingerprint;
    await server.stop();
    server = await startServer(['--no-fsync', '--tls-self-signed'], server.dataDir);
    assert.equal(server.tlsFingerprint, before);
    const listed = await runChunk(['images', 'list', '--json', '--server-fingerprint', before!], { env: env() });
    assert.equal(listed.code, 0, listed.stderr);
  });

  it('--tls-cert and --tls-key serve a certificate made elsewhere', async () => {
    const cert = join(work, 'own.crt');
    const key = join(work, 'own.key');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
    const own = await startServer(['--no-fsync', '--tls-cert', cert, '--tls-key', key]);
    try {
      assert.equal(own.tlsFingerprint, await opensslFingerprint(cert));
      const listed = await runChunk(['images', 'list', '--json', '--server', own.url, '--ca', cert], { env: { LXCHUNK_TOKEN: '', LXCHUNK_CA: '', LXCHUNK_SERVER_FINGERPRINT: '' } });
      assert.equal(listed.code, 0, listed.stderr);
    } finally {
      await own.destroy();
    }
    const mismatched = await runChunk(['serve', '--json', '--data', join(work, 'mismatch'), '--listen', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', join(server.dataDir, 'tls', 'server.key')]);
    assert.equal(mismatched.code, 2);
    assert.equal(errorOf(mismatched).code, 'INVALID_INPUT');
  });

  it('--tls-self-signed without --data is refused with INVALID_INPUT', async () => {
    const result = await runChunk(['serve', '--json', '--tls-self-signed', '--chunks', 's3://bucket', '--metadata', 'postgres://localhost/x', '--listen', '127.0.0.1:0']);
    assert.equal(result.code, 2, result.stderr);
    const error = errorOf(result);
    assert.equal(error.code, 'INVALID_INPUT');
    assert.match(error.message, /--tls-self-signed .* needs --data/);
  });

  it("the agent's ca: and serverFingerprint: reach its client, below flags and the environment", async () => {
    const configFile = join(work, 'agent.yaml');
    await writeFile(configFile, `server: ${server.url}\nfollow: [tls/one]\nca: ${certPath}\n`);
    const log = () => {};
    const byCa = await loadAgentConfig({ configFile }, {}, log);
    assert.deepEqual(byCa.tls, { ca: await readFile(certPath) });
    const client = new ChunkServerClient({ url: byCa.serverUrls, retryForMs: 0, ...(byCa.tls ? { tls: byCa.tls } : {}) });
    try {
      assert.equal(await client.health(), true);
    } finally {
      await client.close();
    }
    const wrong = 'ab'.repeat(32);
    const byEnv = await loadAgentConfig({ configFile }, { LXCHUNK_SERVER_FINGERPRINT: wrong }, log);
    assert.deepEqual(byEnv.tls, { fingerprint: wrong });
    await writeFile(configFile, `server: ${server.url}\nfollow: [tls/one]\nserverFingerprint: "${server.tlsFingerprint!.toUpperCase()}"\n`);
    assert.deepEqual((await loadAgentConfig({ configFile }, {}, log)).tls, { fingerprint: server.tlsFingerprint });
    const byFlag = await loadAgentConfig({ configFile, ca: certPath }, { LXCHUNK_SERVER_FINGERPRINT: wrong }, log);
    assert.deepEqual(byFlag.tls, { ca: await readFile(certPath) });
    const pinnedWrong = new ChunkServerClient({ url: byEnv.serverUrls, tls: byEnv.tls! });
    try {
      await assert.rejects(pinnedWrong.listImages(), (err: { code?: string }) => err.code === 'TLS_UNTRUSTED');
    } finally {
      await pinnedWrong.close();
    }
  });
});
