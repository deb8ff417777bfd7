import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './helpers/server-process.js';

describe('server: bounds on what requests and crashes can hold (real server process)', () => {
  it('removes every temp file a killed server left when it starts, however recent', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lxchunk-server-'));
    try {
      await mkdir(join(dataDir, 'tmp'), { recursive: true });
      // What a kill -9 mid-write leaves: a fresh, partial temp file.
      await writeFile(join(dataDir, 'tmp', `${'ab'.repeat(32)}.4242.0b6f.tmp`), 'partial');
      const server = await startServer(['--no-fsync'], dataDir);
      try {
        assert.deepEqual(await readdir(join(dataDir, 'tmp')), []);
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
