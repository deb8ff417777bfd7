/** One entry of the change feed (`GET /v1/changes`). */
export interface AliasChange {
  readonly seq: number;
  readonly alias: string;
  /** Null when the alias was deleted. */
  readonly target: string | null;
  /** The new version; for a deletion, the version the alias had when deleted. */
  readonly version: number;
  /** ISO 8601. */
  readonly at: string;
}

/** A `GET /v1/changes` answer. */
export interface ChangesResult {
  /** The latest sequence number: pass it as `since` to the next call. */
  readonly seq: number;
  readonly changes: readonly AliasChange[];
}
