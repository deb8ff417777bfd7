import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAgentProcess, type AgentProcess } from './helpers/agent-run.js';
import { useAgentTestbed } from './helpers/agent-testbed.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';

/** What an operator meets first: the --once summary, `agent status --config`, and /healthz. */
describe('chunk agent for an operator (real LXD, real server)', function () {
  this.timeout(300_000);
  const bed = useAgentTestbed('agent-ops');
  let image: LxdImageFiles;
  const alias = 'debian/ops';
  const missing = 'debian/not-yet';

  /** Waits for the daemon to say where it serves /metrics and /healthz. */
  const healthzOf = async (agent: AgentProcess) => {
    await agent.logged('"msg":"metrics listening"');
    const url = /"msg":"metrics listening","url":"([^"]+)"/.exec(agent.logs())![1]!;
    const response = await fetch(`${url}/healthz`);
    return { status: response.status, body: (await response.json()) as HealthBody };
  };

  before(async () => {
    image = await buildLxdImage(join(bed.work, 'v1'), { seed: 61, serial: '1' });
    await bed.push(image, alias);
  });

  it('--once without --json prints one readable line per alias', async () => {
    const result = await runChunk(['agent', '--once', '--server', bed.server.url, '--follow', alias, '--cache', join(bed.work, 'cache'), '--lxd-socket', bed.lxd.socketPath], {
      env: bed.agentEnv,
    });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stdout);
    assert.match(lines[0]!, new RegExp(`^${alias}: imported ${image.fingerprint.slice(0, 12)} \\(fetched [^,]+, reused [^)]+\\)$`));
  });

  it('agent status --config reads the cache directory from the agent config file', async () => {
    const config = join(bed.work, 'agent.yaml');
    await writeFile(config, `server: ${bed.server.url}\nfollow: [${alias}]\ncacheDir: ${join(bed.work, 'cache')}\n`);
    const status = await runChunk(['agent', 'status', '--config', config, '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).aliases[alias].fingerprint, image.fingerprint);
  });

  it('/healthz is 503 while an alias fails its sync, and 200 once every alias synced', async () => {
    const agent = startAgentProcess(
      ['agent', '--server', bed.server.url, '--follow', alias, '--follow', missing, '--cache', join(bed.work, 'cache'), '--lxd-socket', bed.lxd.socketPath, '--metrics-listen', '127.0.0.1:0', '--poll-interval', '3600'],
      bed.agentEnv,
    );
    try {
      // Aliases sync in order: when the second has failed, the first has synced.
      await agent.logged(`"msg":"alias sync failed, will retry","alias":"${missing}"`);
      const failing = await healthzOf(agent);
      assert.equal(failing.status, 503);
      assert.equal(failing.body.healthy, false);
      assert.equal(failing.body.lxd.reachable, true);
      assert.equal(failing.body.aliases[alias]!.fingerprint, image.fingerprint);
      assert.equal(failing.body.aliases[missing]!.lastError!.code, 'ALIAS_NOT_FOUND');

      await bed.push(image, missing);
      await agent.logged(`"msg":"alias synced","alias":"${missing}"`);
      const healthy = await healthzOf(agent);
      assert.equal(healthy.status, 200, JSON.stringify(healthy.body));
      assert.equal(healthy.body.healthy, true);
      assert.equal(healthy.body.aliases[missing]!.fingerprint, image.fingerprint);
    } finally {
      agent.child.kill('SIGTERM');
    }
    assert.equal((await agent.exited).code, 0, agent.logs());
  });

  it('/healthz is 503 when LXD does not answer', async () => {
    const agent = startAgentProcess(
      ['agent', '--server', bed.server.url, '--follow', alias, '--cache', join(bed.work, 'cache-2'), '--lxd-socket', join(bed.work, 'no.socket'), '--metrics-listen', '127.0.0.1:0'],
      bed.agentEnv,
    );
    try {
      await agent.logged('"msg":"sync loop failed, retrying with backoff","code":"LXD_UNAVAILABLE"');
      const { status, body } = await healthzOf(agent);
      assert.equal(status, 503);
      assert.equal(body.lxd.reachable, false);
      assert.equal(body.lxd.error!.code, 'LXD_UNAVAILABLE');
      assert.equal(body.aliases[alias]!.lastError!.code, 'LXD_UNAVAILABLE');
    } finally {
      agent.child.kill('SIGTERM');
    }
    assert.equal((await agent.exited).code, 0, agent.logs());
  });
});

interface HealthBody {
  healthy: boolean;
  lxd: { reachable: boolean; error?: { code: string } };
  aliases: Record<string, { fingerprint?: string; lastError?: { code: string } }>;
}
