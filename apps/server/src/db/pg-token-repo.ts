import type pg from 'pg';
import { ConflictError } from '@lxchunk/errors';
import type { TokenRepository } from './metadata-store.js';
import { UNIQUE_VIOLATION, pgErrorCode } from './pg-error-code.js';
import { inTransaction } from './pg-transaction.js';
import { generateToken, hashToken, isTokenShaped, tokenInfo, validateNewToken, verifiedToken, type TokenRow } from './token-rules.js';
import type { NewToken, TokenInfo, VerifiedToken } from './token-repo.js';

const TOKEN_COLUMNS = `id, name, scopes, created_at, last_used_at, expires_at, revoked_at`;

/** Bearer tokens in PostgreSQL: TokenRepo's semantics (token-repo.ts). Only sha256(token) is stored. */
export class PgTokenRepo implements TokenRepository {
  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => number,
  ) {}

  async create(input: NewToken): Promise<{ id: number; token: string }> {
    const now = this.now();
    const { name, scopes, expiresAt } = validateNewToken(input, now);
    const token = generateToken();
    try {
      const id = await inTransaction(this.pool, async (client) => {
        // An expired token no longer holds its name: it is marked revoked when the name is reused.
        await client.query(
          `UPDATE tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $1`,
          [now, name],
        );
        const { rows } = await client.query<{ id: number }>(
          `INSERT INTO tokens (name, hash, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
          [name, hashToken(token), scopes, now, expiresAt],
        );
        return rows[0]!.id;
      });
      return { id, token };
    } catch (err) {
      // tokens_live_name: an unrevoked token has the name (perhaps created by another replica just now).
      if (pgErrorCode(err) === UNIQUE_VIOLATION) throw new ConflictError(`a token named ${JSON.stringify(name)} already exists`, { name });
      throw err;
    }
  }

  async verify(token: string): Promise<VerifiedToken | undefined> {
    if (!isTokenShaped(token)) return undefined;
    const { rows } = await this.pool.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = $1`, [hashToken(token)]);
    if (!rows[0]) return undefined;
    const now = this.now();
    const verified = verifiedToken(rows[0], now);
    if (verified?.touch) await this.pool.query(`UPDATE tokens SET last_used_at = $1 WHERE id = $2`, [now, rows[0].id]);
    return verified?.token;
  }

  async list(): Promise<TokenInfo[]> {
    const { rows } = await this.pool.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens ORDER BY id`);
    return rows.map(tokenInfo);
  }

  async revoke(idOrName: number | string): Promise<boolean> {
    if (typeof idOrName === 'number' && !Number.isSafeInteger(idOrName)) return false;
    const column = typeof idOrName === 'number' ? 'id' : 'name';
    const result = await this.pool.query(`UPDATE tokens SET revoked_at = $1 WHERE ${column} = $2 AND revoked_at IS NULL`, [this.now(), idOrName]);
    return (result.rowCount ?? 0) > 0;
  }
}

