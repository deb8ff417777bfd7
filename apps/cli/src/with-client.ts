import type { ChunkServerClient } from '@lxchunk/client';
import { clientFrom, type ServerOptions } from './server-options.js';

/** Runs `work` with a client made from the command's server options, closing it afterwards. */
export async function withClient<T>(options: ServerOptions, work: (client: ChunkServerClient) => Promise<T>): Promise<T> {
  const client = await clientFrom(options);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}
