import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeTree } from './squashfs-image.js';

const run = promisify(execFile);

export interface UnifiedImageFile {
  readonly dir: string;
  readonly tarball: string;
  /** sha256 of the tarball: LXD's fingerprint of a unified image. */
  readonly fingerprint: string;
}

/**
 * A real unified LXD image, laid out like `lxc publish` makes one: a tarball of metadata.yaml,
 * templates/ and rootfs/ (a small generated tree). `compress` is tar's flag: -z (default), -J, or
 * none for an uncompressed tarball.
 */
export async function buildUnifiedImage(dir: string, options: { seed: number; serial: string; compress?: '-z' | '-J' | '' }): Promise<UnifiedImageFile> {
  const root = join(dir, 'image');
  await mkdir(join(root, 'templates'), { recursive: true });
  await mkdir(join(root, 'rootfs/etc'), { recursive: true });
  await writeTree(join(root, 'rootfs'), options.seed, 60);
  await writeFile(join(root, 'rootfs/etc/hostname'), 'unified\n');
  await writeFile(join(root, 'rootfs/etc/build-serial'), `${options.serial}\n`); // a rebuild differs in a few bytes
  await writeFile(
    join(root, 'metadata.yaml'),
    `architecture: x86_64\ncreation_date: 1764288000\nproperties:\n  os: debian\n  release: bookworm\n  serial: "${options.serial}"\n` +
      `templates:\n  /etc/hostname:\n    when: [create, copy]\n    template: hostname.tpl\n`,
  );
  await writeFile(join(root, 'templates/hostname.tpl'), '{{ container.name }}\n');
  const compress = options.compress ?? '-z';
  const tarball = join(dir, compress === '-J' ? 'image.tar.xz' : compress === '-z' ? 'image.tar.gz' : 'image.tar');
  const flags = ['-C', root, '--mtime=@1764288000', '--owner=0', '--group=0', '--sort=name'];
  await run('tar', [...flags, ...(compress ? [compress] : []), '-cf', tarball, 'metadata.yaml', 'templates', 'rootfs']);
  const fingerprint = createHash('sha256').update(await readFile(tarball)).digest('hex');
  return { dir, tarball, fingerprint };
}
