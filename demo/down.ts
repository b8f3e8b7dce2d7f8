/**
 * `make demo-down`: stops the demo's owner and checks that nothing of its run
 * is left. It notes what the run has before it goes (its processes, by
 * namespace, cgroup and the run's pid file, each with its start time), sends
 * SIGTERM to the owner (after checking its start time, so a reused PID is
 * never signalled), waits for it to exit, then looks for every kind of thing
 * the run made: namespaces with its prefix, those processes, its containers'
 * cgroups, its root veth, /etc/netns entries, mounts and files under its
 * state dir, its lock, the state file and log, and iptables rules in the root
 * namespace naming the run. One line per leftover; exit 1 if there is any.
 * An owner that does not exit within the grace period is killed and its run
 * removed as a crashed run's (the lock is free then).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { backendFor, waitFor } from '@pilot/common';
import { STATE_ROOT, namespacesOf, removeLeftovers } from '@pilot/netns';
import { cgroupPids, cgroupsOf, mountsUnder, processRef, runSync, stillRunning, type ProcessRef } from '@pilot/orchestrator-core/up';
import { LOG_FILE, STATE_FILE, readState, removeStateFiles, type DemoState } from './state.js';

const GRACE_MS = 120_000;

function say(line: string): void {
  process.stdout.write(`demo-down: ${line}\n`);
}

/** Every process of the run now: the owner, the run's pid file, whatever lives in its namespaces or cgroups. */
function processesOf(s: DemoState): ProcessRef[] {
  const pids = new Set<number>([s.owner.pid]);
  try {
    for (const l of readFileSync(`${s.stateDir}/pids`, 'utf8').split('\n')) if (Number(l) > 0) pids.add(Number(l));
  } catch {
    /* no pid file */
  }
  for (const ns of namespacesOf(s.prefix)) {
    for (const l of runSync(['ip', 'netns', 'pids', ns]).stdout.split('\n')) if (Number(l) > 0) pids.add(Number(l));
  }
  cgroupPids(s.prefix).forEach((p) => pids.add(p));
  const refs = [...pids].map((p) => (p === s.owner.pid ? s.owner : processRef(p)));
  return refs.filter((r): r is ProcessRef => r !== undefined && stillRunning(r));
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

function leftovers(s: DemoState, procs: readonly ProcessRef[]): string[] {
  const out: string[] = [];
  for (const ns of namespacesOf(s.prefix)) out.push(`namespace ${ns}`);
  for (const p of procs) if (stillRunning(p)) out.push(`process ${p.pid} (${commOf(p.pid)})`);
  for (const cg of cgroupsOf(s.prefix)) out.push(`cgroup ${cg}`);
  const links = runSync(['ip', '-o', 'link', 'show']).stdout;
  for (const m of links.matchAll(/^\d+:\s+([^:@\s]+)/gm)) if (m[1] === `${s.prefix}r`) out.push(`link ${m[1]} (root namespace)`);
  try {
    for (const d of readdirSync('/etc/netns')) if (d.startsWith(`${s.prefix}-`)) out.push(`file /etc/netns/${d}`);
  } catch {
    /* no /etc/netns */
  }
  for (const m of mountsUnder(s.stateDir)) out.push(`mount ${m}`);
  for (const f of [s.stateDir, `${STATE_ROOT}/locks/slot-${s.slot}.lock`, STATE_FILE, LOG_FILE]) if (existsSync(f)) out.push(`file ${f}`);
  const underlay = `172.30.${s.slot}.`;
  for (const mode of ['nft', 'legacy'] as const) {
    const r = runSync([backendFor(mode).save]);
    for (const l of r.stdout.split('\n')) {
      if (l.startsWith('-A ') && (l.includes(`${s.prefix}-`) || l.includes(`${s.prefix}r`) || l.includes(underlay))) out.push(`iptables rule (${mode}, root namespace): ${l}`);
    }
  }
  return out;
}

const s = readState();
if (!s) {
  say(`no demo is up (no ${STATE_FILE})`);
  process.exit(0);
}
const procs = processesOf(s);
if (stillRunning(s.owner)) {
  say(`stopping run ${s.prefix} (owner pid ${s.owner.pid}, ${procs.length} processes)`);
  process.kill(s.owner.pid, 'SIGTERM');
  const gone = await waitFor(() => !stillRunning(s.owner), { timeoutMs: GRACE_MS, intervalMs: 200, what: `owner pid ${s.owner.pid} to exit` }).then(
    () => true,
    () => false,
  );
  if (!gone) {
    say(`owner pid ${s.owner.pid} did not exit within ${GRACE_MS / 1000} s: killing it and removing its run as a crashed one`);
    process.kill(s.owner.pid, 'SIGKILL');
    await waitFor(() => !stillRunning(s.owner), { timeoutMs: 10_000, what: `owner pid ${s.owner.pid} to die` });
    removeLeftovers();
    removeStateFiles();
  }
} else {
  say(`owner pid ${s.owner.pid} is gone; removing what its run left`);
  removeLeftovers();
  removeStateFiles();
}

const left = leftovers(s, procs);
for (const l of left) say(`left behind: ${l}`);
if (left.length) process.exit(1);
say(`run ${s.prefix} removed: no namespace, process, container, link, rule or file of it is left`);
