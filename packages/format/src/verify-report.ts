/**
 * What a verification pass reports, as `chunk verify` prints it and the verify endpoint streams it
 * (progress lines, then the report): one shape for the store that produces it and the client that
 * reads it.
 */

export interface VerifyProblem {
  readonly id: string;
  /** `corrupt`: the stored bytes are not the id's; `unreadable`: the store could not read them (IO_ERROR). */
  readonly kind: 'corrupt' | 'unreadable';
  readonly code: string;
  readonly message: string;
  /** Moved to quarantine by this pass (only with `repair`). */
  readonly quarantined: boolean;
}

export interface VerifyReport {
  readonly repair: boolean;
  /** Chunks read and verified (those deleted meanwhile, e.g. by GC, are not counted). */
  readonly chunks: number;
  readonly ok: number;
  readonly corrupt: number;
  readonly unreadable: number;
  /** Corrupt chunks moved to quarantine: the next push of an image that needs them uploads them again. */
  readonly quarantined: number;
  /** Uncompressed bytes of the intact chunks. */
  readonly okBytes: number;
  /** Stored bytes of the corrupt chunks. */
  readonly corruptBytes: number;
  /** The first corrupt or unreadable chunks (the store lists at most MAX_LISTED_PROBLEMS). */
  readonly problems: readonly VerifyProblem[];
}

export interface VerifyProgress {
  readonly done: number;
  /** Chunks listed when the pass started (done may pass it if chunks arrive meanwhile). */
  readonly total: number;
}
