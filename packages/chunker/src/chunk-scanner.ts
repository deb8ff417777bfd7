import { ChunkerCore } from './chunker-core.js';
import { chunkId, type ChunkId } from './chunk-id.js';
import { DEFAULT_PARAMS, type ChunkMethod, type ChunkParams } from './chunk-params.js';
import { SegmentedChunkerCore, type SegmentLengths } from './segmented-chunker-core.js';
import { InlineSha256, type Sha256Handle, type Sha256Sink } from './sha256-sink.js';

export interface ScannedChunk {
  readonly id: ChunkId;
  readonly length: number;
}

/** What a scan learns about one file: exactly the content of its chunk index. */
export interface ChunkedFile {
  readonly size: number;
  readonly sha256: string;
  readonly params: ChunkParams;
  readonly method: ChunkMethod;
  readonly chunks: readonly ScannedChunk[];
}

/** Cuts on the boundaries of a file's own units (see SegmentedChunkerCore) instead of plain CDC. */
export interface SegmentedLayout {
  readonly method: Exclude<ChunkMethod, 'cdc'>;
  readonly segments: SegmentLengths;
}

export interface ChunkEvent {
  readonly offset: number;
  readonly id: ChunkId;
  /** Valid only during the callback. */
  readonly bytes: Uint8Array;
}

export interface ScanOptions {
  readonly params?: ChunkParams;
  /** Absent: plain content-defined chunking. */
  readonly layout?: SegmentedLayout;
  /** Where sha256 runs; defaults to the calling thread. The caller owns (and closes) it. */
  readonly sha256?: Sha256Sink;
  /** More sha256 states fed the same bytes, e.g. an LXD fingerprint spanning two files. */
  readonly alsoHash?: readonly Sha256Handle[];
  readonly onChunk?: (chunk: ChunkEvent) => void;
  readonly onProgress?: (bytesDone: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * One pass over a file's bytes: content-defined cuts, the BLAKE3 id of every chunk and the file's
 * sha256, which may run on another thread. Write buffers in order, then `finish`.
 */
export class ChunkScanner {
  private readonly core: ChunkerCore | SegmentedChunkerCore;
  private readonly method: ChunkMethod;
  private readonly sha256: Sha256Sink;
  private readonly ownsSha256: boolean;
  private readonly fileHash: Sha256Handle;
  private readonly handles: readonly Sha256Handle[];
  private readonly chunks: ScannedChunk[] = [];
  private size = 0;

  constructor(private readonly options: ScanOptions = {}) {
    const params = options.params ?? DEFAULT_PARAMS;
    this.core = options.layout ? new SegmentedChunkerCore(params, options.layout.segments) : new ChunkerCore(params);
    this.method = options.layout?.method ?? 'cdc';
    this.ownsSha256 = options.sha256 === undefined;
    this.sha256 = options.sha256 ?? new InlineSha256();
    this.fileHash = this.sha256.create();
    this.handles = [this.fileHash, ...(options.alsoHash ?? [])];
  }

  /** Hands `bytes` over: with a worker sink its buffer may be transferred (detached) afterwards. */
  async write(bytes: Uint8Array): Promise<void> {
    this.options.signal?.throwIfAborted();
    if (bytes.length === 0) return;
    this.core.push(bytes, this.record);
    this.size += bytes.length;
    await this.sha256.update(this.handles, bytes);
    this.options.onProgress?.(this.size);
  }

  async finish(): Promise<ChunkedFile> {
    this.core.finish(this.record);
    const sha256 = await this.sha256.digest(this.fileHash);
    if (this.ownsSha256) await this.sha256.close();
    return { size: this.size, sha256, params: this.core.params, method: this.method, chunks: this.chunks };
  }

  private readonly record = (offset: number, bytes: Uint8Array): void => {
    const id = chunkId(bytes);
    this.chunks.push({ id, length: bytes.length });
    this.options.onChunk?.({ offset, id, bytes });
  };
}
