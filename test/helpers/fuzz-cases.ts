import { createHash } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { BATCH_CONTENT_TYPE, FRAME_HEADER_BYTES, FrameStatus, compressZstdFrame, encodeBatchEnd, encodeBatchStart, encodeFrameHeader } from '@lxchunk/format';
import { seeded, xorshift32 } from './image-fixture.js';

/** The stored state the cases are made from: every case is a mutation of a request that would be valid. */
export interface FuzzTarget {
  readonly fingerprint: string;
  readonly manifest: Uint8Array;
  readonly alias: string;
  readonly aliasVersion: number;
  /** Stored chunks (the small ones), with their plain bytes. */
  readonly chunks: ReadonlyArray<{ readonly id: string; readonly bytes: Uint8Array }>;
  readonly tokens: { readonly read: string; readonly push: string; readonly admin: string };
}

export interface FuzzCase {
  /** Which generator made it and what it changed, e.g. `chunk-put content-encoding: gzip (garbage)`. */
  readonly label: string;
  /** The route aimed at, e.g. `PUT /v1/chunks/{id}`: failures are grouped by it. */
  readonly route: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Uint8Array;
  /** Send the body with Transfer-Encoding: chunked instead of a Content-Length. */
  readonly chunked?: boolean;
  /** The whole request as bytes, for what an HTTP client refuses to send. */
  readonly raw?: Uint8Array;
}

/** A seeded source of choices; one per case, so any case replays alone from (seed, index). */
export class Rng {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = xorshift32(seed);
  }

  /** The generator for case `index` of run `seed`, its seed mixed (murmur3's finalizer) so neighbours differ. */
  static forCase(seed: number, index: number): Rng {
    let h = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    return new Rng((h ^ (h >>> 16)) >>> 0);
  }

  int(below: number): number {
    return below <= 1 ? 0 : this.next() % below;
  }

  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(length: number): Uint8Array {
    return seeded(length, this.next());
  }

  hex64(): string {
    return Buffer.from(this.bytes(32)).toString('hex');
  }
}

const text = (value: string) => new TextEncoder().encode(value);
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** Byte-level damage: the kinds a broken proxy, a truncated upload or a buggy client produce. */
export function mutateBytes(rng: Rng, input: Uint8Array): { bytes: Uint8Array; how: string } {
  // A copy even of a Buffer, whose slice() is a view: the input is shared by every case.
  let bytes: Uint8Array = new Uint8Array(input);
  const hows: string[] = [];
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const at = rng.int(bytes.length + 1);
    switch (rng.int(8)) {
      case 0:
        if (bytes.length > 0) bytes[at % bytes.length]! ^= 1 << rng.int(8);
        hows.push('bit flip');
        break;
      case 1:
        if (bytes.length > 0) bytes[at % bytes.length] = rng.pick([0, 0x7f, 0x80, 0xff, 0x22, 0x5c, 0x7b, rng.int(256)]);
        hows.push('byte set');
        break;
      case 2:
        bytes = concat(bytes.subarray(0, at), rng.bytes(1 + rng.int(64)), bytes.subarray(at));
        hows.push('insert');
        break;
      case 3:
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at + 1 + rng.int(64)));
        hows.push('delete');
        break;
      case 4:
        bytes = bytes.slice(0, at);
        hows.push('truncate');
        break;
      case 5:
        bytes = concat(bytes.subarray(0, at), bytes.subarray(rng.int(at + 1), at), bytes.subarray(at));
        hows.push('repeat span');
        break;
      case 6:
        bytes = concat(bytes, rng.bytes(1 + rng.int(256)));
        hows.push('append');
        break;
      default:
        bytes = rng.pick([new Uint8Array(0), text(' '), text('null'), text('\uFEFF'), new Uint8Array([0])]);
        hows.push('replace');
    }
  }
  return { bytes, how: hows.join('+') };
}

/** JSON values that break assumptions about type, size, range or encoding. */
function oddValue(rng: Rng): unknown {
  return rng.pick<() => unknown>([
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => 1.5,
    () => 1e308,
    () => 2 ** 53 + 2,
    () => '',
    () => 'x'.repeat(1 + rng.int(70_000)),
    () => '\u0000',
    () => '\ud800',
    () => '../../metadata.db',
    () => '%ff',
    () => rng.hex64().toUpperCase(),
    () => 'g'.repeat(64),
    () => [],
    () => {},
    () => [[[[[[[[[[[]]]]]]]]]]],
    () => JSON.parse('{"__proto__":{"polluted":true}}'),
    () => ({ constructor: { prototype: { polluted: true } } }),
  ])();
}

