import { chunkId } from '@lxchunk/chunker';
import type { ContentIndex } from '@lxchunk/format';
import type { XzPool } from '@lxchunk/xz';
import type { LocalChunks } from './local-chunks.js';
import { PartialFile } from './partial-file.js';
import type { ReplacedChunks } from './replaced-chunks.js';
import { recipeOf } from './xz-recipe-wire.js';

/**
 * `bytes`: rebuild every block whose content costs fewer bytes to get than its compressed form;
 * `time`: never rebuild; `auto`: rebuild where fetching content and re-encoding is expected to
 * finish sooner than fetching the compressed block, at the measured rates.
 */
export type RebuildPreference = 'bytes' | 'time' | 'auto';
export const REBUILD_PREFERENCES: readonly RebuildPreference[] = ['bytes', 'time', 'auto'];

export interface RebuildRates {
  /** Bytes per second the link delivers. */
  readonly linkBytesPerSecond: number;
  /** Content bytes one thread re-encodes per second. */
  readonly encodeBytesPerSecond: number;
  readonly threads: number;
}

/**
 * Content chunks travel zstd-compressed, compressed blocks as xz: the same content costs about
 * this much more as zstd (measured on bookworm minbase blocks: zstd -19 of a 1 MiB block is
 * 1.2-1.4× its xz -6 form). Used to guess what fetching a block's missing content costs.
 */
const ZSTD_OVER_XZ = 1.35;

/**
 * A missing content chunk with a predecessor here (a delta base) costs about this share of its
 * plain form. Measured on the bookworm nightly (stock and -no-fragments, --prefer bytes): planning
 * with 0.3 fetched 0.87 and 0.93 MB, with 0 (deltas free) the same within 2%, with 1 (deltas
 * ignored) 1.37 and 1.81 MB: the changed files' content comes as small deltas.
 */
const DELTA_OVER_PLAIN = 0.3;

interface Candidate {
  readonly id: string;
  readonly offset: number;
  readonly length: number;
  /** The blocks covering it, first and last (inclusive), indexes into content.blocks. */
  readonly first: number;
  readonly last: number;
}

/**
 * One output file's content domain during a pull: which of its missing chunks can be rebuilt
 * from block contents, which content chunks that takes, and the rebuilding itself. The content
 * stream is assembled (only where needed) in its own partial file beside the output, so an
 * interrupted pull keeps the content it fetched.
 */
export class ContentRebuild {
  private constructor(
    private readonly content: ContentIndex,
    /** The content stream being assembled; only needed positions are ever written. */
    readonly contentFile: PartialFile,
    private readonly candidates: readonly Candidate[],
    /** Content positions the chosen blocks need, whether done yet or not. */
    private readonly neededPositions: readonly number[],
    private readonly contentStart: Float64Array,
  ) {}

  /** Missing output chunks this rebuild will produce (the rest are fetched as compressed bytes). */
  get covered(): Set<string> {
    return new Set(this.candidates.map((c) => c.id));
  }

  get blocks(): number {
    const chosen = new Set<number>();
    for (const c of this.candidates) for (let b = c.first; b <= c.last; b++) chosen.add(b);
    return chosen.size;
  }

  /** Bytes of content the chosen blocks hold: what rebuilding re-encodes. */
  get contentBytes(): number {
    let total = 0;
    const chosen = new Set<number>();
    for (const c of this.candidates) for (let b = c.first; b <= c.last; b++) chosen.add(b);
    for (const b of chosen) total += this.content.blocks[b]!.contentLength;
    return total;
  }

  /** Content positions still to be written: from local sources or the server. */
  pendingPositions(): number[] {
    return this.neededPositions.filter((p) => !this.contentFile.isDone(p));
  }

