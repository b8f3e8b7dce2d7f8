import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where JSON lines go; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

/** One pino logger per component; every line carries `component`. */
export function createLogger(component: string, opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? ((process.env.PILOT_LOG_LEVEL as LevelWithSilent | undefined) || 'info');
  return pino(
    { base: { component }, level, timestamp: pino.stdTimeFunctions.isoTime },
    opts.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
