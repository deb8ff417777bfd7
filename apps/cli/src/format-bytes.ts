import prettyBytes from 'pretty-bytes';

/**
 * Every byte count the CLI prints, in IEC units (KiB, MiB, GiB): chunk sizes are powers of two,
 * and one style everywhere lets an operator compare the numbers of two commands.
 */
export function formatBytes(bytes: number): string {
  return prettyBytes(bytes, { binary: true });
}
