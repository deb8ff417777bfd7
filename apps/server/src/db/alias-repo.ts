import type Database from 'better-sqlite3';
import { ImageNotFoundError, isLxchunkError } from '@lxchunk/errors';
import { validateAliasName, type AliasChange, type AliasExpectation, type AliasHistoryEntry as WireAliasHistoryEntry } from '@lxchunk/format';
import { fromBlob } from './blob-ids.js';
import {
  aliasRecord,
  checkExpectation,
  checkKeep,
  checkLimit,
  checkSeq,
  nextAliasRow,
  validateAliasSet,
  validateExpectVersion,
  type AliasRow,
} from './alias-rules.js';

export interface AliasRecord {
  name: string;
  /** Fingerprint of the target image. */
  target: string;
  /** 1 on first creation, +1 on every target change. Never reused for a name (see set). */
  version: number;
  /** Epoch ms of the last target change. */
  updated: number;
  description: string;
}

// The compare-and-swap precondition is the wire contract's (`If-Match` / `If-None-Match: *`).
export type { AliasExpectation };

export interface AliasSetResult {
  record: AliasRecord;
  /** False when the target was already the current one (no version bump, no history, no change row). */
  changed: boolean;
}

/** The wire entries with `at` as stored, epoch ms: the routes send it as ISO 8601. */
export type AliasHistoryEntry = Omit<WireAliasHistoryEntry, 'at'> & { readonly at: number };
export type Change = Omit<AliasChange, 'at'> & { readonly at: number };

export const ALIAS_DESCRIPTION_MAX = 4096;

/** The contract's alias-name rule (@lxchunk/format validateAliasName), as a test. */
export function isValidAliasName(name: unknown): name is string {
  try {
    validateAliasName(name);
    return true;
  } catch (err) {
    if (isLxchunkError(err, 'INVALID_INPUT')) return false;
    throw err;
  }
}

/** Aliases, their history and the change feed. Every write is one IMMEDIATE transaction. */
export class AliasRepo {
  private readonly stmt;
  private readonly setTx;
  private readonly deleteTx;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    this.stmt = {
      get: db.prepare<[string], AliasRow>(`SELECT name, target, version, updated, description FROM aliases WHERE name = ?`),
      list: db.prepare<[], AliasRow>(`SELECT name, target, version, updated, description FROM aliases ORDER BY name`),
      imageExists: db.prepare<[Buffer], 1>(`SELECT 1 FROM images WHERE fingerprint = ?`).pluck(),
      lastVersion: db.prepare<[string], number | null>(`SELECT max(version) FROM alias_history WHERE name = ?`).pluck(),
      upsert: db.prepare(
        `INSERT INTO aliases (name, target, version, updated, description) VALUES (@name, @target, @version, @updated, @description)
         ON CONFLICT (name) DO UPDATE SET target = excluded.target, version = excluded.version,
           updated = excluded.updated, description = excluded.description`,
      ),
      setDescription: db.prepare<[string, string]>(`UPDATE aliases SET description = ? WHERE name = ?`),
      delete: db.prepare<[string]>(`DELETE FROM aliases WHERE name = ?`),
      addHistory: db.prepare<[string, Buffer, number, number]>(`INSERT INTO alias_history (name, target, version, at) VALUES (?, ?, ?, ?)`),
      addChange: db.prepare<[string, Buffer | null, number, number]>(
        `INSERT INTO alias_changes (name, target, version, at) VALUES (?, ?, ?, ?)`,
      ),
      targetAt: db.prepare<[string, number], Buffer>(`SELECT target FROM alias_history WHERE name = ? AND version = ?`).pluck(),
      history: db.prepare<[string, number], { target: Buffer; version: number; at: number }>(
        `SELECT target, version, at FROM alias_history WHERE name = ? ORDER BY id DESC LIMIT ?`,
      ),
      changesSince: db.prepare<[number, number], { seq: number; name: string; target: Buffer | null; version: number; at: number }>(
        `SELECT seq, name, target, version, at FROM alias_changes WHERE seq > ? ORDER BY seq LIMIT ?`,
      ),
      // sqlite_sequence rather than max(seq): stays right even if old changes are pruned one day.
      latestSeq: db.prepare<[], number>(`SELECT seq FROM sqlite_sequence WHERE name = 'alias_changes'`).pluck(),
      retention: db.prepare<[number], Buffer>(
        `WITH last_use AS (
           SELECT name, target, max(id) AS last_id FROM alias_history GROUP BY name, target
         ),
         kept AS (
           SELECT target FROM (
             SELECT target, row_number() OVER (PARTITION BY name ORDER BY last_id DESC) AS rank FROM last_use
           ) WHERE rank <= ?
         )
         SELECT i.fingerprint FROM images i
         WHERE i.fingerprint IN (SELECT target FROM alias_history)
           AND i.fingerprint NOT IN (SELECT target FROM aliases)
           AND i.fingerprint NOT IN (SELECT target FROM kept)
         ORDER BY i.pushed_at, i.id`,
      ).pluck(),
    };

