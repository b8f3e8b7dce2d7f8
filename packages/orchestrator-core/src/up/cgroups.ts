import { readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { sleepSync } from './process.js';

/**
 * A dockerd started by pilot puts its containers under one top-level cgroup
 * (`--cgroup-parent /<name>`), in every hierarchy: `/pilot` for `pilot up`,
 * `/<prefix>-<host>` for each host of a netns harness run. Bridge containers
 * have network namespaces of their own that no `ip netns pids` finds, so
 * teardown finds and kills them by cgroup, then removes the cgroups. A group
 * is either one name (`{ name }`) or every name starting `<prefix>-`
 * (`{ prefix }`, all of a harness run).
 */

export type CgroupGroup = { name: string } | { prefix: string };

function matches(group: CgroupGroup | string, dir: string): boolean {
  if (typeof group === 'string') return dir.startsWith(`${group}-`);
  return 'name' in group ? dir === group.name.replace(/^\/+/, '') : dir.startsWith(`${group.prefix}-`);
}

const CGROUP_ROOT = '/sys/fs/cgroup';

function hierarchies(): string[] {
  try {
    const top = readdirSync(CGROUP_ROOT).map((d) => `${CGROUP_ROOT}/${d}`);
    // cgroup v2 alone: the root itself is the hierarchy.
    if (top.some((p) => p.endsWith('/cgroup.procs'))) return [CGROUP_ROOT];
    return top.filter((p) => isDir(p));
  } catch {
    return [];
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Top-level cgroup directories (in every hierarchy) of the group; a string is a prefix (`<prefix>-…`). */
export function cgroupsOf(group: CgroupGroup | string): string[] {
  const out: string[] = [];
  for (const h of hierarchies()) {
    try {
      for (const d of readdirSync(h)) if (matches(group, d) && isDir(`${h}/${d}`)) out.push(`${h}/${d}`);
    } catch {
      /* hierarchy not readable */
    }
  }
  return out;
}

/** Names of top-level cgroups matching a pattern (crash cleanup finds dead runs' slots by them). */
export function cgroupNames(pattern: RegExp): string[] {
  const names = new Set<string>();
  for (const h of hierarchies()) {
    try {
      for (const d of readdirSync(h)) if (pattern.test(d)) names.add(d);
    } catch {
      /* hierarchy not readable */
    }
  }
  return [...names];
}

/** Every directory under (and including) dir, deepest first. */
function subtree(dir: string): string[] {
  const out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) if (isDir(`${dir}/${e}`)) out.push(...subtree(`${dir}/${e}`));
  out.push(dir);
  return out;
}

function procsIn(dir: string): number[] {
  try {
    return readFileSync(`${dir}/cgroup.procs`, 'utf8')
      .split('\n')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/** The PIDs in the group's cgroups (any hierarchy, any depth). */
export function cgroupPids(group: CgroupGroup | string): number[] {
  const pids = new Set<number>();
  for (const cg of cgroupsOf(group)) for (const d of subtree(cg)) procsIn(d).forEach((p) => pids.add(p));
  return [...pids];
}

/**
 * SIGKILLs every process in the group's cgroups until none is left (a process
 * cannot leave its cgroup by itself, so a forking one is caught on the next
 * round). Bounded: gives up after ~5 s and returns what is left.
 */
export function killCgroupProcs(group: CgroupGroup | string): number[] {
  for (let round = 0; round < 100; round++) {
    const pids = cgroupPids(group);
    if (!pids.length) return [];
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
    sleepSync(50);
  }
  return cgroupPids(group);
}

/** Removes the group's cgroups, deepest first (an exiting process may hold one for a moment). */
export function removeCgroups(group: CgroupGroup | string): string[] {
  let left: string[] = [];
  for (let round = 0; round < 20; round++) {
    left = [];
    for (const cg of cgroupsOf(group)) {
      for (const d of subtree(cg)) {
        try {
          rmdirSync(d);
        } catch {
          left.push(d);
        }
      }
    }
    if (!left.length) return [];
    sleepSync(50);
  }
  return left;
}
