import type { ChunkEncoding } from './chunk-codec.js';

/** What an lxchunk client sends as Accept-Encoding: chunks and manifests may come zstd-compressed. */
export const CLIENT_ACCEPT_ENCODING = 'zstd';

/** RFC 9110 qvalue: 0 to 1 with at most three decimals. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Whether an Accept-Encoding header accepts `coding`: named (case-insensitively) with a weight
 * above zero. `*` is not taken as consent (a client naming no coding gets identity, which every
 * client reads), and a malformed weight refuses rather than guesses.
 */
export function acceptsEncoding(header: string | undefined, coding: Exclude<ChunkEncoding, 'identity'>): boolean {
  return (header ?? '').split(',').some((part) => {
    const [name, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (name !== coding) return false;
    const q = params.find((p) => /^q\s*=/.test(p))?.replace(/^q\s*=\s*/, '');
    return q === undefined || (QVALUE.test(q) && Number(q) > 0);
  });
}
