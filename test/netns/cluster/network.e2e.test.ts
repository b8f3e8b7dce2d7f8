import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Endpoints, Service } from '@pilot/api';
import { detectBackend, waitFor, type IptablesBackend } from '@pilot/common';
import { Cluster, PILOT_BIN, startControlPlane, waitForPort, withLogsOnFailure, type ControlPlane, type Daemon, type Host, type NetnsPod } from '@pilot/netns';
import { parseDig } from '../dnsd/dig.js';

/**
 * The whole network as an operator runs it, every part a real process:
 * etcd and `pilot apiserver` (TLS + token) in the master; on each host
 * `pilot overlayd` (vxlan), the `svcproxy` binary (reaching the apiserver
 * over TLS with a kubeconfig) and, on one host, the `dnsd` binary; pods as
 * namespaces on bridges configured from overlayd's subnet.env; Services and
 * Endpoints written by the test through the API, as a controller would.
 * The same traffic and DNS checks run with svcproxy in iptables mode, then
 * after a restart of every svcproxy in userspace mode; then dnsd's
 * self-registration with a second instance, and svcproxy --cleanup.
 * Build first: `npx tsc -b`.
 */

const NODE = process.execPath;
const SVCPROXY = fileURLToPath(new URL('../../../packages/svcproxy/dist/bin/svcproxy.js', import.meta.url));
const DNSD = fileURLToPath(new URL('../../../packages/dnsd/dist/bin/dnsd.js', import.meta.url));
const svcFixture = (f: string) => fileURLToPath(new URL(`../svcproxy/fixtures/${f}`, import.meta.url));
const HTTP_SERVER = fileURLToPath(new URL('./fixtures/http-server.mjs', import.meta.url));

const CLUSTER_CIDR = '10.1.0.0/16';
const WEB_IP = '10.0.0.100';
const EMPTY_IP = '10.0.0.101';
const UDP_IP = '10.0.0.102';
const STICKY_IP = '10.0.0.103';
const UDP_PORT = 5300;
const EXTERNAL_IP = '203.0.113.10';
const LB_IP = '203.0.113.11';
const ECHO_PORT = 8080;
const HTTP_PORT = 80;
const DNS_IP = '10.0.0.10';
const ZONE = 'cluster.local';
/** A zone outside the cluster, served by a test upstream on dnsd's host. */
const OUTSIDE_NAME = 'www.default.svc.example.test';
const OUTSIDE_IP = '192.0.2.80';

type Mode = 'iptables' | 'userspace';

interface ClientResult {
  counts: Record<string, number>;
  errors: Record<string, number>;
}

let c: Cluster | undefined;
let h1: Host;
let h2: Host;
let cp: ControlPlane;
/** Endpoint pods: a and b on h1, c on h2. */
let ends: { name: string; pod: NetnsPod }[] = [];
let clientPod: NetnsPod;
let webNodePort: number;
const svcproxy = new Map<Host, Daemon>();
const healthPorts = new Map<Host, number>();
const backends = new Map<Host, IptablesBackend>();
/** Pods with the kubelet's resolv.conf: on dnsd's host (h2) and on h1. */
let dnsPods: NetnsPod[] = [];
const DNS_CONFIG = { nameserver: DNS_IP, search: [`default.svc.${ZONE}`, `svc.${ZONE}`, ZONE], ndots: 5 };
/** Pods query from the pod network; the userspace proxy and hosts from the underlay. */
const allowRecursion = () => `${CLUSTER_CIDR},${c!.underlay.toString()},127.0.0.0/8`;

