/**
 * Shape checks of the server's JSON answers. A server that answers something else is broken or
 * not an lxchunk server: PROTOCOL_ERROR, naming what was wrong, rather than undefined values
 * surfacing later far from here.
 */
import { isChunkId } from '@lxchunk/chunker';
import { ProtocolError } from '@lxchunk/errors';
import { IMAGE_TYPES, type ImageType, type VerifyProblem, type VerifyProgress, type VerifyReport } from '@lxchunk/format';
import type { HttpResponse } from './http-transport.js';
import type { AliasHistoryEntry, AliasInfo, Change, ChangesResult, GcReport, ImageSummary } from './types.js';

export function parseJson(response: HttpResponse, what: string): unknown {
  if (response.body.length === 0) return null;
  try {
    return JSON.parse(Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength).toString('utf8'));
  } catch (cause) {
    throw new ProtocolError(`${what}: the answer is not JSON`, { cause });
  }
}

type Obj = Record<string, unknown>;

function obj(value: unknown, what: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtocolError(`${what}: expected an object`);
  return value as Obj;
}

function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ProtocolError(`${what}: expected an array`);
  return value;
}

function str(o: Obj, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new ProtocolError(`${what}.${key}: expected a string`);
  return v;
}

function int(o: Obj, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ProtocolError(`${what}.${key}: expected a non-negative integer`);
  return v;
}

/**
 * A point in time as ISO 8601. The server sends alias `updated` as ISO text but history and
 * change `at` as epoch milliseconds; both are accepted, callers always get ISO text.
 */
function time(o: Obj, key: string, what: string): string {
  const v = o[key];
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v).toISOString();
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return v;
  throw new ProtocolError(`${what}.${key}: expected a time (ISO 8601 text or epoch milliseconds)`);
}

function fingerprint(o: Obj, key: string, what: string): string {
  const v = str(o, key, what);
  if (!isChunkId(v)) throw new ProtocolError(`${what}.${key}: expected 64 lowercase hex characters`);
  return v;
}

export function asAlias(value: unknown, what = 'alias'): AliasInfo {
  const o = obj(value, what);
  return { name: str(o, 'name', what), target: fingerprint(o, 'target', what), version: int(o, 'version', what), updated: time(o, 'updated', what) };
}

export function asAliasList(value: unknown): AliasInfo[] {
  return arr(obj(value, 'aliases').aliases, 'aliases').map((a, i) => asAlias(a, `aliases[${i}]`));
}

export function asHistory(value: unknown): AliasHistoryEntry[] {
  return arr(obj(value, 'history').history, 'history').map((entry, i) => {
    const what = `history[${i}]`;
    const o = obj(entry, what);
    return { target: fingerprint(o, 'target', what), version: int(o, 'version', what), at: time(o, 'at', what) };
  });
}

export function asChanges(value: unknown): ChangesResult {
  const o = obj(value, 'changes');
  const changes = arr(o.changes, 'changes').map((entry, i): Change => {
    const what = `changes[${i}]`;
    const c = obj(entry, what);
    const target = c.target === null ? null : fingerprint(c, 'target', what);
    return { seq: int(c, 'seq', what), alias: str(c, 'alias', what), target, version: int(c, 'version', what), at: time(c, 'at', what) };
  });
  return { seq: int(o, 'seq', 'changes'), changes };
}

