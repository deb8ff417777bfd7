/**
 * Which TLS certificates the client accepts from the chunk server: those that chain to the
 * system's roots (the default) or to a given CA bundle instead, or exactly one certificate,
 * pinned by its SHA-256 (self-signed allowed, host name not checked). Only the server's own
 * origins are judged so; other hosts (presigned object-store URLs) keep Node's defaults.
 */
import { Client, Pool, buildConnector, type Dispatcher } from 'undici';
import type { TLSSocket } from 'node:tls';
import { TlsUntrustedError } from '@lxchunk/errors';
import { certificateFingerprint, parseTlsFingerprint } from '@lxchunk/format';

export interface ClientTls {
  /** PEM CA certificates trusted for the server instead of the system's roots. */
  readonly ca?: string | Buffer | undefined;
  /** The server certificate's SHA-256 (hex of its DER; colons and case tolerated): accept exactly it. */
  readonly fingerprint?: string | undefined;
}

/** Node's codes for a certificate it refused: the connection is fine, the trust is not. */
export const UNTRUSTED_CERT_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const CONNECT_TIMEOUT_MS = 10_000;

type Connector = buildConnector.connector;
type ConnectOptions = buildConnector.Options;

/**
 * undici Agent options (also good for EnvHttpProxyAgent) under which connections to `origins`
 * are judged by `tls`. A per-origin pool factory does it, so that it also applies inside a
 * proxy's CONNECT tunnel: the tunnel is opened as for plain HTTP and the TLS made here.
 */
export function serverTrustOptions(origins: readonly string[], tls: ClientTls = {}): { factory: (origin: string | URL, opts: object) => Dispatcher; connect: { timeout: number } } {
  const pin = tls.fingerprint !== undefined ? parseTlsFingerprint(tls.fingerprint, 'server fingerprint') : undefined;
  const servers = new Set(origins.map((o) => new URL(o).origin));
  // Verification happens in `verified` below, which sees the certificate either way and can
  // name it. Pinned connections resume no sessions: each handshake shows the certificate anew.
  const handshake = buildConnector({
    timeout: CONNECT_TIMEOUT_MS,
    rejectUnauthorized: false,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(pin ? { maxCachedSessions: 0 } : {}),
  });
  const check = (socket: TLSSocket, where: string): TlsUntrustedError | undefined => judge(socket, where, pin, tls.ca !== undefined);
  return {
    connect: { timeout: CONNECT_TIMEOUT_MS },
    factory(origin, opts) {
      const options = opts as { connect?: unknown; connections?: number | null };
      const url = new URL(origin);
      let connect = options.connect;
      if (url.protocol === 'https:' && servers.has(url.origin)) {
        const tunnel = typeof connect === 'function' ? (connect as Connector) : undefined;
        connect = verified(handshake, tunnel, check);
      }
      const poolOptions = { ...options, connect } as Pool.Options;
      return options.connections === 1 ? new Client(origin, poolOptions) : new Pool(origin, poolOptions);
    },
  };
}

/** A connector that makes the TLS handshake (through `tunnel`'s socket, if any) and judges it. */
function verified(handshake: Connector, tunnel: Connector | undefined, check: (socket: TLSSocket, where: string) => Error | undefined): Connector {
  const secure = (options: ConnectOptions, callback: buildConnector.Callback) =>
    handshake(options, (err, socket) => {
      if (err) return callback(err, null);
      const refusal = check(socket as TLSSocket, `${options.hostname}:${options.port || 443}`);
      if (!refusal) return callback(null, socket!);
      socket!.destroy();
      callback(refusal, null);
    });
  if (!tunnel) return secure;
  return (options, callback) =>
    // The tunnel's CONNECT names the port: the HTTPS default, not plain HTTP's.
    tunnel({ ...options, port: options.port || '443', protocol: 'http:' }, (err, socket) => (err ? callback(err, null) : secure({ ...options, httpSocket: socket! }, callback)));
}

function judge(socket: TLSSocket, where: string, pin: string | undefined, customCa: boolean): TlsUntrustedError | undefined {
  const cert = socket.getPeerX509Certificate();
  const seen = cert ? certificateFingerprint(cert.raw) : undefined;
  const shown = seen ?? 'none (no certificate)';
  if (pin) {
    if (seen === pin) return undefined;
    return new TlsUntrustedError(`the server at ${where} presented a TLS certificate with SHA-256 ${shown}, not the pinned ${pin}`, { ...(seen ? { seen } : {}), expected: pin });
  }
  if (socket.authorized) return undefined;
  const reason = String(socket.authorizationError ?? 'not verified');
  const trusted = customCa ? 'the given CA bundle does' : "the system's CAs do";
  return new TlsUntrustedError(
    `the server at ${where} presented a TLS certificate that ${trusted} not vouch for (${reason}); its SHA-256 is ${shown}: ` +
      'if that is your server\'s (chunk serve prints it, /healthz shows it), pin it (--server-fingerprint) or trust the CA that signed it (--ca)',
    { ...(seen ? { seen } : {}), reason },
  );
}
