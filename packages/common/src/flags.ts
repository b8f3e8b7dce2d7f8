import { Cidr, CidrError, isIPv4 } from './cidr.js';

/**
 * Flag values every component parses the same way. A bad value is a FlagError
 * naming the flag (`--sync-period: "5x" is not a duration ...`);
 * parseCommandLine (command-line.ts) prints it as `<program>: <message>` and
 * exits 2.
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

/** Receives a deprecation notice about a flag value (`--flag: what to write instead`). */
export type FlagWarn = (message: string) => void;

const BARE_NUMBER = /^\d+(\.\d+)?$/;

/**
 * `500ms`, `30s`, `15m`, `1h30m` → milliseconds. A bare number is read in
 * `bareUnit` (seconds unless told): flags that took plain numbers keep
 * meaning what they meant.
 */
export function parseDuration(text: string, bareUnit: 'ms' | 's' = 's'): number {
  const t = text.trim();
  if (BARE_NUMBER.test(t)) return Number(t) * (bareUnit === 'ms' ? 1 : 1_000);
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t) {
    throw new Error(`"${text}" is not a duration (want e.g. 500ms, 30s, 15m, 24h)`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
}

/** Milliseconds as a duration flag value: `1h30m`, `2s`, `1500ms`. */
export function formatDuration(ms: number): string {
  if (ms % 1_000 !== 0) return `${ms}ms`;
  let s = ms / 1_000;
  let out = '';
  for (const [unit, size] of [['h', 3600], ['m', 60]] as const) {
    if (s >= size) {
      out += `${Math.floor(s / size)}${unit}`;
      s %= size;
    }
  }
  return s > 0 || out === '' ? `${out}${s}s` : out;
}

export interface DurationFlagOptions {
  /** What a bare number meant before durations took units (default seconds). */
  bareUnit?: 'ms' | 's';
  /** Where the deprecation notice for a bare number goes (parseCommandLine's). */
  warn?: FlagWarn;
}

/**
 * A duration flag within [minMs, maxMs], in milliseconds. A bare number
 * other than 0 still works, read in its old unit, with a deprecation notice
 * saying what to write instead.
 */
export function durationFlag(flag: string, text: string, minMs: number, maxMs: number, opts: DurationFlagOptions = {}): number {
  const bareUnit = opts.bareUnit ?? 's';
  let ms: number;
  try {
    ms = parseDuration(text, bareUnit);
  } catch (err) {
    throw new FlagError(flag, (err as Error).message);
  }
  if (ms < minMs || ms > maxMs) throw new FlagError(flag, `${text} is outside ${formatDuration(minMs)}..${formatDuration(maxMs)}`);
  if (BARE_NUMBER.test(text.trim()) && ms !== 0) {
    const unit = bareUnit === 'ms' ? 'milliseconds' : 'seconds';
    opts.warn?.(`--${flag}: a number without a unit is deprecated: "${text.trim()}" is read as ${text.trim()} ${unit}; write ${formatDuration(ms)}`);
  }
  return ms;
}

export function intFlag(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) throw new FlagError(flag, `"${text}" is not an integer in ${min}..${max}`);
  return n;
}

/** A decimal number in [min, max] (`0.1`, `1e-2`, `5`). */
export function floatFlag(flag: string, text: string, min: number, max: number): number {
  const t = text.trim();
  const n = Number(t);
  if (t === '' || !Number.isFinite(n) || n < min || n > max) throw new FlagError(flag, `"${text}" is not a number in ${min}..${max}`);
  return n;
}

/** `--flag`, `--flag true|false` (commander's optional value: a bare flag is `true`). */
export function boolFlag(flag: string, v: string | boolean | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new FlagError(flag, `"${v}" is not true or false`);
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
