import { isChunkId } from '@lxchunk/chunker';
import { MalformedManifestError } from '@lxchunk/errors';
import { validateIndex, type ChunkIndex } from './chunk-index.js';
import { validateContentIndex, type ContentIndex } from './content-index.js';
import { brief, kind } from './describe-value.js';

export type ImageType = 'container' | 'virtual-machine';
/**
 * `unified`: the one tarball of a unified image (metadata.yaml, templates/ and rootfs/ or
 * rootfs.img together, as `lxc publish` makes); the others are the two files of a split image.
 */
export type FileRole = 'metadata' | 'rootfs' | 'rootfs.img' | 'unified';

export const IMAGE_TYPES: readonly ImageType[] = Object.freeze(['container', 'virtual-machine']);
/** Also the order files are kept and written in: metadata first, like LXD's split images. */
export const FILE_ROLES: readonly FileRole[] = Object.freeze(['metadata', 'rootfs', 'rootfs.img', 'unified']);

export interface ImageFile {
  readonly role: FileRole;
  readonly index: ChunkIndex;
  /** Its compressed blocks by content, for hosts that rebuild them (an xz squashfs rootfs). */
  readonly content?: ContentIndex;
}

export interface ImageManifest {
  /** LXD's fingerprint: sha256 over metadata then rootfs (a unified image: of its tarball), 64 lowercase hex. */
  readonly fingerprint: string;
  readonly type: ImageType;
  readonly architecture: string;
  /** ISO 8601 UTC, e.g. 2026-11-28T00:00:00Z (fractional seconds allowed). */
  readonly created: string;
  readonly public: boolean;
  /** From the image's metadata.yaml. */
  readonly properties: Readonly<Record<string, string>>;
  readonly files: readonly ImageFile[];
}

/** Limits that keep a manifest a small, loggable thing whatever its writer did. */
export const MANIFEST_LIMITS = Object.freeze({
  architectureChars: 64,
  propertyCount: 256,
  propertyKeyChars: 128,
  propertyValueChars: 4096,
});

/** The one role besides metadata that each image type carries. */
const ROOTFS_ROLE: Readonly<Record<ImageType, FileRole>> = { container: 'rootfs', 'virtual-machine': 'rootfs.img' };

/**
 * Checks every rule of a manifest and returns a frozen, normalized copy (files in role order,
 * properties in sorted key order). Throws MalformedManifestError naming the path of the first
 * problem, in the wire format's terms (`files[1].index`), since that is where readers will look.
 */
export function validateManifest(manifest: ImageManifest): ImageManifest {
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new MalformedManifestError(`manifest must be an object, got ${kind(manifest)}`);
  }
  const fingerprint = checkFingerprint(manifest.fingerprint, 'fingerprint');
  const type = checkImageType(manifest.type, 'type');
  const architecture = checkArchitecture(manifest.architecture, 'architecture');
  const created = checkCreated(manifest.created, 'created');
  const isPublic = checkBoolean(manifest.public, 'public');
  const properties = checkProperties(manifest.properties, 'properties');
  const files = checkFiles(manifest.files, type, 'files', (file, path) => {
    if (typeof file !== 'object' || file === null || Array.isArray(file)) {
      throw new MalformedManifestError(`${path}: expected an object, got ${kind(file)}`);
    }
    const { role, index, content } = file as Partial<ImageFile>;
    const checked = checkIndex(index, `${path}.index`);
    return { role: checkRole(role, `${path}.role`), index: checked, ...(content !== undefined ? { content: checkContentIndex(content, checked.size, `${path}.content`) } : {}) };
  });
  return Object.freeze({ fingerprint, type, architecture, created, public: isPublic, properties, files });
}

// The checks below are shared with the wire decoder, which runs them on parsed JSON.

export function checkFingerprint(value: unknown, path: string): string {
  const s = checkString(value, path);
  if (!isChunkId(s)) throw new MalformedManifestError(`${path}: must be 64 lowercase hex characters, got ${brief(s)}`);
  return s;
}

export function checkImageType(value: unknown, path: string): ImageType {
  const s = checkString(value, path);
  if (!(IMAGE_TYPES as readonly string[]).includes(s)) {
    throw new MalformedManifestError(`${path}: must be one of ${IMAGE_TYPES.join(', ')}, got ${brief(s)}`);
  }
  return s as ImageType;
}

export function checkRole(value: unknown, path: string): FileRole {
  const s = checkString(value, path);
  if (!(FILE_ROLES as readonly string[]).includes(s)) {
    throw new MalformedManifestError(`${path}: must be one of ${FILE_ROLES.join(', ')}, got ${brief(s)}`);
  }
  return s as FileRole;
}

export function checkArchitecture(value: unknown, path: string): string {
  const s = checkText(value, path, MANIFEST_LIMITS.architectureChars);
  if (s.length === 0) throw new MalformedManifestError(`${path}: must not be empty`);
  // A name, shown in listings and logs: a control character in it can only be an attack or a bug.
  if (CONTROL.test(s)) throw new MalformedManifestError(`${path}: must not contain control characters, got ${brief(s)}`);
  return s;
}

