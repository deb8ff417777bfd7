import type { Request, Response } from 'express';

/** How one request ended, as the access log and the metrics record it. */
export interface RequestOutcome {
  /** The route pattern that took it (`/v1/chunks/:id`), or 'unmatched': bounded, unlike paths. */
  readonly route: string;
  readonly status: number;
  /** The stable error code the answer carried, or 'ok'. */
  readonly code: string;
  readonly seconds: number;
  /** Bytes written to the connection for it, headers included. */
  readonly bytesOut: number;
  /** Bytes read from the connection after its headers: about its body. */
  readonly bytesIn: number;
  /** The connection closed before the whole answer was sent. */
  readonly aborted: boolean;
}

/**
 * Calls `done` once per request when its response is finished or its connection closes. Socket
 * counters are read as deltas: a keep-alive connection serves one request at a time.
 */
export function onRequestEnd(req: Request, res: Response, done: (outcome: RequestOutcome) => void): void {
  const started = process.hrtime.bigint();
  const socket = req.socket;
  const outBefore = socket.bytesWritten;
  const inBefore = socket.bytesRead;
  res.once('close', () => {
    done({
      route: (req.route?.path as string | undefined) ?? 'unmatched',
      status: res.statusCode,
      code: typeof res.locals.errorCode === 'string' ? res.locals.errorCode : 'ok',
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      bytesOut: socket.bytesWritten - outBefore,
      bytesIn: socket.bytesRead - inBefore,
      aborted: !res.writableFinished,
    });
  });
}
