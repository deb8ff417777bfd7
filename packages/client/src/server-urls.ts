/**
 * Replicas of one server as the user gives them: `--server` and LXCHUNK_SERVER take a
 * comma-separated list, a config file a list or such a string. Empty items are dropped; each URL
 * is checked when a client is made from them.
 */
export function serverUrls(value: string | readonly string[]): string[] {
  const items = typeof value === 'string' ? value.split(',') : value.flatMap((item) => item.split(','));
  return items.map((item) => item.trim()).filter((item) => item.length > 0);
}
