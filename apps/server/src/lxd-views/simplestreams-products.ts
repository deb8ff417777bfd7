import type { ImageFile, ImageManifest } from '@lxchunk/format';
import type { MetadataStore } from '../db/metadata-store.js';
import type { Principal } from '../principal.js';
import type { ImageCatalog } from './image-catalog.js';
import type { ImageDeltaCache, ImageDeltaInfo } from './image-delta-cache.js';

/** What one products file item says (canonical/lxd shared/simplestreams/products.go). */
export interface ProductItem {
  readonly ftype: string;
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly combined_squashfs_sha256?: string;
  readonly 'combined_disk-kvm-img_sha256'?: string;
  readonly delta_base?: string;
}

export interface Product {
  readonly aliases: string;
  readonly arch: string;
  readonly os: string;
  readonly release: string;
  readonly release_title: string;
  readonly variant?: string;
  readonly versions: Record<string, { readonly items: Record<string, ProductItem> }>;
}

export interface ProductsOptions {
  /** Delta items on an alias's newest version from this many versions before it. */
  readonly deltaBases: number;
  /** How long one listing waits for deltas being made; those not ready are listed on a later one. */
  readonly deltaWaitMs: number;
  readonly deltas: ImageDeltaCache | undefined;
}

/** Versions listed per product: past the retention a server keeps, older builds are gone anyway. */
const VERSIONS_LISTED = 10;
const HISTORY_READ = 100;

/** LXD's architecture names to the Debian ones simplestreams servers use (both parse in LXD). */
const DEBIAN_ARCH: Readonly<Record<string, string>> = { x86_64: 'amd64', aarch64: 'arm64', armv7l: 'armhf', i686: 'i386', ppc64le: 'ppc64el', s390x: 's390x', riscv64: 'riscv64' };

export const STREAM_FILE_PREFIX = 'streams/v1/files';

/** Where an image's files and deltas are served, relative to the server's root (LXD joins it to the remote URL). */
export function imageItemPath(fingerprint: string, name: string): string {
  return `${STREAM_FILE_PREFIX}/${fingerprint}/${name}`;
}
export function deltaItemPath(base: string, target: string): string {
  return `${STREAM_FILE_PREFIX}/${target}/delta-${base}.vcdiff`;
}

/**
 * The products file: one product per alias and architecture, its versions the alias's history
 * (newest target last moved to, named `YYYYMMDD_HHMM` from when), each with LXD's items, and on
 * the newest version `squashfs.vcdiff` deltas from up to `deltaBases` versions before it.
 * Only what `principal` may read is listed.
 */
export async function buildProducts(db: MetadataStore, catalog: ImageCatalog, principal: Principal, options: ProductsOptions): Promise<Record<string, Product>> {
  const products: Record<string, Product> = {};
  const deadline = Date.now() + options.deltaWaitMs;
  const waits: Array<Promise<void>> = [];
  for (const alias of await db.aliases.list()) {
    if (!(await catalog.visible(alias.target, principal))) continue;
    const history = await db.aliases.history(alias.name, HISTORY_READ);
    const keys = versionKeys(history);
    // Distinct targets, newest first, that still exist and are readable.
    const targets: string[] = [];
    for (const { target } of history) {
      if (targets.includes(target) || !(await catalog.visible(target, principal))) continue;
      targets.push(target);
      if (targets.length === VERSIONS_LISTED) break;
    }
    const manifests = await Promise.all(targets.map((target) => catalog.manifest(target)));
    for (const arch of new Set(manifests.map((m) => m.architecture))) {
      const ofArch = manifests.filter((m) => m.architecture === arch);
      const newest = ofArch[0]!;
      const product: Product = {
        aliases: alias.name,
        arch: DEBIAN_ARCH[arch] ?? arch,
        os: newest.properties.os ?? 'lxchunk',
        release: newest.properties.release ?? alias.name,
        release_title: newest.properties.release ?? alias.name,
        ...(newest.properties.variant ? { variant: newest.properties.variant } : {}),
        versions: {},
      };
      for (const manifest of ofArch) product.versions[keys.get(manifest.fingerprint)!] = { items: imageItems(manifest) };
      products[`lxchunk:${alias.name}:${product.arch}`] = product;

      const newestRootfs = squashfsOf(newest);
      if (!options.deltas || !newestRootfs) continue;
      const items = product.versions[keys.get(newest.fingerprint)!]!.items;
      for (const base of ofArch.slice(1, 1 + options.deltaBases)) {
        if (!squashfsOf(base)) continue;
        const addItem = (info: ImageDeltaInfo) => {
          if (!info.worth) return;
          const baseKey = keys.get(base.fingerprint)!;
          items[`delta-${baseKey}.vcdiff`] = { ftype: 'squashfs.vcdiff', path: deltaItemPath(base.fingerprint, newest.fingerprint), sha256: info.sha256, size: info.size, delta_base: baseKey };
        };
        const known = options.deltas.known(base.fingerprint, newest.fingerprint);
        if (known) addItem(known);
        else waits.push(options.deltas.ensure(base.fingerprint, newest.fingerprint, newestRootfs.index.size).then(addItem, () => undefined));
      }
    }
  }
  if (waits.length > 0) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
    await Promise.race([Promise.all(waits), timeout]);
    clearTimeout(timer);
  }
  return products;
}

function squashfsOf(manifest: ImageManifest): ImageFile | undefined {
  return manifest.type === 'container' ? manifest.files.find((f) => f.role === 'rootfs') : undefined;
}

/** LXD's items for an image: the metadata tarball (carrying the fingerprint) and the root file, or the one unified tarball. */
function imageItems(manifest: ImageManifest): Record<string, ProductItem> {
  const { fingerprint, files } = manifest;
  const items: Record<string, ProductItem> = {};
  for (const file of files) {
    const { sha256, size } = file.index;
    if (file.role === 'unified') items['lxd_combined.tar.gz'] = { ftype: 'lxd_combined.tar.gz', path: imageItemPath(fingerprint, 'lxd_combined.tar.gz'), sha256, size };
    else if (file.role === 'metadata') {
      const combined = manifest.type === 'container' ? { combined_squashfs_sha256: fingerprint } : { 'combined_disk-kvm-img_sha256': fingerprint };
      items['lxd.tar.xz'] = { ftype: 'lxd.tar.xz', path: imageItemPath(fingerprint, 'lxd.tar.xz'), sha256, size, ...combined };
    } else if (file.role === 'rootfs') items['root.squashfs'] = { ftype: 'squashfs', path: imageItemPath(fingerprint, 'root.squashfs'), sha256, size };
    else items['disk-kvm.img'] = { ftype: 'disk-kvm.img', path: imageItemPath(fingerprint, 'disk-kvm.img'), sha256, size };
  }
  return items;
}

/**
 * Version names from the history (newest first): `YYYYMMDD_HHMM` (UTC) of the move to a target,
 * `_02`, `_03`… added when one minute saw several, so names sort as the moves did (LXD takes the
 * greatest as the alias's image). A target the alias returned to is named by its latest move.
 */
export function versionKeys(history: ReadonlyArray<{ target: string; at: number }>): Map<string, string> {
  const keys = new Map<string, string>();
  const taken = new Map<string, number>();
  for (const { target, at } of [...history].reverse()) {
    const minute = new Date(at).toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 13);
    const count = (taken.get(minute) ?? 0) + 1;
    taken.set(minute, count);
    keys.set(target, count === 1 ? minute : `${minute}_${String(count).padStart(2, '0')}`);
  }
  return keys;
}