async function kubeDnsAddresses(): Promise<string[]> {
  const ep = await api().get<Endpoints>('endpoints', 'kube-dns', { namespace: 'kube-system' }).catch(() => undefined);
  return (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
}

const api = () => cp.client;
const endpointIps = (names: readonly string[]) => ends.filter((e) => names.includes(e.name)).map((e) => e.pod.ip);

async function clientRun(from: Host | NetnsPod, proto: 'tcp' | 'udp', ip: string, port: number, n: number, srcPort?: number): Promise<ClientResult> {
  const argv = [NODE, svcFixture('client.mjs'), proto, ip, String(port), String(n), ...(srcPort ? [String(srcPort)] : [])];
  const r = await from.exec(argv, { timeoutMs: 90_000, env: { CLIENT_TIMEOUT_MS: '3000' } });
  if (r.exitCode !== 0) throw new Error(`client ${proto} ${ip}:${port} exited ${r.exitCode}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ClientResult;
}

function expectSpread(r: ClientResult, n: number): void {
  expect(r.errors).toEqual({});
  const all = endpointIps(['a', 'b', 'c']);
  expect(Object.keys(r.counts).sort()).toEqual([...all].sort());
  for (const ip of all) {
    const share = r.counts[ip]! / n;
    expect(share).toBeGreaterThanOrEqual(0.2);
    expect(share).toBeLessThanOrEqual(0.47);
  }
}

type EndpointPort = NonNullable<NonNullable<Endpoints['subsets']>[number]['ports']>[number];
const WEB_PORTS: EndpointPort[] = [
  { name: 'echo', port: ECHO_PORT, protocol: 'TCP' },
  { name: 'http', port: HTTP_PORT, protocol: 'TCP' },
];
const UDP_PORTS: EndpointPort[] = [{ name: 'udp', port: ECHO_PORT, protocol: 'UDP' }];
const STICKY_PORTS: EndpointPort[] = [{ name: 'echo', port: ECHO_PORT, protocol: 'TCP' }];

/** Writes a Service's Endpoints (create or update) with the named endpoint pods, as the endpoints controller would. */
async function setEndpoints(name: string, names: readonly string[], ports: EndpointPort[] = WEB_PORTS): Promise<void> {
  const subsets = [{ addresses: endpointIps(names).map((ip) => ({ ip })), ports }];
  const cur = await api().get<Endpoints>('endpoints', name, { namespace: 'default' }).catch(() => undefined);
  if (cur) await api().update<Endpoints>('endpoints', { ...cur, subsets }, { namespace: 'default' });
  else await api().create<Endpoints>('endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: 'default' }, subsets }, { namespace: 'default' });
}
const setWebEndpoints = (names: readonly string[]) => setEndpoints('web', names);

function svcproxyArgs(h: Host, mode: Mode): string[] {
  return [
    NODE, SVCPROXY,
    '--kubeconfig', cp.kubeconfigFor(h),
    '--proxy-mode', mode,
    '--cluster-cidr', CLUSTER_CIDR,
    '--hostname-override', h.name,
    '--min-sync-period', '200ms',
    '--sync-period', '5s',
    '--healthz-bind-address', h.ip,
    '--healthz-port', String(healthPorts.get(h)!),
  ];
}

/** Polls svcproxy's /readyz: 200 once this process has synced at least once. */
async function waitSynced(h: Host): Promise<void> {
  const d = svcproxy.get(h)!;
  await waitFor(
    async () => {
      if (!d.running) throw new Error(`svcproxy on ${h.name} exited ${JSON.stringify(d.exit)}`);
      const res = await fetch(`http://${h.ip}:${healthPorts.get(h)}/readyz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      return res?.status === 200;
    },
    { timeoutMs: 30_000, what: `svcproxy on ${h.name} to sync` },
  );
}

/** Runs svcproxy in `mode` on every host (stopping another mode's process first) and waits for its first sync. */
async function useMode(mode: Mode): Promise<void> {
  for (const h of [h1, h2]) {
    const old = svcproxy.get(h);
    if (old?.spec.argv.includes(mode)) continue;
    await old?.stop();
    svcproxy.set(h, h.spawn(`svcproxy-${mode}`, svcproxyArgs(h, mode)));
  }
  await Promise.all([h1, h2].map(waitSynced));
}

async function saved(h: Host, table: 'nat' | 'filter'): Promise<string> {
  return (await h.execOk([backends.get(h)!.save, '-t', table])).stdout;
}

/**
 * The rules of every chain of a saved table, counters aside. KUBE-SERVICES
 * is compared as a set (its order follows the order services were added);
 * in nat its nodeports rule must be last.
 */
