import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';

export interface HttpProxy {
  readonly url: string;
  /** `METHOD target` of each request and CONNECT, in order. */
  readonly seen: string[];
  readonly server: Server;
}

/**
 * An HTTP proxy that forwards plain requests and tunnels CONNECT (undici tunnels even http://
 * targets by default), recording each, as a corporate proxy would log it.
 */
export async function startProxy(): Promise<HttpProxy> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const upstream = request(req.url!, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req, client, head) => {
    seen.push(`${req.method} ${req.url}`);
    const [host, port] = req.url!.split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

export async function stopProxy(proxy: HttpProxy): Promise<void> {
  proxy.server.closeAllConnections();
  await new Promise((resolve) => proxy.server.close(resolve));
}
