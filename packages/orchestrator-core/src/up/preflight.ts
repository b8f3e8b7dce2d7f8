import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { Cidr, checkKernelPrerequisites, describeMissing, FatalError, run } from '@pilot/common';
import type { ClusterConfig } from './components.js';
import { OWNERSHIP_DEFAULTS, parseLinks } from './cleanup-plan.js';

/**
 * What `pilot up` checks before it changes anything, each failure one line
 * naming what to fix: root, the programs it runs, br_netfilter, a Docker of
 * the machine's own (its docker0 and DOCKER chains would be shared), the
 * ports, and pod or service ranges that overlap a route of the host.
 */

/** The first route of the host (lines of `ip -4 route show`) whose destination overlaps one of `ranges`, not counting routes on `ownLinks`. */
export function overlappingRoute(routes: readonly string[], ranges: Readonly<Record<string, string>>, ownLinks: readonly string[]): string | undefined {
  for (const line of routes.map((r) => r.trim()).filter(Boolean)) {
    const words = line.split(/\s+/);
    const dev = words[words.indexOf('dev') + 1];
    if (words.includes('dev') && dev && ownLinks.includes(dev)) continue;
    let dst: Cidr;
    try {
      dst = Cidr.parse(words[0]!.includes('/') ? words[0]! : `${words[0]}/32`);
    } catch {
      continue; // default, unreachable, …
    }
    for (const [flag, range] of Object.entries(ranges)) {
      if (Cidr.parse(range).overlaps(dst)) return `--${flag} ${range} overlaps the host's route "${line}"`;
    }
  }
  return undefined;
}

/** The default route's interface and source address (`ip -4 route get`), for --iface and --node-ip. */
export async function defaultRoute(): Promise<{ iface: string; src: string } | undefined> {
  const r = await run(['ip', '-4', 'route', 'get', '1.0.0.1'], { check: false });
  const iface = /\bdev\s+(\S+)/.exec(r.stdout)?.[1];
  const src = /\bsrc\s+(\S+)/.exec(r.stdout)?.[1];
  return r.exitCode === 0 && iface && src ? { iface, src } : undefined;
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

const PROGRAMS = ['etcd', 'dockerd', 'docker', 'openssl', 'ip', 'iptables-restore'];

function onPath(program: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => existsSync(`${d}/${program}`));
}

/** Throws a FatalError naming the first thing that keeps `up` from starting. `fresh`: nothing of this cluster runs yet. */
export async function preflight(c: ClusterConfig, fresh: boolean): Promise<void> {
  const fail = (m: string): never => {
    throw new FatalError(m);
  };
  if (process.getuid?.() !== 0) fail('must run as root (it starts dockerd and writes iptables rules)');
  const missing = [...PROGRAMS, ...(c.imageStore ? ['docker-registry'] : [])].filter((p) => !onPath(p));
  if (missing.length) fail(`not installed: ${missing.join(', ')} (Debian: etcd-server docker.io openssl iproute2 iptables${c.imageStore ? ' docker-registry' : ''})`);
  const kernel = await checkKernelPrerequisites(['bridge-nf-call-iptables']);
  if (kernel.some((m) => m.problem.includes('not loaded'))) fail(describeMissing(kernel));
  if (c.imageStore && !(existsSync(`${c.imageStore}/registry`) && existsSync(`${c.imageStore}/pause.tar`))) fail(`--image-store ${c.imageStore} holds no registry/ and pause.tar`);
  if (!fresh) return;
  const links = parseLinks((await run(['ip', '-o', 'link', 'show'])).stdout).map((l) => l.name);
  const taken = OWNERSHIP_DEFAULTS.links.filter((n) => links.includes(n));
  if (taken.length) fail(`${taken.join(', ')} exists: another Docker runs (or ran) here; stop it and delete ${taken.join(', ')} first (ip link del ${taken[0]})`);
  const routes = (await run(['ip', '-4', 'route', 'show'])).stdout.split('\n');
  const overlap = overlappingRoute(routes, { 'cluster-cidr': c.clusterCidr, 'service-cluster-ip-range': c.serviceCidr }, []);
  if (overlap) fail(overlap);
  const ports: [string, number, string][] = [
    ['--etcd-port', c.etcdPort, '127.0.0.1'],
    ['--etcd-port (+1, peer)', c.etcdPort + 1, '127.0.0.1'],
    ['--insecure-port', c.insecurePort, '127.0.0.1'],
    ['--secure-port', c.securePort, '0.0.0.0'],
    ...(c.imageStore ? ([['--registry-port', c.registryPort, '127.0.0.1']] as [string, number, string][]) : []),
  ];
  for (const [flag, port, host] of ports) if (!(await portFree(port, host))) fail(`${flag} ${port} is in use on ${host}`);
}
