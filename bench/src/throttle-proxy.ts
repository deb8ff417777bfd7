import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** The most a link sends in one go; smaller pieces pace more smoothly, larger ones cost fewer timers. */
const PIECE_BYTES = 16 * 1024;
/**
 * How far behind the schedule the link may fall and catch up: timers fire late and reads resume
 * a moment after a wait, time a real link would have spent sending what sat in the sender's
 * buffers. Also the most an idle link can send at once (a burst of rate × this).
 */
const CATCH_UP_MS = 20;

/**
 * One direction of a simulated link: every byte through it, over all connections, is sent no
 * sooner than the link could carry it at `bytesPerSecond` after the ones before. A piece is
 * handed on when its last byte would have arrived, so a transfer of N bytes takes N / rate.
 */
class PacedLink {
  /** When (performance.now() ms) the link finishes what it has been given so far. */
  private busyUntil = 0;

  constructor(private readonly bytesPerSecond: number) {}

  /** Resolves when `bytes` more would have crossed the link. */
  async carry(bytes: number): Promise<void> {
    const now = performance.now();
    this.busyUntil = Math.max(this.busyUntil, now - CATCH_UP_MS) + (1000 * bytes) / this.bytesPerSecond;
    const wait = this.busyUntil - now;
    if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** Copies `from` to `to` through `link`: reads pause while a piece waits for the link, so the sender feels the rate. */
function pipePaced(from: Socket, to: Socket, link: PacedLink): void {
  let queue = Promise.resolve();
  let pending = 0;
  from.on('data', (data: Buffer) => {
    pending++;
    from.pause();
    queue = queue.then(async () => {
      for (let at = 0; at < data.length; at += PIECE_BYTES) {
        const piece = data.subarray(at, at + PIECE_BYTES);
        await link.carry(piece.length);
        if (to.destroyed) return;
        if (!to.write(piece)) await new Promise<void>((resolve) => to.once('drain', resolve).once('close', resolve));
      }
      if (--pending === 0 && !from.destroyed) from.resume();
    });
  });
  from.on('end', () => void queue.then(() => to.end()));
  from.on('error', () => to.destroy());
  from.on('close', () => void queue.then(() => (from.readableEnded ? undefined : to.destroy())));
}

export interface ThrottleProxy {
  /** http://127.0.0.1:<port>, to use in place of the target's URL. */
  readonly url: string;
  readonly bitsPerSecond: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` (http://host:port) that simulates one host's
 * link: each direction paced to `bitsPerSecond` of payload, shared by all connections (as one
 * host's link is), no added latency. Runs in this process; its own CPU cost is small at these rates.
 */
export async function startThrottleProxy(target: string, bitsPerSecond: number): Promise<ThrottleProxy> {
  const { hostname, port } = new URL(target);
  const down = new PacedLink(bitsPerSecond / 8);
  const up = new PacedLink(bitsPerSecond / 8);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: hostname, port: Number(port) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => sockets.delete(socket));
    }
    pipePaced(client, upstream, up);
    pipePaced(upstream, client, down);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the throttling proxy got no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    bitsPerSecond,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
