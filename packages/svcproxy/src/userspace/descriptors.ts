import { readdir, readFile } from 'node:fs/promises';
import type { Logger } from '@pilot/common';
import { isDescriptorExhaustion } from './dial.js';

/**
 * Watching the proxy's own file descriptors. When accept() fails with EMFILE,
 * libuv quietly accepts and closes the pending connections (its reserve-fd
 * trick) and tells nobody, so a proxy out of descriptors would refuse clients
 * without a word. A periodic look at /proc/self makes that state visible: one
 * warning when it starts, one line when it ends.
 */

/** A proxied TCP connection holds two descriptors (client and backend). */
export const DESCRIPTORS_PER_CONNECTION = 2;

export type DescriptorUsage = { open: number; limit: number } | 'exhausted';

/** The soft "Max open files" of a /proc/<pid>/limits text (Infinity for "unlimited"). */
export function parseNofileLimit(limits: string): number {
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === 'unlimited') return Infinity;
  const n = Number(soft);
  if (!soft || !Number.isInteger(n) || n < 0) throw new Error(`cannot read "Max open files" from /proc limits: ${JSON.stringify(line ?? '')}`);
  return n;
}

/** True when a new proxied connection cannot get its descriptors. */
export function isExhausted(u: DescriptorUsage): boolean {
  return u === 'exhausted' || u.limit - u.open < DESCRIPTORS_PER_CONNECTION;
}

/**
 * Reads this process's open descriptors and soft limit. Opening /proc itself
 * needs a descriptor, so failing with EMFILE is the answer "exhausted".
 */
export async function probeOwnDescriptors(): Promise<DescriptorUsage> {
  try {
    const limit = parseNofileLimit(await readFile('/proc/self/limits', 'utf8'));
    // The listing counts the descriptor it was read through.
    const open = (await readdir('/proc/self/fd')).length - 1;
    return { open, limit };
  } catch (err) {
    if (isDescriptorExhaustion(err)) return 'exhausted';
    throw err;
  }
}

export interface DescriptorWatchOptions {
  log: Logger;
  intervalMs: number;
  probe?: () => Promise<DescriptorUsage>;
}

export class DescriptorWatch {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private exhausted = false;
  private readonly probe: () => Promise<DescriptorUsage>;

  constructor(private readonly opts: DescriptorWatchOptions) {
    this.probe = opts.probe ?? probeOwnDescriptors;
  }

  start(): void {
    if (this.timer || !(this.opts.intervalMs > 0)) return;
    this.timer = setInterval(() => void this.check(), this.opts.intervalMs);
    this.timer.unref(); // never what keeps the process alive
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look; logs only on a change of state. Returns whether descriptors are exhausted. */
  async check(): Promise<boolean> {
    if (this.checking) return this.exhausted;
    this.checking = true;
    try {
      const u = await this.probe();
      const now = isExhausted(u);
      const counts = u === 'exhausted' ? {} : { open: u.open, limit: u.limit };
      if (now && !this.exhausted) {
        this.opts.log.warn(
          { ...counts, code: 'EMFILE' },
          'out of file descriptors (EMFILE): new connections are refused until some close or the limit (LimitNOFILE) is raised',
        );
      } else if (!now && this.exhausted) {
        this.opts.log.info(counts, 'file descriptors available again: accepting new connections');
      }
      this.exhausted = now;
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'descriptor check failed');
    } finally {
      this.checking = false;
    }
    return this.exhausted;
  }
}
