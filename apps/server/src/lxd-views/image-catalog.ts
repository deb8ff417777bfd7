import { AmbiguousRefError, ImageNotFoundError, InvalidInputError } from '@lxchunk/errors';
import { decodeManifest, type ImageManifest } from '@lxchunk/format';
import type { ImageSummary } from '../db/image-repo.js';
import type { MetadataStore } from '../db/metadata-store.js';
import { canReadPrivate, type Principal } from '../principal.js';

/** Decoded manifests kept: an image's is immutable, and a simplestreams listing reads a few per alias. */
const MANIFESTS_KEPT = 32;

/**
 * The images a caller of the LXD views may see (public ones, or all for a read token) and their
 * manifests. The LXD protocol and simplestreams both answer from it, so they agree on visibility.
 */
export class ImageCatalog {
  private readonly manifests = new Map<string, ImageManifest>();

  constructor(private readonly db: MetadataStore) {}

  async list(principal: Principal): Promise<ImageSummary[]> {
    return this.db.images.list({ publicOnly: !canReadPrivate(principal) });
  }

  /** The visible image a full fingerprint or a unique prefix of one names (LXD clients send prefixes). */
  async find(ref: string, principal: Principal): Promise<ImageSummary> {
    if (!/^[0-9a-f]{1,64}$/.test(ref)) throw new InvalidInputError(`not an image fingerprint: ${JSON.stringify(ref.slice(0, 80))}`);
    const found = (await this.list(principal)).filter((image) => image.fingerprint.startsWith(ref));
    if (found.length === 0) throw new ImageNotFoundError(ref);
    if (found.length > 1) throw new AmbiguousRefError(ref, found);
    return found[0]!;
  }

  /** The image, if the caller may read it. */
  async get(fingerprint: string, principal: Principal): Promise<ImageSummary | undefined> {
    const image = await this.db.images.summary(fingerprint);
    return image && (image.public || canReadPrivate(principal)) ? image : undefined;
  }

  async visible(fingerprint: string, principal: Principal): Promise<boolean> {
    if (canReadPrivate(principal)) return this.db.images.has(fingerprint);
    return (await this.db.images.isPublic(fingerprint)) === true;
  }

  async manifest(fingerprint: string): Promise<ImageManifest> {
    const kept = this.manifests.get(fingerprint);
    if (kept) {
      this.manifests.delete(fingerprint);
      this.manifests.set(fingerprint, kept);
      return kept;
    }
    const stored = await this.db.images.manifest(fingerprint);
    if (!stored) throw new ImageNotFoundError(fingerprint);
    const manifest = decodeManifest(stored.manifest);
    this.manifests.set(fingerprint, manifest);
    if (this.manifests.size > MANIFESTS_KEPT) this.manifests.delete(this.manifests.keys().next().value!);
    return manifest;
  }
}
