import { Command, Option } from 'commander';
import { REBUILD_PREFERENCES, type RebuildPreference } from '@lxchunk/sync';
import { AGENT_DEFAULTS, agentCacheDir, loadAgentConfig, readStatus, startAgent, syncOnce } from '@lxchunk/agent';
import { NotFoundError } from '@lxchunk/errors';
import { agentLogger, summaryLine } from '../agent-output.js';
import type { CommandContext } from '../command-context.js';
import { exitCodeFor } from '../exit-codes.js';
import { readToken } from '../token-source.js';
import { CA_HELP, FINGERPRINT_HELP } from '../server-options.js';
import { duration, listenAddress, parsedOption, repeatable, wholeNumber } from '../options.js';

interface AgentOptions {
  server?: string;
  token?: string;
  tokenFile?: string;
  ca?: string;
  serverFingerprint?: string;
  follow: string[];
  cache?: string;
  lxdSocket?: string;
  config?: string;
  keep?: number;
  /** Milliseconds. */
  pollInterval?: number;
  retryFor?: number;
  prefer?: RebuildPreference;
  deltas: boolean;
  metricsListen?: { host: string; port: number };
  once?: boolean;
  json?: boolean;
}

export function agentCommand(context: CommandContext): Command {
  const command = new Command('agent')
    // `agent status` has its own --cache and --json: the daemon's options go before it.
    .enablePositionalOptions()
    .description('keep LXD image aliases in sync with the server: pull only missing chunks, import into LXD, move the alias')
    .option('--server <urls>', 'chunk server URL, or replicas of one server comma-separated (or LXCHUNK_SERVER, or server: in the config file)')
    .option('--token <token>', 'read token (or LXCHUNK_TOKEN, or token:/tokenFile: in the config file)')
    .option('--token-file <path>', 'read the token from a file, or from stdin with - (or LXCHUNK_TOKEN_FILE)')
    .option('--ca <file>', `${CA_HELP.slice(0, -1)}, or ca: in the config file)`)
    .option('--server-fingerprint <sha256>', `${FINGERPRINT_HELP.slice(0, -1)}, or serverFingerprint: in the config file)`)
    .option('--follow <alias>', 'server alias to mirror into LXD (repeatable; or LXCHUNK_FOLLOW=a,b)', repeatable, [])
    .option('--cache <dir>', `working directory for staged pulls, seed indexes and status (default ${AGENT_DEFAULTS.cacheDir})`)
    .option('--lxd-socket <path>', "LXD's unix socket (default: $LXD_DIR/unix.socket, then the snap's and Debian's)")
    .option('--config <file>', 'YAML config file, e.g. /etc/lxchunk/agent.yaml')
    .addOption(parsedOption('--keep <n>', `images kept per alias among those the agent imported (default ${AGENT_DEFAULTS.keepImages})`, wholeNumber))
    .addOption(parsedOption('--poll-interval <duration>', 'full resync period, the fallback to the change feed, e.g. 5m', duration))
    .addOption(parsedOption('--retry-for <duration>', 'keep retrying a server that went away this long before a sync fails (default 60s; retryForSeconds: in the config file)', duration))
    .addOption(
      new Option('--prefer <what>', `xz squashfs blocks: rebuild from content (bytes), fetch compressed (time), or decide per block (auto); default ${AGENT_DEFAULTS.prefer}, since a fleet shares the server's egress (or LXCHUNK_PREFER, prefer: in the config file)`).choices(
        REBUILD_PREFERENCES,
      ),
    )
    .option('--no-deltas', "do not offer the server the held images' chunks that missing ones replaced (no chunks as deltas; or deltas: false in the config file)")
    .addOption(parsedOption('--metrics-listen <host:port>', 'serve Prometheus metrics at /metrics and health at /healthz (200, or 503 when an alias failed its last sync or LXD does not answer)', listenAddress))
    .option('--once', 'sync every followed alias once and exit (exit code 0 only if all synced)')
    .option('--json', 'with --once: print {results: [{alias, fingerprint, action, bytesFetched, bytesReused, blocksRebuilt, chunksAsDeltas, pruned}]}; logs are JSON lines either way unless stderr is a terminal')
    .action(async (options: AgentOptions) => {
      const log = agentLogger(context.stderr, options.json === true);
      const token = await readToken(options);
      const config = await loadAgentConfig(
        {
          ...(options.server ? { server: options.server } : {}),
          ...(token ? { token } : {}),
          ...(options.ca ? { ca: options.ca } : {}),
          ...(options.serverFingerprint ? { serverFingerprint: options.serverFingerprint } : {}),
          follow: options.follow,
          ...(options.cache ? { cacheDir: options.cache } : {}),
          ...(options.lxdSocket ? { lxdSocket: options.lxdSocket } : {}),
          ...(options.config ? { configFile: options.config } : {}),
          ...(options.keep !== undefined ? { keepImages: options.keep } : {}),
          ...(options.prefer !== undefined ? { prefer: options.prefer } : {}),
          ...(options.deltas === false ? { deltas: false } : {}),
          ...(options.retryFor !== undefined ? { retryForSeconds: options.retryFor / 1000 } : {}),
          ...(options.pollInterval !== undefined ? { pollIntervalSeconds: options.pollInterval / 1000 } : {}),
        },
        process.env,
        log,
      );
      if (options.once) {
        const outcomes = await syncOnce(config, context.signal);
        const results = outcomes.map((o) => (o.result ? o.result : { alias: o.alias, action: 'failed', error: o.error }));
        if (options.json) context.printJson({ results });
        else for (const outcome of outcomes) context.print(summaryLine(outcome));
        const failed = outcomes.find((o) => o.error);
        if (failed) context.exitCode = exitCodeFor(failed.error!.code);
        return;
      }
      const agent = await startAgent(config, context.signal, options.metricsListen ? { metricsListen: options.metricsListen } : {});
      log({ level: 'info', msg: 'agent started', server: config.serverUrl, follow: config.follow });
      await agent.done;
    });

  command
    .command('status')
    .description("print the agent's last sync per alias (from its status file)")
    .option('--cache <dir>', `the agent's working directory (or LXCHUNK_CACHE, or cacheDir: in the config file; default ${AGENT_DEFAULTS.cacheDir})`)
    .option('--config <file>', "the agent's YAML config file, e.g. /etc/lxchunk/agent.yaml (for its cacheDir:)")
    .option('--json', 'print the status object')
    .action(async (options: { cache?: string; config?: string; json?: boolean }) => {
      const cacheDir = await agentCacheDir({ ...(options.cache ? { cacheDir: options.cache } : {}), ...(options.config ? { configFile: options.config } : {}) }, process.env);
      const status = await readStatus(cacheDir);
      if (!status) throw new NotFoundError(`no agent status in ${cacheDir}: has the agent run yet?`);
      if (options.json) {
        context.printJson(status);
        return;
      }
      context.print(`server ${status.server}, updated ${status.updated}`);
      for (const [alias, entry] of Object.entries(status.aliases)) {
        const state = entry.lastError ? `FAILED ${entry.lastError.code}: ${entry.lastError.message}` : `${entry.action} ${entry.fingerprint?.slice(0, 12)}`;
        context.print(`  ${alias.padEnd(28)} ${state}`);
      }
    });
  return command;
}
