import { aliasPath as aliasPathSegments, validateAliasName } from '@lxchunk/format';

/**
 * Checks an alias name with the same rules as the server (`@lxchunk/format` validateAliasName:
 * 1–128 chars of `[A-Za-z0-9._/-]`, starting with a letter or digit, no empty, `.` or `..`
 * segment, no final `history` segment), so a name can never change which route a request
 * reaches. Throws INVALID_INPUT.
 */
export function assertAliasName(name: unknown): asserts name is string {
  validateAliasName(name);
}

/** `/v1/aliases/<name><suffix>`, each `/`-separated segment of the name percent-encoded on its own. */
export function aliasPath(name: string, suffix = ''): string {
  return `/v1/aliases/${aliasPathSegments(name)}${suffix}`;
}
