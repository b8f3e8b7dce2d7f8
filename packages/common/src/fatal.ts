/**
 * An error that ends a daemon: its message is one line that names the problem
 * (which flag, which key, which interface) so an operator can act on it.
 */
export class FatalError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(oneLine(message));
    this.name = 'FatalError';
  }
}

/**
 * A mistake on the command line (an unknown flag, a bad value): exit code 2,
 * printed under the name of the command that refused it, which for `pilot
 * <component>` is more than the bin's name (`pilot apiserver: --x: ...`).
 */
export class UsageError extends FatalError {
  constructor(
    readonly program: string,
    message: string,
  ) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** Collapses whitespace and newlines so an error always prints as one line. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, '; ').replace(/\s+/g, ' ').trim();
}

export interface MainIO {
  stderr: (line: string) => void;
  exit: (code: number) => void;
}

const processIO: MainIO = {
  stderr: (line) => process.stderr.write(`${line}\n`),
  exit: (code) => process.exit(code),
};

/**
 * Runs a daemon's entry point. A thrown FatalError (or anything else) becomes
 * one line on stderr, `<program>: <message>`, and a non-zero exit.
 */
export async function main(program: string, fn: () => Promise<number | void>, io: MainIO = processIO): Promise<void> {
  try {
    const code = await fn();
    if (typeof code === 'number') io.exit(code);
  } catch (err) {
    const code = err instanceof FatalError ? err.exitCode : 1;
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`${err instanceof UsageError ? err.program : program}: ${oneLine(message)}`);
    io.exit(code === 0 ? 1 : code);
  }
}
