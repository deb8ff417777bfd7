import assert from 'node:assert/strict';
import { chunkId } from '@lxchunk/chunker';
import { http } from './helpers/http.js';
import { seeded } from './helpers/image-fixture.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer } from './helpers/server-process.js';

describe('chunk gc: leased chunks are reported as what they are (real data dir)', () => {
  it('no upload runs: leases are named as chunks of pushes not yet committed, with their end', async () => {
    const server = await startServer(['--no-fsync']);
    try {
      const push = await server.token('push');
      const bytes = seeded(4000, 81);
      assert.equal((await http(server.url, 'PUT', `/v1/chunks/${chunkId(bytes)}`, { token: push, body: bytes })).status, 201);
      await server.stop();

      const report = await runChunk(['gc', '--data', server.dataDir, '--dry-run']);
      assert.equal(report.code, 0, report.stderr);
      assert.doesNotMatch(report.stdout, /uploads in progress/);
      assert.match(report.stdout, /leased: 1 chunk\(s\) announced or uploaded by pushes not yet committed, leases end by \d{4}-\d\d-\d\dT/);
      const json = await runChunk(['gc', '--data', server.dataDir, '--dry-run', '--json']);
      const parsed = JSON.parse(json.stdout) as { leased: number; leasesEndBy: string | null };
      assert.equal(parsed.leased, 1);
      assert.ok(Date.parse(parsed.leasesEndBy!) > Date.now() + 3600_000, 'the lease ends a day after the upload by default');
    } finally {
      await server.destroy();
    }
  });
});
