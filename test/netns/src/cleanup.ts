import { readdirSync, rmSync } from 'node:fs';
import { cgroupNames, killCgroupProcs, killPidsSync, removeCgroups, runSync, unmountUnder } from '@pilot/orchestrator-core/up';
import { PREFIX_RE, STATE_ROOT, prefixOf, stateDirOf } from './paths.js';
import { cleanIfFree } from './lock.js';

/** Named network namespaces whose names start with `<prefix>-`. */
export function namespacesOf(prefix: string): string[] {
  const r = runSync(['ip', 'netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
}

/** Every process living in a named network namespace (`ip netns pids`). */
export function pidsIn(ns: string): number[] {
  const r = runSync(['ip', 'netns', 'pids', ns]);
  return r.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/**
 * Removes everything a run with this prefix made: containers (found by the
 * run's cgroups), processes living in its namespaces (found by namespace,
 * never by name: dockerd, its containerd and shims, every other daemon), the
 * namespaces themselves (and with them every veth, bridge, route and iptables
 * rule inside), its root veth, its /etc/netns entries, every mount under its
 * state directory, its cgroups and the state directory.
 */
export function removeRun(prefix: string, opts: { keepState?: boolean; extraPids?: readonly number[] } = {}): void {
  // Containers first: with live-restore a dockerd that goes keeps them running.
  killCgroupProcs(prefix);
  const namespaces = namespacesOf(prefix);
  const pids = new Set<number>(opts.extraPids ?? []);
  for (const ns of namespaces) pidsIn(ns).forEach((p) => pids.add(p));
  if (pids.size) killPidsSync([...pids]);
  killCgroupProcs(prefix);
  // Pods first, then hosts, then the switch: no dependency, just tidy.
  for (const ns of namespaces.sort((a, b) => b.length - a.length)) runSync(['ip', 'netns', 'del', ns]);
  const links = runSync(['ip', '-o', 'link', 'show']).stdout;
  for (const m of links.matchAll(/^\d+:\s+([^:@\s]+)/gm)) {
    const name = m[1]!;
    if (name === `${prefix}r`) runSync(['ip', 'link', 'del', name]);
  }
  try {
    for (const d of readdirSync('/etc/netns')) if (d.startsWith(`${prefix}-`)) rmSync(`/etc/netns/${d}`, { recursive: true, force: true });
  } catch {
    /* no /etc/netns */
  }
  unmountUnder(stateDirOf(prefix));
  removeCgroups(prefix);
  if (!opts.keepState) rmSync(stateDirOf(prefix), { recursive: true, force: true });
}

/** Cleans up after crashed runs: every slot with leftovers whose lock is free. */
export function removeLeftovers(): string[] {
  const slots = new Set<number>();
  for (const ns of runSync(['ip', 'netns', 'list']).stdout.split('\n')) {
    const m = PREFIX_RE.exec(ns.split(' ')[0] ?? '');
    if (m) slots.add(Number(m[1]));
  }
  for (const name of cgroupNames(PREFIX_RE)) slots.add(Number(PREFIX_RE.exec(name)![1]));
  try {
    for (const d of readdirSync(STATE_ROOT)) {
      const m = PREFIX_RE.exec(d);
      if (m) slots.add(Number(m[1]));
    }
  } catch {
    /* no state root yet */
  }
  const removed: string[] = [];
  for (const slot of slots) {
    if (cleanIfFree(slot, (s) => removeRun(prefixOf(s)))) removed.push(prefixOf(slot));
  }
  return removed;
}
