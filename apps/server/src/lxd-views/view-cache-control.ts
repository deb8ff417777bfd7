/**
 * An image's files never change under their fingerprint: a public one may be kept by any cache
 * in front for a year, for every caller (when anonymous reads are on); others only by the caller.
 */
export function viewCacheControl(isPublic: boolean, anonymousRead: boolean): string {
  return isPublic && anonymousRead ? 'public, max-age=31536000, immutable' : 'private, no-store';
}
