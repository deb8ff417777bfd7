import pino from 'pino';

export type Logger = pino.Logger;
export const LOG_LEVELS: readonly pino.Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * The server's structured log: one JSON line per entry with `time` (ISO 8601), `level` (its name)
 * and `msg`, as before pino. Written synchronously to stderr by default, so lines are in order and
 * none is lost when the process exits.
 */
export function createServerLogger(level: pino.Level = 'info', destination: pino.DestinationStream = pino.destination({ fd: 2, sync: true })): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
