/** What `POST /v1/admin/gc` answers. */
export interface GcReport {
  /** Fingerprints of the images retention deleted (or would delete, in a dry run). */
  readonly imagesDeleted: readonly string[];
  readonly chunksDeleted: number;
  readonly bytesFreed: number;
  readonly chunksKept: number;
  /**
   * Unreferenced chunks spared because they are leased: a push announced (missing-check) or
   * uploaded them and has not committed a manifest that references them, or never will.
   */
  readonly leased: number;
  /** When the last of those leases ends (ISO 8601); null when none was spared, or from older servers. */
  readonly leasesEndBy: string | null;
  readonly dryRun: boolean;
}
