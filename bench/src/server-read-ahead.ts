import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * READ_AHEAD of apps/server/src/routes/chunk-routes.ts: how many store reads one batched fetch
 * keeps in flight. The server does not export it, and a copy here would drift: the bench reads it
 * from the source so its "same concurrency" comparison follows the server.
 */
export async function serverReadAhead(root: string): Promise<number> {
  const path = join(root, 'apps/server/src/routes/chunk-routes.ts');
  const match = /^const READ_AHEAD = (\d+);$/m.exec(await readFile(path, 'utf8'));
  if (!match) throw new Error(`${path} no longer has "const READ_AHEAD = N;": update bench/src/server-read-ahead.ts`);
  return Number(match[1]);
}
