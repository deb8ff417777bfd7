/**
 * Wire encoding of an ImageManifest, version 1: UTF-8 JSON text, no whitespace, keys in this order:
 *
 *   {"version":1,"fingerprint":"<hex64>","type":"container"|"virtual-machine",
 *    "architecture":"x86_64","created":"2026-11-28T00:00:00Z","public":false,
 *    "properties":{"<key>":"<value>",...},
 *    "files":[{"role":"metadata","size":123,"sha256":"<hex64>","index":"<base64>"},...]}
 *
 * A file may also carry `"content":"<base64>"` after its index: the binary content index
 * (content-index-codec.ts) of its compressed blocks. Optional, so manifests without it are
 * unchanged; readers older than it refuse a manifest that has it (unknown field).
 *
 * `index` is the standard, padded base64 of the binary index (index-codec.ts); `size` and `sha256`
 * repeat the index's own so a reader can see a file's size without decoding its index, and must
 * agree with it. The encoder is deterministic (property keys sorted by UTF-16 code units, files in
 * role order) so the same manifest always yields the same bytes. The decoder accepts any JSON
 * spelling of a valid manifest but nothing more: unknown fields are errors at every level.
 */
import { isChunkId } from '@lxchunk/chunker';
import { MalformedManifestError } from '@lxchunk/errors';
import type { ChunkIndex } from './chunk-index.js';
import { brief, kind } from './describe-value.js';
import { decodeContentIndex, encodeContentIndex } from './content-index-codec.js';
import type { ContentIndex } from './content-index.js';
import { decodeIndex, encodeIndex } from './index-codec.js';
import {
  checkArchitecture,
  checkBoolean,
  checkCreated,
  checkFiles,
  checkFingerprint,
  checkImageType,
  checkProperties,
  checkRole,
  checkString,
  validateManifest,
  type ImageFile,
  type ImageManifest,
} from './image-manifest.js';

export const MANIFEST_VERSION = 1;
/**
 * Response header of `GET /v1/images/{fp}?base={fp}`: the fingerprint of the manifest whose bytes
 * the zstd body was compressed against (absent: no dictionary). Wire vocabulary shared by server and client.
 */
export const MANIFEST_BASE_HEADER = 'lxchunk-manifest-base';
/** The zstd level a served manifest is compressed at: within 2% of level 19, at a millisecond instead of twenty. */
export const MANIFEST_ZSTD_LEVEL = 3;
/**
 * Media type of a manifest compressed as one zstd frame against the base manifest's bytes as a
 * dictionary. Not a Content-Encoding: no generic client can decode it, so it is sent only to a
 * request that lists it in Accept.
 */
export const MANIFEST_DICT_MEDIA_TYPE = 'application/vnd.lxchunk.manifest+zstd-dict';
/** Response header of `HEAD /v1/images/{fp}`: how many of the stored image's chunks are absent now. */
export const IMAGE_CHUNKS_MISSING_HEADER = 'lxchunk-chunks-missing';
/** Checked before parsing: JSON.parse of an unbounded body is an easy way to exhaust memory. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

const MANIFEST_FIELDS = ['version', 'fingerprint', 'type', 'architecture', 'created', 'public', 'properties', 'files'] as const;
const FILE_FIELDS = ['role', 'size', 'sha256', 'index'] as const;
const OPTIONAL_FILE_FIELDS = ['content'] as const;
/** Strict, padded, standard-alphabet base64; the round trip below also rejects non-zero pad bits. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Validates first: an invalid manifest is never written. */
export function encodeManifest(manifest: ImageManifest): Uint8Array {
  const m = validateManifest(manifest);
  const q = JSON.stringify;
  const properties = Object.keys(m.properties)
    .sort()
    .map((key) => `${q(key)}:${q(m.properties[key])}`)
    .join(',');
  const files = m.files
    .map(({ role, index, content }) => {
      const base64 = Buffer.from(encodeIndex(index)).toString('base64');
      const contentField = content ? `,"content":${q(Buffer.from(encodeContentIndex(content, index.size)).toString('base64'))}` : '';
      return `{"role":${q(role)},"size":${index.size},"sha256":${q(index.sha256)},"index":${q(base64)}${contentField}}`;
    })
    .join(',');
  // Written by hand rather than JSON.stringify(object): JS objects put integer-like keys first,
  // which would break the sorted order of properties.
  const text =
    `{"version":${MANIFEST_VERSION},"fingerprint":${q(m.fingerprint)},"type":${q(m.type)},` +
    `"architecture":${q(m.architecture)},"created":${q(m.created)},"public":${m.public},` +
    `"properties":{${properties}},"files":[${files}]}`;
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new MalformedManifestError(`encoded manifest is ${bytes.length} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`);
  }
  return bytes;
}

