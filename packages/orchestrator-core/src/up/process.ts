import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Synchronous process helpers for whatever stops processes it started
 * (`pilot down`, the netns harness's teardown). Teardown must also run from
 * process 'exit' and signal handlers, where nothing asynchronous completes,
 * so it is built on these alone. A PID is only ever signalled together with
 * its start time (`ProcessRef`), so a reused PID is never taken for ours.
 */

export function runSync(argv: readonly string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Start time of a process (clock ticks since boot), to tell a live owner from a reused PID. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; starttime is field 22.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (an unreaped child still answers kill(pid, 0)). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * SIGTERM the PIDs, wait (bounded) for them to go, SIGKILL what is left.
 * `first: 'SIGKILL'` skips the polite part (a crash, not a stop).
 */
export function killPidsSync(pids: readonly number[], graceMs = 5_000, first: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): void {
  const signal = (sig: NodeJS.Signals, pid: number) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  pids.forEach((p) => signal(first, p));
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) sleepSync(50);
  pids.filter(isAlive).forEach((p) => signal('SIGKILL', p));
  const hard = Date.now() + 2_000;
  while (pids.some(isAlive) && Date.now() < hard) sleepSync(20);
}

/** A process as recorded when it was started: its PID and that PID's start time. */
export interface ProcessRef {
  pid: number;
  start: string;
}

/** The ProcessRef of a live PID (undefined when it is gone). */
export function processRef(pid: number): ProcessRef | undefined {
  const start = processStartTime(pid);
  return start === undefined ? undefined : { pid, start };
}

/** Whether the recorded process still runs (same PID, same start time, not a zombie). */
export function stillRunning(ref: ProcessRef): boolean {
  return isAlive(ref.pid) && processStartTime(ref.pid) === ref.start;
}
