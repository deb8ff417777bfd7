import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './helpers/run-chunk.js';

const run = promisify(execFile);

/** bin/install puts a working `chunk` where the systemd units in deploy/ run it from. */
describe('bin/install and the systemd units', function () {
  this.timeout(120_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-install-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('installs a chunk that runs without the checkout, and units that run that chunk', async () => {
    const prefix = join(dir, 'prefix');
    await run(join(repoRoot, 'bin/install'), ['--prefix', prefix, '--lib', join(dir, 'lib'), '--units', '--destdir', join(dir, 'root')]);
    // The units are staged under --destdir; the wrapper must work from --lib, so install it there for real too.
    await run(join(repoRoot, 'bin/install'), ['--prefix', prefix, '--lib', join(dir, 'lib')]);
    const help = await run(join(prefix, 'bin/chunk'), ['agent', 'status', '--help']);
    assert.match(help.stdout, /--config <file>/);
    for (const unit of ['lxchunk-agent.service', 'lxchunk-server.service']) {
      const text = await readFile(join(dir, 'root/etc/systemd/system', unit), 'utf8');
      assert.match(text, new RegExp(`^ExecStart=${join(prefix, 'bin/chunk')} `, 'm'), unit);
      assert.match(text, /^ProtectSystem=strict$/m, unit);
    }
    assert.match(await readFile(join(dir, 'root/etc/systemd/system/lxchunk-agent.service'), 'utf8'), /^ReadWritePaths=.*\/var\/snap\/lxd\/common\/lxd.*\/var\/lib\/lxd/m);
    await readFile(join(dir, 'root/etc/lxchunk/agent.yaml'), 'utf8');
  });
});
