/**
 * A small client of LXD's REST API over its unix socket: server info, images (list, get, import,
 * export, delete) and image aliases. Only the default project. No `lxc` is run.
 */
import { HashMismatchError, InvalidInputError, LxdError, LxdUnavailableError, ProtocolError } from '@lxchunk/errors';
import { readImageMetadata } from '@lxchunk/image';
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileBody } from './file-body.js';
import { multipartBody, multipartBoundary, readMultipart, dispositionParams } from './multipart.js';
import { LxdTransport, isLxdStatus, lxdErrorFrom, readEnvelope, type LxdEnvelope } from './transport.js';

export interface LxdImageInfo {
  fingerprint: string;
  size: number;
  public: boolean;
  architecture: string;
  type: 'container' | 'virtual-machine';
  properties: Record<string, string>;
  aliases: string[];
  uploadedAt: string;
  filename: string;
}

export interface LxdConnectOptions {
  /** The socket to use; without it the usual places are tried (see `LxdClient.connect`). */
  socketPath?: string;
  /** Connect and per-request timeout (waits for headers and silences in bodies); default 30 s. */
  timeoutMs?: number;
}

export interface LxdImportOptions {
  /** A split image's metadata tarball, or a unified image's tarball (then no rootfsPath). */
  metadataPath: string;
  rootfsPath?: string;
  type: 'container' | 'virtual-machine';
  /** sha256(metadata ‖ rootfs), or of the unified tarball; LXD refuses the upload when its own hash differs. */
  fingerprint: string;
  public?: boolean;
  /** Added to (and overriding) the properties of the image's metadata.yaml. */
  properties?: Record<string, string>;
  /** Called once LXD holds the image, before properties it could not take with the upload are set. */
  onImported?: () => void | Promise<void>;
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const FINGERPRINT = /^[0-9a-f]{64}$/;

/** Where LXD puts its socket: $LXD_DIR first, then the snap, then distribution packages. */
export function defaultSocketPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const paths: string[] = [];
  if (env.LXD_DIR) paths.push(join(env.LXD_DIR, 'unix.socket'));
  paths.push('/var/snap/lxd/common/lxd/unix.socket', '/var/lib/lxd/unix.socket');
  return paths;
}

export class LxdClient {
  readonly socketPath: string;

  /** The daemon's LXD_DIR when it can be known (the socket's directory, holding an `images` directory). */
  readonly lxdDir: string | undefined;

  private readonly transport: LxdTransport;

  private constructor(transport: LxdTransport, lxdDir: string | undefined) {
    this.transport = transport;
    this.socketPath = transport.socketPath;
    this.lxdDir = lxdDir;
  }

