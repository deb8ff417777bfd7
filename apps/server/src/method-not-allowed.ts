import type { RequestHandler, Router } from 'express';
import { MethodNotAllowedError } from '@lxchunk/errors';

/** What express 5's router keeps per route; its types do not show `match` and `methods`. */
interface RouteLayer {
  readonly route?: { readonly methods: Readonly<Record<string, boolean>> };
  match(path: string): boolean;
}

/**
 * Placed after every route: a request no route took whose path some route serves with other
 * methods is 405 METHOD_NOT_ALLOWED with `Allow`, not 404 (which would say the path is wrong).
 */
export function methodNotAllowed(routers: readonly Router[]): RequestHandler {
  const layers = routers.flatMap((router) => router.stack as unknown as RouteLayer[]).filter((layer) => layer.route);
  return (req, _res, next) => {
    const allowed = new Set<string>();
    for (const layer of layers) {
      if (!layer.match(req.path)) continue;
      for (const [method, on] of Object.entries(layer.route!.methods)) if (on && method !== '_all') allowed.add(method.toUpperCase());
    }
    // Express answers HEAD with a GET route.
    if (allowed.has('GET')) allowed.add('HEAD');
    if (allowed.size === 0) return next();
    throw new MethodNotAllowedError(req.method, req.path, [...allowed].sort());
  };
}
