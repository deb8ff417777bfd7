import type { ChunkMethod } from '@lxchunk/chunker';
import { InvalidInputError } from '@lxchunk/errors';
import type { FileRole, ImageType } from '@lxchunk/format';
import {
  COMPRESSION_MAGIC_BYTES,
  detectCompression,
  detectRootfsKind,
  fileRoleFor,
  imageTypeFor,
  readHead,
  readImageMetadata,
  type ImageMetadata,
} from '@lxchunk/image';
import { chooseChunkMethod } from './choose-chunk-method.js';

export interface ImageFilePlan {
  readonly path: string;
  readonly role: FileRole;
  readonly method: ChunkMethod;
}

/** What push uploads for an image: its type, metadata.yaml, and each file with its role and cut method. */
export interface ImagePlan {
  readonly type: ImageType;
  readonly metadata: ImageMetadata;
  /** In LXD's fingerprint order: metadata then rootfs, or the unified tarball alone. */
  readonly files: readonly ImageFilePlan[];
  readonly warnings: readonly string[];
}

/**
 * A split image (metadata tarball + rootfs) or, without a rootfs, a unified tarball (what `lxc
 * publish` makes: metadata.yaml, templates/ and rootfs/ or rootfs.img in one file). Each is
 * refused where the other was meant, so a forgotten rootfs argument is no silent mistake.
 */
export async function planImage(metadataPath: string, rootfsPath: string | undefined, rootfsMethod: ChunkMethod | undefined): Promise<ImagePlan> {
  if (rootfsPath === undefined) {
    const metadata = await readImageMetadata(metadataPath);
    if (!metadata.hasRootfs) {
      throw new InvalidInputError(`${metadataPath} holds no rootfs/: a split image's metadata; give its rootfs too`);
    }
    // A unified tarball is a tar stream, never a squashfs: plain CDC (unless asked otherwise).
    const files = [{ path: metadataPath, role: 'unified' as const, method: rootfsMethod ?? 'cdc' }];
    const compression = detectCompression(await readHead(metadataPath, COMPRESSION_MAGIC_BYTES));
    const warnings =
      compression === 'none'
        ? []
        : [
            `the unified tarball is ${compression}-compressed: a change anywhere alters all the compressed bytes after it, so updates dedup badly. ` +
              'Push it uncompressed, or as a split image (see the README, "Building images that update cheaply").',
          ];
    return { type: metadata.hasRootfsImg ? 'virtual-machine' : 'container', metadata, files, warnings };
  }
  const [metadata, kind] = await Promise.all([readImageMetadata(metadataPath), detectRootfsKind(rootfsPath)]);
  if (metadata.hasRootfs) {
    throw new InvalidInputError(`${metadataPath} is a unified image (it holds rootfs/); push it alone, without ${rootfsPath}`);
  }
  const files = [
    { path: metadataPath, role: 'metadata' as const, method: 'cdc' as const },
    { path: rootfsPath, role: fileRoleFor(kind), method: rootfsMethod ?? (await chooseChunkMethod(rootfsPath)) },
  ];
  return { type: imageTypeFor(kind), metadata, files, warnings: [] };
}
