import type { ImageManifest } from './image-manifest.js';

/**
 * Every distinct chunk an image references: its files' chunks and the chunks of their content
 * streams. What the server keeps from GC and lets the image's readers read.
 */
export function manifestChunkIds(manifest: ImageManifest): string[] {
  const ids = new Set<string>();
  for (const file of manifest.files) {
    for (const chunk of file.index.chunks) ids.add(chunk.id);
    for (const chunk of file.content?.index.chunks ?? []) ids.add(chunk.id);
  }
  return [...ids];
}
