/**
 * Debian's architecture names and the kernel names LXD uses for the same thing. Images built with
 * Debian tooling often say `amd64`; LXD stores and matches `x86_64`, so manifests carry LXD's.
 */
const DEBIAN_TO_LXD: ReadonlyMap<string, string> = new Map([
  ['amd64', 'x86_64'],
  ['arm64', 'aarch64'],
  ['armhf', 'armv7l'],
  ['i386', 'i686'],
  ['ppc64el', 'ppc64le'],
  ['s390x', 's390x'],
]);

/** LXD's name for an architecture; names it does not know (LXD's own included) come back as they are. */
export function normalizeArchitecture(name: string): string {
  return DEBIAN_TO_LXD.get(name) ?? name;
}