function ruleSnapshot(table: 'nat' | 'filter', text: string): Record<string, string[]> {
  const chains: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    const decl = /^:(\S+) (\S+)/.exec(line);
    if (decl) chains[decl[1]!] = [`policy ${decl[2]}`];
    const rule = /^-A (\S+) (.*)$/.exec(line);
    if (rule) (chains[rule[1]!] ??= []).push(rule[2]!);
  }
  const services = chains['KUBE-SERVICES'];
  if (services) {
    if (table === 'nat') expect(services.at(-1)).toMatch(/-j KUBE-NODEPORTS$/);
    chains['KUBE-SERVICES'] = [...services].sort();
  }
  return chains;
}

/**
 * dnsd on h2 as the cluster DNS (registering kube-system/kube-dns at
 * 10.0.0.10), a test upstream on h2's loopback for names outside the
 * cluster, and a pod with the kubelet's resolv.conf on each host.
 */
async function startDns(): Promise<void> {
  // A test upstream on dnsd's host loopback: another dnsd serving example.test from a file.
  const records = `${h2.stateDir}/upstream-records.json`;
  writeFileSync(
    records,
    JSON.stringify({
      kind: 'List',
      items: [
        { kind: 'Namespace', metadata: { name: 'default' } },
        { kind: 'Service', metadata: { name: 'www', namespace: 'default' }, spec: { clusterIP: OUTSIDE_IP, ports: [{ name: 'http', port: 80 }] } },
      ],
    }),
  );
  const upstream = h2.spawn('upstream-dns', [
    NODE, DNSD, '--records', records, '--domain', 'example.test',
    '--listen', '127.0.0.53:5353', '--advertise-address', '127.0.0.53', '--upstream', '127.0.0.1:9', '--healthz-port', String(await h2.freePort()),
  ]);
  await upstream.waitForLog('dnsd listening', 20_000);
  const healthz = await h2.freePort();
  const dnsd = h2.spawn('dnsd', [
    NODE, DNSD,
    '--kubeconfig', cp.kubeconfigFor(h2),
    '--register-service',
    '--advertise-address', h2.ip,
    '--listen', '0.0.0.0:53',
    // The userspace proxy queries from the hosts' addresses, pods from the pod network.
    '--allow-recursion', allowRecursion(),
    '--upstream', '127.0.0.53:5353',
    '--healthz-port', String(healthz),
  ]);
  await waitFor(
    async () => {
      if (!dnsd.running) throw new Error(`dnsd exited ${JSON.stringify(dnsd.exit)}`);
      const ep = await api().get<Endpoints>('endpoints', 'kube-dns', { namespace: 'kube-system' }).catch(() => undefined);
      return (ep?.subsets ?? []).some((s) => (s.addresses ?? []).some((a) => a.ip === h2.ip));
    },
    { timeoutMs: 30_000, what: 'dnsd to register itself in kube-system/kube-dns' },
  );
  // One pod on dnsd's own host, one on the other host.
  dnsPods = [await h2.addPod({ dns: DNS_CONFIG }), await h1.addPod({ dns: DNS_CONFIG })];
}

