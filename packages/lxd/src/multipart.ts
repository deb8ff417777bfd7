/**
 * multipart/form-data in both directions, streamed: the body of an image upload is built from
 * files as it is sent (never buffered), and an export answer is split into its parts as it
 * arrives.
 */
import { ProtocolError } from '@lxchunk/errors';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { fileBytes, type UploadBody } from './file-body.js';

export interface FilePart {
  /** Form field name (`metadata`, `rootfs`, `rootfs.img`). */
  readonly name: string;
  /** Reported as the part's filename (LXD keeps the rootfs one as the image's `filename`). */
  readonly filename: string;
  readonly path: string;
  /** The file's size when the body was planned; a file that changes size fails the upload. */
  readonly size: number;
}

export type MultipartBody = UploadBody;

const CRLF = '\r\n';

export function newBoundary(): string {
  return `lxchunk-${randomBytes(16).toString('hex')}`;
}

/** A multipart/form-data body streaming `parts` from disk, in order, with an exact length. */
export function multipartBody(parts: readonly FilePart[], boundary = newBoundary(), readChunkBytes = 1 << 20): MultipartBody {
  const heads = parts.map((part, i) =>
    Buffer.from(
      `${i === 0 ? '' : CRLF}--${boundary}${CRLF}` +
        `Content-Disposition: form-data; name="${quote(part.name)}"; filename="${quote(part.filename)}"${CRLF}` +
        `Content-Type: application/octet-stream${CRLF}${CRLF}`,
      'utf8',
    ),
  );
  const tail = Buffer.from(`${CRLF}--${boundary}--${CRLF}`, 'utf8');
  const contentLength = heads.reduce((sum, head) => sum + head.length, 0) + parts.reduce((sum, part) => sum + part.size, 0) + tail.length;

  async function* generate(): AsyncGenerator<Buffer> {
    for (const [i, part] of parts.entries()) {
      yield heads[i]!;
      yield* fileBytes(part.path, part.size, readChunkBytes);
    }
    yield tail;
  }

  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength,
    stream: Readable.from(generate(), { objectMode: false }),
  };
}

/** Escapes a value for a quoted Content-Disposition parameter (as Go's mime/multipart does). */
function quote(value: string): string {
  return value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, ' ');
}

export interface PartHeaders {
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The Content-Disposition `name` parameter. */
  readonly name: string | undefined;
  readonly filename: string | undefined;
}

export type MultipartEvent = { readonly kind: 'part'; readonly part: PartHeaders } | { readonly kind: 'data'; readonly data: Buffer } | { readonly kind: 'end' };

const MAX_HEADER_BYTES = 16 * 1024;

/**
 * Splits a multipart body into events: `part` (headers of the next part), `data` (its bytes, in
 * order), `end` (that part is complete). Stops at the close delimiter and ignores the epilogue
 * (LXD 5.0 writes its close delimiter twice). A body that ends before the close delimiter is a
 * PROTOCOL_ERROR.
 */
export async function* readMultipart(source: AsyncIterable<Uint8Array>, boundary: string): AsyncGenerator<MultipartEvent> {
  if (!boundary || boundary.length > 200) throw new ProtocolError(`unusable multipart boundary ${JSON.stringify(boundary)}`);
  // Every delimiter, the first included, is searched as CRLF--boundary: a virtual CRLF in front
  // of the body lets the first one sit at offset 0.
  const delimiter = Buffer.from(`${CRLF}--${boundary}`, 'latin1');
  let buf: Buffer = Buffer.from(CRLF, 'latin1');
  let state: 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done' = 'preamble';

  const iterator = source[Symbol.asyncIterator]();
  let exhausted = false;
  const more = async (): Promise<boolean> => {
    if (exhausted) return false;
    const next = await iterator.next();
    if (next.done) {
      exhausted = true;
      return false;
    }
    const piece = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    buf = buf.length === 0 ? piece : Buffer.concat([buf, piece]);
    return true;
  };

  try {
    for (;;) {
      if (state === 'preamble') {
        const at = buf.indexOf(delimiter);
        if (at >= 0) {
          buf = buf.subarray(at + delimiter.length);
          state = 'after-delimiter';
          continue;
        }
        // Keep what might be the start of a delimiter.
        if (buf.length >= delimiter.length) buf = buf.subarray(buf.length - delimiter.length + 1);
        if (!(await more())) throw new ProtocolError('multipart body has no boundary delimiter');
        continue;
      }

      if (state === 'after-delimiter') {
        // "--" closes the body; otherwise optional transport padding, then CRLF.
        if (buf.length < 2 && (await more())) continue;
        if (buf.length >= 2 && buf[0] === 0x2d && buf[1] === 0x2d) {
          state = 'done';
          return;
        }
        const eol = buf.indexOf(CRLF);
        if (eol < 0) {
          if (buf.length > 1024) throw new ProtocolError('multipart delimiter line is malformed');
          if (!(await more())) throw new ProtocolError('multipart body ends inside a delimiter line');
          continue;
        }
        if (!/^[ \t]*$/.test(buf.subarray(0, eol).toString('latin1'))) throw new ProtocolError('multipart delimiter line is malformed');
        buf = buf.subarray(eol + 2);
        state = 'headers';
        continue;
      }

      if (state === 'headers') {
        let headerText: string | undefined;
        if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
          headerText = '';
          buf = buf.subarray(2);
        } else {
          const end = buf.indexOf(`${CRLF}${CRLF}`);
          if (end >= 0) {
            headerText = buf.subarray(0, end).toString('utf8');
            buf = buf.subarray(end + 4);
          }
        }
        if (headerText === undefined) {
          if (buf.length > MAX_HEADER_BYTES) throw new ProtocolError(`multipart part headers exceed ${MAX_HEADER_BYTES} bytes`);
          if (!(await more())) throw new ProtocolError('multipart body ends inside part headers');
          continue;
        }
        yield { kind: 'part', part: parsePartHeaders(headerText) };
        state = 'body';
        continue;
      }

      if (state === 'body') {
        const at = buf.indexOf(delimiter);
        if (at >= 0) {
          if (at > 0) yield { kind: 'data', data: buf.subarray(0, at) };
          yield { kind: 'end' };
          buf = buf.subarray(at + delimiter.length);
          state = 'after-delimiter';
          continue;
        }
        const safe = buf.length - (delimiter.length - 1);
        if (safe > 0) {
          yield { kind: 'data', data: buf.subarray(0, safe) };
          buf = buf.subarray(safe);
        }
        if (!(await more())) throw new ProtocolError('multipart body ends inside a part (truncated answer)');
        continue;
      }

      return;
    }
  } finally {
    if (!exhausted) await iterator.return?.();
  }
}

export function parsePartHeaders(text: string): PartHeaders {
  const headers: Record<string, string> = {};
  for (const line of text.split(CRLF)) {
    if (!line) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ProtocolError(`malformed multipart header line ${JSON.stringify(line.slice(0, 100))}`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const disposition = headers['content-disposition'];
  const params = disposition ? dispositionParams(disposition) : {};
  return { headers, name: params.name, filename: params.filename };
}

/** Parameters of a Content-Disposition value (`form-data; name="x"; filename="y"`), lower-cased names. */
export function dispositionParams(value: string): Record<string, string> {
  const params: Record<string, string> = {};
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (let match = re.exec(value); match; match = re.exec(value)) {
    const key = match[1]!.toLowerCase();
    params[key] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!.trim();
  }
  return params;
}

/** The boundary of a multipart Content-Type, if it is one. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined;
  const match = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}
