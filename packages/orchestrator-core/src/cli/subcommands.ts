/**
 * `pilot <subcommand>`: a table of subcommands, each loaded only when used so
 * `pilot apiserver` does not pay for the kubelet's imports. Adding a component
 * is adding a row: a module exporting `run(argv, io): Promise<number | void>`.
 * The network daemons are the same commands as their own bins (`overlayd`,
 * `svcproxy`, `dnsd`), so `pilot` is hyperkube-like: one binary, every component.
 */

import type { CommandIO } from '@pilot/common';

/**
 * A component's command line: parses `argv` with common's parseCommandLine
 * (so `--help`, `--version`, one-line usage errors and exit 2 come with it)
 * and runs until stopped. `io` is where help and notices go.
 */
export type RunCommand = (argv: string[], io?: CommandIO) => Promise<number | void>;

export interface Subcommand {
  summary: string;
  load: () => Promise<{ run: RunCommand }>;
}

export const SUBCOMMANDS: Record<string, Subcommand> = {
  apiserver: { summary: 'Kubernetes-shaped API server over etcd', load: () => import('./apiserver.js') },
  scheduler: { summary: 'assigns pending pods to nodes: filters, scores, binds through pods/binding; leader-elected', load: () => import('./scheduler.js') },
  'controller-manager': { summary: 'runs the control loops (replication, endpoints, node lifecycle, ...); leader-elected', load: () => import('./controller-manager.js') },
  kubelet: { summary: 'runs the pods bound to this node on Docker: sandbox on the overlay bridge, restarts, status, node registration and lease', load: () => import('./kubelet.js') },
  overlayd: {
    summary: 'overlay network: leases a pod subnet per host from etcd, routes every subnet (vxlan, host-gw), writes subnet.env',
    load: async () => ({ run: (await import('@pilot/overlayd')).runOverlayd }),
  },
  svcproxy: {
    summary: 'service proxy: Services and Endpoints as iptables NAT rules or a userspace round-robin proxy',
    load: async () => ({ run: (await import('@pilot/svcproxy')).runSvcproxy }),
  },
  dnsd: {
    summary: 'cluster DNS by the Kubernetes DNS specification; forwards other names upstream',
    load: async () => ({ run: (await import('@pilot/dnsd')).runDnsd }),
  },
  certs: { summary: "a cluster's certificates, token file and kubeconfigs for real hosts (CA, apiserver, kubelets, etcd, every component); never overwrites unless --force", load: () => import('./certs.js') },
  up: { summary: 'a single-machine cluster: starts every component above (and etcd, dockerd) under a supervisor, waits until the node is Ready, writes a kubeconfig', load: () => import('./up.js') },
  status: { summary: 'each component of the pilot up cluster, its PID and its health', load: () => import('./status.js') },
  down: { summary: 'stops the pilot up cluster and leaves the host as it was (rules, links, routes, mounts, containers, processes)', load: () => import('./down.js') },
};
