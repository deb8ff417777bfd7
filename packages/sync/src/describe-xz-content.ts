import { open } from 'node:fs/promises';
import { ChunkScanner, chunkId, type ChunkEvent, type ChunkParams, type Sha256Sink } from '@lxchunk/chunker';
import type { ContentIndex, RebuiltBlock } from '@lxchunk/format';
import { XZ_ENCODER, imageXzBlocks, type XzPool } from '@lxchunk/xz';
import { recipeFields } from './xz-recipe-wire.js';

/** How content streams are cut: smaller than compressed chunks, since a changed file's neighbours stay the same bytes. */
export const CONTENT_PARAMS: ChunkParams = Object.freeze({ min: 2 * 1024, avg: 8 * 1024, max: 32 * 1024 });

export interface XzContentOptions {
  readonly pool: XzPool;
  /** Where the content stream is written (a temp file the caller removes). */
  readonly streamPath: string;
  readonly sha256: Sha256Sink;
  readonly params?: ChunkParams;
  readonly onChunk?: (chunk: ChunkEvent) => void;
  /**
   * Recipes of blocks described before (e.g. in the image the alias pointed at), by storedHash: a
   * block with the same stored bytes and content length takes its recipe without re-encoding.
   */
  readonly knownRecipes?: ReadonlyMap<string, Pick<RebuiltBlock, 'contentLength' | 'filter' | 'dictSize'>>;
  readonly onProgress?: (bytesDone: number) => void;
  readonly signal?: AbortSignal;
}

export interface XzContent {
  readonly content: ContentIndex;
  /** Blocks that rebuild byte for byte (described by content) and the rest (sent as compressed bytes). */
  readonly blocksRebuilt: number;
  /** Of blocksRebuilt: recipes taken from knownRecipes, not re-encoded. */
  readonly blocksReused: number;
  readonly blocksKept: number;
  /** Worker CPU spent on trial encodings, in seconds (decoding runs on the calling thread). */
  readonly cpuSeconds: number;
}

/**
 * Describes an xz squashfs by content: every compressed block is decompressed and, unless its
 * recipe is known from an earlier image, re-encoded on the pool; a block whose re-encoding is byte-identical joins the content stream (written to
 * `streamPath` and cut by CDC as it goes), any other keeps to the file's ordinary chunks. Blocks
 * go through the pool a window at a time and are taken back in file order, so memory holds a few
 * blocks, not the image.
 */
export async function describeXzContent(path: string, options: XzContentOptions): Promise<XzContent> {
  const { pool, signal } = options;
  const scanner = new ChunkScanner({
    params: options.params ?? CONTENT_PARAMS,
    sha256: options.sha256,
    ...(options.onChunk ? { onChunk: options.onChunk } : {}),
    ...(signal ? { signal } : {}),
  });
  const stream = await open(options.streamPath, 'w', 0o600);
  const blocks: RebuiltBlock[] = [];
  let blocksKept = 0;
  const workBefore = pool.workSeconds;
  let blocksReused = 0;
  const window: Array<Promise<{ block: RebuiltBlock; content: Uint8Array } | undefined>> = [];
  const settle = async () => {
    const done = await window.shift()!;
    if (!done) {
      blocksKept++;
      return;
    }
    blocks.push(done.block);
    await stream.write(done.content);
    await scanner.write(done.content);
    options.onProgress?.(done.block.offset + done.block.length);
  };
  try {
    for await (const { block, stored, content } of imageXzBlocks(path)) {
      signal?.throwIfAborted();
      const storedHash = chunkId(stored).slice(0, 32);
      const known = options.knownRecipes?.get(storedHash);
      const place = { offset: block.offset, length: block.length, contentLength: content.length, storedHash };
      if (!block.compressed) {
        window.push(Promise.resolve(undefined));
      } else if (known && known.contentLength === content.length) {
        // The same stored bytes were found to rebuild exactly before, with this encoder.
        blocksReused++;
        window.push(Promise.resolve({ block: { ...place, filter: known.filter, dictSize: known.dictSize }, content }));
      } else {
        window.push(pool.findRecipe(stored, content, signal).then((recipe) => (recipe ? { block: { ...place, ...recipeFields(recipe) }, content } : undefined)));
      }
      if (window.length > pool.threads * 2) await settle();
    }
    while (window.length > 0) await settle();
  } finally {
    await Promise.allSettled(window);
    await stream.close();
  }
  const scanned = await scanner.finish();
  return {
    content: { encoder: XZ_ENCODER.id, blocks, index: { size: scanned.size, sha256: scanned.sha256, params: scanned.params, method: 'cdc', chunks: scanned.chunks.map(({ id, length }) => ({ id, length })) } },
    blocksRebuilt: blocks.length,
    blocksReused,
    blocksKept,
    cpuSeconds: pool.workSeconds - workBefore,
  };
}