export function decodeManifest(input: Uint8Array | string): ImageManifest {
  const parsed = parse(input);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MalformedManifestError(`manifest must be a JSON object, got ${kind(parsed)}`);
  }
  const o = parsed as Record<string, unknown>;
  checkFields(o, MANIFEST_FIELDS, '');
  if (o.version !== MANIFEST_VERSION) {
    throw new MalformedManifestError(`version: unsupported version ${brief(o.version)} (this reader knows version ${MANIFEST_VERSION})`);
  }
  const type = checkImageType(o.type, 'type');
  // Same checks, in the same order, as validateManifest: the result needs no second pass.
  return Object.freeze({
    fingerprint: checkFingerprint(o.fingerprint, 'fingerprint'),
    type,
    architecture: checkArchitecture(o.architecture, 'architecture'),
    created: checkCreated(o.created, 'created'),
    public: checkBoolean(o.public, 'public'),
    properties: checkProperties(o.properties, 'properties'),
    files: checkFiles(o.files, type, 'files', decodeFile),
  });
}

function parse(input: Uint8Array | string): unknown {
  let text: string;
  if (typeof input === 'string') {
    // UTF-8 is never shorter than the UTF-16 length, so the first test needs no encoding pass.
    if (input.length > MAX_MANIFEST_BYTES) throw tooLarge(`at least ${input.length} bytes`);
    const bytes = Buffer.byteLength(input, 'utf8');
    if (bytes > MAX_MANIFEST_BYTES) throw tooLarge(`${bytes} bytes`);
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.length > MAX_MANIFEST_BYTES) throw tooLarge(`${input.length} bytes`);
    try {
      // fatal: bad UTF-8 is an error, not U+FFFD; ignoreBOM: a BOM stays in the text and fails to parse.
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch (cause) {
      throw new MalformedManifestError('not valid UTF-8', { cause });
    }
  } else {
    throw new MalformedManifestError(`expected bytes or a string, got ${kind(input)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new MalformedManifestError(`invalid JSON: ${(cause as Error).message}`, { cause });
  }
}

function tooLarge(what: string): MalformedManifestError {
  return new MalformedManifestError(`manifest is ${what}, over the ${MAX_MANIFEST_BYTES}-byte limit`);
}

function decodeFile(raw: unknown, path: string): ImageFile {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new MalformedManifestError(`${path}: expected an object, got ${kind(raw)}`);
  }
  const f = raw as Record<string, unknown>;
  checkFields(f, FILE_FIELDS, path, OPTIONAL_FILE_FIELDS);
  const role = checkRole(f.role, `${path}.role`);
  const size = f.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new MalformedManifestError(`${path}.size: expected a non-negative integer, got ${brief(size)}`);
  }
  const sha256 = checkString(f.sha256, `${path}.sha256`);
  if (!isChunkId(sha256)) throw new MalformedManifestError(`${path}.sha256: must be 64 lowercase hex characters, got ${brief(sha256)}`);
  const index = decodeBase64Index(f.index, `${path}.index`);
  if (index.size !== size) {
    throw new MalformedManifestError(`${path}.size: ${size} but the index says ${index.size} (sizes don't add up)`);
  }
  if (index.sha256 !== sha256) {
    throw new MalformedManifestError(`${path}.sha256: ${sha256} but the index says ${index.sha256}`);
  }
  if (f.content === undefined) return Object.freeze({ role, index });
  return Object.freeze({ role, index, content: decodeBase64Content(f.content, index.size, `${path}.content`) });
}

function decodeBase64Content(value: unknown, fileSize: number, path: string): ContentIndex {
  const bytes = decodeBase64(value, path);
  try {
    return decodeContentIndex(bytes, fileSize);
  } catch (cause) {
    throw new MalformedManifestError(`${path}: ${(cause as Error).message}`, { cause });
  }
}

function decodeBase64(value: unknown, path: string): Buffer {
  const text = checkString(value, path);
  if (!BASE64.test(text)) throw new MalformedManifestError(`${path}: not strict base64 (standard alphabet, padded, no whitespace)`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) throw new MalformedManifestError(`${path}: not canonical base64 (non-zero padding bits)`);
  return bytes;
}

function decodeBase64Index(value: unknown, path: string): ChunkIndex {
  const bytes = decodeBase64(value, path);
  try {
    return decodeIndex(bytes);
  } catch (cause) {
    throw new MalformedManifestError(`${path}: ${(cause as Error).message}`, { cause });
  }
}

/** Every field present (optional ones may be), no other: a field this reader does not know could change the meaning. */
function checkFields(o: Record<string, unknown>, fields: readonly string[], path: string, optional: readonly string[] = []): void {
  const prefix = path === '' ? '' : `${path}.`;
  for (const key of Object.keys(o)) {
    if (!fields.includes(key) && !optional.includes(key)) {
      throw new MalformedManifestError(`${prefix}${key.length > 80 ? `${key.slice(0, 80)}…` : key}: unknown field`);
    }
  }
  for (const key of fields) {
    if (!Object.hasOwn(o, key)) throw new MalformedManifestError(`${prefix}${key}: missing`);
  }
}
