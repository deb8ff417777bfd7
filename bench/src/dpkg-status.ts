import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** package name (plus `:arch` for a second architecture of the same name) → installed version */
export type InstalledPackages = ReadonlyMap<string, string>;

/** Reads which packages a root tree has installed, straight from dpkg's status file (no chroot). */
export async function readInstalled(root: string): Promise<InstalledPackages> {
  const text = await readFile(join(root, 'var/lib/dpkg/status'), 'utf8');
  const installed = new Map<string, string>();
  for (const stanza of text.split(/\n\n+/)) {
    const field = (name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(stanza)?.[1]?.trim();
    const name = field('Package');
    const version = field('Version');
    const arch = field('Architecture');
    if (!name || !version || field('Status') !== 'install ok installed') continue;
    installed.set(installed.has(name) && arch ? `${name}:${arch}` : name, version);
  }
  return installed;
}

export interface PackageChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** "name old → new" */
  readonly changed: readonly string[];
}

export function diffInstalled(before: InstalledPackages, after: InstalledPackages): PackageChanges {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [name, version] of after) {
    const old = before.get(name);
    if (old === undefined) added.push(`${name} ${version}`);
    else if (old !== version) changed.push(`${name} ${old} → ${version}`);
  }
  for (const [name, version] of before) if (!after.has(name)) removed.push(`${name} ${version}`);
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() };
}

export function isUnchanged(changes: PackageChanges): boolean {
  return changes.added.length + changes.removed.length + changes.changed.length === 0;
}
