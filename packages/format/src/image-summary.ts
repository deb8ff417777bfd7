import type { ImageManifest } from './image-manifest.js';

/** An image as `GET /v1/images` lists it: the manifest's fields without its files, plus size and aliases. */
export interface ImageSummary extends Omit<ImageManifest, 'files'> {
  /** Sum of the image's file sizes. */
  readonly size: number;
  /** Names of the aliases currently targeting it, sorted. */
  readonly aliases: readonly string[];
}
