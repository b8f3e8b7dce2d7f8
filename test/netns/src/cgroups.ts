import { readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { sleepSync } from './sys.js';

/**
 * Containers of a run live in cgroups named after its prefix (dockerd
 * `--cgroup-parent /<prefix>-<host>`), in every hierarchy. Bridge containers
 * have network namespaces of their own that no `ip netns pids` finds, so
 * teardown finds and kills them by cgroup, then removes the cgroups.
 */

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

/** Top-level cgroup directories (in every hierarchy) whose name starts with `<prefix>-`. */
export function cgroupsOf(prefix: string): string[] {
  const out: string[] = [];
  for (const h of hierarchies()) {
    try {
      for (const d of readdirSync(h)) if (d.startsWith(`${prefix}-`) && isDir(`${h}/${d}`)) out.push(`${h}/${d}`);
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

/** The PIDs in the run's cgroups (any hierarchy, any depth). */
export function cgroupPids(prefix: string): number[] {
  const pids = new Set<number>();
  for (const cg of cgroupsOf(prefix)) for (const d of subtree(cg)) procsIn(d).forEach((p) => pids.add(p));
  return [...pids];
}

/**
 * SIGKILLs every process in the run's cgroups until none is left (a process
 * cannot leave its cgroup by itself, so a forking one is caught on the next
 * round). Bounded: gives up after ~5 s and returns what is left.
 */
export function killCgroupProcs(prefix: string): number[] {
  for (let round = 0; round < 100; round++) {
    const pids = cgroupPids(prefix);
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
  return cgroupPids(prefix);
}

/** Removes the run's cgroups, deepest first (an exiting process may hold one for a moment). */
export function removeCgroups(prefix: string): string[] {
  let left: string[] = [];
  for (let round = 0; round < 20; round++) {
    left = [];
    for (const cg of cgroupsOf(prefix)) {
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
