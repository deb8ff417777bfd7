import assert from 'node:assert/strict';
import { join } from 'node:path';
import { aliasTarget, startAgentProcess } from './helpers/agent-run.js';
import { useAgentTestbed } from './helpers/agent-testbed.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';

/** Two agents on one cache directory would import the same image into the same LXD at once. */
describe('chunk agent instance lock on the cache directory (real LXD, real server)', function () {
  this.timeout(300_000);
  const bed = useAgentTestbed('agent-lock');
  let image: LxdImageFiles;
  const alias = 'debian/locked';

  const args = () => ['--server', bed.server.url, '--follow', alias, '--cache', join(bed.work, 'cache'), '--lxd-socket', bed.lxd.socketPath];

  before(async () => {
    image = await buildLxdImage(join(bed.work, 'v1'), { seed: 51, serial: '1' });
    await bed.push(image, alias);
  });

  it('a second --once waits for the first, and the lock goes when its holder is killed', async () => {
    // The first stops between pull and import, holding the lock, until killed.
    const first = startAgentProcess(['agent', '--once', '--json', ...args()], { ...bed.agentEnv, LXCHUNK_TEST_PAUSE_AT: 'pulled' });
    await first.logged('"msg":"paused for test"');
    const second = startAgentProcess(['agent', '--once', '--json', ...args()], bed.agentEnv);
    try {
      await second.logged('"msg":"waiting for another agent on the cache directory"');
    } finally {
      first.child.kill('SIGKILL');
    }
    await first.exited;
    const { code, stdout } = await second.exited;
    assert.equal(code, 0, second.logs());
    const [result] = (JSON.parse(stdout) as { results: Array<{ action: string; fingerprint: string }> }).results;
    assert.equal(result!.action, 'imported');
    assert.equal(await aliasTarget(bed.lxd.lxdDir, alias), image.fingerprint);
  });

  it('while a daemon holds the cache directory, --once and a second daemon are refused with AGENT_LOCKED (exit 8)', async () => {
    const daemon = startAgentProcess(['agent', ...args(), '--poll-interval', '3600'], bed.agentEnv);
    try {
      await daemon.logged('"msg":"agent started"');
      for (const extra of [['--once'], []]) {
        const refused = await runChunk(['agent', ...extra, '--json', ...args()], { env: bed.agentEnv });
        assert.equal(refused.code, 8, refused.stderr);
        const error = (JSON.parse(refused.stdout) as { error: { code: string; message: string } }).error;
        assert.equal(error.code, 'AGENT_LOCKED');
        assert.match(error.message, new RegExp(`\\(daemon, pid ${daemon.child.pid}\\)`), 'names the holder');
      }
    } finally {
      daemon.child.kill('SIGTERM');
    }
    assert.equal((await daemon.exited).code, 0, daemon.logs());
  });
});
