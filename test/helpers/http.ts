import { connect } from 'node:net';

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  /** The parsed JSON body, when it is JSON. */
  readonly json: any;
}

/** One real HTTP request with Node's fetch; bodies as bytes, so tests can check exact framing. */
export async function http(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: Uint8Array | string | object; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: Uint8Array | string | undefined;
  if (options.body instanceof Uint8Array || typeof options.body === "string") body = options.body;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const bytes = Buffer.from(await response.arrayBuffer());
  let json: unknown;
  if ((response.headers.get('content-type') ?? '').includes('json') && bytes.length > 0) json = JSON.parse(bytes.toString('utf8'));
  return { status: response.status, headers: response.headers, body: bytes, json };
}

/**
 * Sends raw bytes over a socket and returns whatever comes back before the server closes or
 * `waitMs` passes: for bodies shorter than their Content-Length, or cut off midway.
 */
export function rawRequest(base: string, request: string | Uint8Array, options: { endAfterWrite?: boolean; waitMs?: number } = {}): Promise<string> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(received);
    }, options.waitMs ?? 1000);
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => (received += text));
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (received) resolve(received);
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(request, () => {
      if (options.endAfterWrite) socket.end();
    });
  });
}
