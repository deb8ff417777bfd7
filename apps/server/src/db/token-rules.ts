import { createHash, randomBytes } from 'node:crypto';
import { InvalidInputError } from '@lxchunk/errors';
import { isEpochMs } from './blob-ids.js';
import { LAST_USED_RESOLUTION_MS, TOKEN_NAME_PATTERN, TOKEN_PATTERN, TOKEN_SCOPES, type NewToken, type TokenInfo, type TokenScope, type VerifiedToken } from './token-repo.js';

/** A tokens row without the hash, as both databases return it. */
export interface TokenRow {
  id: number;
  name: string;
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  revoked_at: number | null;
}

/** What create stores for `input`: InvalidInputError for a bad name, scope or expiry. */
export function validateNewToken(input: NewToken, now: number): { name: string; scopes: string; expiresAt: number | null } {
  const name = input.name;
  if (typeof name !== 'string' || !TOKEN_NAME_PATTERN.test(name) || /^[0-9]+$/.test(name)) {
    throw new InvalidInputError(
      `invalid token name ${JSON.stringify(name)}: 1-64 chars of [A-Za-z0-9._@:+-], starting with a letter or digit, not all digits`,
    );
  }
  const scopes = canonicalScopes(input.scopes);
  let expiresAt: number | null = null;
  if (input.expiresAt !== undefined) {
    if (!isEpochMs(input.expiresAt)) throw new InvalidInputError(`token expiresAt must be epoch milliseconds, got ${input.expiresAt}`);
    if (input.expiresAt <= now) throw new InvalidInputError('token expiresAt is in the past');
    expiresAt = input.expiresAt;
  }
  return { name, scopes: scopes.join(' '), expiresAt };
}

/** A new bearer token: `lxc_` + 32 random bytes in base64url. */
export function generateToken(): string {
  return `lxc_${randomBytes(32).toString('base64url')}`;
}

/** What the database stores and looks tokens up by (only this, never the token). */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function isTokenShaped(token: unknown): token is string {
  return typeof token === 'string' && TOKEN_PATTERN.test(token);
}

/**
 * The identity a found row verifies as at `now` (undefined: revoked or expired), and whether its
 * lastUsedAt is due for a write (at most once per LAST_USED_RESOLUTION_MS).
 */
export function verifiedToken(row: TokenRow, now: number): { token: VerifiedToken; touch: boolean } | undefined {
  if (row.revoked_at !== null) return undefined;
  if (row.expires_at !== null && now >= row.expires_at) return undefined;
  const touch = row.last_used_at === null || now - row.last_used_at >= LAST_USED_RESOLUTION_MS;
  return { token: { id: row.id, name: row.name, scopes: parseScopes(row.scopes) }, touch };
}

export function tokenInfo(r: TokenRow): TokenInfo {
  return {
    id: r.id,
    name: r.name,
    scopes: parseScopes(r.scopes),
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

function canonicalScopes(scopes: readonly TokenScope[]): TokenScope[] {
  if (!Array.isArray(scopes) || scopes.length === 0) throw new InvalidInputError('a token needs at least one scope (read, push, admin)');
  for (const scope of scopes as unknown[]) {
    if (!TOKEN_SCOPES.includes(scope as TokenScope)) {
      throw new InvalidInputError(`unknown token scope ${JSON.stringify(scope)} (read, push, admin)`);
    }
  }
  return TOKEN_SCOPES.filter((s) => scopes.includes(s));
}

function parseScopes(text: string): TokenScope[] {
  return text.split(' ').filter((s): s is TokenScope => TOKEN_SCOPES.includes(s as TokenScope));
}
