import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * What benches read from /proc, parsed in pure functions (unit-tested) with
 * thin readers beside them: a process's PSS, its CPU time and parent, and a
 * sum over a set of PIDs that tolerates processes exiting meanwhile.
 */

/** USER_HZ: /proc/<pid>/stat counts CPU time in ticks of 10 ms on Linux. */
const TICK_MS = 10;

/** The Pss line of /proc/<pid>/smaps_rollup in KiB: private pages plus a 1/n share of pages n processes map. */
export function parsePssKiB(smapsRollup: string): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(smapsRollup);
  if (!m) throw new Error(`no Pss line in smaps_rollup: ${smapsRollup.slice(0, 80)}`);
  return Number(m[1]);
}

export interface ProcStat {
  ppid: number;
  /** utime + stime, in ms. */
  cpuMs: number;
}

/** Fields 4 (ppid), 14 and 15 (utime, stime) of /proc/<pid>/stat; the comm field (2) may hold spaces and parentheses, so fields count from its last `)`. */
export function parseStat(stat: string): ProcStat {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(rest[1]);
  const ticks = Number(rest[11]) + Number(rest[12]);
  if (!Number.isFinite(ppid) || !Number.isFinite(ticks)) throw new Error(`unparsable /proc/<pid>/stat: ${stat.slice(0, 80)}`);
  return { ppid, cpuMs: ticks * TICK_MS };
}

/** Every PID whose ancestry (by ppid) reaches one of `roots`, the roots included. */
export function descendantsOf(roots: Iterable<number>, ppidOf: ReadonlyMap<number, number>): Set<number> {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of ppidOf) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const out = new Set<number>();
  const stack = [...roots];
  while (stack.length) {
    const pid = stack.pop()!;
    if (out.has(pid)) continue;
    out.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** A value read from /proc for a PID, or undefined when the process is gone. */
function maybe<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw err;
  }
}

/** Proportional set size of a process in KiB (/proc/<pid>/smaps_rollup); throws when it is gone. */
export const pssKiB = (pid: number): number => parsePssKiB(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
const stat = (pid: number): ProcStat => parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
/** utime + stime of a process in ms (/proc/<pid>/stat); throws when it is gone. */
export const cpuMs = (pid: number): number => stat(pid).cpuMs;

/** The same two, undefined for a process that is gone. */
export const pssKiBOf = (pid: number): number | undefined => maybe(() => pssKiB(pid));
const statOf = (pid: number): ProcStat | undefined => maybe(() => stat(pid));
/** The resolved executable of a process (its binary's identity, not its name). */
export const exeOf = (pid: number): string | undefined => maybe(() => readlinkSync(`/proc/${pid}/exe`));

/** PID → ppid of every process on the machine. */
export function processTable(): Map<number, number> {
  const out = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const s = statOf(Number(e));
    if (s) out.set(Number(e), s.ppid);
  }
  return out;
}

/** Sum of PSS (KiB) over the PIDs still alive. */
export function totalPssKiB(pids: Iterable<number>): number {
  let sum = 0;
  for (const p of pids) sum += pssKiBOf(p) ?? 0;
  return sum;
}

/** Sum of CPU time (ms) over the PIDs still alive. */
export function totalCpuMs(pids: Iterable<number>): number {
  let sum = 0;
  for (const p of pids) sum += statOf(p)?.cpuMs ?? 0;
  return sum;
}