  /**
   * Finds the socket: `socketPath` if given, else $LXD_DIR/unix.socket,
   * /var/snap/lxd/common/lxd/unix.socket, /var/lib/lxd/unix.socket (the first that exists); then
   * checks that GET /1.0 answers and trusts us. LXD_UNAVAILABLE when no socket exists or answers.
   */
  static async connect(options: LxdConnectOptions = {}): Promise<LxdClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new InvalidInputError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    let socketPath: string;
    if (options.socketPath !== undefined) {
      if (!options.socketPath) throw new InvalidInputError('socketPath must not be empty');
      socketPath = options.socketPath;
    } else {
      const candidates = defaultSocketPaths();
      const found = await firstExisting(candidates);
      if (!found) throw new LxdUnavailableError(`no LXD socket found (tried ${candidates.join(', ')}); is LXD installed and running?`);
      socketPath = found;
    }
    const transport = new LxdTransport(socketPath, timeoutMs);
    try {
      const { envelope } = await transport.json('GET', '/1.0');
      const info = asRecord(envelope.metadata, 'GET /1.0');
      if (info.auth !== undefined && info.auth !== 'trusted') {
        throw new LxdUnavailableError(`LXD at ${socketPath} does not trust this client (auth: ${String(info.auth)})`);
      }
    } catch (err) {
      await transport.destroy();
      if (err instanceof LxdUnavailableError) throw err;
      throw new LxdUnavailableError(`LXD at ${socketPath} does not answer GET /1.0 as LXD: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return new LxdClient(transport, await lxdDirOf(socketPath));
  }

  async serverInfo(): Promise<{ apiVersion: string; serverVersion: string; storageDriver?: string }> {
    const { envelope } = await this.transport.json('GET', '/1.0');
    const info = asRecord(envelope.metadata, 'GET /1.0');
    const environment = typeof info.environment === 'object' && info.environment !== null ? (info.environment as Record<string, unknown>) : {};
    const storage = typeof environment.storage === 'string' && environment.storage ? environment.storage : undefined;
    return {
      apiVersion: typeof info.api_version === 'string' ? info.api_version : '',
      serverVersion: typeof environment.server_version === 'string' ? environment.server_version : '',
      ...(storage ? { storageDriver: storage } : {}),
    };
  }

  async listImages(): Promise<LxdImageInfo[]> {
    const { envelope } = await this.transport.json('GET', '/1.0/images?recursion=1');
    if (!Array.isArray(envelope.metadata)) throw new ProtocolError('LXD answered GET /1.0/images?recursion=1 without a list');
    return envelope.metadata.map((image) => toImageInfo(image));
  }

  /** The image with exactly this fingerprint, or undefined (LXD itself would also match a prefix). */
  async getImage(fingerprint: string): Promise<LxdImageInfo | undefined> {
    checkFingerprint(fingerprint);
    try {
      const { envelope } = await this.transport.json('GET', `/1.0/images/${fingerprint}`);
      const image = toImageInfo(envelope.metadata);
      return image.fingerprint === fingerprint ? image : undefined;
    } catch (err) {
      if (isLxdStatus(err, 404)) return undefined;
      throw err;
    }
  }

  /**
   * Imports an image: POST /1.0/images with a streamed body and X-LXD-fingerprint, so LXD refuses
   * other bytes; waits for the background operation and returns the fingerprint LXD reports. A
   * split image goes as multipart/form-data (part `metadata`, then `rootfs` or `rootfs.img`), a
   * unified one as the tarball itself (application/octet-stream), as LXD's own client sends them.
   *
   * `properties` go in the X-LXD-properties header, so that the image appears with them in one
   * step, when the image's metadata.yaml has a `properties` map. Without one LXD 5.0 panics on
   * that header (the whole daemon dies), so they are then set right after the import with PUT
   * /1.0/images/<fp>: a caller killed in between finds the image without them (`onImported`
   * marks that point). If that update fails the image is deleted again.
   *
   * `signal` stops the upload (LXD then drops what it received) or the wait; once the upload is
   * complete LXD finishes the import on its own, so the image may still appear after an abort.
   * LXD_ERROR when LXD refuses (fingerprint mismatch, image already present, bad metadata).
   */
  async importImage(options: LxdImportOptions): Promise<string> {
    const { metadataPath, rootfsPath, type, fingerprint, signal } = options;
    checkFingerprint(fingerprint);
    if (type !== 'container' && type !== 'virtual-machine') throw new InvalidInputError(`image type must be container or virtual-machine, got ${JSON.stringify(type)}`);
    const properties = checkProperties(options.properties);
    const metadataSize = await regularFileSize(metadataPath, rootfsPath === undefined ? 'unified image' : 'metadata');
    const rootfsSize = rootfsPath === undefined ? 0 : await regularFileSize(rootfsPath, 'rootfs');
    const inUpload = (await readImageMetadata(metadataPath)).hasPropertiesMap;
    signal?.throwIfAborted();

    const body =
      rootfsPath === undefined
        ? fileBody(metadataPath, metadataSize)
        : multipartBody([
            { name: 'metadata', filename: basename(metadataPath), path: metadataPath, size: metadataSize },
            { name: type === 'virtual-machine' ? 'rootfs.img' : 'rootfs', filename: basename(rootfsPath), path: rootfsPath, size: rootfsSize },
          ]);
    const headers: Record<string, string> = {
      'content-type': body.contentType,
      'content-length': String(body.contentLength),
      'x-lxd-fingerprint': fingerprint,
    };
    if (options.public) headers['x-lxd-public'] = 'true';
    // Form-encoded, as LXD decodes it with url.ParseQuery.
    if (inUpload && Object.keys(properties).length > 0) headers['x-lxd-properties'] = new URLSearchParams(properties).toString();

    let envelope: LxdEnvelope;
    try {
      // LXD stores the whole body before it answers; the headers wait starts once it is sent.
      ({ envelope } = await this.transport.json('POST', '/1.0/images', {
        stream: body.stream,
        headers,
        signal,
        headersTimeoutMs: Math.max(this.transport.timeoutMs, 120_000),
      }));
    } finally {
      body.stream.destroy();
    }
    if (envelope.type !== 'async' || typeof envelope.operation !== 'string') {
      throw new ProtocolError(`LXD answered the image upload without a background operation (type ${String(envelope.type)})`);
    }

    let reported: string;
    try {
      const op = await this.transport.waitOperation(envelope.operation, `import image ${fingerprint}`, signal);
      const value = op.metadata?.fingerprint;
      if (typeof value !== 'string') throw new ProtocolError('LXD finished the image import without reporting a fingerprint');
      reported = value;
    } catch (err) {
      // A finished operation is forgotten after a few seconds: if it is gone, ask for the image.
      if (isLxdStatus(err, 404) && (await this.getImage(fingerprint))) reported = fingerprint;
      else throw err;
    }
    if (reported !== fingerprint) throw new HashMismatchError(`image imported into LXD`, fingerprint, reported);
    await options.onImported?.();

    if (!inUpload && Object.keys(properties).length > 0) {
      try {
        await this.setImageProperties(fingerprint, properties, signal);
      } catch (err) {
        await this.deleteImage(fingerprint).catch(() => undefined);
        throw err;
      }
    }
    return reported;
  }

  /** Adds `properties` to the image's (overriding those of the same name); LXD_ERROR 404 if there is no such image. */
  async setImageProperties(fingerprint: string, properties: Record<string, string>, signal?: AbortSignal): Promise<void> {
    checkFingerprint(fingerprint);
    checkProperties(properties);
    const path = `/1.0/images/${fingerprint}`;
    const { envelope, headers } = await this.transport.json('GET', path, { signal });
    const image = asRecord(envelope.metadata, `GET ${path}`);
    const current = typeof image.properties === 'object' && image.properties !== null ? (image.properties as Record<string, string>) : {};
    const etag = header(headers, 'etag');
    // PUT replaces every writable field: send back the ones we do not change.
    await this.transport.json('PUT', path, {
      json: {
        auto_update: image.auto_update ?? false,
        properties: { ...current, ...properties },
        public: image.public ?? false,
        expires_at: image.expires_at,
        profiles: image.profiles,
      },
      headers: etag ? { 'if-match': etag } : {},
      signal,
    });
  }

  /** Deletes the image (LXD also deletes the aliases that point at it); false if there was none. */
  async deleteImage(fingerprint: string): Promise<boolean> {
    checkFingerprint(fingerprint);
    let envelope: LxdEnvelope;
    try {
      ({ envelope } = await this.transport.json('DELETE', `/1.0/images/${fingerprint}`));
    } catch (err) {
      if (isLxdStatus(err, 404)) return false;
      throw err;
    }
    if (envelope.type === 'async' && typeof envelope.operation === 'string') {
      try {
        await this.transport.waitOperation(envelope.operation, `delete image ${fingerprint}`);
      } catch (err) {
        if (!(isLxdStatus(err, 404) && !(await this.getImage(fingerprint)))) throw err;
      }
    }
    return true;
  }

  async getAlias(name: string): Promise<{ name: string; target: string; description: string } | undefined> {
    checkAliasName(name);
    try {
      const { envelope } = await this.transport.json('GET', aliasPath(name));
      const alias = asRecord(envelope.metadata, `GET ${aliasPath(name)}`);
      if (typeof alias.target !== 'string') throw new ProtocolError(`LXD answered GET ${aliasPath(name)} without a target`);
      return {
        name: typeof alias.name === 'string' ? alias.name : name,
        target: alias.target,
        description: typeof alias.description === 'string' ? alias.description : '',
      };
    } catch (err) {
      if (isLxdStatus(err, 404)) return undefined;
      throw err;
    }
  }

  /**
   * Creates the alias (POST /1.0/images/aliases) or retargets it (PUT /1.0/images/aliases/<name>)
   * so it points at `target`. Without `description` an existing alias keeps its own. The target
   * must be an image LXD holds (LXD_ERROR 404 otherwise).
   */
  async setAlias(name: string, target: string, description?: string): Promise<void> {
    checkAliasName(name);
    checkFingerprint(target);
    if (description !== undefined && typeof description !== 'string') throw new InvalidInputError('alias description must be a string');
    for (let attempt = 0; ; attempt++) {
      const existing = await this.getAlias(name);
      try {
        if (!existing) {
          await this.transport.json('POST', '/1.0/images/aliases', { json: { name, target, description: description ?? '' } });
          return;
        }
        if (existing.target === target && (description === undefined || description === existing.description)) return;
        // PUT replaces the whole alias (target and description). PATCH hangs LXD 5.0.2 for 20 s.
        await this.transport.json('PUT', aliasPath(name), { json: { target, description: description ?? existing.description } });
        return;
      } catch (err) {
        // Someone created (409) or deleted (404 on PUT) it in between: look again, once.
        const raced = existing ? isLxdStatus(err, 404) && (await this.getImage(target)) !== undefined : isLxdStatus(err, 409);
        if (!raced || attempt >= 2) throw err;
      }
    }
  }

  async deleteAlias(name: string): Promise<boolean> {
    checkAliasName(name);
    try {
      await this.transport.json('DELETE', aliasPath(name));
      return true;
    } catch (err) {
      if (isLxdStatus(err, 404)) return false;
      throw err;
    }
  }

  /** Path of the image's rootfs file if readable directly ($LXD_DIR/images/<fp>.rootfs), else undefined. */
  async localRootfsPath(fingerprint: string): Promise<string | undefined> {
    checkFingerprint(fingerprint);
    if (!this.lxdDir) return undefined;
    return readableFile(join(this.lxdDir, 'images', `${fingerprint}.rootfs`));
  }

  /**
   * Path of a unified image's tarball if readable directly ($LXD_DIR/images/<fp>, with no
   * `<fp>.rootfs` beside it: that would make it a split image's metadata), else undefined.
   */
  async localUnifiedPath(fingerprint: string): Promise<string | undefined> {
    checkFingerprint(fingerprint);
    if (!this.lxdDir) return undefined;
    const images = join(this.lxdDir, 'images');
    const path = await readableFile(join(images, fingerprint));
    if (!path) return undefined;
    const rootfs = await stat(join(images, `${fingerprint}.rootfs`)).catch(() => undefined);
    return rootfs ? undefined : path;
  }

  /**
   * GET /1.0/images/<fp>/export into `dir` (created if needed): a split image arrives as
   * multipart parts `metadata` and `rootfs`/`rootfs.img`, a unified one as one tarball (then
   * only `metadata` is returned). The bytes are checked against the fingerprint (HASH_MISMATCH)
   * and each file appears atomically (temp file + rename), named as LXD suggests when that name
   * is safe (`meta-<fp>.tar.xz`, `<fp>.squashfs`, `<fp>.tar.xz`), else `<fp>.metadata` /
   * `<fp>.rootfs`.
   */
  async exportImage(fingerprint: string, dir: string, options: { signal?: AbortSignal } = {}): Promise<{ metadata: string; rootfs?: string }> {
    checkFingerprint(fingerprint);
    const { signal } = options;
    await mkdir(dir, { recursive: true });
    const path = `/1.0/images/${fingerprint}/export`;
    const response = await this.transport.raw('GET', path, { signal });
    if (response.statusCode !== 200) {
      const envelope = await readEnvelope(response, 'GET', path, signal);
      throw lxdErrorFrom('GET', path, response.statusCode, envelope);
    }
    const contentType = header(response.headers, 'content-type');
    const boundary = multipartBoundary(contentType);
    const hash = createHash('sha256');
    const written: TempFile[] = [];
    try {
      if (boundary) {
        let current: TempFile | undefined;
        for await (const event of readMultipart(response.body, boundary)) {
          if (event.kind === 'part') {
            const index = written.length;
            const expected = index === 0 ? ['metadata'] : index === 1 ? ['rootfs', 'rootfs.img'] : [];
            if (!event.part.name || !expected.includes(event.part.name)) {
              throw new ProtocolError(`LXD's export of ${fingerprint} has an unexpected part ${JSON.stringify(event.part.name)} at position ${index + 1}`);
            }
            const fallback = index === 0 ? `${fingerprint}.metadata` : `${fingerprint}.rootfs`;
            current = await TempFile.create(dir, safeName(event.part.filename, fallback, written));
            written.push(current);
          } else if (event.kind === 'data') {
            hash.update(event.data);
            await current!.write(event.data);
          } else {
            await current!.finish();
            current = undefined;
          }
        }
        if (written.length !== 2) throw new ProtocolError(`LXD's export of ${fingerprint} has ${written.length} part(s), not metadata and rootfs`);
      } else {
        const disposition = header(response.headers, 'content-disposition');
        const filename = disposition ? dispositionParams(disposition).filename : undefined;
        const file = await TempFile.create(dir, safeName(filename, `${fingerprint}.metadata`, written));
        written.push(file);
        try {
          for await (const piece of response.body) {
            const buf = piece as Buffer;
            hash.update(buf);
            await file.write(buf);
          }
        } catch (err) {
          throw this.transport.mapFailure(err, 'GET', path, signal);
        }
        await file.finish();
      }
      const actual = hash.digest('hex');
      if (actual !== fingerprint) throw new HashMismatchError(`LXD's export of image ${fingerprint}`, fingerprint, actual);
      for (const file of written) await file.commit();
      const [metadata, rootfs] = written;
      return rootfs ? { metadata: metadata!.finalPath, rootfs: rootfs.finalPath } : { metadata: metadata!.finalPath };
    } catch (err) {
      response.body.destroy();
      await Promise.all(written.map((file) => file.discard()));
      if (signal?.aborted) throw signal.reason ?? err;
      if (err instanceof ProtocolError || err instanceof HashMismatchError || err instanceof LxdError || err instanceof LxdUnavailableError) throw err;
      throw this.transport.mapFailure(err, 'GET', path, signal);
    }
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** A file written under a temporary name next to its final one, renamed into place on commit. */
class TempFile {
  private constructor(
    readonly finalPath: string,
    private readonly tempPath: string,
    private handle: FileHandle | undefined,
  ) {}

