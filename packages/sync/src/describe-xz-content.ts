import { open } from 'node:fs/promises';
import { ChunkScanner, type ChunkEvent, type ChunkParams, type Sha256Sink } from '@lxchunk/chunker';
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
  readonly onProgress?: (bytesDone: number) => void;
  readonly signal?: AbortSignal;
}

export interface XzContent {
  readonly content: ContentIndex;
  /** Blocks that rebuild byte for byte (described by content) and the rest (sent as compressed bytes). */
  readonly blocksRebuilt: number;
  readonly blocksKept: number;
  /** Worker CPU spent on trial encodings, in seconds (decoding runs on the calling thread). */
  readonly cpuSeconds: number;
}

/**
 * Describes an xz squashfs by content: every compressed block is decompressed and re-encoded on
 * the pool; a block whose re-encoding is byte-identical joins the content stream (written to
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
      if (!block.compressed) {
        window.push(Promise.resolve(undefined));
      } else {
        window.push(
          pool.findRecipe(stored, content, signal).then((recipe) => {
            return recipe ? { block: { offset: block.offset, length: block.length, contentLength: content.length, ...recipeFields(recipe) }, content } : undefined;
          }),
        );
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
    blocksKept,
    cpuSeconds: pool.workSeconds - workBefore,
  };
}
