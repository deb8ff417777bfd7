import { InvalidInputError } from '@lxchunk/errors';

/** A `?name=true|false` switch; absent is false, anything else INVALID_INPUT. */
export function booleanQuery(value: unknown, name: string): boolean {
  if (value !== undefined && value !== 'true' && value !== 'false') throw new InvalidInputError(`${name} must be true or false`);
  return value === 'true';
}
