import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLxdImage } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

interface GcJson {
  imagesDeleted: string[];
  chunksDeleted: number;
  dryRun: boolean;
}

/** `chunk gc --server URL` runs POST /v1/gc in the running server (admin). */
describe('chunk gc --server (online)', () => {
  let work: string;
  let server: ServerProcess;
  let env: NodeJS.ProcessEnv;
  let old: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-gc-online-'));
    server = await startServer(['--no-fsync', '--gc-interval', '0', '--retention', '1']);
    env = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('admin') };
    const v1 = await buildLxdImage(join(work, 'v1'), { seed: 13, serial: '20260101' });
    const v2 = await buildLxdImage(join(work, 'v2'), { seed: 13, from: v1, serial: '20260102' });
    const first = await runChunk(['push', '--json', '--no-content', '--alias', 'gc/one', v1.metadata, v1.rootfs], { env });
    assert.equal(first.code, 0, first.stderr);
    old = (JSON.parse(first.stdout) as { fingerprint: string }).fingerprint;
    const second = await runChunk(['push', '--no-content', '--alias', 'gc/one', v2.metadata, v2.rootfs], { env });
    assert.equal(second.code, 0, second.stderr);
  });
  after(async () => {
    await server.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('--dry-run reports without deleting; then gc deletes what retention drops', async () => {
    const dry = await runChunk(['gc', '--json', '--dry-run'], { env });
    assert.equal(dry.code, 0, dry.stderr);
    const dryReport = JSON.parse(dry.stdout) as GcJson;
    assert.deepEqual(dryReport.imagesDeleted, [old]);
    assert.equal(dryReport.dryRun, true);
    const listed = await runChunk(['images', 'list', '--json'], { env });
    assert.ok((JSON.parse(listed.stdout) as { images: Array<{ fingerprint: string }> }).images.some((i) => i.fingerprint === old), 'a dry run deletes nothing');

    const real = await runChunk(['gc'], { env });
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /^deleted 1 image\(s\) past retention, \d+ chunk\(s\), \S+ (B|KiB|MiB) freed$/m);
    const after = await runChunk(['images', 'list', '--json'], { env });
    assert.ok(!(JSON.parse(after.stdout) as { images: Array<{ fingerprint: string }> }).images.some((i) => i.fingerprint === old));
  });

  it('needs an admin token: a push token gets FORBIDDEN, exit 7; --data and --server together are refused', async () => {
    const push = await runChunk(['gc', '--json'], { env: { ...env, LXCHUNK_TOKEN: await server.token('push') } });
    assert.equal(push.code, 7);
    assert.equal((JSON.parse(push.stdout) as { error: { code: string } }).error.code, 'FORBIDDEN');
    const both = await runChunk(['gc', '--data', server.dataDir, '--server', server.url]);
    assert.equal(both.code, 2);
  });
});
