/**
 * Modes for everything lxchunk writes under its data dirs and caches: chunks of private images,
 * token hashes and staged pulls are nobody else's business. Given at creation, so a umask can
 * only make them stricter, never readable by others.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** `mkdir` options for a private directory and any parents it creates. */
export const PRIVATE_DIR = Object.freeze({ recursive: true, mode: PRIVATE_DIR_MODE } as const);
