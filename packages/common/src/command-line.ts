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

/**
 * Go's flag syntax for a component whose anchor is a Go daemon (flanneld),
 * so its unit files' command lines work unchanged: `-name`, `-name=value`
 * and `-name value` mean `--name…` for every long flag the program declares,
 * and a boolean flag takes `=true` / `=false` (`-ip-masq=false` as flanneld
 * reads it) under either spelling (any other value is a UsageError). The
 * rest — an undeclared name, a value after a flag that takes one,
 * everything after `--` — is passed on unchanged, so commander still
 * reports it.
 */
export function goFlagArgv(program: Command, argv: readonly string[]): string[] {
  const byLong = new Map(program.options.filter((o) => o.long).map((o) => [o.long!.slice(2), o] as const));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^--?([A-Za-z][\w-]*)(?:=([\s\S]*))?$/.exec(arg);
    if (m && m[2] === undefined && (m[1] === 'help' || m[1] === 'version')) {
      out.push(`--${m[1]}`); // added by commander / parseCommandLine later
      continue;
    }
    const opt = m ? byLong.get(m[1]!) : undefined;
    if (!m || !opt) {
      out.push(arg);
      continue;
    }
    const [, name, value] = m;
    if (opt.isBoolean() && value !== undefined) {
      if (value === 'true' || value === '1') out.push(`--${name}`);
      else if (value !== 'false' && value !== '0') throw new UsageError(program.name(), `--${name}: "${value}" is not true or false`);
      continue;
    }
    out.push(value === undefined ? `--${name}` : `--${name}=${value}`);
    // A flag that takes a value consumes the next word as it is (it may start with "-").
    if (value === undefined && (opt.required || opt.optional) && i + 1 < argv.length) out.push(argv[++i]!);
  }
  return out;
}

/** An AbortSignal that fires on SIGTERM or SIGINT: a daemon's whole life. */
export function stopSignal(): AbortSignal {
  const ac = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => ac.abort());
  return ac.signal;
}
