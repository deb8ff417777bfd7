import { createHash } from 'node:crypto';
import { InvalidInputError } from '@lxchunk/errors';

/**
 * A server certificate's fingerprint as lxchunk shows and pins it: the lowercase hex SHA-256 of
 * its DER encoding, as LXD shows certificates and `openssl x509 -fingerprint -sha256` prints them
 * (without the colons). `GET /healthz` reports it as `tlsFingerprint`.
 */
export function certificateFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** A fingerprint as people paste it (colons, either case, surrounding spaces) in the form above. */
export function parseTlsFingerprint(value: string, origin: string): string {
  const hex = value.trim().replaceAll(':', '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new InvalidInputError(`${origin}: expected a SHA-256 certificate fingerprint (64 hex digits, colons allowed), got ${JSON.stringify(value.slice(0, 100))}`);
  }
  return hex;
}
