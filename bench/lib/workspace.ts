import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A bench run's scratch space: a temp directory and the children it started,
 * all removed / sent SIGTERM when the process exits (also on Ctrl-C).
 * Benches start only their own children and kill only those PIDs.
 */
export interface Workspace {
  dir: string;
  /** Registers a child for the exit cleanup; returns it. */
  track<T extends ChildProcess>(child: T): T;
  /** Stops every child still running and removes the directory (also run at exit). */
  cleanup(): void;
}

export function benchWorkspace(prefix: string): Workspace {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const children: ChildProcess[] = [];
  const cleanup = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  return {
    dir,
    track: (child) => {
      children.push(child);
      return child;
    },
    cleanup,
  };
}
