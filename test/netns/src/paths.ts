/** Where runs keep their locks, state directories and logs. */
export const STATE_ROOT = process.env.PILOT_NETNS_ROOT ?? '/tmp/pilot-netns';
export const LOCK_DIR = `${STATE_ROOT}/locks`;
/** Namespaces of run slot N are named `plt<N>-...`; nothing else uses this pattern. */
export const PREFIX_RE = /^plt(\d+)(-|$)/;
export const MAX_SLOTS = 200;

export function prefixOf(slot: number): string {
  return `plt${slot}`;
}

export function stateDirOf(prefix: string): string {
  return `${STATE_ROOT}/${prefix}`;
}

/** Each run's underlay is its own /24, so runs never share a route in the root namespace. */
export function underlayOf(slot: number): string {
  return `172.30.${slot}.0/24`;
}
