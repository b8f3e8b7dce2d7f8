import { Command, Option } from 'commander';
import { versionLine } from './build-info.js';
import { UsageError } from './fatal.js';
import { FlagError, type FlagWarn } from './flags.js';

/**
 * The one command-line convention of every pilot component (bins and `pilot
 * <component>` alike; see the README's "Command lines"):
 *
 *   const program = new Command('dnsd').description('…').option('--ttl <seconds>', '…', '5');
 *   const opts = parseCommandLine(program, argv, (warn) => resolve(program.opts(), warn), io);
 *   if (!opts) return 0; // --help or --version was printed
 *
 * parseCommandLine adds `--version` (version and git commit of the build),
 * prints help and version on `io.out`, and turns every usage error —
 * unknown flag, missing value, stray argument, a FlagError from `resolve` —
 * into a UsageError: one line `<program>: --flag: what is wrong`, exit 2.
 * `resolve` gets `warn` for deprecation notices (`<program>: …` on `io.err`).
 */

// Components build their commands with common's commander, so every
// component parses with the same version of it.
export { Command, Option };

/** Where a command line writes: help and version to `out`, notices to `err`. */
export interface CommandIO {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIO: CommandIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** commander's error (exitOverride) → our one line, flag first. */
function usageMessage(err: { code?: string; message: string }, program: Command): string {
  const message = err.message.replace(/^error: /, '');
  switch (err.code) {
    case 'commander.unknownOption': {
      const flag = /unknown option '([^']*)'/.exec(message)?.[1]?.replace(/=.*$/, '') ?? message;
      const suggestion = /\(Did you mean (\S+)\?\)/.exec(message)?.[1];
      return `${flag}: unknown flag (${suggestion ? `did you mean ${suggestion}? ` : ''}see ${program.name()} --help)`;
    }
    case 'commander.optionMissingArgument': {
      const flag = /option '(-\S+)/.exec(message)?.[1]?.replace(/^-[^-],\s*/, '') ?? message;
      return `${flag}: needs a value`;
    }
    case 'commander.excessArguments':
      return `unexpected argument "${program.args[0] ?? ''}" (flags are written --name value; see ${program.name()} --help)`;
    default:
      return message;
  }
}

/**
 * Parses a component's argv with commander: the options `resolve` makes of
 * the raw flags, or false when help or the version was printed (exit 0).
 */
export function parseCommandLine<T>(program: Command, argv: readonly string[], resolve: (warn: FlagWarn) => T, io: CommandIO = processIO): T | false {
  const name = program.name();
  if (!program.options.some((o) => o.long === '--version')) program.version(versionLine(name), '--version', 'print the version and git commit, then exit');
  // Components take flags only; "flags" is what their READMEs call them.
  program.usage('[flags]');
  program.exitOverride();
  program.configureOutput({ writeOut: io.out, writeErr: () => undefined, outputError: () => undefined });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return false;
    throw new UsageError(name, usageMessage(e, program));
  }
  const warn: FlagWarn = (message) => io.err(`${name}: ${message}\n`);
  try {
    return resolve(warn);
  } catch (err) {
    if (err instanceof FlagError) throw new UsageError(name, err.message);
    throw err;
  }
}

/** An AbortSignal that fires on SIGTERM or SIGINT: a daemon's whole life. */
export function stopSignal(): AbortSignal {
  const ac = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => ac.abort());
  return ac.signal;
}
