import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { decodeChunk, decodeManifest, manifestChunkIds } from '@lxchunk/format';
import type { PushJson } from './helpers/cli-json.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { repoRoot, runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** deploy/nginx-cache-front.conf with only its marked values changed: cache dir, upstream, listen address. */
async function deployedConfig(cacheDir: string, upstream: string, listen: string): Promise<string> {
  let text = await readFile(join(repoRoot, 'deploy/nginx-cache-front.conf'), 'utf8');
  for (const [from, to] of [
    ['/var/cache/nginx/lxchunk', cacheDir],
    ['server 127.0.0.1:8080', `server ${upstream}`],
    ['listen 80;', `listen ${listen};`],
  ] as const) {
    assert.ok(text.includes(from), `deploy/nginx-cache-front.conf no longer has ${from}`);
    text = text.replace(from, to);
  }
  return text;
}

/** The documented nginx cache front (deploy/), as shipped, in front of a real server. */
describe('deploy/nginx-cache-front.conf in front of a real server (real nginx)', function () {
  let work: string;
  let server: ServerProcess;
  let nginx: ChildProcess;
  let front: string;
  let readToken: string;
  let publicImage: LxdImageFiles;
  let privateImage: LxdImageFiles;

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${front}${path}`, { headers });
  const chunksOf = async (fingerprint: string) => {
    const answer = await get(`/v1/images/${fingerprint}`, { authorization: `Bearer ${readToken}` });
    return manifestChunkIds(decodeManifest(new Uint8Array(await answer.arrayBuffer())));
  };

  before(async function () {
    this.timeout(300_000);
    work = await mkdtemp(join(tmpdir(), 'lxchunk-nginx-front-'));
    server = await startServer(['--no-fsync']);
    readToken = await server.token('read');
    const port = await freePort();
    front = `http://127.0.0.1:${port}`;
    const prefix = join(work, 'nginx');
    await mkdir(join(prefix, 'temp'), { recursive: true });
    const site = await deployedConfig(join(prefix, 'cache'), new URL(server.url).host, `127.0.0.1:${port}`);
    // As root, workers would run as "nobody", who cannot write the private cache directory.
    const user = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : '';
    await writeFile(join(prefix, 'site.conf'), site);
    await writeFile(
      join(prefix, 'nginx.conf'),
      `${user}daemon off;\nworker_processes 1;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/error.log warn;\nevents { worker_connections 256; }\n` +
        `http {\n  access_log off;\n  client_body_temp_path ${prefix}/temp/body;\n  proxy_temp_path ${prefix}/temp/proxy;\n` +
        `  fastcgi_temp_path ${prefix}/temp/fastcgi;\n  uwsgi_temp_path ${prefix}/temp/uwsgi;\n  scgi_temp_path ${prefix}/temp/scgi;\n  include ${prefix}/site.conf;\n}\n`,
    );
    nginx = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      try {
        await fetch(`${front}/healthz`);
        break;
      } catch (err) {
        if (i > 100 || nginx.exitCode !== null) throw new Error(`nginx did not start: ${await readFile(join(prefix, 'error.log'), 'utf8').catch(() => '')}`, { cause: err });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    // Pushed through the front: uploads and manifests pass through it unbuffered.
    const pushToken = await server.token('push');
    const push = async (image: LxdImageFiles, ...extra: string[]) => {
      const result = await runChunk(['push', '--json', '--no-content', ...extra, image.metadata, image.rootfs], { env: { LXCHUNK_SERVER: front, LXCHUNK_TOKEN: pushToken } });
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as PushJson;
    };
    publicImage = await buildLxdImage(join(work, 'public'), { seed: 81, serial: '20261203', files: 100 });
    privateImage = await buildLxdImage(join(work, 'private'), { seed: 82, serial: '20261203', files: 100 });
    await push(publicImage, '--public');
    await push(privateImage);
  });
  after(async function () {
    nginx?.kill('SIGQUIT');
    if (nginx && nginx.exitCode === null) await new Promise((resolve) => nginx.once('exit', resolve));
    await server?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('keeps one copy of a public chunk for every caller: the second read is a cache hit, the bytes the chunk', async () => {
    const [id] = await chunksOf(publicImage.fingerprint);
    const first = await get(`/v1/chunks/${id}`, { 'accept-encoding': 'zstd' });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-cache-status'), 'MISS');
    await first.arrayBuffer();
    // Another caller, with a token this time: the same cached copy.
    const second = await get(`/v1/chunks/${id}`, { 'accept-encoding': 'zstd', authorization: `Bearer ${readToken}` });
    assert.equal(second.headers.get('x-cache-status'), 'HIT');
    const encoding = (second.headers.get('content-encoding') ?? 'identity') as 'zstd' | 'identity';
    assert.ok(decodeChunk(id!, encoding, new Uint8Array(await second.arrayBuffer())).length > 0, 'verifies against its id');
  });

  it('never stores a private chunk, nor an error: every read reaches the server and its access check', async () => {
    const publicChunks = new Set(await chunksOf(publicImage.fingerprint));
    const id = (await chunksOf(privateImage.fingerprint)).find((chunk) => !publicChunks.has(chunk))!;
    for (let i = 0; i < 2; i++) {
      const anonymous = await get(`/v1/chunks/${id}`);
      assert.equal(anonymous.status, 404);
      assert.notEqual(anonymous.headers.get('x-cache-status'), 'HIT');
      await anonymous.arrayBuffer();
      const reader = await get(`/v1/chunks/${id}`, { authorization: `Bearer ${readToken}` });
      assert.equal(reader.status, 200);
      assert.notEqual(reader.headers.get('x-cache-status'), 'HIT', 'a private chunk is not kept');
      await reader.arrayBuffer();
    }
    // The anonymous 404 was not kept either: after it, the token's read got the chunk.
  });

  it('a pull through the front is byte-exact (batched fetches pass through)', async () => {
    const out = join(work, 'pull');
    const result = await runChunk(['pull', '--json', publicImage.fingerprint, '--out', out], { env: { LXCHUNK_SERVER: front } });
    assert.equal(result.code, 0, result.stderr);
    assert.ok((await readFile(join(out, `${publicImage.fingerprint}.rootfs`))).equals(await readFile(publicImage.rootfs)));
  });
});
