import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

/** One size parser, one duration parser, one unit style (IEC) in every output, and words that are true. */
describe('chunk: sizes, durations and units', () => {
  let work: string;
  let server: ServerProcess;
  let image: LxdImageFiles;
  let env: NodeJS.ProcessEnv;
  const IEC = /\d (B|KiB|MiB|GiB)\b/;
  const SI = /\d (kB|MB|GB)\b/;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-units-'));
    server = await startServer(['--no-fsync', '--gc-interval', '0']);
    env = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') };
    image = await buildLxdImage(join(work, 'v1'), { seed: 5, serial: '20260101' });
  });
  after(async () => {
    await server.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('inspect takes sizes as K, KiB, M or plain bytes', async () => {
    const result = await runChunk(['inspect', '--json', '--chunking', 'cdc', '--min', '16K', '--avg', '64KiB', '--max', '262144', image.rootfs]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((JSON.parse(result.stdout) as { params: unknown }).params, { min: 16384, avg: 65536, max: 262144 });
    const refused = await runChunk(['inspect', '--avg', '64Q', image.rootfs]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--avg.*64Q/);
  });

  it('agent --poll-interval takes a duration like every other duration option', async () => {
    for (const value of ['5m', '90s', '1500ms', '1h']) {
      const result = await runChunk(['agent', '--once', '--server', server.url, '--follow', 'x', '--poll-interval', value, '--lxd-socket', join(work, 'no-lxd.socket'), '--cache', join(work, 'agent')]);
      assert.doesNotMatch(result.stderr, /INVALID_INPUT|poll/i, `--poll-interval ${value}: ${result.stderr}`);
    }
    const refused = await runChunk(['agent', '--once', '--server', server.url, '--follow', 'x', '--poll-interval', '5 minutes']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--poll-interval.*ms, s, m, h or d/);
  });

  it('push and pull print IEC units, and pull says truthfully what it fetched', async () => {
    const pushed = await runChunk(['push', '--no-content', '--alias', 'units/one', image.metadata, image.rootfs], { env });
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stdout, /^uploaded \S+ (B|KiB|MiB) for a \S+ (KiB|MiB) image/m);
    assert.doesNotMatch(pushed.stdout, SI);

    const first = await runChunk(['pull', 'units/one', '--out', join(work, 'out1')], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^fetched \S+ (KiB|MiB) for a \S+ (KiB|MiB) image \(nothing reused\)/m);
    assert.doesNotMatch(first.stdout, /saved/);
    assert.doesNotMatch(first.stdout, SI);
    assert.match(first.stdout, IEC);

    const again = await runChunk(['pull', 'units/one', '--out', join(work, 'out2'), '--seed', image.rootfs], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^fetched \S+ (B|KiB|MiB) for a \S+ (KiB|MiB) image \(\S+ (B|KiB|MiB) reused from local copies\)/m);
  });

  it('gc names the chunks it kept for what they are, in IEC units', async () => {
    await server.stop();
    const result = await runChunk(['gc', '--data', server.dataDir, '--dry-run']);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /in progress/);
    assert.match(result.stdout, /kept \d+ chunk\(s\) referenced by images/);
    assert.doesNotMatch(result.stdout, /by uploads/);
    assert.match(result.stdout, /would delete .* \S+ (B|KiB|MiB) freed/);
    assert.doesNotMatch(result.stdout, SI);
  });
});