  static async create(dir: string, name: string): Promise<TempFile> {
    const finalPath = join(dir, name);
    const tempPath = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
    return new TempFile(finalPath, tempPath, await open(tempPath, 'wx', 0o600));
  }

  async write(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await this.handle!.write(data, offset, data.length - offset);
      offset += bytesWritten;
    }
  }

  async finish(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  async commit(): Promise<void> {
    await this.finish();
    await rename(this.tempPath, this.finalPath);
  }

  async discard(): Promise<void> {
    await this.finish().catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }
}

function safeName(suggested: string | undefined, fallback: string, taken: readonly TempFile[]): string {
  const name = suggested ? basename(suggested) : '';
  const usable = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/.test(name) && !name.endsWith('.tmp');
  const chosen = usable ? name : fallback;
  return taken.some((file) => basename(file.finalPath) === chosen) ? `${fallback}-${taken.length}` : chosen;
}

/** The alias route, each '/'-separated piece percent-encoded ('/' as %2F, '.' too, so '..' stays a name). */
function aliasPath(name: string): string {
  return `/1.0/images/aliases/${encodeURIComponent(name).replace(/\./g, '%2E')}`;
}

function checkFingerprint(fingerprint: unknown): asserts fingerprint is string {
  if (typeof fingerprint !== 'string' || !FINGERPRINT.test(fingerprint)) {
    throw new InvalidInputError(`an LXD image fingerprint must be 64 lowercase hex characters, got ${JSON.stringify(String(fingerprint).slice(0, 80))}`);
  }
}

