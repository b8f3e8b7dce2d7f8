/**
 * Desired (from leases) versus actual (from the kernel) for the entries
 * overlayd owns: routes carrying its protocol number, and permanent
 * neighbour/FDB entries on its vxlan device. The diff is pure; the kernel
 * edge applies it. Nothing outside these sets is ever read as "ours", so
 * kernel-connected routes, the local subnet and operators' routes are never
 * touched.
 */

export interface RouteEntry {
  /** Destination CIDR, e.g. 10.1.5.0/24. */
  dst: string;
  gateway: string;
  ifindex: number;
  onlink: boolean;
}

export interface NeighEntry {
  ip: string;
  mac: string;
  ifindex: number;
}

export interface FdbEntry {
  mac: string;
  /** Remote VTEP (the peer's PublicIP). */
  dst: string;
  ifindex: number;
}

export interface KernelEntries {
  routes: RouteEntry[];
  neighs: NeighEntry[];
  fdb: FdbEntry[];
}

export interface EntryDiff {
  routes: { add: RouteEntry[]; del: RouteEntry[] };
  neighs: { add: NeighEntry[]; del: NeighEntry[] };
  fdb: { add: FdbEntry[]; del: FdbEntry[] };
}

export const emptyEntries = (): KernelEntries => ({ routes: [], neighs: [], fdb: [] });

export const routeKey = (r: RouteEntry) => `${r.dst} via ${r.gateway} dev ${r.ifindex}${r.onlink ? ' onlink' : ''}`;
export const neighKey = (n: NeighEntry) => `${n.ip} lladdr ${n.mac.toLowerCase()} dev ${n.ifindex}`;
export const fdbKey = (f: FdbEntry) => `${f.mac.toLowerCase()} dst ${f.dst} dev ${f.ifindex}`;

function diffBy<T>(desired: readonly T[], actual: readonly T[], key: (x: T) => string): { add: T[]; del: T[] } {
  const want = new Map(desired.map((x) => [key(x), x]));
  const have = new Map(actual.map((x) => [key(x), x]));
  return {
    add: [...want].filter(([k]) => !have.has(k)).map(([, v]) => v),
    del: [...have].filter(([k]) => !want.has(k)).map(([, v]) => v),
  };
}

/**
 * What to add and remove so `actual` becomes `desired`. An entry that changed
 * (a route to the same subnet via a new gateway, a neighbour with a new MAC)
 * shows up as one removal plus one addition.
 */
export function diffEntries(desired: KernelEntries, actual: KernelEntries): EntryDiff {
  return {
    routes: diffBy(desired.routes, actual.routes, routeKey),
    neighs: diffBy(desired.neighs, actual.neighs, neighKey),
    fdb: diffBy(desired.fdb, actual.fdb, fdbKey),
  };
}

export function diffSize(d: EntryDiff): number {
  return d.routes.add.length + d.routes.del.length + d.neighs.add.length + d.neighs.del.length + d.fdb.add.length + d.fdb.del.length;
}