export function asImageList(value: unknown): ImageSummary[] {
  return arr(obj(value, 'images').images, 'images').map((entry, i) => {
    const what = `images[${i}]`;
    const o = obj(entry, what);
    const type = str(o, 'type', what);
    if (!(IMAGE_TYPES as readonly string[]).includes(type)) throw new ProtocolError(`${what}.type: unknown image type`);
    if (typeof o.public !== 'boolean') throw new ProtocolError(`${what}.public: expected a boolean`);
    const properties = obj(o.properties, `${what}.properties`);
    for (const [key, v] of Object.entries(properties)) {
      if (typeof v !== 'string') throw new ProtocolError(`${what}.properties.${key}: expected a string`);
    }
    const aliases = arr(o.aliases, `${what}.aliases`);
    if (!aliases.every((a) => typeof a === 'string')) throw new ProtocolError(`${what}.aliases: expected strings`);
    return {
      fingerprint: fingerprint(o, 'fingerprint', what),
      type: type as ImageType,
      architecture: str(o, 'architecture', what),
      created: str(o, 'created', what),
      public: o.public,
      properties: properties as Record<string, string>,
      size: int(o, 'size', what),
      aliases: aliases as string[],
    };
  });
}

export function asGcReport(value: unknown): GcReport {
  const o = obj(value, 'gc report');
  if (typeof o.dryRun !== 'boolean') throw new ProtocolError('gc report.dryRun: expected a boolean');
  const imagesDeleted = arr(o.imagesDeleted, 'gc report.imagesDeleted');
  if (!imagesDeleted.every(isChunkId)) throw new ProtocolError('gc report.imagesDeleted: expected fingerprints');
  return {
    imagesDeleted,
    chunksDeleted: int(o, 'chunksDeleted', 'gc report'),
    bytesFreed: int(o, 'bytesFreed', 'gc report'),
    chunksKept: int(o, 'chunksKept', 'gc report'),
    leased: int(o, 'leased', 'gc report'),
    leasesEndBy: typeof o.leasesEndBy === 'string' ? o.leasesEndBy : null,
    dryRun: o.dryRun,
  };
}

export function asVerifyProgress(value: unknown): VerifyProgress {
  const o = obj(value, 'verify progress');
  return { done: int(o, 'done', 'verify progress'), total: int(o, 'total', 'verify progress') };
}

export function asVerifyReport(value: unknown): VerifyReport {
  const what = 'verify report';
  const o = obj(value, what);
  if (typeof o.repair !== 'boolean') throw new ProtocolError(`${what}.repair: expected a boolean`);
  const problems = arr(o.problems, `${what}.problems`).map((item): VerifyProblem => {
    const p = obj(item, `${what}.problems[]`);
    if (p.kind !== 'corrupt' && p.kind !== 'unreadable') throw new ProtocolError(`${what}.problems[].kind: expected corrupt or unreadable`);
    if (typeof p.quarantined !== 'boolean') throw new ProtocolError(`${what}.problems[].quarantined: expected a boolean`);
    return { id: fingerprint(p, 'id', `${what}.problems[]`), kind: p.kind, code: str(p, 'code', what), message: str(p, 'message', what), quarantined: p.quarantined };
  });
  const count = (key: string) => int(o, key, what);
  return {
    repair: o.repair,
    chunks: count('chunks'),
    ok: count('ok'),
    corrupt: count('corrupt'),
    unreadable: count('unreadable'),
    quarantined: count('quarantined'),
    okBytes: count('okBytes'),
    corruptBytes: count('corruptBytes'),
    problems,
  };
}

/** The missing ids of one request: each must be one we asked about. */
export function asMissing(value: unknown, asked: readonly string[]): string[] {
  const missing = arr(obj(value, 'missing').missing, 'missing');
  const askedSet = new Set(asked);
  for (const id of missing) {
    if (typeof id !== 'string' || !askedSet.has(id)) throw new ProtocolError('missing: the server listed an id that was not asked about');
  }
  return missing as string[];
}

/** `POST /v1/chunks/upload`: the server must account for exactly the chunks sent. */
export function asUploadReport(value: unknown, sent: number): { stored: number } {
  const o = obj(value, 'upload report');
  const chunks = int(o, 'chunks', 'upload report');
  const stored = int(o, 'stored', 'upload report');
  if (chunks !== sent || stored > chunks) throw new ProtocolError(`upload report: ${chunks} chunks (${stored} stored) for ${sent} sent`);
  return { stored };
}
