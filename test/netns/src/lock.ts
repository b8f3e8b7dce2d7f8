import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { LOCK_DIR, MAX_SLOTS } from './paths.js';
import { isAlive, processStartTime } from '@pilot/orchestrator-core/up';

/**
 * A run owns a slot (and so a name prefix and an underlay /24) through a lock
 * file holding its PID and that PID's start time. A lock whose process is gone
 * is stale: its run crashed and its leftovers may be removed — but only by a
 * process that first makes the slot its own, so a cleaner and a new run can
 * never work on one slot at the same time.
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

function ownedByMe(slot: number): boolean {
  return readLock(slot)?.pid === process.pid;
}

/**
 * Writes our lock with its content in place from the first instant: a temp
 * file linked (create-only) or renamed (replace) onto the lock path.
 */
function writeLock(slot: number, how: 'create' | 'replace'): boolean {
  mkdirSync(LOCK_DIR, { recursive: true });
  const tmp = `${lockPath(slot)}.${process.pid}.tmp`;
  const content: LockContent = { pid: process.pid, start: processStartTime(process.pid) ?? '' };
  writeFileSync(tmp, JSON.stringify(content));
  try {
    if (how === 'create') linkSync(tmp, lockPath(slot));
    else renameSync(tmp, lockPath(slot));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** A takeover marker older than this belongs to a cleaner that crashed. */
const TAKEOVER_MAX_AGE_MS = 120_000;

/**
 * Runs fn while holding the slot's takeover marker (created exclusively), so
 * only one process at a time may turn a stale lock into its own.
 */
function withTakeover<T>(slot: number, fn: () => T): T | undefined {
  const marker = `${lockPath(slot)}.takeover`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(marker, String(process.pid), { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let age = 0;
      try {
        age = Date.now() - statSync(marker).mtimeMs;
      } catch {
        continue; // released meanwhile: try again
      }
      if (age > TAKEOVER_MAX_AGE_MS) {
        rmSync(marker, { force: true });
        continue;
      }
      return undefined; // someone else is taking it over
    }
    try {
      return fn();
    } finally {
      rmSync(marker, { force: true });
    }
  }
  return undefined;
}

/**
 * Makes a free slot ours: either no lock exists (create it) or the lock is
 * stale (replace it, under the takeover marker). Returns false when the slot
 * is held or being taken over by someone else.
 */
function claim(slot: number): boolean {
  if (writeLock(slot, 'create')) return true;
  if (lockHeld(slot)) return false;
  return (
    withTakeover(slot, () => {
      if (lockHeld(slot)) return false; // taken over between the checks
      return writeLock(slot, 'replace');
    }) ?? false
  );
}

/**
 * Takes the first free slot. `clean(slot)` removes whatever a crashed run on
 * that slot left behind; it runs while we already own the slot.
 */
export function acquireSlot(clean: (slot: number) => void): number {
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    if (!claim(slot)) continue;
    clean(slot);
    return slot;
  }
  throw new Error(`no free netns harness slot in ${LOCK_DIR} (${MAX_SLOTS} in use)`);
}

/**
 * Cleans a slot whose lock is free, owning it meanwhile, then lets it go.
 * Returns false (and does nothing) when the slot is live or being claimed.
 */
export function cleanIfFree(slot: number, clean: (slot: number) => void): boolean {
  if (lockHeld(slot) || !claim(slot)) return false;
  try {
    clean(slot);
  } finally {
    releaseSlot(slot);
  }
  return true;
}

export function releaseSlot(slot: number): void {
  if (!ownedByMe(slot)) return;
  try {
    unlinkSync(lockPath(slot));
  } catch {
    /* already removed */
  }
}
