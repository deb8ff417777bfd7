import type Database from 'better-sqlite3';
import { ConflictError } from '@lxchunk/errors';
import { generateToken, hashToken, isTokenShaped, tokenInfo, validateNewToken, verifiedToken, type TokenRow } from './token-rules.js';

export const TOKEN_SCOPES = ['read', 'push', 'admin'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** `lxc_` + 32 random bytes in base64url (43 chars). */
export const TOKEN_PATTERN = /^lxc_[A-Za-z0-9_-]{43}$/;
/** Token names: 1–64 chars of [A-Za-z0-9._@:+-], starting with a letter or digit, not all digits. */
export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,63}$/;
/** lastUsedAt is written at most this often per token. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export interface NewToken {
  name: string;
  scopes: readonly TokenScope[];
  /** Epoch ms; the token stops verifying at this instant. Omitted: never expires. */
  expiresAt?: number | undefined;
}

export interface VerifiedToken {
  id: number;
  name: string;
  scopes: TokenScope[];
}

export interface TokenInfo {
  id: number;
  name: string;
  scopes: TokenScope[];
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
}

/** `admin` implies `push` and `read`. */
export function tokenHasScope(scopes: readonly TokenScope[], needed: TokenScope): boolean {
  return scopes.includes(needed) || scopes.includes('admin');
}

/** Bearer tokens. Only sha256(token) is stored; the token itself is returned once, by create. */
export class TokenRepo {
  private readonly stmt;
  private readonly createTx;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    this.stmt = {
      insert: db.prepare<[string, Buffer, string, number, number | null]>(
        `INSERT INTO tokens (name, hash, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
      ),
      // An expired token no longer holds its name: it is marked revoked when the name is reused.
      retireExpired: db.prepare<[number, string, number]>(
        `UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?`,
      ),
      nameTaken: db.prepare<[string], 1>(`SELECT 1 FROM tokens WHERE name = ? AND revoked_at IS NULL`).pluck(),
      byHash: db.prepare<[Buffer], TokenRow>(
        `SELECT id, name, scopes, created_at, last_used_at, expires_at, revoked_at FROM tokens WHERE hash = ?`,
      ),
      touch: db.prepare<[number, number]>(`UPDATE tokens SET last_used_at = ? WHERE id = ?`),
      list: db.prepare<[], TokenRow>(`SELECT id, name, scopes, created_at, last_used_at, expires_at, revoked_at FROM tokens ORDER BY id`),
      revokeById: db.prepare<[number, number]>(`UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`),
      revokeByName: db.prepare<[number, string]>(`UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`),
    };
    this.createTx = db.transaction((name: string, hash: Buffer, scopes: string, expiresAt: number | null): number => {
      const now = this.now();
      this.stmt.retireExpired.run(now, name, now);
      if (this.stmt.nameTaken.get(name) !== undefined) {
        throw new ConflictError(`a token named ${JSON.stringify(name)} already exists`, { name });
      }
      return Number(this.stmt.insert.run(name, hash, scopes, now, expiresAt).lastInsertRowid);
    });
  }

  /** Returns the token once; only its sha256 is stored. InvalidInputError for bad input, ConflictError for a taken name. */
  create(input: NewToken): { id: number; token: string } {
    const { name, scopes, expiresAt } = validateNewToken(input, this.now());
    const token = generateToken();
    const id = this.createTx.immediate(name, hashToken(token), scopes, expiresAt);
    return { id, token };
  }

  /**
   * The token's identity, or undefined when it is malformed, unknown, revoked or expired. Lookup is
   * by sha256 of the token, so timing reveals nothing about stored tokens. Writes lastUsedAt at most
   * once per LAST_USED_RESOLUTION_MS (best effort: a busy database never fails a request).
   */
  verify(token: string): VerifiedToken | undefined {
    if (!isTokenShaped(token)) return undefined;
    const row = this.stmt.byHash.get(hashToken(token));
    if (!row) return undefined;
    const now = this.now();
    const verified = verifiedToken(row, now);
    if (verified?.touch) {
      try {
        this.stmt.touch.run(now, row.id);
      } catch (err) {
        if (!isBusy(err)) throw err;
      }
    }
    return verified?.token;
  }

  /** Every token ever created, revoked and expired ones included, by id. Never the token or its hash. */
  list(): TokenInfo[] {
    return this.stmt.list.all().map(tokenInfo);
  }

  /** By id (number) or by the name of an unrevoked token (string). False when nothing was revoked. */
  revoke(idOrName: number | string): boolean {
    const now = this.now();
    if (typeof idOrName === 'number') return this.stmt.revokeById.run(now, idOrName).changes > 0;
    return this.stmt.revokeByName.run(now, idOrName).changes > 0;
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}
