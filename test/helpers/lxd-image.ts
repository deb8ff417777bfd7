import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mksquashfs, writeTree } from './squashfs-image.js';

const run = promisify(execFile);

export interface LxdImageFiles {
  readonly dir: string;
  readonly tree: string;
  readonly metadata: string;
  readonly rootfs: string;
  /** sha256(metadata ‖ rootfs), as LXD computes it. */
  readonly fingerprint: string;
}

/**
 * A real split LXD image: an xz metadata tarball with metadata.yaml and templates, and a squashfs
 * rootfs made by mksquashfs from a generated tree (with -no-fragments unless `stock`). With
 * `bareMetadata` metadata.yaml has no properties map at all.
 */
export async function buildLxdImage(
  dir: string,
  options: {
    seed: number;
    from?: LxdImageFiles;
    change?: number;
    /** Large text files (a few hundred KB, one block each) that get a line appended, as a package update does to a library. */
    changeLarge?: number;
    serial: string;
    stock?: boolean;
    bareMetadata?: boolean;
    /** Files in the generated tree (default 400); a new build keeps its base's. */
    files?: number;
    /** More mksquashfs options, e.g. ['-Xbcj', 'x86']. */
    mksquashfs?: readonly string[];
    /** Copy a few of this host's x86-64 executables in, so `-Xbcj x86` has calls to convert. */
    executables?: boolean;
  },
): Promise<LxdImageFiles> {
  await mkdir(dir, { recursive: true });
  const tree = join(dir, 'tree');
  if (options.from) {
    await cp(options.from.tree, tree, { recursive: true });
    // A nightly: a few files change, one package arrives.
    for (let i = 0; i < (options.change ?? 3); i++) {
      const k = (i * 37 + 1) % 400;
      await appendFile(join(tree, `usr/lib/pkg${k % 17}/file${k}.bin`), `update ${options.serial}\n`);
    }
    for (let i = 0; i < (options.changeLarge ?? 0); i++) {
      const k = i * 50; // writeTree: every 25th file is large, the even ones text
      await appendFile(join(tree, `usr/lib/pkg${k % 17}/file${k}.bin`), `update ${options.serial}\n`);
    }
    await mkdir(join(tree, 'usr/lib/newpkg'), { recursive: true });
    await writeFile(join(tree, 'usr/lib/newpkg', `payload-${options.serial}`), Buffer.alloc(150_000, options.serial));
  } else {
    await writeTree(tree, options.seed, options.files ?? 400);
    if (options.executables) {
      await mkdir(join(tree, 'usr/bin'), { recursive: true });
      for (const tool of ['tar', 'ls', 'cp', 'mksquashfs']) await cp(join('/usr/bin', tool), join(tree, 'usr/bin', tool));
    }
  }
  const rootfs = join(dir, 'rootfs.squashfs');
  await mksquashfs(tree, rootfs, [...(options.stock ? [] : ['-no-fragments']), ...(options.mksquashfs ?? [])]);
  const meta = join(dir, 'meta');
  await mkdir(join(meta, 'templates'), { recursive: true });
  const properties = options.bareMetadata
    ? ''
    : `properties:\n  os: debian\n  release: bookworm\n  serial: "${options.serial}"\n  description: Debian bookworm ${options.serial}\n`;
  await writeFile(
    join(meta, 'metadata.yaml'),
    `architecture: x86_64\ncreation_date: 1764288000\n${properties}templates:\n  /etc/hostname:\n    when: [create, copy]\n    template: hostname.tpl\n`,
  );
  await writeFile(join(meta, 'templates/hostname.tpl'), '{{ container.name }}\n');
  const metadata = join(dir, 'metadata.tar.xz');
  await run('tar', ['-C', meta, '--mtime=@1764288000', '--owner=0', '--group=0', '-cJf', metadata, 'metadata.yaml', 'templates']);
  const fingerprint = createHash('sha256').update(await readFile(metadata)).update(await readFile(rootfs)).digest('hex');
  return { dir, tree, metadata, rootfs, fingerprint };
}
