/** An alias as `GET /v1/aliases` and `PUT /v1/aliases/<name>` answer it. */
export interface AliasInfo {
  readonly name: string;
  /** Fingerprint of the image the alias points at. */
  readonly target: string;
  /** Increases by 1 on every change: the compare-and-swap token (the ETag). */
  readonly version: number;
  /** ISO 8601 time of the last change. */
  readonly updated: string;
}

/** One entry of `GET /v1/aliases/<name>/history`, newest first. */
export interface AliasHistoryEntry {
  readonly target: string;
  readonly version: number;
  /** ISO 8601. */
  readonly at: string;
}

/** What a move expects to find: a given version (`If-Match`), or no alias at all (`If-None-Match: *`). */
export type AliasExpectation = { readonly version: number } | { readonly absent: true };
