import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@pilot/common';

/** A real pino logger whose JSON lines are kept, parsed, for assertions. */
export function captureLog(component = 't'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger(component, { destination, level: 'info' }), lines };
}
