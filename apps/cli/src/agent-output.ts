import prettyBytes from 'pretty-bytes';
import type { SyncOutcome } from '@lxchunk/agent';

/**
 * The agent's log sink. JSON lines (one object per line, with `time`) when asked for with --json
 * or when stderr is not a terminal (journald, a file, a pipe: something reads it); on a terminal,
 * one short readable line per event.
 */
export function agentLogger(stderr: NodeJS.WriteStream, json: boolean): (entry: Record<string, unknown>) => void {
  if (json || !stderr.isTTY) return (entry) => stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  return ({ level, msg, ...fields }) => {
    const details = Object.entries(fields).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
    stderr.write(`${String(level ?? 'info')}: ${String(msg ?? '')}${details.length ? ` (${details.join(' ')})` : ''}\n`);
  };
}

/** One line per alias for `agent --once` without --json: what happened, in an operator's words. */
export function summaryLine({ alias, result, error }: SyncOutcome): string {
  if (error) return `${alias}: FAILED [${error.code}] ${error.message}`;
  const { fingerprint, action, bytesFetched, bytesReused, blocksRebuilt, pruned } = result!;
  const short = fingerprint.slice(0, 12);
  const removed = pruned.length > 0 ? `; removed ${pruned.length} old image${pruned.length > 1 ? 's' : ''}` : '';
  if (action === 'imported') return `${alias}: imported ${short} (fetched ${prettyBytes(bytesFetched)}, reused ${prettyBytes(bytesReused)} from local images${blocksRebuilt > 0 ? `, rebuilt ${blocksRebuilt} xz blocks` : ''})${removed}`;
  if (action === 'alias-updated') return `${alias}: moved to ${short} (already in LXD)${removed}`;
  return `${alias}: up to date at ${short}${removed}`;
}
