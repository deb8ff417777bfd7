import { get } from 'node:https';
import { http } from './http.js';
import type { ServerProcess } from './server-process.js';

/** A counter's value in a server's /metrics text (0 when absent). */
export async function serverMetric(server: ServerProcess, name: string, labels: Record<string, string> = {}, options: { ca?: string } = {}): Promise<number> {
  const text = options.ca ? await httpsText(`${server.url}/metrics`, options.ca) : (await http(server.url, 'GET', '/metrics')).body.toString('utf8');
  const entries = Object.entries(labels);
  // prom-client writes labels in the order they were given: match them as a set.
  const matches = (l: string) =>
    entries.length === 0 ? l.startsWith(`${name} `) : l.startsWith(`${name}{`) && entries.every(([k, v]) => l.includes(`${k}="${v}"`));
  const line = text.split('\n').find(matches);
  return line ? Number(line.split(' ')[1]) : 0;
}

/** GET over HTTPS trusting `ca` (a server's self-signed certificate): Node's fetch takes no CA. */
function httpsText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (part: string) => (text += part));
      res.once('end', () => resolve(text));
      res.once('error', reject);
    }).once('error', reject);
  });
}