/** Changes one node of a parsed JSON document: its type, a key, or its membership. */
export function mutateJson(rng: Rng, document: unknown): { value: unknown; how: string } {
  const root = structuredClone(document);
  // Arrays too, indexed by their string keys as any object.
  const containers: Array<Record<string, unknown>> = [];
  const walk = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return;
    containers.push(node as Record<string, unknown>);
    for (const child of Object.values(node)) walk(child);
  };
  walk(root);
  if (containers.length === 0 || rng.chance(0.05)) return { value: oddValue(rng), how: 'whole document replaced' };
  const target = rng.pick(containers);
  const keys = Object.keys(target);
  const key = keys.length > 0 ? rng.pick(keys) : '0';
  switch (rng.int(4)) {
    case 0:
      target[key] = oddValue(rng);
      return { value: root, how: `value of ${key} replaced` };
    case 1:
      if (Array.isArray(target)) target.splice(Number(key), 1);
      else delete target[key];
      return { value: root, how: `${key} removed` };
    case 2:
      if (Array.isArray(target)) target.push(...Array.from({ length: 1 + rng.int(3) }, () => target[key] ?? oddValue(rng)));
      // defineProperty, so that `__proto__` becomes an own key as JSON.parse makes it, not the prototype.
      else Object.defineProperty(target, rng.pick(['extra', '', '__proto__', 'ids ', 'Ids', key.toUpperCase()]), { value: oddValue(rng), enumerable: true, writable: true, configurable: true });
      return { value: root, how: Array.isArray(target) ? 'array grown' : 'field added' };
    default: {
      const value = target[key];
      target[key] = typeof value === 'string' ? `${value}${rng.pick(['x', '\u0000', '"', '\\', '\u00e9', '\ud83d\ude00'])}` : String(value);
      return { value: root, how: `${key} respelled` };
    }
  }
}

