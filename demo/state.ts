import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { stillRunning, type ProcessRef } from '@pilot/orchestrator-core/up';

/**
 * The pointer to a running demo cluster: `make demo` starts a detached owner
 * process (demo/owner.ts) that builds the cluster, holds its harness slot
 * lock and writes this file; `make demo-down` reads it to find the owner (PID
 * and start time, so a reused PID is never signalled) and what to check is
 * gone afterwards. PILOT_DEMO_STATE moves it (the demo e2e uses its own).
 */

export const STATE_FILE = process.env.PILOT_DEMO_STATE ?? '/run/pilot-demo.json';
/** The owner's output (the walkthrough), beside the state file; `make demo` follows it. */
export const LOG_FILE = `${STATE_FILE.replace(/\.json$/, '')}.log`;

export interface DemoHost {
  name: string;
  ns: string;
  ip: string;
  /** `docker -H <endpoint>` reaches the host's dockerd from the root namespace. */
  dockerEndpoint?: string;
}

export interface DemoState {
  owner: ProcessRef;
  slot: number;
  prefix: string;
  stateDir: string;
  /** Admin kubeconfig; its server is the master's underlay address, which the root namespace reaches. */
  kubeconfig?: string;
  apiserver?: string;
  hosts: DemoHost[];
  /** False while the cluster is coming up and the walkthrough runs. */
  ready: boolean;
  startedAt: string;
}

export function readState(file = STATE_FILE): DemoState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DemoState;
  } catch {
    return undefined;
  }
}

/** Written whole (temp file + rename), so a reader never sees half of it. */
export function writeState(state: DemoState, file = STATE_FILE): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, file);
}

export function removeStateFiles(): void {
  rmSync(STATE_FILE, { force: true });
  rmSync(LOG_FILE, { force: true });
}

/** The state of a demo whose owner still runs (same PID, same start time), else undefined. */
export function runningDemo(): DemoState | undefined {
  const s = readState();
  return s && stillRunning(s.owner) ? s : undefined;
}

/** The lines `make demo` ends with: how to reach the cluster and how to remove it. */
export function usage(s: DemoState): string {
  const kubectl = `kubectl --kubeconfig ${s.kubeconfig}`;
  const h = s.hosts[0];
  return [
    `The cluster stays up (run ${s.prefix}, owner pid ${s.owner.pid}, state ${STATE_FILE}). From this shell (the root namespace reaches the master's ${s.apiserver}):`,
    `  ${kubectl} get nodes -o wide`,
    `  export KUBECONFIG=${s.kubeconfig}   # then plain kubectl`,
    ...(h
      ? [
          `On a host (${s.hosts.map((x) => x.name).join(', ')}):`,
          `  nsenter --net=/run/netns/${h.ns} iptables-save -t nat | grep KUBE-SVC`,
          ...(h.dockerEndpoint ? [`  docker -H ${h.dockerEndpoint} ps`] : []),
        ]
      : []),
    'Stop it and remove everything it made: make demo-down',
  ].join('\n');
}
