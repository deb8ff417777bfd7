/**
 * The server's TLS certificate: loaded from files the operator gives, or generated once as a
 * self-signed certificate kept in the data dir; and its fingerprint, which clients pin.
 */
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError, IoError, userPathError } from '@lxchunk/errors';
import { certificateFingerprint } from '@lxchunk/format';
import { generate } from 'selfsigned';

/** PEM certificate (the leaf first, then any intermediates) and its private key. */
export interface ServerTls {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** What the operator asked for: files, or a self-signed certificate in the data dir. */
export interface ServerTlsRequest {
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly selfSigned?: boolean | undefined;
  /** Extra SubjectAltNames of a self-signed certificate (DNS names or IP addresses). */
  readonly sans?: readonly string[] | undefined;
  readonly dataDir?: string | undefined;
}

export interface ResolvedServerTls extends ServerTls {
  /** Requested SANs an existing self-signed certificate lacks (it is reused as is). */
  readonly missingSans: readonly string[];
}

/** Below the data dir: delete it (server stopped) to get a new certificate, e.g. for new SANs. */
export const SELF_SIGNED_DIR = 'tls';
const CERT_FILE = 'server.crt';
const KEY_FILE = 'server.key';
const VALIDITY_YEARS = 10;

/** The certificate to serve with, or undefined for plain HTTP. Refuses contradictory requests. */
export async function resolveServerTls(request: ServerTlsRequest): Promise<ResolvedServerTls | undefined> {
  const sans = request.sans ?? [];
  const files = request.certFile !== undefined || request.keyFile !== undefined;
  if (request.selfSigned && files) throw new InvalidInputError('give --tls-self-signed or --tls-cert and --tls-key, not both');
  if (sans.length > 0 && !request.selfSigned) throw new InvalidInputError('--tls-san names hosts in a self-signed certificate: it needs --tls-self-signed');
  if (files) {
    if (request.certFile === undefined || request.keyFile === undefined) throw new InvalidInputError('--tls-cert and --tls-key go together');
    const tls = { cert: await readPem('--tls-cert', request.certFile), key: await readPem('--tls-key', request.keyFile) };
    checkPair(tls, `--tls-cert ${request.certFile} and --tls-key ${request.keyFile}`);
    return { ...tls, missingSans: [] };
  }
  if (!request.selfSigned) return undefined;
  if (request.dataDir === undefined) {
    throw new InvalidInputError(`--tls-self-signed keeps its certificate in the data directory (${SELF_SIGNED_DIR}/${CERT_FILE}): it needs --data DIR`);
  }
  for (const san of sans) validateSan(san);
  return selfSignedTls(join(request.dataDir, SELF_SIGNED_DIR), sans);
}

/** Lowercase hex SHA-256 of the (first) certificate's DER. */
export function tlsFingerprint(tls: ServerTls): string {
  return certificateFingerprint(new X509Certificate(tls.cert).raw);
}

/**
 * The certificate in `dir`, made on first use: kept so that clients' pins survive restarts.
 * Key and certificate are each written to a temporary file and renamed into place, the key
 * first: a certificate without its key is never found, and a key alone is replaced.
 */
async function selfSignedTls(dir: string, sans: readonly string[]): Promise<ResolvedServerTls> {
  const certPath = join(dir, CERT_FILE);
  const keyPath = join(dir, KEY_FILE);
  const existing = await readExisting(certPath, keyPath);
  if (existing) {
    checkPair(existing, `${certPath} and ${keyPath}`);
    const cert = new X509Certificate(existing.cert);
    const missingSans = sans.filter((san) => (isIP(san) ? cert.checkIP(san) : cert.checkHost(san, { wildcards: false })) === undefined);
    return { ...existing, missingSans };
  }
  const names = subjectAltNames(sans);
  const notBeforeDate = new Date(Date.now() - 60_000); // a little slack for clients' clocks
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + VALIDITY_YEARS);
  const pems = await generate([{ name: 'commonName', value: names.dns[0]! }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256', // the package's default is SHA-1, which Go and OpenSSL 3 refuse
    notBeforeDate,
    notAfterDate,
    extensions: [
      // keyCertSign: LXD's Go client trusts a pinned certificate by making it a root.
      { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...names.dns.map((value) => ({ type: 2 as const, value })), ...names.ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((err: unknown) => Promise.reject(new IoError(`cannot create ${dir}: ${(err as Error).message}`, { cause: err })));
  await writeAtomically(keyPath, pems.private, 0o600);
  await writeAtomically(certPath, pems.cert, 0o644);
  return { cert: pems.cert, key: pems.private, missingSans: [] };
}

/**
 * DNS names first, the machine's own name leading (LXD's Go client sends the pinned
 * certificate's first DNS name as the server name), then loopback addresses and the extras.
 */
function subjectAltNames(extra: readonly string[]): { dns: string[]; ips: string[] } {
  const own = hostname().toLowerCase();
  const dns = new Set<string>();
  if (isDnsName(own)) dns.add(own);
  dns.add('localhost');
  const ips = new Set<string>(['127.0.0.1', '::1']);
  for (const san of extra) {
    if (isIP(san)) ips.add(san);
    else dns.add(san.toLowerCase());
  }
  return { dns: [...dns], ips: [...ips] };
}

function validateSan(san: string): void {
  if (!isIP(san) && !isDnsName(san)) throw new InvalidInputError(`--tls-san ${JSON.stringify(san)}: expected a DNS name or an IP address`);
}

function isDnsName(name: string): boolean {
  return name.length <= 253 && /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(name);
}

async function readExisting(certPath: string, keyPath: string): Promise<ServerTls | undefined> {
  let key: Buffer;
  try {
    key = await readFile(keyPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw userPathError('TLS key', keyPath, err);
  }
  try {
    return { cert: await readFile(certPath), key };
  } catch (err) {
    // A key whose certificate never got written: made again, both.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw userPathError('TLS certificate', certPath, err);
  }
}

async function readPem(origin: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw userPathError(origin, path, err);
  }
}

/** Parse errors and a key of another certificate, said before listening rather than at the first handshake. */
function checkPair(tls: ServerTls, where: string): void {
  let matches: boolean;
  try {
    matches = new X509Certificate(tls.cert).checkPrivateKey(createPrivateKey(tls.key));
  } catch (cause) {
    throw new InvalidInputError(`${where}: not a PEM certificate and private key (${(cause as Error).message})`, { cause });
  }
  if (!matches) throw new InvalidInputError(`${where}: the key is not the certificate's`);
}

async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const file = await open(temp, 'wx', mode);
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw new IoError(`cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}
