import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Creates database `name` on the server at `url` (a superuser's URL, as startPrivatePostgres
 * gives) and returns the same URL naming the new database.
 */
export async function createDatabase(url: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`database name ${JSON.stringify(name)}: use [a-z0-9_], at most 63 chars`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const withName = new URL(url);
  withName.pathname = `/${name}`;
  return withName.toString();
}

/** A new, empty database with a unique name (one per test): its URL. */
export function freshDatabaseUrl(url: string): Promise<string> {
  return createDatabase(url, `lxchunk_${randomBytes(6).toString('hex')}`);
}
