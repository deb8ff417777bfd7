import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SplitImage {
  readonly metadata: string;
  readonly rootfs: string;
  /** sha256(metadata ‖ rootfs), as LXD computes it. */
  readonly fingerprint: string;
}

/**
 * A tiny real split image: an xz metadata tarball with metadata.yaml (with `properties: os: test`,
 * none with `bareMetadata`, `properties: {}` with `emptyProperties`) and an xz squashfs of a few
 * files that differ by `serial`.
 */
export async function buildSplitImage(dir: string, serial: string, options: { bareMetadata?: boolean; emptyProperties?: boolean } = {}): Promise<SplitImage> {
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'etc'), { recursive: true });
  await mkdir(join(tree, 'usr/share/doc'), { recursive: true });
  await writeFile(join(tree, 'etc/hostname'), `lxchunk-${serial}\n`);
  await writeFile(join(tree, 'etc/os-release'), `ID=test\nVERSION_ID="${serial}"\n`);
  await writeFile(join(tree, 'usr/share/doc/payload.bin'), Buffer.alloc(200_000, `payload ${serial} `));
  const rootfs = join(dir, 'rootfs.squashfs');
  await run('mksquashfs', [tree, rootfs, '-noappend', '-comp', 'xz', '-no-progress', '-quiet']);

  const meta = join(dir, 'meta');
  await mkdir(meta, { recursive: true });
  const properties = options.bareMetadata ? '' : options.emptyProperties ? 'properties: {}\n' : 'properties:\n  os: test\n';
  const yaml = `architecture: x86_64\ncreation_date: 1764288000\n${properties}`;
  await writeFile(join(meta, 'metadata.yaml'), yaml);
  const metadata = join(dir, 'metadata.tar.xz');
  await run('tar', ['-C', meta, '--mtime=@1764288000', '--owner=0', '--group=0', '-cJf', metadata, 'metadata.yaml']);

  const fingerprint = createHash('sha256')
    .update(await readFile(metadata))
    .update(await readFile(rootfs))
    .digest('hex');
  return { metadata, rootfs, fingerprint };
}
