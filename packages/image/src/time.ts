import { InvalidInputError } from '@lxchunk/errors';

/** 9999-12-31T23:59:59Z: past it toISOString switches to a signed six-digit year. */
const MAX_UNIX_SECONDS = 253402300799;

/**
 * Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`, the image manifest's `created` spelling: literal Z and
 * no fraction, so one instant has one spelling and manifests compare as text.
 */
export function toIsoUtc(unixSeconds: number): string {
  if (!Number.isInteger(unixSeconds) || unixSeconds < 0 || unixSeconds > MAX_UNIX_SECONDS) {
    throw new InvalidInputError(`timestamp must be whole unix seconds from 0 to ${MAX_UNIX_SECONDS}, got ${unixSeconds}`);
  }
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
