import type { SquashfsMap } from '@lxchunk/squashfs';

/**
 * What about how a squashfs was built will make its updates expensive to ship, in words for the
 * operator. Measured in `pnpm bench:transfer` (README, "Building images that update cheaply").
 */
export function squashfsAdvice(map: SquashfsMap): string[] {
  const advice: string[] = [];
  if (map.fragments.length > 0) {
    const fragmentBytes = map.fragments.reduce((sum, fragment) => sum + fragment.length, 0);
    const share = ((100 * fragmentBytes) / map.fileSize).toFixed(0);
    advice.push(
      `the rootfs packs small files into ${map.fragments.length} shared fragment blocks (${share}% of the image): ` +
        'one changed file rewrites its whole block and an added file shifts every later one, so updates dedup badly. ' +
        'Build it with `mksquashfs … -no-fragments` (see the README, "Building images that update cheaply").',
    );
  }
  return advice;
}
