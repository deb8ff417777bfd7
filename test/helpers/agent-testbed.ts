import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLxdDaemon, type LxdTestDaemon } from '@lxchunk/lxd/test-daemon';
import type { LxdImageFiles } from './lxd-image.js';
import { runChunk } from './run-chunk.js';
import { startServer, type ServerProcess } from './server-process.js';

/** What an agent test runs against: a work directory, a private real LXD and a real server. */
export interface AgentTestbed {
  readonly work: string;
  readonly lxd: LxdTestDaemon;
  readonly server: ServerProcess;
  /** Environment giving the agent a read token. */
  readonly agentEnv: NodeJS.ProcessEnv;
  /**
   * `chunk push --alias ALIAS` of the image, asserted to succeed; compressed chunks only unless
   * `content` (re-encoding every block costs seconds a test about something else need not spend).
   */
  push(image: LxdImageFiles, alias: string, options?: { content?: boolean }): Promise<void>;
}

/** Registers the mocha hooks that start the testbed before the suite and remove it after. */
export function useAgentTestbed(prefix: string): AgentTestbed {
  let state: { work: string; lxd: LxdTestDaemon; server: ServerProcess; agentEnv: NodeJS.ProcessEnv; pushEnv: NodeJS.ProcessEnv } | undefined;
  const get = () => state ?? assert.fail('the agent testbed is used before its before() hook ran');
  before(async () => {
    const work = await mkdtemp(join(tmpdir(), `lxchunk-${prefix}-`));
    const lxd = await startLxdDaemon();
    const server = await startServer(['--no-fsync']);
    state = {
      work,
      lxd,
      server,
      agentEnv: { LXCHUNK_TOKEN: await server.token('read') },
      pushEnv: { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') },
    };
  });
  after(async () => {
    await state?.server.destroy();
    await state?.lxd.stop();
    if (state) await rm(state.work, { recursive: true, force: true });
  });
  return {
    get work() { return get().work; },
    get lxd() { return get().lxd; },
    get server() { return get().server; },
    get agentEnv() { return get().agentEnv; },
    async push(image, alias, options) {
      const content = options?.content ? [] : ['--no-content'];
      const pushed = await runChunk(['push', '--json', ...content, '--alias', alias, image.metadata, image.rootfs], { env: get().pushEnv });
      assert.equal(pushed.code, 0, pushed.stderr);
    },
  };
}
