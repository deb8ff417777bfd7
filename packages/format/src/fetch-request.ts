/**
 * The body of `POST /v1/chunks/fetch`: `{"ids": [...]}`, and optionally `"bases"`, which names for
 * some of those ids chunks the client holds and has verified, so the server may answer with a
 * delta against them (see chunk-delta.ts). A server without delta support refuses `bases` (400
 * INVALID_INPUT), and the client then asks again without. `"redirects": true` says the client can
 * follow redirect frames (a presigned object-store URL instead of the bytes); a server may send
 * them only then.
 */
import { assertHex64 } from '@lxchunk/chunker';
import { InvalidInputError, PayloadTooLargeError } from '@lxchunk/errors';
import { MAX_DELTA_BASES } from './chunk-delta.js';

export interface FetchRequest {
  readonly ids: readonly string[];
  /** Requested id → the bases the client offers for it (1 to MAX_DELTA_BASES, none the id itself). */
  readonly bases?: Readonly<Record<string, readonly string[]>>;
  /** The client follows redirect frames. */
  readonly redirects?: true;
}

/** Every id checked, the count bounded, nothing unknown accepted. */
export function parseFetchRequest(body: unknown, maxIds: number): FetchRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidInputError('expected a JSON object {"ids": [...]}');
  for (const key of Object.keys(body)) if (key !== 'ids' && key !== 'bases' && key !== 'redirects') throw new InvalidInputError(`unknown field ${JSON.stringify(key)}`);
  const { ids, bases, redirects } = body as { ids?: unknown; bases?: unknown; redirects?: unknown };
  const checkedIds = parseIds(ids, maxIds);
  if (redirects !== undefined && redirects !== true) throw new InvalidInputError('"redirects" must be true when present');
  const follows = redirects === true ? { redirects: true as const } : {};
  if (bases === undefined) return { ids: checkedIds, ...follows };
  if (typeof bases !== 'object' || bases === null || Array.isArray(bases)) throw new InvalidInputError('"bases" must be an object of id → [base ids]');
  const requested = new Set(checkedIds);
  const checkedBases: Record<string, readonly string[]> = {};
  for (const [id, list] of Object.entries(bases)) {
    if (!requested.has(id)) throw new InvalidInputError(`"bases" names ${JSON.stringify(id.slice(0, 80))}, which is not requested`);
    if (!Array.isArray(list) || list.length < 1 || list.length > MAX_DELTA_BASES) throw new InvalidInputError(`bases of ${id}: 1 to ${MAX_DELTA_BASES} ids`);
    list.forEach((base, i) => assertHex64(base, `bases of ${id}[${i}]`));
    if (new Set(list).size !== list.length || list.includes(id)) throw new InvalidInputError(`bases of ${id}: repeated, or the chunk itself`);
    checkedBases[id] = list as string[];
  }
  return { ids: checkedIds, bases: checkedBases, ...follows };
}

/** `{"ids": [...]}` alone, as the other id-list endpoints take it. */
export function parseIdList(body: unknown, maxIds: number): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidInputError('expected a JSON object {"ids": [...]}');
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'ids') throw new InvalidInputError('expected exactly one field, "ids"');
  return parseIds((body as { ids: unknown }).ids, maxIds);
}

function parseIds(ids: unknown, max: number): string[] {
  if (!Array.isArray(ids)) throw new InvalidInputError('"ids" must be an array');
  if (ids.length > max) throw new PayloadTooLargeError(`at most ${max} ids per request, got ${ids.length}`);
  ids.forEach((id, i) => assertHex64(id, `ids[${i}]`));
  return ids as string[];
}
