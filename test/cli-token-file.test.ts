import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

/** A token kept out of argv: `--token-file PATH`, `--token-file -` (stdin) or LXCHUNK_TOKEN_FILE. */
describe('chunk: the token from a file or stdin', () => {
  let work: string;
  let server: ServerProcess;
  let image: LxdImageFiles;
  let tokenFile: string;
  const noToken = () => ({ LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: '', LXCHUNK_TOKEN_FILE: '' });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-tokenfile-'));
    server = await startServer(['--no-fsync', '--no-anonymous']);
    tokenFile = join(work, 'push.token');
    await writeFile(tokenFile, `${await server.token('push,admin')}\n`);
    image = await buildLxdImage(join(work, 'v1'), { seed: 11, serial: '20260101' });
  });
  after(async () => {
    await server.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('push takes --token-file PATH', async () => {
    const result = await runChunk(['push', '--no-content', '--token-file', tokenFile, '--alias', 'tf/one', image.metadata, image.rootfs], { env: noToken() });
    assert.equal(result.code, 0, result.stderr);
  });

  it('pull takes --token-file - (stdin), images and aliases take LXCHUNK_TOKEN_FILE', async () => {
    const alias = await runChunk(['aliases', 'show', '--json', 'tf/one'], { env: { ...noToken(), LXCHUNK_TOKEN_FILE: tokenFile } });
    assert.equal(alias.code, 0, alias.stderr);
    assert.equal((JSON.parse(alias.stdout) as { name: string }).name, 'tf/one');
    const images = await runChunk(['images', 'list', '--json'], { env: { ...noToken(), LXCHUNK_TOKEN_FILE: tokenFile } });
    assert.equal(images.code, 0, images.stderr);
    const pulled = await runChunk(['pull', 'tf/one', '--out', join(work, 'out'), '--token-file', '-'], { env: noToken(), input: await readFile(tokenFile, 'utf8') });
    assert.equal(pulled.code, 0, pulled.stderr);
  });

  it('verify and gc (online) take --token-file; without any token the server refuses', async () => {
    const verify = await runChunk(['verify', '--json', '--server', server.url, '--token-file', tokenFile], { env: noToken() });
    assert.equal(verify.code, 0, verify.stderr);
    const refused = await runChunk(['gc', '--json', '--dry-run', '--server', server.url], { env: noToken() });
    assert.equal(refused.code, 7, refused.stderr);
  });

  it('a missing token file names the option; --token and --token-file together are refused', async () => {
    const missing = join(work, 'absent.token');
    const result = await runChunk(['images', 'list', '--json', '--token-file', missing], { env: noToken() });
    assert.equal(result.code, 3);
    assert.equal((JSON.parse(result.stdout) as { error: { message: string } }).error.message, `--token-file ${missing}: no such file`);
    const fromEnv = await runChunk(['pull', '--json', 'tf/one', '--out', join(work, 'x')], { env: { ...noToken(), LXCHUNK_TOKEN_FILE: missing } });
    assert.equal((JSON.parse(fromEnv.stdout) as { error: { message: string } }).error.message, `LXCHUNK_TOKEN_FILE ${missing}: no such file`);
    const both = await runChunk(['images', 'list', '--token', 'x', '--token-file', tokenFile], { env: noToken() });
    assert.equal(both.code, 2);
  });
});