/** Text mutations that JSON.stringify cannot produce: duplicate keys, deep nesting, comments, BOM. */
function badJsonText(rng: Rng, valid: string): { text: string; how: string } {
  return rng.pick<() => { text: string; how: string }>([
    () => ({ text: `\uFEFF${valid}`, how: 'BOM' }),
    () => ({ text: valid.replace(/^\{/, '{"ids":[],'), how: 'duplicate key' }),
    () => ({ text: '['.repeat(50_000) + ']'.repeat(50_000), how: 'deep nesting' }),
    () => ({ text: `${valid}/* */`, how: 'trailing comment' }),
    () => ({ text: `${valid}${valid}`, how: 'two documents' }),
    () => ({ text: valid.slice(0, rng.int(valid.length)), how: 'cut short' }),
    () => ({ text: valid.replace(/"/g, "'"), how: 'single quotes' }),
    () => ({ text: `${' '.repeat(rng.int(100_000))}${valid}`, how: 'leading whitespace' }),
  ])();
}

/** Declares a Content-Encoding in `headers` and returns the body as sent: encoded that way, or not at all. */
function encodeBody(rng: Rng, headers: Record<string, string>, body: Uint8Array): { body: Uint8Array; how: string } {
  const { header, ...encoded } = contentEncoding(rng, body);
  if (header !== undefined) headers['content-encoding'] = header;
  return encoded;
}

function contentEncoding(rng: Rng, body: Uint8Array): { header?: string; body: Uint8Array; how: string } {
  const choice = rng.int(12);
  switch (choice) {
    case 0:
      return { header: 'gzip', body: gzipSync(body), how: 'gzip (valid)' };
    case 1:
      return { header: 'gzip', body, how: 'gzip (not gzip)' };
    case 2:
      return { header: 'deflate', body: deflateSync(body), how: 'deflate (valid)' };
    case 3:
      return { header: 'deflate', body: rng.bytes(1 + rng.int(200)), how: 'deflate (garbage)' };
    case 4:
      return { header: 'br', body: brotliCompressSync(body), how: 'br (valid)' };
    case 5:
      return { header: 'br', body, how: 'br (not br)' };
    case 6:
      return { header: 'zstd', body: compressZstdFrame(body, { level: 1 }), how: 'zstd (valid)' };
    case 7:
      return { header: 'zstd', body, how: 'zstd (not zstd)' };
    case 8: {
      const cut = gzipSync(body);
      return { header: 'gzip', body: cut.subarray(0, rng.int(cut.length)), how: 'gzip (cut short)' };
    }
    default:
      return { header: rng.pick(['identity', 'IDENTITY', 'gzip, gzip', 'compress', 'x-unknown', '', ' ', 'identity, zstd', 'zstd;q=1']), body, how: 'unusual name' };
  }
}

type Scope = 'read' | 'push' | 'admin';

/** Mostly the token the route needs; sometimes another scope, none, or a broken one. */
function auth(rng: Rng, target: FuzzTarget, scope: Scope | undefined): { headers: Record<string, string>; how: string } {
  if (rng.chance(0.85)) return { headers: scope ? { authorization: `Bearer ${target.tokens[scope]}` } : {}, how: '' };
  const token = target.tokens[rng.pick<Scope>(['read', 'push', 'admin'])];
  const value = rng.pick([
    `Bearer ${target.tokens.read}`,
    `Bearer ${target.tokens.push}`,
    `Bearer ${target.tokens.admin}`,
    '',
    'Bearer',
    'Bearer ',
    `bearer ${token}`,
    `Bearer  ${token}`,
    `Bearer ${token} `,
    `Bearer ${token}x`,
    `Bearer ${token.slice(0, -1)}`,
    `Basic ${Buffer.from(`x:${token}`).toString('base64')}`,
    `Bearer lxc_${'A'.repeat(43)}`,
    `Bearer ${'a'.repeat(201)}`,
    `Bearer ${'a'.repeat(10_000)}`,
    `Bearer ${token}, Bearer ${token}`,
    `Bearer ${token}\u00e9`,
  ]);
  return { headers: value === '' && rng.chance(0.5) ? {} : { authorization: value }, how: `authorization ${JSON.stringify(value.slice(0, 24))}` };
}

const STALE_VERSIONS = ['"0"', '"2"', '"999999999999999"', '"1000000"'];

function pickChunk(rng: Rng, target: FuzzTarget) {
  return rng.pick(target.chunks);
}

function batchOf(frames: ReadonlyArray<{ id: string; status: number; payload: Uint8Array }>, trailer = true): Uint8Array {
  const parts: Uint8Array[] = [encodeBatchStart()];
  for (const { id, status, payload } of frames) parts.push(encodeFrameHeader(id, status as 0 | 1 | 2, payload.length), payload);
  if (trailer) parts.push(encodeBatchEnd());
  return concat(...parts);
}

/** PUT /v1/images/{fp}: the stored manifest, damaged as bytes, as JSON, or inside an index. */
function manifestCase(rng: Rng, target: FuzzTarget): FuzzCase {
  const original = new TextDecoder().decode(target.manifest);
  let body: Uint8Array;
  let how: string;
  const kind = rng.int(5);
  if (kind === 0) {
    ({ bytes: body, how } = mutateBytes(rng, target.manifest));
  } else if (kind === 1) {
    const mutated = mutateJson(rng, JSON.parse(original));
    body = text(JSON.stringify(mutated.value) ?? 'undefined');
    how = mutated.how;
  } else if (kind === 2) {
    const bad = badJsonText(rng, original);
    body = text(bad.text);
    how = bad.how;
  } else {
    // Inside a binary index: re-sealed with a valid trailer half the time, so the damage gets past the checksum.
    const manifest = JSON.parse(original) as { files: Array<{ index: string; size: number; sha256: string }> };
    const file = rng.pick(manifest.files);
    let index: Uint8Array = Buffer.from(file.index, 'base64');
    if (kind === 3) {
      ({ bytes: index, how } = mutateBytes(rng, index));
    } else {
      index = index.slice();
      const entries = Math.floor((index.length - 96) / 36);
      const field = rng.pick(['params', 'size', 'count', 'entry id', 'entry length', 'flags', 'version']);
      const view = new DataView(index.buffer, index.byteOffset, index.byteLength);
      const value = rng.pick([0, 1, 0xffffffff, 0x80000000, rng.int(2 ** 32)]);
      if (field === 'params') view.setUint32(8 + 4 * rng.int(3), value, true);
      else if (field === 'size') view.setUint32(20 + 4 * rng.int(2), value, true);
      else if (field === 'count') view.setUint32(60, value, true);
      else if (field === 'flags') view.setUint16(6, value & 0xffff, true);
      else if (field === 'version') view.setUint16(4, value & 0xffff, true);
      else if (entries > 0 && field === 'entry id') index.set(rng.bytes(32), 64 + 36 * rng.int(entries));
      else if (entries > 0) view.setUint32(64 + 36 * rng.int(entries) + 32, value, true);
      how = `index ${field}`;
    }
    if (index.length >= 96 && rng.chance(0.7)) {
      index.set(createHash('sha256').update(index.subarray(0, index.length - 32)).digest(), index.length - 32);
      how += ' (resealed)';
    }
    file.index = Buffer.from(index).toString('base64');
    body = text(JSON.stringify(manifest));
  }
  const headers: Record<string, string> = { ...auth(rng, target, 'push').headers };
  if (rng.chance(0.3)) headers['content-type'] = rng.pick(['application/json', 'text/plain', 'application/octet-stream', 'application/json; charset=utf-16', 'application/json; charset=bogus', '*/*']);
  if (rng.chance(0.15)) {
    const encoded = encodeBody(rng, headers, body);
    body = encoded.body;
    how += `, content-encoding ${encoded.how}`;
  }
  return { label: `manifest ${how}`, route: 'PUT /v1/images/{fp}', method: 'PUT', path: `/v1/images/${target.fingerprint}`, headers, body, chunked: rng.chance(0.2) };
}

/** PUT /v1/chunks/{id}: stored bytes under their id or another, damaged, declared in various encodings. */
function chunkPutCase(rng: Rng, target: FuzzTarget): FuzzCase {
  const chunk = pickChunk(rng, target);
  const idChoice = rng.int(10);
  const id = idChoice < 7 ? chunk.id : idChoice === 7 ? pickChunk(rng, target).id : idChoice === 8 ? rng.hex64() : chunk.id.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  let body: Uint8Array = chunk.bytes;
  let how = 'stored bytes';
  if (rng.chance(0.6)) ({ bytes: body, how } = mutateBytes(rng, chunk.bytes));
  const headers: Record<string, string> = { ...auth(rng, target, 'push').headers };
  if (rng.chance(0.5)) {
    const encoded = encodeBody(rng, headers, body);
    body = encoded.body;
    how += `, content-encoding ${encoded.how}`;
  }
  if (rng.chance(0.2)) headers['content-type'] = rng.pick(['application/json', 'text/plain; charset=utf-8', BATCH_CONTENT_TYPE, 'multipart/form-data; boundary=x']);
  if (rng.chance(0.1)) headers['if-match'] = rng.pick(['*', `"${chunk.id}"`, 'garbage']);
  return { label: `chunk-put ${how}`, route: 'PUT /v1/chunks/{id}', method: 'PUT', path: `/v1/chunks/${id}`, headers, body, chunked: rng.chance(0.3) };
}

/** POST /v1/chunks/upload: a batch of stored chunks with its framing broken. */
function uploadCase(rng: Rng, target: FuzzTarget): FuzzCase {
  const frames = Array.from({ length: 1 + rng.int(4) }, () => {
    const chunk = pickChunk(rng, target);
    return rng.chance(0.3)
      ? { id: chunk.id, status: FrameStatus.zstd as number, payload: compressZstdFrame(chunk.bytes, { level: 1 }) }
      : { id: chunk.id, status: FrameStatus.identity as number, payload: chunk.bytes };
  });
  let body = batchOf(frames);
  // Offsets of each frame's header, to damage fields rather than random bytes.
  const headerAt: number[] = [];
  for (let at = 4, i = 0; i < frames.length; i++) {
    headerAt.push(at);
    at += FRAME_HEADER_BYTES + frames[i]!.payload.length;
  }
  const trailerAt = body.length - FRAME_HEADER_BYTES;
  const view = () => new DataView(body.buffer, body.byteOffset, body.byteLength);
  const frameAt = rng.pick(headerAt);
  let how: string;
  switch (rng.int(10)) {
    case 0:
      body.set(rng.pick([text('LXCA'), text('lxcb'), new Uint8Array(4), rng.bytes(4)]), 0);
      how = 'bad magic';
      break;
    case 1:
      body[frameAt + 32] = rng.pick([2, 3, 7, 254, 255]);
      how = `frame status ${body[frameAt + 32]}`;
      break;
    case 2: {
      const value = rng.pick([0, 1, 0xffffffff, 64 * 1024 * 1024 + 1, rng.int(2 ** 32), view().getUint32(frameAt + 33, true) + rng.pick([-1, 1])]) >>> 0;
      view().setUint32(frameAt + 33, value, true);
      how = `frame length ${value}`;
      break;
    }
    case 3:
      body = body.slice(0, rng.int(body.length));
      how = 'cut short';
      break;
    case 4:
      body = batchOf(frames, false);
      how = 'no trailer';
      break;
    case 5:
      body = concat(body, rng.chance(0.5) ? rng.bytes(1 + rng.int(100)) : batchOf(frames).subarray(4));
      how = 'bytes after the trailer';
      break;
    case 6:
      if (rng.chance(0.5)) body.set(rng.bytes(1), trailerAt + rng.int(32));
      else view().setUint32(trailerAt + 33, 1 + rng.int(100), true);
      how = 'damaged trailer';
      break;
    case 7:
      body[frameAt + FRAME_HEADER_BYTES + rng.int(4)]! ^= 0xff;
      how = 'payload byte flipped';
      break;
    case 8:
      body[frameAt + rng.int(32)]! ^= 1 << rng.int(8);
      how = 'id bit flipped';
      break;
    default:
      ({ bytes: body, how } = mutateBytes(rng, body));
  }
  const headers: Record<string, string> = { ...auth(rng, target, 'push').headers };
  headers['content-type'] = rng.chance(0.85)
    ? BATCH_CONTENT_TYPE
    : rng.pick([`${BATCH_CONTENT_TYPE}; charset=utf-8`, BATCH_CONTENT_TYPE.toUpperCase(), 'application/json', 'application/octet-stream', '', 'application/vnd.lxchunk.chunks+json']);
  if (rng.chance(0.1)) {
    const encoded = encodeBody(rng, headers, body);
    body = encoded.body;
    how += `, content-encoding ${encoded.how}`;
  }
  return { label: `upload ${how}`, route: 'POST /v1/chunks/upload', method: 'POST', path: '/v1/chunks/upload', headers, body, chunked: rng.chance(0.3) };
}

/** POST /v1/chunks/fetch and /missing: the `{"ids": [...]}` body, its type, charset and encoding. */
function idListCase(rng: Rng, target: FuzzTarget): FuzzCase {
  const fetch = rng.chance(0.5);
  const ids = Array.from({ length: 1 + rng.int(5) }, () => (rng.chance(0.8) ? pickChunk(rng, target).id : rng.hex64()));
  // A fetch may name delta bases: the target's other chunks (a delta may be computed), or unknown ids.
  const request: { ids: string[]; bases?: Record<string, string[]> } = { ids };
  if (fetch && rng.chance(0.5)) {
    request.bases = Object.fromEntries(ids.slice(0, 1 + rng.int(ids.length)).map((id) => [id, Array.from({ length: 1 + rng.int(9) }, () => (rng.chance(0.7) ? pickChunk(rng, target).id : rng.hex64()))]));
  }
  const valid = JSON.stringify(request);
  let bodyText: string;
  let how: string;
  switch (rng.int(5)) {
    case 0:
    case 1: {
      const mutated = mutateJson(rng, request);
      bodyText = JSON.stringify(mutated.value) ?? '';
      how = mutated.how;
      break;
    }
    case 2:
      ({ text: bodyText, how } = badJsonText(rng, valid));
      break;
    case 3: {
      const count = rng.pick([fetch ? 4096 : 100_000, fetch ? 4097 : 100_001, 20_000]);
      bodyText = JSON.stringify({ ids: Array.from({ length: count }, (_, i) => ids[i % ids.length]) });
      how = `${count} ids`;
      break;
    }
    default:
      bodyText = valid;
      how = request.bases ? 'ids with bases' : 'valid ids';
  }
  let body: Uint8Array = text(bodyText);
  const headers: Record<string, string> = { ...auth(rng, target, fetch ? rng.pick<Scope | undefined>(['read', 'admin', undefined]) : 'push').headers };
  headers['content-type'] = rng.chance(0.7)
    ? 'application/json'
    : rng.pick(['application/json; charset=utf-16', 'application/json; charset=latin1', 'application/json; charset=bogus', 'text/plain', 'application/x-www-form-urlencoded', '', 'application/json, text/plain', 'application/*+json']);
  if (headers['content-type'] === '') delete headers['content-type'];
  if (rng.chance(0.3)) {
    const encoded = encodeBody(rng, headers, body);
    body = encoded.body;
    how += `, content-encoding ${encoded.how}`;
  }
  if (fetch && rng.chance(0.4)) headers['accept-encoding'] = rng.pick(['zstd', 'zstd;q=0', 'zstd;q=abc', '*', 'gzip, zstd', 'ZSTD', 'zstd;q=0.0001', ',,,', 'x'.repeat(8000)]);
  const path = fetch ? '/v1/chunks/fetch' : '/v1/chunks/missing';
  return { label: `${fetch ? 'fetch' : 'missing'} ${how}`, route: `POST ${path}`, method: 'POST', path, headers, body, chunked: rng.chance(0.2) };
}

const BAD_PERCENT = ['%', '%f', '%zz', '%ff', '%FF', '%c0%ae', '%00', '%2f', '%2F', '%2e%2e', '%e2%82', '%ed%a0%80', '%u0041', '%%', '%0a', '%25', '%fe%ff'];
const DOTS = ['/.', '/..', '/./', '//', '/%2e', '/%2e%2e', '/.%2e', '/..;', '\\..', '/...'];
const UNICODE = ['\u00e9', '\ud83d\ude00', '\u202e', '\ufeff', '\u0000', '\uffff', '\u0130', '\u212a'];
const QUERIES = [
  '?',
  '?%ff',
  '?a=%',
  '?since=1&since=2',
  '?since[]=1',
  '?since=-1',
  '?since=99999999999999999',
  '?since=0&wait=1e3',
  '?since=0&wait=-1',
  '?since=0&wait=301',
  '?base=%zz',
  '?base=x&base=y',
  `?base=${'0'.repeat(64)}`,
  '?dryRun=maybe',
  '?dryRun=true',
  '?alias=..',
  '?alias=%ff',
  '?property.=x',
  '?property.os=debian&architecture=x86_64',
  '?architecture',
  '?__proto__=1',
  ';x',
  '#x',
];

/** Percent-encodings, dot segments, lengths, unicode and queries on a path. */
export function mutatePath(rng: Rng, path: string): { path: string; how: string } {
  let out = path;
  const hows: string[] = [];
  for (let n = 1 + rng.int(2); n > 0; n--) {
    const at = 4 + rng.int(Math.max(1, out.length - 3));
    switch (rng.int(9)) {
      case 0: {
        const bad = rng.pick(BAD_PERCENT);
        out = out.slice(0, at) + bad + out.slice(at);
        hows.push(bad);
        break;
      }
      case 1: {
        const char = out[at] ?? 'a';
        const hex = char.charCodeAt(0).toString(16).padStart(2, '0');
        out = `${out.slice(0, at)}%${rng.chance(0.5) ? hex.toUpperCase() : hex}${out.slice(at + 1)}`;
        hows.push('percent-encoded char');
        break;
      }
      case 2: {
        const slash = out.lastIndexOf('/', at);
        const dots = rng.pick(DOTS);
        out = out.slice(0, slash) + dots + out.slice(slash);
        hows.push(dots);
        break;
      }
      case 3: {
        const length = rng.pick([0, 1, 63, 65, 128, 4096, 20_000]);
        out = `${out.slice(0, out.lastIndexOf('/') + 1)}${'a'.repeat(length)}`;
        hows.push(`last segment ${length} chars`);
        break;
      }
      case 4: {
        const char = rng.pick(UNICODE);
        out = out.slice(0, at) + (rng.chance(0.5) ? encodeURIComponent(char) : char) + out.slice(at);
        hows.push(`unicode U+${char.codePointAt(0)!.toString(16)}`);
        break;
      }
      case 5:
        out = out.toUpperCase();
        hows.push('upper case');
        break;
      case 6: {
        const query = rng.pick(QUERIES);
        out += query;
        hows.push(`query ${query.slice(0, 20)}`);
        break;
      }
      case 7:
        out += '/';
        hows.push('trailing /');
        break;
      default:
        out = out.replace(/\//g, () => (rng.chance(0.3) ? '//' : '/'));
        hows.push('doubled slashes');
    }
  }
  return { path: out, how: hows.join('+') };
}

interface BaseRequest {
  readonly route: string;
  readonly method: string;
  readonly path: string;
  readonly scope: Scope | undefined;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array;
}

/**
 * Requests that are valid and change nothing when accepted (reads, re-puts of what is stored,
 * an alias set to its own target), so any mutation of them may be accepted or refused but must
 * never change what is stored.
 */
function baseRequests(rng: Rng, target: FuzzTarget): BaseRequest[] {
  const chunk = pickChunk(rng, target);
  const json = (value: unknown) => text(JSON.stringify(value));
  const aliasPath = `/v1/aliases/${target.alias}`;
  return [
    { route: 'GET /v1/chunks/{id}', method: 'GET', path: `/v1/chunks/${chunk.id}`, scope: 'read' },
    { route: 'HEAD /v1/chunks/{id}', method: 'HEAD', path: `/v1/chunks/${chunk.id}`, scope: 'read' },
    { route: 'PUT /v1/chunks/{id}', method: 'PUT', path: `/v1/chunks/${chunk.id}`, scope: 'push', body: chunk.bytes },
    { route: 'POST /v1/chunks/upload', method: 'POST', path: '/v1/chunks/upload', scope: 'push', headers: { 'content-type': BATCH_CONTENT_TYPE }, body: batchOf([{ id: chunk.id, status: 0, payload: chunk.bytes }]) },
    { route: 'POST /v1/chunks/fetch', method: 'POST', path: '/v1/chunks/fetch', scope: 'read', headers: { 'content-type': 'application/json' }, body: json({ ids: [chunk.id] }) },
    { route: 'POST /v1/chunks/missing', method: 'POST', path: '/v1/chunks/missing', scope: 'push', headers: { 'content-type': 'application/json' }, body: json({ ids: [chunk.id] }) },
    { route: 'GET /v1/images/{fp}', method: 'GET', path: `/v1/images/${target.fingerprint}`, scope: 'read' },
    { route: 'PUT /v1/images/{fp}', method: 'PUT', path: `/v1/images/${target.fingerprint}`, scope: 'push', body: target.manifest },
    { route: 'DELETE /v1/images/{fp}', method: 'DELETE', path: `/v1/images/${target.fingerprint}`, scope: 'admin' },
    { route: 'GET /v1/images', method: 'GET', path: '/v1/images?property.os=debian', scope: 'read' },
    { route: 'GET /v1/aliases', method: 'GET', path: '/v1/aliases', scope: 'read' },
    { route: 'GET /v1/aliases/{name}', method: 'GET', path: aliasPath, scope: 'read' },
    { route: 'GET /v1/aliases/{name}/history', method: 'GET', path: `${aliasPath}/history`, scope: 'read' },
    {
      route: 'PUT /v1/aliases/{name}',
      method: 'PUT',
      path: aliasPath,
      scope: 'push',
      headers: { 'content-type': 'application/json', 'if-match': `"${target.aliasVersion}"` },
      body: json({ target: target.fingerprint }),
    },
    { route: 'DELETE /v1/aliases/{name}', method: 'DELETE', path: aliasPath, scope: 'push', headers: { 'if-match': rng.pick(STALE_VERSIONS) } },
    { route: 'GET /v1/changes', method: 'GET', path: `/v1/changes?since=0&wait=${rng.int(2)}`, scope: 'read' },
    { route: 'POST /v1/gc', method: 'POST', path: `/v1/gc?dryRun=${rng.pick(['true', 'false'])}`, scope: 'admin' },
    { route: 'GET /healthz', method: 'GET', path: '/healthz', scope: undefined },
    { route: 'GET /metrics', method: 'GET', path: '/metrics', scope: undefined },
  ];
}

/** A base request; garbage collection (a scan of the whole store under the commit lock) only now and then. */
function pickBase(rng: Rng, target: FuzzTarget): BaseRequest {
  const base = rng.pick(baseRequests(rng, target));
  return base.route === 'POST /v1/gc' && rng.chance(0.9) ? pickBase(rng, target) : base;
}

/** A case from a base request: its token (sometimes a wrong one) and then `changes` on top. */
function fromBase(base: BaseRequest, rng: Rng, target: FuzzTarget, label: string, changes: Partial<FuzzCase> = {}): FuzzCase {
  const authorization = auth(rng, target, base.scope);
  const { headers, ...rest } = changes;
  return {
    label: `${label}${authorization.how ? `, ${authorization.how}` : ''}`,
    route: base.route,
    method: base.method,
    path: base.path,
    ...(base.body ? { body: base.body } : {}),
    ...rest,
    headers: { ...authorization.headers, ...base.headers, ...headers },
  };
}

function pathCase(rng: Rng, target: FuzzTarget): FuzzCase {
  const base = pickBase(rng, target);
  const { path, how } = mutatePath(rng, base.path);
  const method = rng.chance(0.85) ? base.method : rng.pick(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS']);
  return fromBase(base, rng, target, `path ${how}`, { method, path });
}

/** Header values worth trying per header; each case changes one to three of them. */
function headerCase(rng: Rng, target: FuzzTarget): FuzzCase {
  const base = pickBase(rng, target);
  const headers: Record<string, string> = {};
  let body = base.body;
  const hows: string[] = [];
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const name = rng.pick(['content-encoding', 'content-type', 'authorization', 'if-match', 'if-none-match', 'range', 'accept-encoding', 'expect', 'accept', 'if-modified-since', 'transfer-encoding']);
    let value: string;
    if (name === 'content-encoding') {
      const encoded = encodeBody(rng, headers, body ?? new Uint8Array(0));
      body = encoded.body;
      hows.push(`content-encoding ${encoded.how}`);
      continue;
    }
    if (name === 'authorization') {
      value = auth(rng, target, base.scope).headers.authorization ?? '';
    } else {
      const values: Record<string, string[]> = {
        'content-type': ['application/json', 'application/json; charset=utf-16', 'text/plain', BATCH_CONTENT_TYPE, 'multipart/form-data', '', ';', 'application/json; charset="', 'x/y; a=b; a=c'],
        'if-match': ['*', '"1"', 'W/"1"', '"01"', '"1", "2"', '"99999999999999999999"', '"-1"', '1', '""', '"', `"${target.fingerprint}"`],
        'if-none-match': ['*', '"1"', `"${pickChunk(rng, target).id}"`, 'W/*', '', '"'],
        range: ['bytes=0-10', 'bytes=-1', 'bytes=10-0', 'bytes=0-0,5-5,10-10', 'bytes=abc', `bytes=0-${2 ** 60}`, 'items=0-1', 'bytes='],
        'accept-encoding': ['zstd', 'zstd;q=0', 'zstd;q=abc', '*', '*;q=0', 'gzip', 'br', 'identity;q=0', 'zstd, zstd', 'x'.repeat(8000)],
        expect: ['100-continue', 'something-else'],
        accept: ['application/json', 'text/html', '*/*;q=0', ''],
        'if-modified-since': ['Thu, 01 Jan 1970 00:00:00 GMT', 'garbage', 'Sat, 01 Jan 2100 00:00:00 GMT'],
        'transfer-encoding': ['chunked', 'gzip, chunked', 'identity', 'chunked, chunked', 'bogus'],
      };
      value = rng.pick(values[name]!);
    }
    headers[name] = value;
    hows.push(`${name}: ${value.slice(0, 40)}`);
  }
  return fromBase(base, rng, target, `header ${hows.join(', ')}`, { headers, ...(body ? { body } : {}) });
}

function methodCase(rng: Rng, target: FuzzTarget): FuzzCase {
  const base = pickBase(rng, target);
  const method = rng.pick(['PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'LOCK', 'PURGE', 'SEARCH', 'COPY', 'MOVE', 'LINK', 'FOO', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'get', 'Get']);
  // Lower-case methods are not HTTP methods: only a raw socket sends them as they are.
  const raw = method !== method.toUpperCase() ? rawBytes({ ...base, headers: base.headers ?? {}, method }) : undefined;
  return fromBase(base, rng, target, `method ${method}`, { method, ...(raw ? { raw } : {}) });
}

/** Malformed HTTP that no client library sends: request lines, header blocks, lengths, framing. */
function rawCase(rng: Rng, target: FuzzTarget): FuzzCase {
  const chunk = pickChunk(rng, target);
  const token = target.tokens.push;
  const put = (headers: string, body: Uint8Array = chunk.bytes) =>
    concat(text(`PUT /v1/chunks/${chunk.id} HTTP/1.1\r\nHost: fuzz\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n${headers}\r\n`), body);
  const json = text(JSON.stringify({ ids: [chunk.id] }));
  const post = (headers: string, body: Uint8Array = json) =>
    concat(text(`POST /v1/chunks/missing HTTP/1.1\r\nHost: fuzz\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nConnection: close\r\n${headers}\r\n`), body);
  const cases: Array<[string, () => Uint8Array]> = [
    ['content-length shorter', () => put(`Content-Length: ${rng.int(chunk.bytes.length)}\r\n`)],
    ['content-length longer', () => put(`Content-Length: ${chunk.bytes.length + 1 + rng.int(1000)}\r\n`)],
    ['content-length not a number', () => put(`Content-Length: ${rng.pick(['-1', '+5', '1e3', '0x10', 'abc', ' ', '99999999999999999999'])}\r\n`)],
    ['two content-lengths', () => put(`Content-Length: ${chunk.bytes.length}\r\nContent-Length: ${chunk.bytes.length + 1}\r\n`)],
    ['content-length and chunked', () => post(`Content-Length: ${json.length}\r\nTransfer-Encoding: chunked\r\n`)],
    ['bad chunk size', () => post('Transfer-Encoding: chunked\r\n', text(`${rng.pick(['zz', '-1', 'ffffffffffffffff', '1;x', ''])}\r\n${JSON.stringify({ ids: [] })}\r\n0\r\n\r\n`))],
    ['chunked cut short', () => post('Transfer-Encoding: chunked\r\n', text(`${json.length.toString(16)}\r\n${new TextDecoder().decode(json).slice(0, 5)}`))],
    ['chunked with trailer', () => post('Transfer-Encoding: chunked\r\n', text(`${json.length.toString(16)}\r\n${new TextDecoder().decode(json)}\r\n0\r\nX-Trailer: 1\r\n\r\n`))],
    ['header without colon', () => text(`GET /v1/aliases HTTP/1.1\r\nHost: fuzz\r\nBroken header\r\nConnection: close\r\n\r\n`)],
    ['space before colon', () => text(`GET /v1/aliases HTTP/1.1\r\nHost: fuzz\r\nAuthorization : Bearer ${token}\r\nConnection: close\r\n\r\n`)],
    ['folded header', () => text(`GET /v1/aliases HTTP/1.1\r\nHost: fuzz\r\nAuthorization: Bearer\r\n ${token}\r\nConnection: close\r\n\r\n`)],
    ['bare LF', () => text(`GET /v1/aliases HTTP/1.1\nHost: fuzz\nConnection: close\n\n`)],
    ['NUL in header', () => text(`GET /v1/aliases HTTP/1.1\r\nHost: fuzz\r\nX-A: a\u0000b\r\nConnection: close\r\n\r\n`)],
    ['huge header', () => text(`GET /v1/aliases HTTP/1.1\r\nHost: fuzz\r\nX-A: ${'a'.repeat(20_000 + rng.int(50_000))}\r\nConnection: close\r\n\r\n`)],
    ['many headers', () => text(`GET /v1/aliases HTTP/1.1\r\nHost: fuzz\r\n${'X-A: 1\r\n'.repeat(3000)}Connection: close\r\n\r\n`)],
    ['two authorizations', () => text(`GET /v1/aliases HTTP/1.1\r\nHost: fuzz\r\nAuthorization: Bearer ${token}\r\nAuthorization: Bearer x\r\nConnection: close\r\n\r\n`)],
    ['HTTP/1.0', () => text(`GET /v1/aliases HTTP/1.0\r\n\r\n`)],
    ['HTTP/0.9', () => text(`GET /v1/aliases\r\n\r\n`)],
    ['HTTP/2.0 line', () => text(`GET /v1/aliases HTTP/2.0\r\nHost: fuzz\r\nConnection: close\r\n\r\n`)],
    ['HTTP/1.1 without Host', () => text(`GET /v1/aliases HTTP/1.1\r\nConnection: close\r\n\r\n`)],
    ['absolute-form target', () => text(`GET http://fuzz/v1/chunks/${chunk.id} HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n`)],
    ['asterisk-form target', () => text(`OPTIONS * HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n`)],
    ['raw UTF-8 in target', () => text(`GET /v1/aliases/${rng.pick(UNICODE)}x HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n`)],
    ['raw bytes in target', () => concat(text('GET /v1/chunks/'), rng.bytes(8), text(' HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n'))],
    ['empty request line', () => text('\r\n\r\n')],
    ['garbage', () => rng.bytes(1 + rng.int(2000))],
    ['damaged valid request', () => mutateBytes(rng, put(`Content-Length: ${chunk.bytes.length}\r\n`)).bytes],
    ['pipelined after a complete request', () => concat(post(`Content-Length: ${json.length}\r\n`).slice(), text('GET /v1/chunks/%ff HTTP/1.1\r\nHost: fuzz\r\n\r\n'))],
  ];
  const [label, build] = rng.pick(cases);
  return { label: `raw ${label}`, route: 'raw', method: 'RAW', path: '', headers: {}, raw: build() };
}

const FAMILIES: ReadonlyArray<[number, (rng: Rng, target: FuzzTarget) => FuzzCase]> = [
  [3, manifestCase],
  [3, chunkPutCase],
  [3, uploadCase],
  [3, idListCase],
  [4, pathCase],
  [4, headerCase],
  [1, methodCase],
  [2, rawCase],
];
const WEIGHT = FAMILIES.reduce((sum, [weight]) => sum + weight, 0);

/** Case `index` of run `seed`: the same case for the same pair, whatever ran before it. */
export function fuzzCase(seed: number, index: number, target: FuzzTarget): FuzzCase {
  const rng = Rng.forCase(seed, index);
  let roll = rng.int(WEIGHT);
  for (const [weight, make] of FAMILIES) {
    if (roll < weight) return guard(rng, make(rng, target), target);
    roll -= weight;
  }
  throw new Error('unreachable');
}

/**
 * The last word on what a case may change. The cases are mutations of no-op requests, but a
 * mutated alias path can name another alias: one created (If-None-Match: *) or deleted there would
 * be a legitimate change, not a finding. So alias writes only ever name a target that does not
 * exist unless they address the fuzzed alias itself, and deletes of an alias carry a stale version.
 */
function guard(rng: Rng, fuzz: FuzzCase, target: FuzzTarget): FuzzCase {
  if (fuzz.raw || !/aliases/i.test(fuzz.path)) return fuzz;
  if (fuzz.method === 'DELETE') return { ...fuzz, headers: { ...withoutKey(fuzz.headers, 'if-none-match'), 'if-match': rng.pick(STALE_VERSIONS) } };
  if (fuzz.body && fuzz.path !== `/v1/aliases/${target.alias}`) {
    const body = Buffer.from(fuzz.body).toString('latin1').replaceAll(target.fingerprint, rng.hex64());
    return { ...fuzz, body: Buffer.from(body, 'latin1') };
  }
  return fuzz;
}

function withoutKey(headers: Record<string, string>, key: string): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== key));
}

/** The request as bytes on the wire, closing the connection after it (for cases an HTTP client refuses). */
export function rawBytes(fuzz: Pick<FuzzCase, 'method' | 'path' | 'headers' | 'body' | 'chunked'>): Uint8Array {
  const names = new Set(Object.keys(fuzz.headers).map((name) => name.toLowerCase()));
  const lines = [`${fuzz.method} ${fuzz.path} HTTP/1.1`, 'Host: fuzz', 'Connection: close'];
  for (const [name, value] of Object.entries(fuzz.headers)) lines.push(`${name}: ${value}`);
  const body = fuzz.body ?? new Uint8Array(0);
  if (!names.has('content-length') && !names.has('transfer-encoding')) lines.push(`Content-Length: ${body.length}`);
  return concat(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), body);
}
