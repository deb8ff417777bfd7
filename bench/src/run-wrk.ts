import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CleanupStack } from './cleanup-stack.js';
import { ManagedProcess } from './managed-process.js';

export interface WrkResult {
  readonly requests: number;
  /** Bytes read off the sockets (headers included), as wrk counts them. */
  readonly bytes: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly errors: { connect: number; read: number; write: number; status: number; timeout: number };
  /** Microseconds. */
  readonly latency: { mean: number; p50: number; p90: number; p99: number; max: number };
}

export interface WrkOptions {
  readonly wrk: string;
  readonly url: string;
  /** The Lua script written by writeWrkScript. */
  readonly script: string;
  /** One chunk id per line; every thread cycles through all of them from its own offset. */
  readonly idsFile: string;
  readonly threads: number;
  readonly connections: number;
  readonly seconds: number;
}

/**
 * Requests `GET /v1/chunks/<id>`, cycling through the ids of a file (each thread from its own
 * offset), and prints the summary and latency percentiles as one JSON line at the end.
 */
const SCRIPT = `-- args: ids file, number of threads
local count = 0
function setup(thread)
  thread:set("thread_index", count)
  count = count + 1
end

local paths = {}
local i = 0
function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    if #line > 0 then paths[#paths + 1] = "/v1/chunks/" .. line end
  end
  f:close()
  local threads = tonumber(args[2]) or 1
  i = math.floor((thread_index or 0) * #paths / threads)
end

function request()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%.0f,"bytes":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,' ..
    '"mean":%.1f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f}\\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;

export async function writeWrkScript(dir: string): Promise<string> {
  const path = join(dir, 'chunk-get.lua');
  await writeFile(path, SCRIPT);
  return path;
}

export async function runWrk(options: WrkOptions, cleanup: CleanupStack): Promise<WrkResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--timeout',
    '10s',
    '-s',
    options.script,
    `${options.url}/`,
    '--',
    options.idsFile,
    String(options.threads),
  ];
  const wrk = ManagedProcess.spawn('wrk', options.wrk, args);
  const release = cleanup.add('stop wrk', async () => {
    await wrk.stop('SIGKILL');
  });
  try {
    await wrk.success();
  } finally {
    await release();
  }
  const line = wrk.stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (!line) throw wrk.failure(`printed no summary:\n${wrk.stdout.slice(-2000)}`);
  const r = JSON.parse(line.slice('WRK_JSON '.length)) as Record<string, number>;
  const seconds = r.duration_us! / 1e6;
  return {
    requests: r.requests!,
    bytes: r.bytes!,
    seconds,
    requestsPerSecond: r.requests! / seconds,
    errors: { connect: r.connect!, read: r.read!, write: r.write!, status: r.status!, timeout: r.timeout! },
    latency: { mean: r.mean!, p50: r.p50!, p90: r.p90!, p99: r.p99!, max: r.max! },
  };
}
