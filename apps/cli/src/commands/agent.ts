import { Command } from 'commander';
import { AGENT_DEFAULTS, loadAgentConfig, readStatus, startAgent, syncOnce } from '@lxchunk/agent';
import { NotFoundError } from '@lxchunk/errors';
import type { CommandContext } from '../command-context.js';
import { exitCodeFor } from '../exit-codes.js';
import { readToken } from '../token-source.js';
import { duration, listenAddress, parsedOption, repeatable, wholeNumber } from '../options.js';

interface AgentOptions {
  server?: string;
  token?: string;
  tokenFile?: string;
  follow: string[];
  cache?: string;
  lxdSocket?: string;
  config?: string;
  keep?: number;
  /** Milliseconds. */
  pollInterval?: number;
  metricsListen?: { host: string; port: number };
  once?: boolean;
  json?: boolean;
}

export function agentCommand(context: CommandContext): Command {
  const command = new Command('agent')
    // `agent status` has its own --cache and --json: the daemon's options go before it.
    .enablePositionalOptions()
    .description('keep LXD image aliases in sync with the server: pull only missing chunks, import into LXD, move the alias')
    .option('--server <url>', 'chunk server URL (or LXCHUNK_SERVER, or server: in the config file)')
    .option('--token <token>', 'read token (or LXCHUNK_TOKEN, or token:/tokenFile: in the config file)')
    .option('--token-file <path>', 'read the token from a file, or from stdin with - (or LXCHUNK_TOKEN_FILE)')
    .option('--follow <alias>', 'server alias to mirror into LXD (repeatable; or LXCHUNK_FOLLOW=a,b)', repeatable, [])
    .option('--cache <dir>', `working directory for staged pulls, seed indexes and status (default ${AGENT_DEFAULTS.cacheDir})`)
    .option('--lxd-socket <path>', "LXD's unix socket (default: $LXD_DIR/unix.socket, then the snap's and Debian's)")
    .option('--config <file>', 'YAML config file, e.g. /etc/lxchunk/agent.yaml')
    .addOption(parsedOption('--keep <n>', `images kept per alias among those the agent imported (default ${AGENT_DEFAULTS.keepImages})`, wholeNumber))
    .addOption(parsedOption('--poll-interval <duration>', 'full resync period, the fallback to the change feed, e.g. 5m', duration))
    .addOption(parsedOption('--metrics-listen <host:port>', 'serve Prometheus metrics at /metrics', listenAddress))
    .option('--once', 'sync every followed alias once and exit (exit code 0 only if all synced)')
    .option('--json', 'with --once: print {results: [{alias, fingerprint, action, bytesFetched, bytesReused}]}')
    .action(async (options: AgentOptions) => {
      const log = (entry: Record<string, unknown>) => context.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
      const token = await readToken(options);
      const config = await loadAgentConfig(
        {
          ...(options.server ? { server: options.server } : {}),
          ...(token ? { token } : {}),
          follow: options.follow,
          ...(options.cache ? { cacheDir: options.cache } : {}),
          ...(options.lxdSocket ? { lxdSocket: options.lxdSocket } : {}),
          ...(options.config ? { configFile: options.config } : {}),
          ...(options.keep !== undefined ? { keepImages: options.keep } : {}),
          ...(options.pollInterval !== undefined ? { pollIntervalSeconds: options.pollInterval / 1000 } : {}),
        },
        process.env,
        log,
      );
      if (options.once) {
        const outcomes = await syncOnce(config, context.signal);
        const results = outcomes.map((o) => (o.result ? o.result : { alias: o.alias, action: 'failed', error: o.error }));
        if (options.json) context.printJson({ results });
        else for (const r of results) context.print(JSON.stringify(r));
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
    .option('--cache <dir>', `the agent's working directory (default ${AGENT_DEFAULTS.cacheDir})`)
    .option('--json', 'print the status object')
    .action(async (options: { cache?: string; json?: boolean }) => {
      const status = await readStatus(options.cache ?? AGENT_DEFAULTS.cacheDir);
      if (!status) throw new NotFoundError(`no agent status in ${options.cache ?? AGENT_DEFAULTS.cacheDir}: has the agent run yet?`);
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
