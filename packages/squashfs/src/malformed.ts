import { InvalidInputError } from '@lxchunk/errors';

/**
 * Every defect found in an image is reported as one error type, so callers (and the CLI's exit
 * code) treat a corrupt or truncated image as unusable input, never as a crash. The message names
 * the structure and the byte offset that are wrong, which is what someone debugging an image needs.
 */
export function malformed(message: string, cause?: unknown): InvalidInputError {
  return new InvalidInputError(`malformed squashfs image: ${message}`, cause === undefined ? undefined : { cause });
}
