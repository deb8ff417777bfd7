import { createRequire } from 'node:module';
import type lzmaModule from 'lzma-native';

export type LzmaNative = typeof lzmaModule;

const require = createRequire(import.meta.url);
let binding: LzmaNative | undefined;

/**
 * lzma-native loaded on first use, not at import: a host where its prebuilt binary does not load
 * then still imports this package, and selfTest() reports the failure instead of the process
 * dying at startup.
 */
export function lzmaNative(): LzmaNative {
  binding ??= require('lzma-native') as LzmaNative;
  return binding;
}