/** UTC with a literal Z: one spelling per instant (fraction aside), so manifests compare as text. */
const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$/;

export function checkCreated(value: unknown, path: string): string {
  const s = checkString(value, path);
  const m = ISO_UTC.exec(s);
  const bad = (): never => {
    throw new MalformedManifestError(`${path}: must be an ISO 8601 UTC timestamp like 2026-11-28T00:00:00Z, got ${brief(s)}`);
  };
  if (!m) return bad();
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (days === undefined || day < 1 || day > days || hour > 23 || minute > 59 || second > 59) return bad();
  return s;
}

export function checkBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new MalformedManifestError(`${path}: expected a boolean, got ${kind(value)}`);
  return value;
}

export function checkProperties(value: unknown, path: string): Readonly<Record<string, string>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedManifestError(`${path}: expected an object of strings, got ${kind(value)}`);
  }
  const keys = Object.keys(value);
  if (keys.length > MANIFEST_LIMITS.propertyCount) {
    throw new MalformedManifestError(`${path}: at most ${MANIFEST_LIMITS.propertyCount} properties, got ${keys.length}`);
  }
  keys.sort();
  const entries: [string, string][] = [];
  for (const key of keys) {
    const keyPath = IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${brief(key)}]`;
    if (key.length === 0) throw new MalformedManifestError(`${path}: a key is empty`);
    if (key.length > MANIFEST_LIMITS.propertyKeyChars) {
      throw new MalformedManifestError(`${keyPath}: key longer than ${MANIFEST_LIMITS.propertyKeyChars} characters (${key.length})`);
    }
    if (LONE_SURROGATE.test(key)) throw new MalformedManifestError(`${keyPath}: key is not well-formed Unicode`);
    entries.push([key, checkText((value as Record<string, unknown>)[key], keyPath, MANIFEST_LIMITS.propertyValueChars)]);
  }
  // fromEntries defines own properties, so even a "__proto__" key is plain data, as in JSON.parse.
  return Object.freeze(Object.fromEntries(entries));
}

/**
 * Checks the list of files against the image type: a split image has metadata exactly once plus
 * exactly the one rootfs role of that type; a unified image (either type) has its tarball alone.
 * `checkFile` checks a single entry; the wire decoder passes its own.
 */
export function checkFiles(
  value: unknown,
  type: ImageType,
  path: string,
  checkFile: (file: unknown, path: string) => ImageFile,
): readonly ImageFile[] {
  if (!Array.isArray(value)) throw new MalformedManifestError(`${path}: expected an array, got ${kind(value)}`);
  const wanted = ROOTFS_ROLE[type];
  const byRole = new Map<FileRole, ImageFile>();
  for (let i = 0; i < value.length; i++) {
    const filePath = `${path}[${i}]`;
    // Roles are checked before the (costlier) rest of the entry, so junk is rejected cheaply.
    const raw: unknown = value[i];
    const role = typeof raw === 'object' && raw !== null ? (raw as { role?: unknown }).role : undefined;
    if (role !== undefined) {
      const r = checkRole(role, `${filePath}.role`);
      if (byRole.has(r)) throw new MalformedManifestError(`${filePath}.role: duplicate role ${r}`);
      if (r === 'unified' ? byRole.size > 0 : byRole.has('unified')) {
        throw new MalformedManifestError(`${filePath}.role: a unified image is its unified file alone, with no other file`);
      }
      if (r !== 'metadata' && r !== 'unified' && r !== wanted) {
        throw new MalformedManifestError(`${filePath}.role: a ${type} image has no ${r} file (it uses ${wanted})`);
      }
    }
    const file = checkFile(raw, filePath);
    byRole.set(file.role, file);
  }
  for (const role of byRole.has('unified') ? [] : (['metadata', wanted] as const)) {
    if (!byRole.has(role)) throw new MalformedManifestError(`${path}: missing the ${role} file of a ${type} image`);
  }
  return Object.freeze(FILE_ROLES.flatMap((role) => byRole.get(role) ?? []));
}

function checkIndex(value: unknown, path: string): ChunkIndex {
  try {
    return validateIndex(value as ChunkIndex);
  } catch (cause) {
    throw new MalformedManifestError(`${path}: ${(cause as Error).message}`, { cause });
  }
}

export function checkContentIndex(value: unknown, fileSize: number, path: string): ContentIndex {
  try {
    return validateContentIndex(value as ContentIndex, fileSize);
  } catch (cause) {
    throw new MalformedManifestError(`${path}: ${(cause as Error).message}`, { cause });
  }
}

export function checkString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new MalformedManifestError(`${path}: expected a string, got ${kind(value)}`);
  return value;
}

/** A free-text string: bounded, and well-formed Unicode so it survives UTF-8 unchanged. */
function checkText(value: unknown, path: string, maxChars: number): string {
  const s = checkString(value, path);
  if (s.length > maxChars) throw new MalformedManifestError(`${path}: longer than ${maxChars} characters (${s.length})`);
  if (LONE_SURROGATE.test(s)) throw new MalformedManifestError(`${path}: not well-formed Unicode (lone surrogate)`);
  return s;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// With the u flag a surrogate pair is one code point, so this matches only unpaired halves.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F]/;
