import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { InvalidInputError, userPathError } from '@lxchunk/errors';

export interface TokenOptions {
  token?: string;
  tokenFile?: string;
}

/**
 * The bearer token, first found of: --token, --token-file (a path, or `-` for stdin),
 * LXCHUNK_TOKEN, LXCHUNK_TOKEN_FILE. Flags win over the environment, as everywhere. Surrounding
 * whitespace (the newline `echo` adds) is dropped. Undefined: anonymous.
 */
export async function readToken(options: TokenOptions, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (options.token !== undefined && options.tokenFile !== undefined) throw new InvalidInputError('give --token or --token-file, not both');
  if (options.token !== undefined) return options.token;
  if (options.tokenFile !== undefined) return fromFile('--token-file', options.tokenFile);
  if (env.LXCHUNK_TOKEN) return env.LXCHUNK_TOKEN;
  if (env.LXCHUNK_TOKEN_FILE) return fromFile('LXCHUNK_TOKEN_FILE', env.LXCHUNK_TOKEN_FILE);
  return undefined;
}

async function fromFile(origin: string, path: string): Promise<string> {
  let content: string;
  try {
    content = path === '-' ? await text(process.stdin) : await readFile(path, 'utf8');
  } catch (err) {
    throw userPathError(origin, path, err);
  }
  const token = content.trim();
  if (!token) throw new InvalidInputError(`${origin} ${path === '-' ? 'stdin' : path}: is empty, expected a token`);
  return token;
}
