// The part of lzma-native (a CommonJS addon without types) that this package uses.
declare module 'lzma-native' {
  interface NativeFilter {
    id: string;
    options?: Record<string, number>;
  }
  type BufferHandler = (buf: Buffer | null | undefined, processedChunks: number | undefined, err: Error | null | undefined) => void;
  class Stream {
    bufferHandler: BufferHandler;
    rawEncoder_(filters: NativeFilter[]): void;
    streamDecoder_(memlimit: number | null, flags: number): void;
    setBufsize(size: number): number;
    code(input: Uint8Array | null, async: boolean): void;
    resetUnderlying(): void;
  }
  const lzma: {
    Stream: typeof Stream;
    version: string;
    versionString(): string;
    crc32(input: Uint8Array, encoding?: undefined, previous?: number): number;
    MODE_NORMAL: number;
    MF_BT4: number;
    FILTER_LZMA2: string;
    FILTER_X86: string;
    FILTER_POWERPC: string;
    FILTER_IA64: string;
    FILTER_ARM: string;
    FILTER_ARMTHUMB: string;
    FILTER_SPARC: string;
  };
  export default lzma;
}
