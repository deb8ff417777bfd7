import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkServerClient } from '@lxchunk/client';
import { buildLxdImage } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

interface AliasJson {
  name: string;
  target: string;
  version: number;
}
interface ImageJson {
  fingerprint: string;
  aliases: string[];
  properties: Record<string, string>;
  architecture: string;
}

/** `chunk images` and `chunk aliases`: what the HTTP API already does, from the command line. */
describe('chunk images and chunk aliases (real server)', () => {
  let work: string;
  let server: ServerProcess;
  let env: NodeJS.ProcessEnv;
  let v1: string;
  let v2: string;
  const json = async <T>(args: string[]): Promise<T> => {
    const result = await runChunk([...args, '--json'], { env });
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-images-aliases-'));
    server = await startServer(['--no-fsync', '--gc-interval', '0']);
    env = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') };
    const a = await buildLxdImage(join(work, 'v1'), { seed: 17, serial: '20260101' });
    const b = await buildLxdImage(join(work, 'v2'), { seed: 17, from: a, serial: '20260102' });
    v1 = (await json<{ fingerprint: string }>(['push', '--no-content', '--alias', 'ia/stable', a.metadata, a.rootfs])).fingerprint;
    v2 = (await json<{ fingerprint: string }>(['push', '--no-content', '--alias', 'ia/stable', '--alias', 'ia/edge', b.metadata, b.rootfs])).fingerprint;
  });
  after(async () => {
    await server.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('images list filters by alias and property; images show takes a short fingerprint', async () => {
    const all = await json<{ images: ImageJson[] }>(['images', 'list']);
    assert.deepEqual(all.images.map((i) => i.fingerprint).sort(), [v1, v2].sort());
    const edge = await json<{ images: ImageJson[] }>(['images', 'list', '--alias', 'ia/edge']);
    assert.deepEqual(edge.images.map((i) => i.fingerprint), [v2]);
    const [key, value] = Object.entries(all.images.find((i) => i.fingerprint === v1)!.properties).find(([k]) => k === 'serial')!;
    const bySerial = await json<{ images: ImageJson[] }>(['images', 'list', '--property', `${key}=${value}`]);
    assert.deepEqual(bySerial.images.map((i) => i.fingerprint), [v1]);
    const shown = await json<ImageJson>(['images', 'show', v2.slice(0, 12)]);
    assert.equal(shown.fingerprint, v2);
    assert.deepEqual([...shown.aliases].sort(), ['ia/edge', 'ia/stable']);
    const human = await runChunk(['images', 'list'], { env });
    assert.match(human.stdout, new RegExp(`^${v1.slice(0, 12)} `, 'm'));
  });

  it('aliases list, show and history', async () => {
    const list = await json<{ aliases: AliasJson[] }>(['aliases', 'list']);
    assert.deepEqual(list.aliases.map((a) => a.name).sort(), ['ia/edge', 'ia/stable']);
    const stable = await json<AliasJson>(['aliases', 'show', 'ia/stable']);
    assert.equal(stable.target, v2);
    const history = await json<{ history: Array<{ target: string; version: number }> }>(['aliases', 'history', 'ia/stable']);
    assert.deepEqual(history.history.map((h) => h.target), [v2, v1]);
    const missing = await runChunk(['aliases', 'show', '--json', 'ia/none'], { env });
    assert.equal(missing.code, 3);
  });

  it('aliases rollback points the alias back at its previous target by compare-and-swap', async () => {
    const before = await json<AliasJson>(['aliases', 'show', 'ia/stable']);
    const rolled = await json<AliasJson & { previous: string }>(['aliases', 'rollback', 'ia/stable']);
    assert.equal(rolled.target, v1);
    assert.equal(rolled.previous, v2);
    assert.equal(rolled.version, before.version + 1);
    const forward = await json<AliasJson>(['aliases', 'rollback', 'ia/stable', '--to', v2.slice(0, 12)]);
    assert.equal(forward.target, v2);
  });

  it('aliases delete, with --if-version as a compare-and-swap', async () => {
    const edge = await json<AliasJson>(['aliases', 'show', 'ia/edge']);
    const stale = await runChunk(['aliases', 'delete', '--json', 'ia/edge', '--if-version', String(edge.version + 5)], { env });
    assert.equal(stale.code, 8, stale.stderr);
    assert.equal((JSON.parse(stale.stdout) as { error: { code: string } }).error.code, 'PRECONDITION_FAILED');
    await json(['aliases', 'delete', 'ia/edge', '--if-version', String(edge.version)]);
    const client = new ChunkServerClient({ url: server.url, token: env.LXCHUNK_TOKEN! });
    try {
      assert.equal(await client.getAlias('ia/edge'), undefined);
    } finally {
      await client.close();
    }
  });
});
