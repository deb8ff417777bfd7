import { ProtocolError, errorFromBody } from '@lxchunk/errors';
import type { VerifyProgress, VerifyReport } from '@lxchunk/format';
import { asVerifyProgress, asVerifyReport } from './responses.js';

/** A progress line is tiny; a report lists at most 1000 problems. Anything longer is not ours. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;

/**
 * Reads the NDJSON answer of `POST /v1/admin/verify`: progress lines, then the report, or an
 * error line (thrown as the server's error). A stream that ends before either was cut short.
 */
export async function readVerifyStream(body: AsyncIterable<Uint8Array>, onProgress: ((progress: VerifyProgress) => void) | undefined): Promise<VerifyReport> {
  let pending = '';
  const decoder = new TextDecoder();
  for await (const piece of body) {
    pending += decoder.decode(piece, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      const message = parseLine(line);
      if ('progress' in message) onProgress?.(asVerifyProgress(message.progress));
      else if ('report' in message) return asVerifyReport(message.report);
      else if ('error' in message) throw errorFromBody(500, message);
      else throw new ProtocolError('POST /v1/admin/verify: a line that is neither progress, report nor error');
    }
    if (pending.length > MAX_LINE_BYTES) throw new ProtocolError('POST /v1/admin/verify: a line longer than any the API sends');
  }
  throw new ProtocolError('POST /v1/admin/verify: the answer ended before the report');
}

function parseLine(line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new ProtocolError('POST /v1/admin/verify: a line that is not JSON', { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtocolError('POST /v1/admin/verify: a line that is not a JSON object');
  return value as Record<string, unknown>;
}
