import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { AgentHealth } from './agent-health.js';
import type { AgentMetrics } from './agent-metrics.js';

/** The daemon's HTTP port: Prometheus metrics at /metrics, and /healthz for monitors and probes. */
export async function serveAgentHttp(
  listen: { host: string; port: number },
  metrics: AgentMetrics,
  health: () => Promise<AgentHealth>,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const fail = (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(err instanceof Error ? err.message : String(err));
    if (path === '/metrics') {
      metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text), fail);
    } else if (path === '/healthz') {
      health().then((report) => res.writeHead(report.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(report)}\n`), fail);
    } else {
      res.writeHead(404).end();
    }
  }).listen(listen.port, listen.host);
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  return { server, url: `http://${address.includes(':') ? `[${address}]` : address}:${port}` };
}
