/** What a pull moves: reported by pull, predicted offline by estimate, in the same units. */
export interface TransferCounts {
  readonly bytesTotal: number;
  /** Every response body byte: alias lookup, manifest (indexes included), chunk batches. */
  readonly bytesFetched: number;
  /** Output bytes that came from local sources (cache, seeds, an interrupted earlier pull). */
  readonly bytesReused: number;
  /** Distinct chunks of the image, and how many of them came over the network or from local sources. */
  readonly chunksTotal: number;
  readonly chunksFetched: number;
  readonly chunksReused: number;
}
