import { ForbiddenError, UnauthorizedError } from '@lxchunk/errors';

export type Scope = 'read' | 'push' | 'admin';

/** Who is calling: a token's name and scopes, or anonymous. */
export interface Principal {
  readonly name: string | undefined;
  readonly scopes: ReadonlySet<Scope>;
}

export const ANONYMOUS: Principal = Object.freeze({ name: undefined, scopes: new Set<Scope>() });

/** admin implies every scope; push implies read, since a pusher must see the aliases it moves. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  const { scopes } = principal;
  return scopes.has('admin') || scopes.has(scope) || (scope === 'read' && scopes.has('push'));
}

export function requireScope(principal: Principal, scope: Scope): void {
  if (hasScope(principal, scope)) return;
  if (principal.name === undefined) throw new UnauthorizedError(`this needs a token with the ${scope} scope`);
  throw new ForbiddenError(`token ${JSON.stringify(principal.name)} lacks the ${scope} scope`);
}

/** Private images (and the chunks only they reference) are for read tokens; public ones for all. */
export function canReadPrivate(principal: Principal): boolean {
  return hasScope(principal, 'read');
}
