import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { LOCK_DIR, MAX_SLOTS } from './paths.js';
import { isAlive, processStartTime } from './sys.js';

/**
 * A run owns a slot (and so a name prefix and an underlay /24) through a lock
 * file holding its PID and that PID's start time. A lock whose process is gone
 * is free: its run crashed and its leftovers may be removed.
 */

interface LockContent {
  pid: number;
  start: string;
}

function lockPath(slot: number): string {
  return `${LOCK_DIR}/slot-${slot}.lock`;
}

function readLock(slot: number): LockContent | undefined {
  try {
    return JSON.parse(readFileSync(lockPath(slot), 'utf8')) as LockContent;
  } catch {
    return undefined;
  }
}

/** Whether the lock is held by a live process (the same one that took it). */
export function lockHeld(slot: number): boolean {
  const c = readLock(slot);
  if (!c) return false;
  return isAlive(c.pid) && processStartTime(c.pid) === c.start;
}

function tryCreate(slot: number): boolean {
  try {
    const fd = openSync(lockPath(slot), 'wx');
    const content: LockContent = { pid: process.pid, start: processStartTime(process.pid) ?? '' };
    writeSync(fd, JSON.stringify(content));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Takes the first free slot. `cleanStale(slot)` is called for a slot whose
 * owner died, before the slot is reused.
 */
export function acquireSlot(cleanStale: (slot: number) => void): number {
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    if (tryCreate(slot)) {
      cleanStale(slot); // leftovers of a crash that also lost its lock file
      return slot;
    }
    const before = readFileSync(lockPath(slot), 'utf8');
    if (lockHeld(slot)) continue;
    cleanStale(slot);
    // Re-check right before taking over, so two runs do not both claim it.
    let now = '';
    try {
      now = readFileSync(lockPath(slot), 'utf8');
    } catch {
      /* gone */
    }
    if (now === before) {
      try {
        unlinkSync(lockPath(slot));
      } catch {
        /* someone else took it over */
      }
    }
    if (tryCreate(slot)) return slot;
  }
  throw new Error(`no free netns harness slot in ${LOCK_DIR} (${MAX_SLOTS} in use)`);
}

export function releaseSlot(slot: number): void {
  const c = readLock(slot);
  if (c && c.pid === process.pid) {
    try {
      unlinkSync(lockPath(slot));
    } catch {
      /* already removed */
    }
  }
}
