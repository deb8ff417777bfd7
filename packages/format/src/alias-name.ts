import { InvalidInputError } from '@lxchunk/errors';

export const ALIAS_NAME_MAX = 128;
const ALIAS_NAME = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,${ALIAS_NAME_MAX - 1}}$`);

/**
 * Alias names look like LXD's (`debian/12/cloud`): letters, digits, `.`, `_`, `-` and `/`
 * separators. Segments `.`/`..`, empty segments and a final `history` segment (the history
 * endpoint's path) are refused, so a name can never be a path trick.
 */
export function validateAliasName(name: unknown): string {
  if (typeof name !== 'string' || !ALIAS_NAME.test(name)) {
    throw new InvalidInputError(
      `alias name must be 1-${ALIAS_NAME_MAX} characters of [A-Za-z0-9._/-] starting with a letter or digit, got ${JSON.stringify(String(name).slice(0, 140))}`,
    );
  }
  const segments = name.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new InvalidInputError(`alias name ${JSON.stringify(name)} has an empty, "." or ".." segment`);
  }
  if (segments.length > 1 && segments.at(-1) === 'history') {
    throw new InvalidInputError(`alias name ${JSON.stringify(name)} may not end in "/history"`);
  }
  return name;
}

/** The path form of an alias name: each segment URL-encoded, the separators kept. */
export function aliasPath(name: string): string {
  return validateAliasName(name).split('/').map(encodeURIComponent).join('/');
}
