import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { compress } from 'zstd-napi';

/** A scratch directory holding image trees and the tarballs the real tools make from them. */
export class Scratch {
  private constructor(readonly dir: string) {}

  static async create(): Promise<Scratch> {
    return new Scratch(await mkdtemp(join(tmpdir(), 'lxchunk-image-')));
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Writes `files` (relative path → content) under a fresh tree; returns the tree's path. */
  async tree(name: string, files: Record<string, string | Uint8Array>): Promise<string> {
    const root = this.path(name);
    await mkdir(root, { recursive: true });
    for (const [rel, content] of Object.entries(files)) {
      await mkdir(dirname(join(root, rel)), { recursive: true });
      await writeFile(join(root, rel), content);
    }
    return root;
  }

  /** `tar [flags] -cf OUT -C TREE members...` with GNU tar, as a build script would. */
  tar(out: string, tree: string, members: string[], flags: string[] = []): string {
    const file = this.path(out);
    execFileSync('tar', [...flags, '-cf', file, '-C', tree, ...members], { stdio: ['ignore', 'ignore', 'pipe'] });
    return file;
  }

  /** A .tar.zst by `tar --zstd`, or, where the zstd command is missing, by zstd-napi from a plain tar. */
  async tarZstd(out: string, tree: string, members: string[]): Promise<string> {
    try {
      return this.tar(out, tree, members, ['--zstd']);
    } catch {
      const plain = this.tar(`${out}.plain`, tree, members);
      await writeFile(this.path(out), compress(await readFile(plain)));
      return this.path(out);
    }
  }

  async file(name: string, content: string | Uint8Array): Promise<string> {
    const file = this.path(name);
    await writeFile(file, content);
    return file;
  }
}

export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const METADATA_YAML = [
  'architecture: x86_64',
  'creation_date: 1700000000',
  'expiry_date: 1702592000',
  'properties:',
  '  description: Debian bookworm amd64',
  '  os: debian',
  '  release: bookworm',
  'templates:',
  '  /etc/hostname:',
  '    when:',
  '      - create',
  '      - copy',
  '    template: hostname.tpl',
  '  /etc/hosts:',
  '    when:',
  '      - create',
  '    template: hosts.tpl',
  '',
].join('\n');

/** An LXD split image's metadata tree: metadata.yaml and two templates. */
export const METADATA_TREE: Record<string, string> = {
  'metadata.yaml': METADATA_YAML,
  'templates/hostname.tpl': '{{ container.name }}\n',
  'templates/hosts.tpl': '127.0.1.1 {{ container.name }}\n',
};
