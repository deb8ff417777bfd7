/**
 * The command-line arguments of a bench script. `pnpm bench:x -- --json` passes the `--` on, and
 * parseArgs would take everything after it as positionals; drop it.
 */
export function benchArgs(argv: readonly string[] = process.argv.slice(2)): string[] {
  return argv[0] === '--' ? argv.slice(1) : [...argv];
}
