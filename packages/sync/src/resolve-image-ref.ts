import { isChunkId } from '@lxchunk/chunker';
import type { ChunkServerClient } from '@lxchunk/client';
import { AliasNotFoundError, AmbiguousRefError } from '@lxchunk/errors';

/**
 * The fewest hex digits taken as a fingerprint prefix. Push prints 12; below 8, words such as
 * "cafe" or "beef" that are typos of alias names would quietly resolve to an image.
 */
export const MIN_FINGERPRINT_PREFIX = 8;

const NO_TOKEN_HINT = 'no token was given, and aliases of private images are visible only to a read token';

/**
 * The fingerprint `ref` names, as `lxc` resolves it: a whole fingerprint as is; else an alias of
 * that name; else, for at least MIN_FINGERPRINT_PREFIX hex digits, the one image whose
 * fingerprint starts with them, among those the caller may read (the server's image listing
 * leaves out the others). Several: AMBIGUOUS_REF listing them. None: ALIAS_NOT_FOUND, saying
 * that a token may be needed when none was given.
 */
export async function resolveImageRef(client: ChunkServerClient, ref: string, signal?: AbortSignal): Promise<string> {
  const whole: unknown = ref; // isChunkId narrows what it is given: keep `ref` a string below
  if (isChunkId(whole)) return whole;
  const alias = await client.getAlias(ref, { signal });
  if (alias) return alias.target;
  const prefix = ref.toLowerCase();
  const isPrefix = new RegExp(`^[0-9a-f]{${MIN_FINGERPRINT_PREFIX},63}$`).test(prefix);
  if (isPrefix) {
    const images = (await client.listImages({}, { signal })).filter((image) => image.fingerprint.startsWith(prefix));
    if (images.length === 1) return images[0]!.fingerprint;
    if (images.length > 1) throw new AmbiguousRefError(ref, images.map((image) => ({ fingerprint: image.fingerprint, aliases: image.aliases })));
  }
  const hints = [
    ...(isPrefix ? ['nor is it the start of a fingerprint of an image this caller may read'] : []),
    ...(/^[0-9a-f]{1,7}$/i.test(ref) ? [`a fingerprint prefix needs at least ${MIN_FINGERPRINT_PREFIX} hex digits`] : []),
    ...(client.hasToken ? [] : [NO_TOKEN_HINT]),
  ];
  throw new AliasNotFoundError(ref, hints.join('; ') || undefined);
}
