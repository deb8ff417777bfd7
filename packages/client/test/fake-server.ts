import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

export type FakeHandler = (req: FakeRequest, res: ServerResponse, n: number) => void | Promise<void>;

/** A loopback HTTP server whose every answer the test scripts: for failures the real server never makes. */
export class FakeServer {
  readonly requests: FakeRequest[] = [];
  handler: FakeHandler = (_req, res) => {
    res.writeHead(500).end();
  };
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const pieces: Buffer[] = [];
      req.on('data', (p: Buffer) => pieces.push(p));
      req.on('end', () => {
        const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(pieces) };
        this.requests.push(request);
        Promise.resolve(this.handler(request, res, this.requests.length)).catch((err: unknown) => {
          res.destroy(err as Error);
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers }).end(body);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, details?: unknown): void {
  sendJson(res, status, { error: { code, message, ...(details !== undefined ? { details } : {}) } });
}