function checkAliasName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 255) throw new InvalidInputError(`an LXD alias name must be 1-255 characters, got ${JSON.stringify(name)}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new InvalidInputError(`an LXD alias name must not contain control characters, got ${JSON.stringify(name)}`);
}

function checkProperties(properties: Record<string, string> | undefined): Record<string, string> {
  if (properties === undefined) return {};
  if (typeof properties !== 'object' || properties === null) throw new InvalidInputError('image properties must be an object of strings');
  for (const [key, value] of Object.entries(properties)) {
    if (!key || typeof value !== 'string') throw new InvalidInputError(`image property ${JSON.stringify(key)} must have a non-empty name and a string value`);
  }
  return properties;
}

async function readableFile(path: string): Promise<string | undefined> {
  try {
    if (!(await stat(path)).isFile()) return undefined;
    await access(path, fsConstants.R_OK);
    return path;
  } catch {
    return undefined;
  }
}

async function regularFileSize(path: string, role: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new InvalidInputError(`the ${role} file ${path} is not a regular file`);
    return info.size;
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw new InvalidInputError(`cannot read the ${role} file ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await stat(path);
      return path;
    } catch {
      // try the next
    }
  }
  return undefined;
}

/** The socket's directory is LXD_DIR when it has LXD's `images` directory next to the socket. */
async function lxdDirOf(socketPath: string): Promise<string | undefined> {
  const dir = dirname(socketPath);
  try {
    return (await stat(join(dir, 'images'))).isDirectory() ? dir : undefined;
  } catch {
    return undefined;
  }
}

