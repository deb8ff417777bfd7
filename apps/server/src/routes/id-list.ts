import { assertHex64 } from '@lxchunk/chunker';
import { InvalidInputError, PayloadTooLargeError } from '@lxchunk/errors';

/** Reads `{"ids": [...]}`: every id checked, the count bounded, nothing else accepted. */
export function parseIdList(body: unknown, max: number): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidInputError('expected a JSON object {"ids": [...]}');
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'ids') throw new InvalidInputError('expected exactly one field, "ids"');
  const ids = (body as { ids: unknown }).ids;
  if (!Array.isArray(ids)) throw new InvalidInputError('"ids" must be an array');
  if (ids.length > max) throw new PayloadTooLargeError(`at most ${max} ids per request, got ${ids.length}`);
  ids.forEach((id, i) => assertHex64(id, `ids[${i}]`));
  return ids as string[];
}
