import { KernelError, type Kernel } from './netlink.js';
import type { EntryDiff, RouteEntry } from './reconcile.js';

/**
 * Applies a diff from reconcile.ts through the netlink edge. Removals first
 * (a stale route must not shadow a new one), then neighbour, FDB and route
 * additions in that order, so the kernel never has to resolve a gateway on
 * the vxlan device. It goes on past a failed change and says what failed.
 */

/** The part of the kernel edge a diff needs. */
export type KernelWriter = Pick<Kernel, 'addRoute' | 'delRoute' | 'setNeigh' | 'delNeigh' | 'addFdb' | 'delFdb'>;

export interface ApplyResult {
  /**
   * Changes the kernel took. An entry already gone, or a route left to its
   * owner, is not a change: a reconcile that keeps meeting the same conflict
   * counts no repairs.
   */
  changed: number;
  /** Routes not added because a route to the same destination that overlayd did not install exists (an operator's): never overwritten. */
  conflicts: RouteEntry[];
  /** One line per change that failed. */
  errors: string[];
}

export async function applyDiff(kernel: KernelWriter, d: EntryDiff): Promise<ApplyResult> {
  const out: ApplyResult = { changed: 0, conflicts: [], errors: [] };
  const attempt = async (what: () => Promise<void>) => {
    try {
      await what();
      out.changed++;
    } catch (err) {
      // ESRCH/ENOENT on removal: already gone, which is what we wanted.
      if (err instanceof KernelError && (err.code === 'ESRCH' || err.code === 'ENOENT')) return;
      out.errors.push((err as Error).message);
    }
  };
  for (const r of d.routes.del) await attempt(() => kernel.delRoute(r));
  for (const x of d.neighs.del) await attempt(() => kernel.delNeigh(x));
  for (const x of d.fdb.del) await attempt(() => kernel.delFdb(x));
  for (const x of d.neighs.add) await attempt(() => kernel.setNeigh(x));
  for (const x of d.fdb.add) await attempt(() => kernel.addFdb(x));
  for (const r of d.routes.add) {
    try {
      await kernel.addRoute(r);
      out.changed++;
    } catch (err) {
      if (err instanceof KernelError && err.code === 'EEXIST') out.conflicts.push(r);
      else out.errors.push((err as Error).message);
    }
  }
  return out;
}