function toImageInfo(value: unknown): LxdImageInfo {
  const image = asRecord(value, 'an image');
  if (typeof image.fingerprint !== 'string') throw new ProtocolError('LXD described an image without a fingerprint');
  const properties: Record<string, string> = {};
  if (typeof image.properties === 'object' && image.properties !== null) {
    for (const [key, v] of Object.entries(image.properties as Record<string, unknown>)) if (typeof v === 'string') properties[key] = v;
  }
  const aliases = Array.isArray(image.aliases)
    ? image.aliases.flatMap((alias: unknown) => (typeof alias === 'object' && alias !== null && typeof (alias as { name?: unknown }).name === 'string' ? [(alias as { name: string }).name] : []))
    : [];
  return {
    fingerprint: image.fingerprint,
    size: typeof image.size === 'number' ? image.size : 0,
    public: image.public === true,
    architecture: typeof image.architecture === 'string' ? image.architecture : '',
    type: image.type === 'virtual-machine' ? 'virtual-machine' : 'container',
    properties,
    aliases,
    uploadedAt: typeof image.uploaded_at === 'string' ? image.uploaded_at : '',
    filename: typeof image.filename === 'string' ? image.filename : '',
  };
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtocolError(`LXD answered ${what} without an object`);
  return value as Record<string, unknown>;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
