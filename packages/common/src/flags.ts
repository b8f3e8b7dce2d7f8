import { Cidr, CidrError, isIPv4 } from './cidr.js';
import { FatalError } from './fatal.js';

/**
 * Flag values every daemon parses the same way. A bad value is a FlagError
 * naming the flag (`--sync-period: "5x" is not a duration ...`); bins turn it
 * into a one-line fatal error with exit code 2.
 */
export class FlagError extends Error {
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(`--${flag}: ${message}`);
    this.name = 'FlagError';
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `15m`, `1h30m`, or a plain number of seconds → milliseconds. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1_000;
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t) {
    throw new Error(`"${text}" is not a duration (want e.g. 500ms, 30s, 15m, 24h)`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
}

function formatMs(ms: number): string {
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`;
}

/** A duration flag within [minMs, maxMs], in milliseconds. */
export function durationFlag(flag: string, text: string, minMs: number, maxMs: number): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new FlagError(flag, (err as Error).message);
  }
  if (ms < minMs || ms > maxMs) throw new FlagError(flag, `${text} is outside ${formatMs(minMs)}..${formatMs(maxMs)}`);
  return ms;
}

export function intFlag(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) throw new FlagError(flag, `"${text}" is not an integer in ${min}..${max}`);
  return n;
}

export function portFlag(flag: string, text: string): number {
  return intFlag(flag, text, 0, 65535);
}

export function ipv4Flag(flag: string, text: string): string {
  if (!isIPv4(text.trim())) throw new FlagError(flag, `"${text}" is not an IPv4 address`);
  return text.trim();
}

/** A network in canonical form (host bits must be zero). */
export function cidrFlag(flag: string, text: string): string {
  try {
    return Cidr.parse(text.trim()).toString();
  } catch (err) {
    throw new FlagError(flag, err instanceof CidrError ? err.message : `invalid CIDR "${text}"`);
  }
}

/** A comma-separated list, trimmed, empty items dropped. */
export function listFlag(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** What the command-line parse of a bin needs from commander's Command. */
export interface CommandLine {
  exitOverride(): unknown;
  configureOutput(o: { writeErr: (s: string) => void }): unknown;
  parse(argv: readonly string[], opts?: { from: 'user' | 'node' }): unknown;
}

/**
 * Parses a daemon's argv with commander. Returns false when help or the
 * version was printed (the bin exits 0). Usage errors (unknown options,
 * stray arguments, missing values) become a one-line FatalError with exit
 * code 2; so does a FlagError thrown by `resolve`, which turns raw flags
 * into options.
 */
export function parseCommandLine<T>(program: CommandLine, argv: readonly string[], resolve: () => T): T | false {
  program.exitOverride();
  program.configureOutput({ writeErr: () => undefined });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return false;
    throw new FatalError(e.message.replace(/^error: /, ''), 2);
  }
  try {
    return resolve();
  } catch (err) {
    if (err instanceof FlagError) throw new FatalError(err.message, 2);
    throw err;
  }
}

/** An AbortSignal that fires on SIGTERM or SIGINT: a daemon's whole life. */
export function stopSignal(): AbortSignal {
  const ac = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => ac.abort());
  return ac.signal;
}
