import { InvalidInputError } from '@lxchunk/errors';
import { parseMetadataYaml } from './metadata-yaml.js';
import { scanTar, type TarEntry } from './tar-scan.js';

/** A real metadata.yaml is a few KiB; a bigger one is a mistake or an attack, not worth the memory. */
export const MAX_METADATA_YAML_BYTES = 64 * 1024 * 1024;

/** LXD images carry a handful of templates; the bound keeps a hostile tarball from filling memory. */
export const MAX_TEMPLATES = 10_000;

export interface ImageMetadata {
  /** LXD's architecture name (x86_64, aarch64, ...); Debian names (amd64, ...) are mapped. */
  architecture: string;
  /** Unix seconds, from creation_date. */
  creationDate: number;
  /** Unix seconds, from expiry_date when the file has one. */
  expiryDate?: number;
  /** metadata.yaml's `properties`, values as text. */
  properties: Record<string, string>;
  /** `properties` is a mapping (maybe empty), not absent or null: see MetadataYaml. */
  hasPropertiesMap: boolean;
  /**
   * Files under templates/, relative to it, sorted. For a unified tarball, only those ahead of
   * rootfs/ unless `untilEnd` was asked for (see ReadImageMetadataOptions).
   */
  templates: string[];
  /** The tarball also holds rootfs/ or rootfs.img: a unified image, not a split image's metadata file. */
  hasRootfs: boolean;
  /** Its rootfs is rootfs.img, a disk: by LXD's rule a unified virtual-machine image. */
  hasRootfsImg: boolean;
}

export interface ReadImageMetadataOptions {
  /**
   * Read a unified tarball to its end, to list templates/ entries stored after rootfs/ (LXD's
   * own exports put them there). Off by default: that means decompressing the whole rootfs, GBs,
   * streamed but slow, while everything else is known at rootfs/'s first entry.
   */
  untilEnd?: boolean;
}

/**
 * Reads an LXD image's metadata tarball (or a unified tarball): plain tar, xz, gzip or zstd,
 * found by magic number. Streams it, keeping only metadata.yaml (at most 64 MiB) in memory, and
 * stops as soon as nothing more can be learned. Throws InvalidInputError naming the file for
 * anything unusable: bzip2, not a tar, truncated or corrupt data, no metadata.yaml, invalid YAML,
 * a missing or invalid architecture or creation_date.
 */
export async function readImageMetadata(path: string, options: ReadImageMetadataOptions = {}): Promise<ImageMetadata> {
  let yaml: Uint8Array | undefined;
  let hasRootfs = false;
  let hasRootfsImg = false;
  let entries = 0;
  const templates: string[] = [];

  await scanTar(path, async (entry) => {
    entries += 1;
    const { name } = entry;
    if (name === 'rootfs' || name.startsWith('rootfs/')) {
      hasRootfs = true;
    } else if (name === 'rootfs.img') {
      hasRootfs = true;
      hasRootfsImg = true;
    } else if (name === 'metadata.yaml' && yaml === undefined) {
      // The first one counts, as for LXD; a later duplicate is skipped like any other entry.
      yaml = await readMetadataYaml(path, entry);
    } else if (name.startsWith('templates/') && entry.header.type !== 'directory') {
      if (templates.length >= MAX_TEMPLATES) {
        throw new InvalidInputError(`${path}: more than ${MAX_TEMPLATES} entries under templates/`);
      }
      templates.push(name.slice('templates/'.length));
    }
    return yaml !== undefined && hasRootfs && !options.untilEnd ? 'stop' : 'continue';
  });

  if (yaml === undefined) {
    const what = entries === 0 ? 'an empty tar archive' : `a tar archive of ${entries} entries`;
    throw new InvalidInputError(`${path}: no metadata.yaml in it (${what}); not an LXD image tarball`);
  }
  return { ...parseMetadataYaml(yaml, path), templates: templates.sort(), hasRootfs, hasRootfsImg };
}

async function readMetadataYaml(path: string, entry: TarEntry): Promise<Uint8Array> {
  const { type, size } = entry.header;
  if (type !== 'file' && type !== 'contiguous-file') {
    throw new InvalidInputError(`${path}: metadata.yaml is a ${type ?? 'special entry'}, not a regular file`);
  }
  const tooBig = (): InvalidInputError =>
    new InvalidInputError(`${path}: metadata.yaml is larger than ${MAX_METADATA_YAML_BYTES} bytes; refusing to read it`);
  // Refused on the header's word, before reading any of it.
  if (size !== undefined && size > MAX_METADATA_YAML_BYTES) throw tooBig();
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of entry.body as AsyncIterable<Uint8Array>) {
    total += part.length;
    if (total > MAX_METADATA_YAML_BYTES) throw tooBig();
    parts.push(part);
  }
  return Buffer.concat(parts, total);
}
