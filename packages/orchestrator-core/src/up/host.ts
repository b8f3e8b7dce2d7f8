import { readFileSync, writeFileSync } from 'node:fs';
import { backendFor, renderRestore, restore, run, type IptablesMode } from '@pilot/common';
import {
  OWNERSHIP_DEFAULTS,
  parseLinks,
  planIptablesCleanup,
  planLinkCleanup,
  planRouteCleanup,
  planSysctlRestore,
  type Ownership,
} from './cleanup-plan.js';

/**
 * The host's side of `pilot up` / `pilot down`: a picture of the network
 * state before the first `up` (iptables of both backends, links, routes, the
 * sysctls `up` may change), and putting it back after `down` has stopped
 * every process (cleanup-plan.ts decides what is the cluster's). Everything
 * runs in the caller's network namespace, so it works the same on a machine
 * and inside a netns host of the harness.
 */

export interface HostPicture {
  /** iptables-save per backend whose tools work here. */
  iptables: Partial<Record<IptablesMode, string>>;
  links: string[];
  routes: string[];
  sysctls: Record<string, string>;
}

/** The sysctls `up` sets when they are off (and `down` puts back). */
export const SYSCTLS: Record<string, string> = {
  'net.ipv4.ip_forward': '/proc/sys/net/ipv4/ip_forward',
  'net.bridge.bridge-nf-call-iptables': '/proc/sys/net/bridge/bridge-nf-call-iptables',
};

export function readSysctls(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, path] of Object.entries(SYSCTLS)) {
    try {
      out[k] = readFileSync(path, 'utf8').trim();
    } catch {
      /* br_netfilter not loaded: preflight says so */
    }
  }
  return out;
}

export function writeSysctl(key: string, value: string): void {
  const path = SYSCTLS[key];
  if (path) writeFileSync(path, `${value}\n`);
}

const MODES: readonly IptablesMode[] = ['nft', 'legacy'];

export async function pictureHost(): Promise<HostPicture> {
  const iptables: Partial<Record<IptablesMode, string>> = {};
  for (const mode of MODES) {
    const r = await run([backendFor(mode).save], { check: false }).catch(() => undefined);
    if (r?.exitCode === 0) iptables[mode] = r.stdout;
  }
  const links = parseLinks((await run(['ip', '-o', 'link', 'show'])).stdout).map((l) => l.name);
  const routes = (await run(['ip', '-4', 'route', 'show'])).stdout.split('\n').filter((l) => l.trim());
  return { iptables, links, routes, sysctls: readSysctls() };
}

export interface RestoreReport {
  rules: number;
  links: string[];
  routes: string[];
  sysctls: Record<string, string>;
}

/** Removes what is the cluster's and new since `before`; returns what it did. */
export async function restoreHost(before: HostPicture, clusterCidr: string, own: Omit<Ownership, 'clusterCidr'> = OWNERSHIP_DEFAULTS): Promise<RestoreReport> {
  const report: RestoreReport = { rules: 0, links: [], routes: [], sysctls: {} };
  // Links first: their connected routes and the kernel's side of Docker's bridge go with them.
  const links = planLinkCleanup(before.links, parseLinks((await run(['ip', '-o', 'link', 'show'])).stdout), own);
  for (const name of links) {
    const r = await run(['ip', 'link', 'del', name], { check: false });
    if (r.exitCode === 0) report.links.push(name);
  }
  const routes = planRouteCleanup(before.routes, (await run(['ip', '-4', 'route', 'show'])).stdout.split('\n'), clusterCidr);
  for (const route of routes) {
    const r = await run(['ip', 'route', 'del', ...route], { check: false });
    if (r.exitCode === 0) report.routes.push(route.join(' '));
  }
  for (const mode of MODES) {
    const backend = backendFor(mode);
    const now = await run([backend.save], { check: false }).catch(() => undefined);
    if (now?.exitCode !== 0) continue;
    const tables = planIptablesCleanup(before.iptables[mode] ?? '', now.stdout, own);
    if (!tables.length) continue;
    await restore(backend, renderRestore(tables));
    report.rules += tables.reduce((n, t) => n + t.lines.length, 0);
  }
  const sysctls = planSysctlRestore(before.sysctls, readSysctls());
  for (const [k, v] of Object.entries(sysctls)) writeSysctl(k, v);
  report.sysctls = sysctls;
  return report;
}
