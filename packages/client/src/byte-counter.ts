/**
 * Bytes that crossed the wire, as the HTTP layer saw them: response bodies before any decoding
 * (zstd chunks count compressed, batch framing and JSON count too), request bodies as sent.
 * Headers are not counted.
 */
export class ByteCounter {
  private sentBytes = 0;
  private receivedBytes = 0;

  get sent(): number {
    return this.sentBytes;
  }

  get received(): number {
    return this.receivedBytes;
  }

  addSent(n: number): void {
    this.sentBytes += n;
  }

  addReceived(n: number): void {
    this.receivedBytes += n;
  }
}
