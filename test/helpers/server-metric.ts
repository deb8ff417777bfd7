import { http } from './http.js';
import type { ServerProcess } from './server-process.js';

/** A counter's value in a server's /metrics text (0 when absent). */
export async function serverMetric(server: ServerProcess, name: string): Promise<number> {
  const text = (await http(server.url, 'GET', '/metrics')).body.toString('utf8');
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}