  /**
   * Plans the rebuild of `output`'s missing chunks (`missing`: ids no local source has) from the
   * blocks of `content`, choosing blocks by `prefer`. Undefined when no block is worth it.
   */
  static async plan(args: {
    output: PartialFile;
    content: ContentIndex;
    missing: ReadonlySet<string>;
    local: LocalChunks;
    contentPath: string;
    prefer: RebuildPreference;
    rates: RebuildRates;
    /** When the pull offers deltas: the seed content chunks each missing content chunk replaced. */
    replaced?: ReplacedChunks;
    signal?: AbortSignal;
  }): Promise<ContentRebuild | undefined> {
    const { output, content, missing, local, prefer, rates } = args;
    if (prefer === 'time' || content.blocks.length === 0) return undefined;
    const blocks = content.blocks;
    const contentStart = new Float64Array(blocks.length + 1);
    for (let b = 0; b < blocks.length; b++) contentStart[b + 1] = contentStart[b]! + blocks[b]!.contentLength;

    // Missing chunks lying wholly inside rebuildable blocks (contiguous ones, for a chunk that
    // spans a few), counting a metadata block's predicted 2-byte header as part of it.
    const wanted: Candidate[] = [];
    const seen = new Set<string>();
    let b = 0;
    output.placements.forEach(({ id, offset, length }, position) => {
      if (!missing.has(id) || seen.has(id) || output.isDone(position)) return;
      while (b < blocks.length && blocks[b]!.offset + blocks[b]!.length <= offset) b++;
      let at = offset;
      let last = b;
      while (last < blocks.length && spanStart(blocks, last) <= at && at < offset + length) {
        at = blocks[last]!.offset + blocks[last]!.length;
        if (at < offset + length) last++;
      }
      if (at < offset + length || b >= blocks.length || spanStart(blocks, b) > offset) return;
      seen.add(id);
      wanted.push({ id, offset, length, first: b, last });
    });
    if (wanted.length === 0) return undefined;

    const contentFile = await PartialFile.open(args.contentPath, content.index, args.signal);
    const placements = contentFile.placements;
    // The content positions a block needs: those overlapping its share of the stream.
    const positionsOf = (block: number): number[] => {
      const from = contentStart[block]!;
      const to = contentStart[block + 1]!;
      let lo = 0;
      let hi = placements.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (placements[mid]!.offset + placements[mid]!.length <= from) lo = mid + 1;
        else hi = mid;
      }
      const out: number[] = [];
      for (let p = lo; p < placements.length && placements[p]!.offset < to; p++) out.push(p);
      return out;
    };
    // Content this host lacks, for the candidate blocks: with deltas, each such chunk names what it replaced.
    const lacking = new Set<string>();
    const candidateBlocks = new Set<number>();
    for (const w of wanted) for (let block = w.first; block <= w.last; block++) candidateBlocks.add(block);
    for (const block of candidateBlocks) {
      for (const p of positionsOf(block)) if (!contentFile.isDone(p) && !(await local.mayHave(placements[p]!.id))) lacking.add(placements[p]!.id);
    }
    args.replaced?.plan(placements, (id) => lacking.has(id));
    // Per block: what getting its content costs on the wire, against its compressed bytes.
    const worth = new Map<number, boolean>();
    const decide = async (block: number): Promise<boolean> => {
      const known = worth.get(block);
      if (known !== undefined) return known;
      const { length, contentLength } = blocks[block]!;
      let missingContent = 0;
      for (const p of positionsOf(block)) {
        const { id, length: chunkLength } = placements[p]!;
        if (!lacking.has(id)) continue;
        missingContent += args.replaced?.basesFor(id) ? chunkLength * DELTA_OVER_PLAIN : chunkLength;
      }
      const contentWire = missingContent * (length / contentLength) * ZSTD_OVER_XZ;
      let choose: boolean;
      if (prefer === 'bytes') choose = contentWire < length;
      else {
        const fetchSeconds = length / rates.linkBytesPerSecond;
        const rebuildSeconds = contentWire / rates.linkBytesPerSecond + contentLength / (rates.encodeBytesPerSecond * rates.threads);
        choose = rebuildSeconds < fetchSeconds;
      }
      worth.set(block, choose);
      return choose;
    };
    const candidates: Candidate[] = [];
    for (const candidate of wanted) {
      let all = true;
      for (let block = candidate.first; block <= candidate.last && all; block++) all = await decide(block);
      if (all) candidates.push(candidate);
    }
    if (candidates.length === 0) {
      await contentFile.close();
      return undefined;
    }
    const needed = new Set<number>();
    for (const c of candidates) for (let block = c.first; block <= c.last; block++) for (const p of positionsOf(block)) needed.add(p);
    return new ContentRebuild(content, contentFile, candidates, [...needed].sort((x, y) => x - y), contentStart);
  }

  /**
   * Re-encodes the chosen blocks on `pool` (their content must be in place by now) and hands each
   * covered chunk to `produce` once its bytes match its id. Returns the ids that did not: a block
   * that rebuilt differently (another encoder, damaged content) is fetched compressed instead.
   */
  async rebuild(pool: XzPool, produce: (id: string, bytes: Uint8Array) => Promise<void>, onBlock?: (contentBytes: number) => void, signal?: AbortSignal): Promise<string[]> {
    const blocks = this.content.blocks;
    const built = new Map<number, Promise<Uint8Array | undefined>>();
    const order: number[] = [];
    // Candidates are in file order, so their blocks are too.
    for (const c of this.candidates) for (let b = c.first; b <= c.last; b++) if (order.length === 0 || order.at(-1)! < b) order.push(b);
    let next = 0;
    const start = (upTo: number) => {
      // Keep every thread busy a little ahead of the chunk being produced.
      while (next < order.length && (order[next]! <= upTo || built.size < pool.threads * 2)) {
        const block = order[next++]!;
        const { contentLength } = blocks[block]!;
        built.set(
          block,
          this.contentFile
            .read(this.contentStart[block]!, contentLength)
            .then((bytes) => pool.encode(bytes, recipeOf(blocks[block]!), signal))
            .then(
              (bytes) => {
                onBlock?.(contentLength);
                return bytes;
              },
              (err: unknown) => {
                if (signal?.aborted) throw err;
                return undefined; // an encoder that refuses the recipe: fetch instead
              },
            ),
        );
      }
    };
    const failed: string[] = [];
    for (const c of this.candidates) {
      start(c.last);
      const parts: Uint8Array[] = [];
      let ok = true;
      for (let b = c.first; b <= c.last; b++) {
        const bytes = await built.get(b)!;
        if (!bytes || bytes.length !== blocks[b]!.length) {
          ok = false;
          continue;
        }
        // The block as the file holds it: its predicted header, if any, then its bytes.
        const start = spanStart(blocks, b);
        const span = start === blocks[b]!.offset ? bytes : Buffer.concat([metadataHeader(blocks[b]!.length), bytes]);
        const from = Math.max(c.offset, start) - start;
        const to = Math.min(c.offset + c.length, blocks[b]!.offset + blocks[b]!.length) - start;
        parts.push(span.subarray(from, to));
      }
      const bytes = ok ? Buffer.concat(parts) : undefined;
      if (bytes && bytes.length === c.length && chunkId(bytes) === c.id) await produce(c.id, bytes);
      else failed.push(c.id);
      // Blocks wholly before the next chunk are done with.
      for (const block of built.keys()) if (block < c.first) built.delete(block);
    }
    return failed;
  }

  async close(): Promise<void> {
    await this.contentFile.close();
  }
}

/** squashfs metadata blocks are at most 8 KiB of content, each preceded by a 2-byte header. */
const METADATA_CONTENT_MAX = 8192;

/**
 * Where block `b`'s bytes begin in the file, counting the 2-byte header a metadata block carries:
 * a block of at most 8 KiB of content that starts two bytes after the previous block ends is
 * taken to be one, its header predicted as its length (a compressed block has the top bit clear).
 * A wrong guess only produces a chunk that fails its id, which is then fetched compressed.
 */
function spanStart(blocks: ContentIndex['blocks'], b: number): number {
  const block = blocks[b]!;
  if (b === 0 || block.contentLength > METADATA_CONTENT_MAX || block.length >= 0x8000) return block.offset;
  const previous = blocks[b - 1]!;
  return block.offset - (previous.offset + previous.length) === 2 ? block.offset - 2 : block.offset;
}

function metadataHeader(length: number): Uint8Array {
  return Uint8Array.of(length & 0xff, length >> 8);
}