describe('the whole network on real daemons (etcd, pilot apiserver over TLS, overlayd, svcproxy, dnsd)', () => {
  beforeAll(async () => {
    c = await Cluster.create({ hosts: 2, etcd: true });
    [h1, h2] = c.hosts as [Host, Host];
    const put = await c.etcd!.etcdctl(['put', '/coreos.com/network/config', JSON.stringify({ Network: CLUSTER_CIDR, SubnetLen: 24, Backend: { Type: 'vxlan' } })]);
    if (put.exitCode !== 0) throw new Error(`etcdctl put: ${put.stderr}`);
    cp = await startControlPlane(c);

    // overlayd first (through the hyperkube-like `pilot`), then "Docker": the
    // bridge from subnet.env and Docker's FORWARD policy and accept rules.
    for (const h of [h1, h2]) {
      const d = h.spawn('overlayd', [
        NODE, PILOT_BIN, 'overlayd',
        '--etcd-endpoints', c.etcd!.endpoint,
        '--iface', 'eth0',
        '--node-name', h.name,
        '--subnet-file', `${h.stateDir}/subnet.env`,
        '--docker-opts-file', `${h.stateDir}/docker-opts.env`,
        '--healthz-port', '0',
      ]);
      await waitFor(
        () => {
          if (!d.running) throw new Error(`overlayd on ${h.name} exited ${JSON.stringify(d.exit)}`);
          return existsSync(`${h.stateDir}/subnet.env`);
        },
        { timeoutMs: 30_000, what: `subnet.env from overlayd on ${h.name}` },
      );
      await h.configureBridgeFromSubnetEnv(`${h.stateDir}/subnet.env`);
      const backend = await detectBackend(h.runner);
      backends.set(h, backend);
      for (const rule of [
        ['-P', 'FORWARD', 'DROP'],
        ['-A', 'FORWARD', '-o', 'cbr0', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'],
        ['-A', 'FORWARD', '-i', 'cbr0', '!', '-o', 'cbr0', '-j', 'ACCEPT'],
        ['-A', 'FORWARD', '-i', 'cbr0', '-o', 'cbr0', '-j', 'ACCEPT'],
      ])
        await h.execOk([backend.iptables, '-w', ...rule]);
      healthPorts.set(h, await h.freePort());
    }

    ends = [
      { name: 'a', pod: await h1.addPod() },
      { name: 'b', pod: await h1.addPod() },
      { name: 'c', pod: await h2.addPod() },
    ];
    clientPod = await h1.addPod();
    for (const { pod } of ends) {
      pod.spawn('echo', [NODE, svcFixture('echo-server.mjs'), pod.ip, String(ECHO_PORT)]);
      pod.spawn('http', [NODE, HTTP_SERVER, pod.ip, String(HTTP_PORT)]);
    }
    for (const { pod } of ends) {
      await waitForPort(pod.host, pod.ip, ECHO_PORT);
      await waitForPort(pod.host, pod.ip, HTTP_PORT);
    }

    // web: a LoadBalancer (so also a NodePort) with an external IP; empty: no endpoints.
    const web = await api().create<Service>('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        type: 'LoadBalancer',
        clusterIP: WEB_IP,
        externalIPs: [EXTERNAL_IP],
        ports: [
          { name: 'echo', port: ECHO_PORT, targetPort: ECHO_PORT, protocol: 'TCP' },
          { name: 'http', port: HTTP_PORT, targetPort: HTTP_PORT, protocol: 'TCP' },
        ],
      },
    });
    webNodePort = web.spec!.ports!.find((p) => p.name === 'echo')!.nodePort!;
    expect(webNodePort).toBeGreaterThanOrEqual(30000);
    await api().patchStatus('services', 'web', { status: { loadBalancer: { ingress: [{ ip: LB_IP }] } } }, 'merge', { namespace: 'default' });
    await api().create<Service>('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'empty', namespace: 'default' },
      spec: { clusterIP: EMPTY_IP, ports: [{ name: 'http', port: HTTP_PORT, protocol: 'TCP' }] },
    });
    await api().create<Service>('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'udp-echo', namespace: 'default' },
      spec: { clusterIP: UDP_IP, ports: [{ name: 'udp', port: UDP_PORT, targetPort: ECHO_PORT, protocol: 'UDP' }] },
    });
    await api().create<Service>('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'sticky', namespace: 'default' },
      spec: { clusterIP: STICKY_IP, sessionAffinity: 'ClientIP', ports: [{ name: 'echo', port: ECHO_PORT, protocol: 'TCP' }] },
    });
    await setWebEndpoints(['a', 'b', 'c']);
    await setEndpoints('udp-echo', ['c'], UDP_PORTS);
    await setEndpoints('sticky', ['a', 'b', 'c'], STICKY_PORTS);

    // The master plays an outside client: external and LB addresses route to h1.
    await c.master.execOk(['ip', 'route', 'add', '203.0.113.0/24', 'via', h1.ip, 'dev', 'eth0']);
    await startDns();
  }, 150_000);

  afterAll(async () => {
    await cp?.close().catch(() => undefined);
    await c?.teardown();
  });

  const t = (name: string, fn: () => Promise<void>, timeoutMs?: number) => it(name, withLogsOnFailure(() => c, fn), timeoutMs);

  describe.each<[Mode]>([['iptables'], ['userspace']])('svcproxy in %s mode on every host', (mode) => {
    beforeAll(async () => {
      await useMode(mode);
      // The first answer through the service proves the informers have the objects.
      await waitFor(async () => Object.keys((await clientRun(clientPod, 'tcp', WEB_IP, ECHO_PORT, 1)).counts).length === 1, {
        timeoutMs: 30_000,
        what: `${WEB_IP}:${ECHO_PORT} to answer in ${mode} mode`,
      });
    }, 90_000);

    if (mode === 'userspace') {
      t('the switch from iptables mode removed its rules; the proxy portals are in their place', async () => {
        for (const h of [h1, h2]) {
          const nat = await saved(h, 'nat');
          expect(nat).not.toMatch(/KUBE-SVC-|KUBE-SEP-|-j KUBE-SERVICES/);
          expect(nat).toMatch(new RegExp(`-A KUBE-PORTALS-CONTAINER -d ${WEB_IP.replace(/\./g, '\\.')}/32 .*-j DNAT --to-destination ${h.ip.replace(/\./g, '\\.')}:\\d+`));
        }
      });
    }

    t('spreads 300 connections from a pod and 300 from a host over 3 endpoints on 2 hosts (each 20-47 %)', async () => {
      expectSpread(await clientRun(clientPod, 'tcp', WEB_IP, ECHO_PORT, 300), 300);
      expectSpread(await clientRun(h2, 'tcp', WEB_IP, ECHO_PORT, 300), 300);
    });

    t('lets an endpoint reach itself through its own service (hairpin)', async () => {
      const a = ends[0]!;
      const r = await clientRun(a.pod, 'tcp', WEB_IP, ECHO_PORT, 30);
      expect(r.errors).toEqual({});
      expect(r.counts[a.pod.ip]).toBeGreaterThan(0);
    });

    t("answers the NodePort on every host's address", async () => {
      for (const h of [h1, h2]) {
        const r = await clientRun(c!.master, 'tcp', h.ip, webNodePort, 30);
        expect(r.errors).toEqual({});
        expect(Object.keys(r.counts).sort()).toEqual(endpointIps(['a', 'b', 'c']).sort());
      }
    });

    t('answers an external IP and a LoadBalancer ingress IP set through services/status', async () => {
      for (const ip of [EXTERNAL_IP, LB_IP]) {
        const r = await clientRun(c!.master, 'tcp', ip, ECHO_PORT, 30);
        expect(r.errors).toEqual({});
        expect(Object.keys(r.counts).sort()).toEqual(endpointIps(['a', 'b', 'c']).sort());
      }
    });

    t('refuses a port without endpoints (ECONNREFUSED, no timeout) from a pod and from a host, behind Docker-style FORWARD rules', async () => {
      for (const h of [h1, h2]) {
        const forward = (await h.execOk([backends.get(h)!.iptables, '-w', '-S', 'FORWARD'])).stdout.split('\n');
        expect(forward).toContain('-P FORWARD DROP');
        const accept = forward.indexOf('-A FORWARD -i cbr0 ! -o cbr0 -j ACCEPT');
        expect(accept).toBeGreaterThan(0);
        if (mode === 'iptables') {
          // svcproxy's jump comes before Docker's ACCEPT, so its REJECT is seen.
          const jump = forward.findIndex((l) => /--ctstate NEW .*-j KUBE-SERVICES$/.test(l));
          expect(jump).toBeGreaterThan(0);
          expect(jump).toBeLessThan(accept);
        }
      }
      expect(await clientRun(clientPod, 'tcp', EMPTY_IP, HTTP_PORT, 3)).toEqual({ counts: {}, errors: { ECONNREFUSED: 3 } });
      expect(await clientRun(h1, 'tcp', EMPTY_IP, HTTP_PORT, 3)).toEqual({ counts: {}, errors: { ECONNREFUSED: 3 } });
    });

    t('stops sending traffic to a removed endpoint, and uses it again once it is back', async () => {
      const removed = ends[2]!.pod.ip;
      await setWebEndpoints(['a', 'b']);
      try {
        await waitFor(
          async () => {
            const r = await clientRun(clientPod, 'tcp', WEB_IP, ECHO_PORT, 40);
            return Object.keys(r.errors).length === 0 && r.counts[removed] === undefined && Object.keys(r.counts).length === 2;
          },
          { timeoutMs: 30_000, what: `traffic to leave the removed endpoint ${removed}` },
        );
        const after = await clientRun(h1, 'tcp', WEB_IP, ECHO_PORT, 60);
        expect(after.errors).toEqual({});
        expect(Object.keys(after.counts).sort()).toEqual(endpointIps(['a', 'b']).sort());
      } finally {
        await setWebEndpoints(['a', 'b', 'c']);
      }
      await waitFor(async () => (await clientRun(clientPod, 'tcp', WEB_IP, ECHO_PORT, 40)).counts[removed] !== undefined, {
        timeoutMs: 30_000,
        what: `traffic to reach ${removed} again`,
      });
    });

    t('keeps ClientIP affinity: every connection of a client goes to one endpoint', async () => {
      for (const from of [clientPod, h2]) {
        const r = await clientRun(from, 'tcp', STICKY_IP, ECHO_PORT, 30);
        expect(r.errors).toEqual({});
        expect(Object.values(r.counts)).toEqual([30]);
      }
    });

    t('moves a UDP flow to the new endpoint when the endpoint changes (no stale conntrack entry or session)', async () => {
      // The client keeps its source port, as a DNS client does: a stale
      // conntrack entry (refreshed by every request, 30 s timeout) would keep
      // it on the removed endpoint, which still answers.
      const src = mode === 'iptables' ? 40053 : 40054;
      const [a, , c3] = ends.map((e) => e.pod.ip) as [string, string, string];
      const reaches = (ip: string) => async () => JSON.stringify(await clientRun(clientPod, 'udp', UDP_IP, UDP_PORT, 1, src)) === JSON.stringify({ counts: { [ip]: 1 }, errors: {} });
      await waitFor(reaches(c3), { timeoutMs: 10_000, intervalMs: 300, what: `UDP ${UDP_IP}:${UDP_PORT} to reach ${c3}` });
      await setEndpoints('udp-echo', ['a'], UDP_PORTS);
      try {
        await waitFor(reaches(a), { timeoutMs: 10_000, intervalMs: 300, what: `the UDP flow from port ${src} to move to ${a}` });
        if (mode === 'iptables') {
          const ct = await h1.exec(['conntrack', '-L', '-p', 'udp', '--orig-dst', UDP_IP]);
          expect(ct.stdout).not.toContain(`src=${c3} `);
        }
      } finally {
        await setEndpoints('udp-echo', ['c'], UDP_PORTS);
      }
    });

    t('pods on both hosts resolve web, web.default and the FQDN through 10.0.0.10 over UDP and TCP with the real dig', async () => {
      for (const pod of dnsPods) {
        for (const name of ['web', 'web.default', `web.default.svc.${ZONE}`]) {
          for (const transport of ['+notcp', '+tcp']) {
            await waitFor(
              async () => {
                const r = await pod.exec(['dig', '+search', transport, '+tries=1', '+time=2', name, 'A'], { timeoutMs: 15_000 });
                const d = parseDig(r.stdout);
                return d.status === 'NOERROR' && d.answer.length === 1 && d.answer[0]!.name === `web.default.svc.${ZONE}.` && d.answer[0]!.data === WEB_IP;
              },
              { timeoutMs: 20_000, intervalMs: 500, what: `${name} (${transport}) to resolve to ${WEB_IP} in a pod on ${pod.host.name}` },
            );
          }
        }
        // And a name that does not exist is NXDOMAIN, not an error of the path.
        const nx = parseDig((await pod.exec(['dig', '+notcp', '+tries=1', '+time=2', `nothing.default.svc.${ZONE}`, 'A'], { timeoutMs: 15_000 })).stdout);
        expect(nx.status).toBe('NXDOMAIN');
      }
    });

    t('pods on both hosts resolve a name outside the cluster zone through dnsd behind 10.0.0.10 (forwarded upstream)', async () => {
      // Recursion is allowed by source: in iptables mode dnsd sees the pod's address, in userspace
      // mode the proxy's host address, so --allow-recursion covers the pod and node networks.
      for (const pod of dnsPods) {
        for (const transport of ['+notcp', '+tcp']) {
          const d = parseDig((await pod.exec(['dig', transport, '+tries=1', '+time=3', OUTSIDE_NAME, 'A'], { timeoutMs: 15_000 })).stdout);
          expect({ pod: pod.host.name, transport, status: d.status, answer: d.answer.map((r) => r.data) }).toEqual({ pod: pod.host.name, transport, status: 'NOERROR', answer: [OUTSIDE_IP] });
        }
      }
    });

    t('curl http://web reaches an endpoint by name from a pod on each host', async () => {
      for (const pod of dnsPods) {
        const r = await pod.exec(['curl', '-s', '--max-time', '5', `http://web:${HTTP_PORT}/`], { timeoutMs: 15_000 });
        expect(r.exitCode).toBe(0);
        expect(endpointIps(['a', 'b', 'c'])).toContain(r.stdout.trim());
      }
    });

    if (mode === 'iptables') {
      t('writes to the backend the host already uses, and repairs a flushed nat table', async () => {
        for (const h of [h1, h2]) {
          const other = backends.get(h)!.mode === 'nft' ? 'iptables-legacy-save' : 'iptables-nft-save';
          expect(await saved(h, 'nat')).toContain(':KUBE-SERVICES');
          expect((await h.exec([other, '-t', 'nat'])).stdout).not.toContain('KUBE-');
        }
        const kubeChains = (text: string) => Object.entries(ruleSnapshot('nat', text)).filter(([name]) => name.startsWith('KUBE-')).sort(([x], [y]) => x.localeCompare(y));
        const want = kubeChains(await saved(h2, 'nat'));
        await h2.execOk([backends.get(h2)!.iptables, '-w', '-t', 'nat', '-F']);
        // The canary rule is gone: the next periodic sync (at most --sync-period later) is a full one.
        await waitFor(
          async () => {
            const text = await saved(h2, 'nat');
            return text.includes('-j KUBE-NODEPORTS') && JSON.stringify(kubeChains(text)) === JSON.stringify(want);
          },
          { timeoutMs: 20_000, intervalMs: 500, what: 'svcproxy on h2 to rewrite its nat rules' },
        );
        expect(Object.keys((await clientRun(h2, 'tcp', WEB_IP, ECHO_PORT, 10)).counts).length).toBeGreaterThan(0);
      }, 40_000);

      t('a svcproxy restart leaves the same rules in every chain (counters aside)', async () => {
        for (const h of [h1, h2]) {
          const before = { nat: ruleSnapshot('nat', await saved(h, 'nat')), filter: ruleSnapshot('filter', await saved(h, 'filter')) };
          expect(Object.keys(before.nat).filter((n) => n.startsWith('KUBE-SVC-')).length).toBeGreaterThanOrEqual(3);
          await svcproxy.get(h)!.restart();
          await waitSynced(h);
          const after = { nat: ruleSnapshot('nat', await saved(h, 'nat')), filter: ruleSnapshot('filter', await saved(h, 'filter')) };
          expect(after).toEqual(before);
        }
      });
    }
  });

  describe('dnsd registration in kube-system/kube-dns', () => {
    t('kube-dns is a selectorless Service at 10.0.0.10 whose Endpoints name dnsd', async () => {
      const svc = await api().get<Service>('services', 'kube-dns', { namespace: 'kube-system' });
      expect(svc.spec?.clusterIP).toBe(DNS_IP);
      expect(svc.spec?.selector).toBeUndefined();
      expect((svc.spec?.ports ?? []).map((p) => `${p.name}/${p.port}/${p.protocol}`).sort()).toEqual(['dns-tcp/53/TCP', 'dns/53/UDP']);
    });


    t('a second dnsd joins kube-dns; SIGKILLed, its address leaves once its Lease expires and every query still resolves', async () => {
      const second = h1.spawn('dnsd-2', [
        NODE, DNSD,
        '--kubeconfig', cp.kubeconfigFor(h1),
        '--register-service',
        '--advertise-address', h1.ip,
        '--listen', '0.0.0.0:53',
        '--allow-recursion', allowRecursion(),
        '--upstream', '127.0.0.1:9',
        '--lease-duration', '3s',
        '--healthz-port', String(await h1.freePort()),
      ]);
      await waitFor(async () => JSON.stringify(await kubeDnsAddresses()) === JSON.stringify([h1.ip, h2.ip].sort()), {
        timeoutMs: 30_000,
        what: `kube-dns Endpoints to list both dnsd instances`,
      });
      await second.kill('SIGKILL');
      await waitFor(async () => JSON.stringify(await kubeDnsAddresses()) === JSON.stringify([h2.ip]), {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: `the SIGKILLed dnsd's address ${h1.ip} to leave kube-dns`,
      });
      // svcproxy follows the Endpoints: no share of the queries goes to the dead instance.
      await waitFor(
        async () => {
          for (const pod of dnsPods) {
            for (let i = 0; i < 6; i++) {
              const d = parseDig((await pod.exec(['dig', '+notcp', '+tries=1', '+time=2', `web.default.svc.${ZONE}`, 'A'], { timeoutMs: 10_000 })).stdout);
              if (d.status !== 'NOERROR' || d.answer[0]?.data !== WEB_IP) return false;
            }
          }
          return true;
        },
        { timeoutMs: 20_000, intervalMs: 500, what: 'every query to resolve through the remaining dnsd' },
      );
    }, 90_000);
  });

  describe('pilot apiserver restart', () => {
    t('svcproxy and dnsd reconnect over TLS and follow objects created after the restart', async () => {
      await cp.restart();
      const lateIp = '10.0.0.104';
      await api().create<Service>('services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'late', namespace: 'default' },
        spec: { clusterIP: lateIp, ports: [{ name: 'echo', port: ECHO_PORT, protocol: 'TCP' }] },
      });
      await setEndpoints('late', ['b'], STICKY_PORTS);
      const b = ends[1]!.pod.ip;
      await waitFor(async () => JSON.stringify(await clientRun(clientPod, 'tcp', lateIp, ECHO_PORT, 3)) === JSON.stringify({ counts: { [b]: 3 }, errors: {} }), {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: `the new service ${lateIp} to lead to ${b}`,
      });
      await waitFor(
        async () => parseDig((await dnsPods[1]!.exec(['dig', '+search', '+tries=1', '+time=2', 'late', 'A'], { timeoutMs: 10_000 })).stdout).answer[0]?.data === lateIp,
        { timeoutMs: 30_000, intervalMs: 500, what: 'late to resolve from a pod' },
      );
    }, 90_000);
  });

  describe('svcproxy --cleanup', () => {
    t("removes every rule svcproxy wrote and leaves the host's own rules", async () => {
      // Back to iptables mode: its rules outlive the process (as kube-proxy's do) until --cleanup.
      await useMode('iptables');
      for (const h of [h1, h2]) {
        await svcproxy.get(h)!.stop();
        expect(await saved(h, 'nat')).toContain('-j KUBE-SERVICES');
        const r = await h.exec([NODE, SVCPROXY, '--cleanup'], { timeoutMs: 60_000 });
        expect(r.exitCode).toBe(0);
        for (const save of ['iptables-nft-save', 'iptables-legacy-save']) expect((await h.execOk([save])).stdout).not.toContain('KUBE-');
        const forward = (await h.execOk([backends.get(h)!.iptables, '-w', '-S', 'FORWARD'])).stdout;
        expect(forward).toContain('-A FORWARD -i cbr0 ! -o cbr0 -j ACCEPT');
      }
    });
  });
});