    this.setTx = db.transaction(
      (name: string, target: Buffer, expect: AliasExpectation, description: string | undefined): AliasSetResult => {
        const current = this.stmt.get.get(name);
        checkExpectation(name, current, expect);
        if (this.stmt.imageExists.get(target) === undefined) throw new ImageNotFoundError(fromBlob(target));
        const lastVersion = current ? current.version : (this.stmt.lastVersion.get(name) ?? 0);
        const next = nextAliasRow(current, name, target, description, lastVersion, this.now());
        if (next.kind === 'same') {
          if (next.describe) this.stmt.setDescription.run(next.row.description, name);
          return { record: aliasRecord(next.row), changed: false };
        }
        const { row } = next;
        this.stmt.upsert.run(row);
        this.stmt.addHistory.run(name, target, row.version, row.updated);
        this.stmt.addChange.run(name, target, row.version, row.updated);
        return { record: aliasRecord(row), changed: true };
      },
    );

    this.deleteTx = db.transaction((name: string, expectVersion: number | undefined): boolean => {
      const current = this.stmt.get.get(name);
      if (expectVersion !== undefined) checkExpectation(name, current, { version: expectVersion });
      if (!current) return false;
      this.stmt.delete.run(name);
      this.stmt.addChange.run(name, null, current.version, this.now());
      return true;
    });
  }

  get(name: string): AliasRecord | undefined {
    const row = this.stmt.get.get(name);
    return row ? aliasRecord(row) : undefined;
  }

  /** Sorted by name. */
  list(): AliasRecord[] {
    return this.stmt.list.all().map(aliasRecord);
  }

  /**
   * Compare-and-swap. PreconditionFailedError (details.current = {target, version} or null) when
   * `expect` does not hold; ImageNotFoundError when the target is not a stored image; InvalidInputError
   * for a bad name or description; InvalidIdError for a bad fingerprint. The same target again
   * changes nothing (changed: false, same version; a given description replaces the old one, without
   * a version bump). Otherwise the version goes up by one and a history row and a change row are added.
   * `description` undefined keeps the current one ('' on creation).
   */
  set(name: string, target: string, expect: AliasExpectation, description?: string): AliasSetResult {
    return this.setTx.immediate(name, validateAliasSet(name, target, expect, description), expect, description);
  }

  /**
   * Deletes an alias (its history stays). With expectVersion, a compare-and-swap like set: a
   * missing alias or another version is PreconditionFailedError. Without it, false when missing.
   */
  delete(name: string, expectVersion?: number): boolean {
    validateExpectVersion(expectVersion);
    return this.deleteTx.immediate(name, expectVersion);
  }

  /** Newest first. Survives deletion of the alias; a re-created alias continues the same history. */
  history(name: string, limit = 100): AliasHistoryEntry[] {
    return this.stmt.history.all(name, checkLimit(limit)).map((r) => ({ target: fromBlob(r.target), version: r.version, at: r.at }));
  }

  /** The target the alias had at `version` (for a deletion change: what was deleted), if that version was ever set. */
  targetAt(name: string, version: number): string | undefined {
    const target = this.stmt.targetAt.get(name, version);
    return target ? fromBlob(target) : undefined;
  }

  /** Changes with seq > `seq`, ascending, at most `limit`. */
  changesSince(seq: number, limit = 1000): Change[] {
    return this.stmt.changesSince
      .all(checkSeq(seq), checkLimit(limit))
      .map((r) => ({ seq: r.seq, alias: r.name, target: r.target ? fromBlob(r.target) : null, version: r.version, at: r.at }));
  }

  /** The seq of the newest change ever made; 0 before the first. */
  latestSeq(): number {
    return this.stmt.latestSeq.get() ?? 0;
  }

  /**
   * Stored images that retention may delete, oldest push first: each appears in some alias's history,
   * is no alias's current target, and is not among the `keep` most recently targeted distinct images
   * of any alias (current or deleted) whose history contains it. Never-aliased images are never
   * candidates; images already deleted are not listed.
   */
  retentionCandidates(keep: number): string[] {
    return this.stmt.retention.all(checkKeep(keep)).map(fromBlob);
  }
}
