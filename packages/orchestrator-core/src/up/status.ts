import { FatalError, type CommandIO } from '@pilot/common';
import { componentPlan, type ClusterConfig } from './components.js';
import { CONTAINERD, probeAll, SUPERVISOR } from './lifecycle.js';
import { readJson, runningPid, stateLayout } from './state.js';

/**
 * `pilot status`: one row per process of the cluster — the supervisor, each
 * component and dockerd's containerd — with its recorded PID (when that
 * process still runs) and its health from the same probes `up` waits on.
 * Exit 0 when every one is running and healthy, 1 otherwise.
 */

export interface StatusRow {
  name: string;
  pid: number | undefined;
  healthy: boolean;
  detail: string;
}

export async function clusterStatus(stateDir: string): Promise<StatusRow[]> {
  const l = stateLayout(stateDir);
  const c = readJson<ClusterConfig>(l.config);
  if (!c) throw new FatalError(`no cluster in ${stateDir} (${l.config} is missing; start one with pilot up)`);
  const row = (name: string, healthy: boolean, detail: string): StatusRow => ({ name, pid: runningPid(l, name)?.pid, healthy, detail });
  const sup = runningPid(l, SUPERVISOR);
  const rows = [row(SUPERVISOR, !!sup, sup ? 'restarts a component that exits' : 'not running (pilot up starts it)')];
  for (const comp of componentPlan(c, l)) {
    const pid = runningPid(l, comp.name)?.pid;
    if (!pid) {
      rows.push(row(comp.name, false, 'not running'));
    } else {
      const r = await probeAll(comp);
      rows.push(row(comp.name, r.ok, r.detail));
    }
    if (comp.name === 'dockerd') {
      const cd = runningPid(l, CONTAINERD);
      rows.push(row(CONTAINERD, !!cd, cd ? "dockerd's own" : 'not running'));
    }
  }
  return rows;
}

export function formatStatus(rows: readonly StatusRow[]): string {
  const lines = [['COMPONENT', 'PID', 'STATUS', 'DETAIL'], ...rows.map((r) => [r.name, r.pid ? String(r.pid) : '-', r.healthy ? 'healthy' : r.pid ? 'unhealthy' : 'stopped', r.detail])];
  const widths = [0, 1, 2].map((i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines.map((l) => l.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('   ').trimEnd()).join('\n') + '\n';
}

export async function runStatus(stateDir: string, io: CommandIO): Promise<number> {
  const rows = await clusterStatus(stateDir);
  io.out(formatStatus(rows));
  return rows.every((r) => r.healthy) ? 0 : 1;
}
