import { fileURLToPath } from 'node:url';
import { createLogger, detectBackend, saveText, waitFor, type IptablesBackend } from '@pilot/common';
import { Cluster, withLogsOnFailure, waitForPort, type Host, type NetnsPod } from '@pilot/netns';
import {
  Conntrack,
  IptablesApplier,
  IptablesProxier,
  netnsRunner,
  serviceChainName,
  type EndpointsLike,
  type ServiceLike,
} from '@pilot/svcproxy';

/**
 * svcproxy's iptables mode against the real kernel: two hosts built from
 * namespaces, pods on a static bridge per host with routes between the hosts
 * set here (no overlay daemon), Docker-style FORWARD rules (policy DROP + an
 * ACCEPT), and the proxier driven from this process into each host's network
 * namespace through its injectable command runner.
 */

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const CLIENT = fixture('client.mjs');
const SERVER = fixture('echo-server.mjs');
const NODE = process.execPath;
const CLUSTER_CIDR = '10.1.0.0/16';

interface ClientResult {
  counts: Record<string, number>;
  errors: Record<string, number>;
}

async function client(from: Host | NetnsPod, proto: 'tcp' | 'udp', ip: string, port: number, count: number, srcPort?: number): Promise<ClientResult> {
  const argv = [NODE, CLIENT, proto, ip, String(port), String(count), ...(srcPort ? [String(srcPort)] : [])];
  const r = await from.exec(argv, { timeoutMs: 120_000, env: { CLIENT_TIMEOUT_MS: '2000' } });
  if (r.exitCode !== 0) throw new Error(`client ${argv.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ClientResult;
}

const svc = (name: string, spec: NonNullable<ServiceLike['spec']>, status?: ServiceLike['status']): ServiceLike => ({
  metadata: { namespace: 'default', name },
  spec,
  status,
});
const eps = (name: string, ips: string[], port = 8080, portName?: string): EndpointsLike => ({
  metadata: { namespace: 'default', name },
  subsets: ips.length ? [{ addresses: ips.map((ip) => ({ ip })), ports: [{ port, ...(portName ? { name: portName } : {}), protocol: 'TCP' }] }] : [],
});
const udpEps = (name: string, ips: string[]): EndpointsLike => ({
  metadata: { namespace: 'default', name },
  subsets: ips.length ? [{ addresses: ips.map((ip) => ({ ip })), ports: [{ port: 8080, protocol: 'UDP' }] }] : [],
});

/** iptables-save without counters and comment lines, KUBE-SERVICES as a sorted set (nodeports rules last). */
function normalize(text: string): string {
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/, '[0:0]'));
  const services = lines.filter((l) => l.startsWith('-A KUBE-SERVICES '));
  const last = services.filter((l) => l.includes('-j KUBE-NODEPORTS'));
  const rest = services.filter((l) => !l.includes('-j KUBE-NODEPORTS')).sort();
  const others = lines.filter((l) => !l.startsWith('-A KUBE-SERVICES '));
  return [...others, ...rest, ...last].join('\n');
}

describe('svcproxy iptables mode', () => {
  let c: Cluster | undefined;
  let h1: Host;
  let h2: Host;
  let pods: { p1: NetnsPod; p2: NetnsPod; p3: NetnsPod; client: NetnsPod };
  const backends = new Map<Host, IptablesBackend>();
  const proxiers = new Map<Host, IptablesProxier>();
  const log = createLogger('svcproxy-e2e', { level: 'fatal', destination: process.stderr });

  function newProxier(h: Host): IptablesProxier {
    const runner = netnsRunner(h.ns);
    const p = new IptablesProxier({
      applier: new IptablesApplier({ backend: backends.get(h)!, runner, chunkServices: 2 }),
      conntrack: new Conntrack(runner, log),
      node: { clusterCIDR: CLUSTER_CIDR, masqueradeAll: false, nodePortAddresses: [] },
      hostname: h.name,
      log: log.child({ host: h.name }),
    });
    return p;
  }

  /** The API's objects (what the apiserver would hold): fed to every host's proxier. */
  const services = new Map<string, ServiceLike>();
  const endpoints = new Map<string, EndpointsLike>();

  function feed(p: IptablesProxier): void {
    for (const s of services.values()) p.tracker.onService(s);
    for (const e of endpoints.values()) p.tracker.onEndpoints(e);
  }
  async function syncAll(): Promise<void> {
    for (const p of proxiers.values()) await p.sync();
  }
  /** An Endpoints change: every host applies it as a partial restore (a failed one would fall back to 'full'). */
  async function setEndpoints(e: EndpointsLike): Promise<void> {
    endpoints.set(e.metadata.name!, e);
    for (const p of proxiers.values()) p.tracker.onEndpoints(e);
    for (const p of proxiers.values()) expect((await p.sync()).kind).toBe('partial');
  }
  const save = async (h: Host, table: string) => normalize(await saveText(backends.get(h)!, table, netnsRunner(h.ns)));

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 2 });
    [h1, h2] = c.hosts as [Host, Host];
    await c.staticPodNetwork([h1, h2]);
    // Docker-style FORWARD: policy DROP plus an ACCEPT for the pod network.
    // h1 uses the nf_tables backend, h2 the legacy one: svcproxy must write
    // where each host's other tools do.
    for (const [h, ipt] of [
      [h1, 'iptables-nft'],
      [h2, 'iptables-legacy'],
    ] as const) {
      await h.execOk([ipt, '-P', 'FORWARD', 'DROP']);
      await h.execOk([ipt, '-A', 'FORWARD', '-d', CLUSTER_CIDR, '-j', 'ACCEPT']);
      await h.execOk([ipt, '-A', 'FORWARD', '-s', CLUSTER_CIDR, '-j', 'ACCEPT']);
    }
    pods = { p1: await h1.addPod(), p2: await h1.addPod(), p3: await h2.addPod(), client: await h1.addPod() };
    for (const p of [pods.p1, pods.p2, pods.p3]) p.spawn('echo', [NODE, SERVER, p.ip, '8080']);
    for (const p of [pods.p1, pods.p2, pods.p3]) await waitForPort(p.host, p.ip, 8080);

    const three = [pods.p1.ip, pods.p2.ip, pods.p3.ip];
    services.set('web', svc('web', { type: 'LoadBalancer', clusterIP: '10.0.0.100', ports: [{ name: 'http', port: 80, nodePort: 30080 }], externalIPs: ['192.0.2.10'] }, { loadBalancer: { ingress: [{ ip: '192.0.2.20' }] } }));
    endpoints.set('web', eps('web', three, 8080, 'http'));
    services.set('empty', svc('empty', { type: 'NodePort', clusterIP: '10.0.0.101', ports: [{ port: 80, nodePort: 30081 }] }));
    services.set('echo-udp', svc('echo-udp', { clusterIP: '10.0.0.102', ports: [{ port: 53, protocol: 'UDP' }] }));
    endpoints.set('echo-udp', udpEps('echo-udp', [pods.p1.ip]));
    services.set('late-udp', svc('late-udp', { clusterIP: '10.0.0.105', ports: [{ port: 53, protocol: 'UDP' }] }));
    services.set('sticky', svc('sticky', { clusterIP: '10.0.0.103', ports: [{ port: 80 }], sessionAffinity: 'ClientIP' }));
    endpoints.set('sticky', eps('sticky', three));
    services.set('self', svc('self', { clusterIP: '10.0.0.104', ports: [{ port: 80 }] }));
    endpoints.set('self', eps('self', [pods.p1.ip]));
    // Bad input next to good: skipped with a warning, nothing else affected.
    services.set('bad', svc('bad', { clusterIP: '10.0.0.106', ports: [{ port: 0 }] }));
    endpoints.set('bad', eps('bad', ['127.0.0.1']));

    for (const h of [h1, h2]) {
      backends.set(h, await detectBackend(netnsRunner(h.ns)));
      const p = newProxier(h);
      proxiers.set(h, p);
      feed(p);
    }
    await syncAll();
    // The master plays an outside router: external and load-balancer IPs lead to a host.
    await c.master.execOk(['ip', 'route', 'add', '192.0.2.10/32', 'via', h1.ip]);
    await c.master.execOk(['ip', 'route', 'add', '192.0.2.20/32', 'via', h2.ip]);
  }, 120_000);

  afterAll(async () => {
    await c?.teardown();
  });

  it(
    'writes to the backend the host already uses',
    withLogsOnFailure(
      () => c,
      async () => {
        expect(backends.get(h1)!.mode).toBe('nft');
        expect(backends.get(h2)!.mode).toBe('legacy');
        expect(await save(h2, 'nat')).toContain(`:${serviceChainName('default/web:http', 'TCP')} `);
        const other = await h2.execOk(['iptables-nft-save', '-t', 'nat']);
        expect(other.stdout).not.toContain('KUBE-SERVICES');
      },
    ),
  );

  it(
    'lays out nat and filter like kube-proxy, jumps first in filter chains',
    withLogsOnFailure(
      () => c,
      async () => {
        const nat = await save(h1, 'nat');
        const svcChain = serviceChainName('default/web:http', 'TCP');
        expect(nat).toContain(`-A KUBE-SERVICES -d 10.0.0.100/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j ${svcChain}`);
        expect(nat).toMatch(new RegExp(`-A ${svcChain} -m comment --comment "default/web:http -> 10\\.1\\.1\\.2:8080" -m statistic --mode random --probability 0\\.33333333\\d+ -j KUBE-SEP-`));
        // (nf_tables' save quotes every comment and prints the probability as the kernel stores it.)
        expect(nat).toContain('-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j KUBE-EXT-');
        expect(nat).toContain('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
        expect(nat).toContain('-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
        expect(nat.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES')).pop()).toContain('-j KUBE-NODEPORTS');
        expect(nat).not.toContain('10.0.0.106');
        expect(nat).not.toContain('127.0.0.1:8080');
        const forward = (await h1.execOk(['iptables-nft', '-S', 'FORWARD'])).stdout.split('\n');
        expect(forward[1]).toContain('-j KUBE-SERVICES');
        expect(forward[2]).toContain('-j KUBE-EXTERNAL-SERVICES');
        // Someone (Docker, overlayd) inserts an ACCEPT on top: the next sync moves our jumps back.
        await h1.execOk(['iptables-nft', '-I', 'FORWARD', '1', '-i', 'cbr0', '-j', 'ACCEPT']);
        await proxiers.get(h1)!.sync();
        const again = (await h1.execOk(['iptables-nft', '-S', 'FORWARD'])).stdout.split('\n');
        expect(again[1]).toContain('-j KUBE-SERVICES');
        expect(again.filter((l) => l.includes('KUBE-SERVICES'))).toHaveLength(1);
        await h1.execOk(['iptables-nft', '-D', 'FORWARD', '-i', 'cbr0', '-j', 'ACCEPT']);
        // With nothing changed, a sync finds every jump in place on both backends and writes nothing.
        for (const p of proxiers.values()) expect((await p.sync()).kind).toBe('noop');
      },
    ),
  );

  it(
    'spreads a ClusterIP over 3 endpoints on 2 hosts, from a pod and from a host',
    withLogsOnFailure(
      () => c,
      async () => {
        for (const from of [pods.client, h2] as const) {
          const r = await client(from, 'tcp', '10.0.0.100', 80, 300);
          expect(r.errors).toEqual({});
          for (const p of [pods.p1, pods.p2, pods.p3]) {
            const n = r.counts[p.ip] ?? 0;
            expect(n).toBeGreaterThanOrEqual(60);
            expect(n).toBeLessThanOrEqual(141);
          }
        }
      },
    ),
  );

  it(
    'answers on the NodePort of every host, the external IP and the load-balancer IP',
    withLogsOnFailure(
      () => c,
      async () => {
        const endpointIPs = new Set([pods.p1.ip, pods.p2.ip, pods.p3.ip]);
        for (const [ip, port] of [
          [h1.ip, 30080],
          [h2.ip, 30080],
          ['192.0.2.10', 80],
          ['192.0.2.20', 80],
        ] as const) {
          const r = await client(c!.master, 'tcp', ip, port, 6);
          expect({ target: `${ip}:${port}`, errors: r.errors }).toEqual({ target: `${ip}:${port}`, errors: {} });
          for (const answer of Object.keys(r.counts)) expect(endpointIPs).toContain(answer);
        }
      },
    ),
  );

  it(
    'refuses a port without endpoints (ECONNREFUSED, not a timeout) despite Docker-style FORWARD rules',
    withLogsOnFailure(
      () => c,
      async () => {
        expect((await client(pods.client, 'tcp', '10.0.0.101', 80, 1)).errors).toEqual({ ECONNREFUSED: 1 });
        expect((await client(h1, 'tcp', '10.0.0.101', 80, 1)).errors).toEqual({ ECONNREFUSED: 1 });
        expect((await client(h2, 'tcp', '10.0.0.101', 80, 1)).errors).toEqual({ ECONNREFUSED: 1 });
        expect((await client(c!.master, 'tcp', h1.ip, 30081, 1)).errors).toEqual({ ECONNREFUSED: 1 });
      },
    ),
  );

  it(
    'keeps ClientIP affinity',
    withLogsOnFailure(
      () => c,
      async () => {
        for (const from of [pods.client, h2] as const) {
          const r = await client(from, 'tcp', '10.0.0.103', 80, 30);
          expect(r.errors).toEqual({});
          expect(Object.values(r.counts)).toEqual([30]);
        }
      },
    ),
  );

  it(
    'lets an endpoint reach itself through its service (hairpin)',
    withLogsOnFailure(
      () => c,
      async () => {
        const r = await client(pods.p1, 'tcp', '10.0.0.104', 80, 3);
        expect(r).toEqual({ counts: { [pods.p1.ip]: 3 }, errors: {} });
      },
    ),
  );

  it(
    'stops sending traffic to a removed endpoint',
    withLogsOnFailure(
      () => c,
      async () => {
        await setEndpoints(eps('web', [pods.p1.ip, pods.p2.ip], 8080, 'http'));
        const r = await client(pods.client, 'tcp', '10.0.0.100', 80, 60);
        expect(r.errors).toEqual({});
        expect(Object.keys(r.counts).sort()).toEqual([pods.p1.ip, pods.p2.ip].sort());
        await setEndpoints(eps('web', [pods.p1.ip, pods.p2.ip, pods.p3.ip], 8080, 'http'));
      },
    ),
  );

  it(
    'moves a UDP flow to the new endpoint with no stale conntrack entry',
    withLogsOnFailure(
      () => c,
      async () => {
        const src = 40053;
        expect(await client(pods.client, 'udp', '10.0.0.102', 53, 1, src)).toEqual({ counts: { [pods.p1.ip]: 1 }, errors: {} });
        const before = await h1.execOk(['conntrack', '-L', '-p', 'udp', '--orig-dst', '10.0.0.102']);
        expect(before.stdout).toContain(`src=${pods.p1.ip}`);
        await setEndpoints(udpEps('echo-udp', [pods.p3.ip]));
        const after = await h1.exec(['conntrack', '-L', '-p', 'udp', '--orig-dst', '10.0.0.102']);
        expect(after.stdout).not.toContain(`src=${pods.p1.ip}`);
        // Same client source port: a stale entry would still lead to p1.
        expect(await client(pods.client, 'udp', '10.0.0.102', 53, 1, src)).toEqual({ counts: { [pods.p3.ip]: 1 }, errors: {} });
      },
    ),
  );

  it(
    'serves a UDP port going from 0 to 1 endpoint to a client that kept its port',
    withLogsOnFailure(
      () => c,
      async () => {
        const src = 40054;
        expect((await client(pods.client, 'udp', '10.0.0.105', 53, 1, src)).counts).toEqual({});
        await setEndpoints(udpEps('late-udp', [pods.p2.ip]));
        expect(await client(pods.client, 'udp', '10.0.0.105', 53, 1, src)).toEqual({ counts: { [pods.p2.ip]: 1 }, errors: {} });
      },
    ),
  );

  it(
    'falls back to a full sync when a partial restore fails',
    withLogsOnFailure(
      () => c,
      async () => {
        const p = proxiers.get(h1)!;
        // Someone deletes a rule by hand: the partial restore's -D of it now fails.
        const rule = (await h1.execOk(['iptables-nft', '-t', 'nat', '-S', 'KUBE-SERVICES'])).stdout.split('\n').find((l) => l.includes('-d 10.0.0.104/32'))!;
        await h1.execOk(['iptables-nft', '-t', 'nat', '-D', 'KUBE-SERVICES', '-d', '10.0.0.104/32', '-p', 'tcp', '-m', 'comment', '--comment', 'default/self cluster IP', '-m', 'tcp', '--dport', '80', '-j', rule.split(' ').pop()!]);
        const empty = eps('self', []);
        endpoints.set('self', empty);
        for (const other of proxiers.values()) other.tracker.onEndpoints(empty);
        expect((await p.sync()).kind).toBe('full');
        expect((await proxiers.get(h2)!.sync()).kind).toBe('partial');
        expect((await client(pods.client, 'tcp', '10.0.0.104', 80, 1)).errors).toEqual({ ECONNREFUSED: 1 });
        await setEndpoints(eps('self', [pods.p1.ip]));
        expect((await client(pods.client, 'tcp', '10.0.0.104', 80, 1)).counts).toEqual({ [pods.p1.ip]: 1 });
      },
    ),
  );

  it(
    'leaves the same rules after a restart (a fresh proxier re-syncing from scratch)',
    withLogsOnFailure(
      () => c,
      async () => {
        for (const h of [h1, h2]) {
          const nat = await save(h, 'nat');
          const filter = await save(h, 'filter');
          const fresh = newProxier(h);
          feed(fresh);
          const r = await fresh.sync();
          expect(r.kind).toBe('full');
          proxiers.set(h, fresh);
          expect(await save(h, 'nat')).toBe(nat);
          expect(await save(h, 'filter')).toBe(filter);
        }
      },
    ),
  );

  it(
    'repairs iptables -t nat -F, -F plus -X, and an empty table restored by hand',
    withLogsOnFailure(
      () => c,
      async () => {
        const p = proxiers.get(h1)!;
        const want = await save(h1, 'nat');
        const breakers: [string, () => Promise<unknown>][] = [
          ['nat -F', () => h1.execOk(['iptables-nft', '-t', 'nat', '-F'])],
          ['nat -F -X', async () => (await h1.execOk(['iptables-nft', '-t', 'nat', '-F']), h1.execOk(['iptables-nft', '-t', 'nat', '-X']))],
          ['empty restore', () => h1.execOk(['iptables-nft-restore'], { input: '*nat\nCOMMIT\n' })],
        ];
        for (const [what, breakIt] of breakers) {
          await breakIt();
          expect({ what, errors: (await client(pods.client, 'tcp', '10.0.0.104', 80, 1)).errors }).toEqual({ what, errors: { TIMEOUT: 1 } });
          const r = await p.sync();
          expect({ what, kind: r.kind }).toEqual({ what, kind: 'full' });
          expect(await save(h1, 'nat')).toBe(want);
          expect((await client(pods.client, 'tcp', '10.0.0.104', 80, 1)).counts).toEqual({ [pods.p1.ip]: 1 });
        }
        // filter flushed (and Docker re-adding its ACCEPTs): the REJECT and the jumps come back first.
        const wantFilter = await save(h1, 'filter');
        await h1.execOk(['iptables-nft', '-t', 'filter', '-F']);
        await h1.execOk(['iptables-nft', '-A', 'FORWARD', '-d', CLUSTER_CIDR, '-j', 'ACCEPT']);
        await h1.execOk(['iptables-nft', '-A', 'FORWARD', '-s', CLUSTER_CIDR, '-j', 'ACCEPT']);
        expect((await client(pods.client, 'tcp', '10.0.0.101', 80, 1)).errors).toEqual({ TIMEOUT: 1 });
        expect((await p.sync()).kind).toBe('full');
        expect(await save(h1, 'filter')).toBe(wantFilter);
        expect((await client(pods.client, 'tcp', '10.0.0.101', 80, 1)).errors).toEqual({ ECONNREFUSED: 1 });
      },
    ),
  );

  it(
    'removes every KUBE- chain on cleanup',
    withLogsOnFailure(
      () => c,
      async () => {
        for (const h of [h1, h2]) {
          const applier = new IptablesApplier({ backend: backends.get(h)!, runner: netnsRunner(h.ns), chunkChains: 3 });
          await applier.cleanup();
          const all = await saveText(backends.get(h)!, undefined, netnsRunner(h.ns));
          expect(all).not.toContain('KUBE-');
          // The Docker-style rules of the host are untouched.
          expect(all).toContain(`-A FORWARD -d ${CLUSTER_CIDR} -j ACCEPT`);
        }
        await waitFor(async () => (await client(pods.client, 'tcp', '10.0.0.100', 80, 1)).errors.TIMEOUT === 1 || undefined, {
          what: 'the ClusterIP to stop answering',
          timeoutMs: 10_000,
        });
      },
    ),
  );
});
