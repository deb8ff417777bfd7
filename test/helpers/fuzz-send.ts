import { Agent, request } from 'node:http';
import { rawBytes, type FuzzCase } from './fuzz-cases.js';
import { rawRequest } from './http.js';

export interface FuzzAnswer {
  /** The HTTP status, or undefined when the server closed the connection without one. */
  readonly status: number | undefined;
  /** The start of the response body (or the socket error), for reports. */
  readonly detail: string;
}

/** How long a raw exchange may stay silent: far beyond any answer, only there so a hang ends the case. */
const RAW_SILENCE_MS = 60_000;

/**
 * Sends one case over a keep-alive agent, or as raw bytes when it must control the framing
 * (Content-Length, Transfer-Encoding, methods or characters Node's client refuses).
 */
export async function sendCase(base: string, agent: Agent, fuzz: FuzzCase): Promise<FuzzAnswer> {
  const names = Object.keys(fuzz.headers).map((name) => name.toLowerCase());
  if (fuzz.raw || names.includes('content-length') || names.includes('transfer-encoding')) return sendRaw(base, fuzz.raw ?? rawBytes(fuzz));
  let answer: FuzzAnswer;
  try {
    answer = await sendHttp(base, agent, fuzz);
  } catch {
    // Node's client validates paths, methods and header values before sending anything.
    return sendRaw(base, rawBytes(fuzz));
  }
  // A reset on a kept-alive connection may belong to the request before (closed after an early
  // answer); only a reset on a connection of its own is this request's.
  return answer.status === undefined ? sendHttp(base, false, fuzz) : answer;
}

async function sendRaw(base: string, bytes: Uint8Array): Promise<FuzzAnswer> {
  // Half-closing after the request makes a body shorter than announced end there, not hang.
  const reply = await rawRequest(base, bytes, { endAfterWrite: true, waitMs: RAW_SILENCE_MS });
  // Interim answers (100 Continue) do not count; of several (pipelined requests) the worst does.
  const statuses = [...reply.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)].map((match) => Number(match[1])).filter((status) => status >= 200);
  return { status: statuses.length > 0 ? Math.max(...statuses) : undefined, detail: reply.slice(0, 400) };
}

function sendHttp(base: string, agent: Agent | false, fuzz: FuzzCase): Promise<FuzzAnswer> {
  const url = new URL(base);
  const req = request({ host: url.hostname, port: url.port, method: fuzz.method, path: fuzz.path, headers: fuzz.headers, agent });
  return new Promise((resolve) => {
    req.on('response', (res) => {
      let detail = '';
      res.setEncoding('latin1');
      res.on('data', (text: string) => {
        if (detail.length < 400) detail += text.slice(0, 400 - detail.length);
      });
      res.on('end', () => resolve({ status: res.statusCode, detail }));
      res.on('error', (err) => resolve({ status: res.statusCode, detail: `${detail} (${err.message})` }));
      res.on('close', () => resolve({ status: res.statusCode, detail }));
    });
    // A server that answers early (413, 401) and closes may reset a body still being sent.
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: undefined, detail: err.code ?? err.message }));
    if (fuzz.body && fuzz.chunked) {
      req.write(fuzz.body);
      req.end();
    } else {
      req.end(fuzz.body);
    }
  });
}
