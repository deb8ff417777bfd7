/** Named steps of an import at which a test can stop the agent (see pauseForTest). */
export type PausePoint = 'pulled' | 'imported';

/**
 * TEST ONLY, off unless LXCHUNK_TEST_PAUSE_AT names `point`: logs "paused for test" and waits
 * until the process is killed, so that a kill -9 lands exactly at that step of an import instead
 * of wherever a timer happens to fall.
 */
export async function pauseForTest(point: PausePoint, log: (entry: Record<string, unknown>) => void): Promise<void> {
  if (process.env.LXCHUNK_TEST_PAUSE_AT !== point) return;
  log({ level: 'warn', msg: 'paused for test', point });
  // The interval keeps the event loop alive: a bare pending promise would let the process exit.
  await new Promise(() => setInterval(() => undefined, 3_600_000));
}
