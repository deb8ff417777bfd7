import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface DebianMirrors {
  /** The archive with the release and its -updates suite, e.g. http://deb.debian.org/debian */
  readonly main: string;
  /** The archive with the -security suite, e.g. http://deb.debian.org/debian-security */
  readonly security: string;
}

export const DEFAULT_MIRRORS: DebianMirrors = {
  main: 'http://deb.debian.org/debian',
  security: 'http://deb.debian.org/debian-security',
};

/** Archive URLs named in the host's apt sources, both one-line and deb822 formats. */
async function hostArchiveUrls(): Promise<string[]> {
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  const entries = await readdir(dir).catch(() => [] as string[]);
  files.push(...entries.filter((name) => /\.(list|sources)$/.test(name)).map((name) => join(dir, name)));
  const urls: string[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (line.trimStart().startsWith('#')) continue;
      for (const match of line.matchAll(/https?:\/\/[^\s\]]+/g)) urls.push(match[0].replace(/\/+$/, ''));
    }
  }
  return urls;
}

/**
 * Mirrors to try in order: the environment's choice (LXCHUNK_DEBIAN_MIRROR and
 * LXCHUNK_DEBIAN_SECURITY_MIRROR), Debian's default, then whatever the host's apt uses, which is
 * the one known to be reachable from this machine when the default is not.
 */
export async function candidateMirrors(env: NodeJS.ProcessEnv = process.env): Promise<DebianMirrors[]> {
  const hostUrls = await hostArchiveUrls();
  const hostSecurity = hostUrls.find((url) => url.endsWith('/debian-security')) ?? DEFAULT_MIRRORS.security;
  const candidates: DebianMirrors[] = [];
  const envMain = env['LXCHUNK_DEBIAN_MIRROR'];
  if (envMain) candidates.push({ main: envMain, security: env['LXCHUNK_DEBIAN_SECURITY_MIRROR'] ?? hostSecurity });
  candidates.push(DEFAULT_MIRRORS);
  for (const url of hostUrls) if (url.endsWith('/debian')) candidates.push({ main: url, security: hostSecurity });
  const seen = new Set<string>();
  return candidates.filter((mirrors) => !seen.has(mirrors.main) && Boolean(seen.add(mirrors.main)));
}
