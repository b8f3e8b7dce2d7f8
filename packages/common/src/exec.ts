import { execa } from 'execa';

/** Result of a command that ran to completion (whatever its exit code). */
export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** Written to the command's stdin. */
  input?: string;
  /** Kill the command after this long (ms). */
  timeoutMs?: number;
  /** Throw a CommandError on a non-zero exit (default true). */
  check?: boolean;
  signal?: AbortSignal;
  env?: Record<string, string>;
  cwd?: string;
}

/** A command that failed; the message names the command, its exit and its stderr. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    readonly stdout: string,
    reason?: string,
  ) {
    const what = reason ?? (exitCode === undefined ? 'did not exit' : `exited ${exitCode}`);
    const detail = stderr.trim().split('\n').slice(-5).join(' | ');
    super(`${argv.join(' ')}: ${what}${detail ? `: ${detail}` : ''}`);
    this.name = 'CommandError';
  }
}

/**
 * Runs a program with an argument array (never through a shell) and collects
 * its output. The one place the repository spawns short-lived commands.
 */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  const r = await execa(file, args, {
    input: opts.input,
    timeout: opts.timeoutMs,
    cancelSignal: opts.signal,
    env: opts.env,
    cwd: opts.cwd,
    reject: false,
    stripFinalNewline: false,
    maxBuffer: 512 * 1024 * 1024,
  });
  const result: RunResult = {
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' ? r.stderr : '',
    exitCode: r.exitCode ?? -1,
  };
  if (r.failed && r.exitCode === undefined) {
    // Spawn failure, timeout or cancellation: always an error, check or not.
    const reason = r.timedOut ? `timed out after ${opts.timeoutMs} ms` : r.isCanceled ? 'cancelled' : r.shortMessage;
    throw new CommandError(argv, undefined, result.stderr, result.stdout, reason);
  }
  if ((opts.check ?? true) && result.exitCode !== 0) {
    throw new CommandError(argv, result.exitCode, result.stderr, result.stdout);
  }
  return result;
}
