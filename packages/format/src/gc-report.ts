/** What `POST /v1/admin/gc` answers. */
export interface GcReport {
  /** Fingerprints of the images retention deleted (or would delete, in a dry run). */
  readonly imagesDeleted: readonly string[];
  readonly chunksDeleted: number;
  readonly bytesFreed: number;
  readonly chunksKept: number;
  /** Unreferenced chunks spared because an upload in progress holds a lease on them. */
  readonly leased: number;
  readonly dryRun: boolean;
}
