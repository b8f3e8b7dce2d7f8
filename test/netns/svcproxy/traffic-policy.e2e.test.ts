import { fileURLToPath } from 'node:url';
import type { Endpoints, Service } from '@pilot/api';
import { detectBackend, waitFor, type IptablesBackend } from '@pilot/common';
import { Cluster, startControlPlane, waitForPort, withLogsOnFailure, type ControlPlane, type Daemon, type Host, type NetnsPod } from '@pilot/netns';
import { externalChainName, firewallChainName, localChainName, serviceChainName } from '@pilot/svcproxy';

/**
 * Traffic policies end to end: `pilot apiserver` (TLS) in the master, the
 * svcproxy binary on h1 and h2 (hosts built from namespaces, static routes
 * between their pod subnets), Services and Endpoints written through the
 * API. The only endpoint of every service runs on h1, so h1 has a local
 * endpoint and h2 has none:
 * - externalTrafficPolicy Local keeps the client's address and is dropped on h2;
 *   Cluster masquerades (the contrast);
 * - internalTrafficPolicy Local serves the cluster IP on h1 only;
 * - loadBalancerSourceRanges lets the master in and keeps h3 (an outside
 *   client with no svcproxy) out;
 * - the apiserver allocates healthCheckNodePort, answered 200 on h1, 503 on h2.
 * Build first: `make build`.
 */

const NODE = process.execPath;
const SVCPROXY = fileURLToPath(new URL('../../../packages/svcproxy/dist/bin/svcproxy.js', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const CLUSTER_CIDR = '10.1.0.0/16';
const BACKEND_PORT = 8080;
const LOCAL_IP = '10.0.0.120';
const CLUSTER_IP = '10.0.0.121';
const ITP_IP = '10.0.0.122';
const LB_CLUSTER_IP = '10.0.0.123';
const LB_IP = '192.0.2.30';

interface ClientResult {
  counts: Record<string, number>;
  errors: Record<string, number>;
}

/** `count` TCP connections from `from`; each answer is "<endpoint> from <source the endpoint saw>". */
async function connect(from: Host | NetnsPod, ip: string, port: number, count = 1, timeoutMs = 2000): Promise<ClientResult> {
  const argv = [NODE, fixture('client.mjs'), 'tcp', ip, String(port), String(count)];
  const r = await from.exec(argv, { timeoutMs: 60_000, env: { CLIENT_TIMEOUT_MS: String(timeoutMs) } });
  if (r.exitCode !== 0) throw new Error(`client ${ip}:${port} exited ${r.exitCode}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ClientResult;
}

describe('svcproxy traffic policies, source ranges and health checks', () => {
  let c: Cluster | undefined;
  let h1: Host;
  let h2: Host;
  let h3: Host;
  let cp: ControlPlane;
  /** The one endpoint (on h1), a client pod on h1 and one on h2. */
  let backend: NetnsPod;
  let podA: NetnsPod;
  let podB: NetnsPod;
  const svcproxy = new Map<Host, Daemon>();
  const backends = new Map<Host, IptablesBackend>();
  const nodePorts = new Map<string, number>();
  let healthCheckNodePort = 0;
  const healthzPorts = new Map<Host, number>();

  const api = () => cp.client;
  const saved = async (h: Host, table: 'nat' | 'filter') => (await h.execOk([backends.get(h)!.save, '-t', table])).stdout;
  /** Waits until `h`'s table has (or, with `absent`, no longer has) a line matching `pattern`. */
  async function waitForRules(h: Host, table: 'nat' | 'filter', pattern: RegExp, absent = false): Promise<void> {
    await waitFor(async () => pattern.test(await saved(h, table)) !== absent, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: `${h.name} ${table} ${absent ? 'to lose' : 'to have'} ${pattern}`,
    });
  }

  async function createService(name: string, spec: NonNullable<Service['spec']>): Promise<Service> {
    const svc = await api().create<Service>('services', { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec }, { namespace: 'default' });
    // Endpoints as the endpoints controller would write them: the pod and its node.
    await api().create<Endpoints>(
      'endpoints',
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name, namespace: 'default' },
        subsets: [{ addresses: [{ ip: backend.ip, nodeName: h1.name }], ports: [{ name: 'http', port: BACKEND_PORT, protocol: 'TCP' }] }],
      },
      { namespace: 'default' },
    );
    return svc;
  }

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 3, etcd: true });
    [h1, h2, h3] = c.hosts as [Host, Host, Host];
    cp = await startControlPlane(c);
    await c.staticPodNetwork([h1, h2]);
    // The load balancer's address leads to h1, for the master and for h3 (outside clients).
    for (const outside of [c.master, h3]) await outside.execOk(['ip', 'route', 'add', `${LB_IP}/32`, 'via', h1.ip]);
    backend = await h1.addPod();
    podA = await h1.addPod();
    podB = await h2.addPod();
    backend.spawn('peer-echo', [NODE, fixture('echo-server.mjs'), backend.ip, String(BACKEND_PORT), 'peer']);
    await waitForPort(h1, backend.ip, BACKEND_PORT);

    const http = [{ name: 'http', port: 80, targetPort: BACKEND_PORT }];
    const specs: [string, NonNullable<Service['spec']>][] = [
      ['local-np', { type: 'NodePort', clusterIP: LOCAL_IP, ports: http, externalTrafficPolicy: 'Local' }],
      ['cluster-np', { type: 'NodePort', clusterIP: CLUSTER_IP, ports: http, externalTrafficPolicy: 'Cluster' }],
      ['itp-local', { clusterIP: ITP_IP, ports: http, internalTrafficPolicy: 'Local' }],
      ['lb', { type: 'LoadBalancer', clusterIP: LB_CLUSTER_IP, ports: http, externalTrafficPolicy: 'Local', loadBalancerSourceRanges: [`${c.master.ip}/32`] }],
    ];
    for (const [name, spec] of specs) {
      const svc = await createService(name, spec);
      if (svc.spec?.ports?.[0]?.nodePort) nodePorts.set(name, svc.spec.ports[0].nodePort);
      if (name === 'lb') healthCheckNodePort = svc.spec?.healthCheckNodePort ?? 0;
    }
    await api().patchStatus('services', 'lb', { status: { loadBalancer: { ingress: [{ ip: LB_IP }] } } }, 'merge', { namespace: 'default' });

    for (const h of [h1, h2]) {
      backends.set(h, await detectBackend(h.runner));
      const port = await h.freePort();
      healthzPorts.set(h, port);
      // h1 with svcproxy's own flag names, h2 with kube-proxy's command line as its unit file writes it.
      const timing = h === h1
        ? ['--min-sync-period', '100ms', '--sync-period', '5s', '--healthz-bind-address', h.ip, '--healthz-port', String(port)]
        : ['--iptables-min-sync-period=100ms', '--iptables-sync-period=5s', `--healthz-bind-address=${h.ip}:${port}`, '--metrics-bind-address=127.0.0.1:10249'];
      const d = h.spawn('svcproxy', [
        NODE, SVCPROXY,
        '--kubeconfig', cp.kubeconfigFor(h),
        '--cluster-cidr', CLUSTER_CIDR,
        '--hostname-override', h.name,
        ...timing,
      ]);
      svcproxy.set(h, d);
    }
    // Both proxies have programmed the last object written (the LB ingress IP).
    for (const h of [h1, h2]) await waitForRules(h, 'nat', new RegExp(`-d ${LB_IP}/32 .*-j KUBE-FW-`));
  }, 180_000);

  afterAll(async () => {
    await cp?.close().catch(() => undefined);
    await c?.teardown();
  });

  const t = (name: string, fn: () => Promise<void>, timeoutMs = 90_000) => it(name, withLogsOnFailure(() => c, fn), timeoutMs);

  t('a kube-proxy command line serves /healthz on its ip:port and /metrics and /proxyMode on 127.0.0.1:10249', async () => {
    const health = await fetch(`http://${h2.ip}:${healthzPorts.get(h2)}/healthz`, { signal: AbortSignal.timeout(5_000) });
    expect(health.status).toBe(200);
    const metrics = await h2.execOk(['curl', '-sf', 'http://127.0.0.1:10249/metrics']);
    expect(metrics.stdout).toMatch(/^kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/m);
    expect((await h2.execOk(['curl', '-sf', 'http://127.0.0.1:10249/proxyMode'])).stdout).toBe('iptables');
    // Only on loopback: the host's own address does not answer on the metrics port.
    expect((await h2.exec(['curl', '-sf', '--max-time', '3', `http://${h2.ip}:10249/metrics`])).exitCode).not.toBe(0);
  });

  t('the apiserver allocates node ports and a health-check node port from the node-port range', async () => {
    expect([...nodePorts.keys()].sort()).toEqual(['cluster-np', 'lb', 'local-np']);
    expect(healthCheckNodePort).toBeGreaterThanOrEqual(30000);
    expect(healthCheckNodePort).toBeLessThanOrEqual(32767);
    expect([...nodePorts.values()]).not.toContain(healthCheckNodePort);
    // An update that omits it (kubectl replace) keeps it.
    const cur = await api().get<Service>('services', 'lb', { namespace: 'default' });
    const { healthCheckNodePort: _hc, ...spec } = cur.spec!;
    const updated = await api().update<Service>('services', { ...cur, spec }, { namespace: 'default' });
    expect(updated.spec!.healthCheckNodePort).toBe(healthCheckNodePort);
  });

  t('lays out KUBE-SVL, KUBE-EXT, KUBE-FW and the filter chains like kube-proxy', async () => {
    const nat = await saved(h1, 'nat');
    const spn = 'default/local-np:http';
    expect(nat).toContain(`-A ${externalChainName(spn, 'TCP')} -j ${localChainName(spn, 'TCP')}`);
    expect(nat).toMatch(new RegExp(`-A ${externalChainName(spn, 'TCP')} -s ${CLUSTER_CIDR.replace(/\./g, '\\.')} .*-j ${serviceChainName(spn, 'TCP')}`));
    expect(nat).toMatch(new RegExp(`-A ${firewallChainName('default/lb:http', 'TCP')} -s ${c!.master.ip}/32 .*-j ${externalChainName('default/lb:http', 'TCP')}`));
    expect(nat).toMatch(new RegExp(`-A KUBE-SERVICES -d ${ITP_IP}/32 .*-j ${localChainName('default/itp-local:http', 'TCP')}`));
    const filter1 = await saved(h1, 'filter');
    expect(filter1).toMatch(new RegExp(`-A KUBE-NODEPORTS .*--dport ${healthCheckNodePort} -j ACCEPT`));
    expect(filter1).toMatch(new RegExp(`-A KUBE-PROXY-FIREWALL -d ${LB_IP}/32 .*-j DROP`));
    for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) expect(filter1).toMatch(new RegExp(`-A ${chain} .*-j KUBE-PROXY-FIREWALL`));
    // h2 has no local endpoint: no KUBE-SVL anywhere, DROPs instead.
    expect(await saved(h2, 'nat')).not.toContain('KUBE-SVL-');
    const filter2 = await saved(h2, 'filter');
    expect(filter2).toMatch(new RegExp(`-A KUBE-EXTERNAL-SERVICES .*has no local endpoints.*--dport ${nodePorts.get('local-np')} -j DROP`));
    expect(filter2).toMatch(new RegExp(`-A KUBE-SERVICES -d ${ITP_IP}/32 .*has no local endpoints.* -j DROP`));
  });

  t('externalTrafficPolicy Local keeps the client address on the endpoint\'s node and drops on the other', async () => {
    const master = c!.master;
    const np = nodePorts.get('local-np')!;
    const r = await connect(master, h1.ip, np, 3);
    expect(r).toEqual({ counts: { [`${backend.ip} from ${master.ip}`]: 3 }, errors: {} });
    expect(await connect(master, h2.ip, np, 1, 1500)).toEqual({ counts: {}, errors: { TIMEOUT: 1 } });
    // Pods on h2 still reach the service through its cluster IP (internal policy Cluster)...
    expect(await connect(podB, LOCAL_IP, 80, 2)).toEqual({ counts: { [`${backend.ip} from ${podB.ip}`]: 2 }, errors: {} });
    // ...and through h2's NodePort: pod traffic to an external address is not subject to the policy.
    expect((await connect(podB, h2.ip, np, 1)).errors).toEqual({});
  });

  t('externalTrafficPolicy Cluster masquerades instead (the contrast)', async () => {
    const master = c!.master;
    const np = nodePorts.get('cluster-np')!;
    // Through h2 the endpoint sees h2's address; through h1, not the master's.
    expect(await connect(master, h2.ip, np, 2)).toEqual({ counts: { [`${backend.ip} from ${h2.ip}`]: 2 }, errors: {} });
    const viaH1 = await connect(master, h1.ip, np, 2);
    expect(viaH1.errors).toEqual({});
    expect(Object.keys(viaH1.counts)).toHaveLength(1);
    expect(Object.keys(viaH1.counts)[0]).not.toBe(`${backend.ip} from ${master.ip}`);
  });

  t('internalTrafficPolicy Local serves the cluster IP only where an endpoint runs', async () => {
    expect(await connect(podA, ITP_IP, 80, 2)).toEqual({ counts: { [`${backend.ip} from ${podA.ip}`]: 2 }, errors: {} });
    expect(await connect(podB, ITP_IP, 80, 1, 1500)).toEqual({ counts: {}, errors: { TIMEOUT: 1 } });
  });

  t('loadBalancerSourceRanges lets the allowed source in, client address kept, and drops another', async () => {
    const master = c!.master;
    expect(await connect(master, LB_IP, 80, 2)).toEqual({ counts: { [`${backend.ip} from ${master.ip}`]: 2 }, errors: {} });
    expect(await connect(h3, LB_IP, 80, 1, 1500)).toEqual({ counts: {}, errors: { TIMEOUT: 1 } });
    // h3 reaches the service otherwise (its NodePort is not subject to the ranges, as in kube-proxy).
    expect(await connect(h3, h1.ip, nodePorts.get('lb')!, 1)).toEqual({ counts: { [`${backend.ip} from ${h3.ip}`]: 1 }, errors: {} });
  });

  t('answers the health check 200 with the local endpoint count on h1, 503 on h2, and follows the endpoints', async () => {
    const check = async (h: Host) => {
      const res = await fetch(`http://${h.ip}:${healthCheckNodePort}/healthz`, { signal: AbortSignal.timeout(5_000) });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    await waitFor(async () => (await check(h1).catch(() => undefined))?.status === 200, { timeoutMs: 30_000, what: 'the health check on h1' });
    expect(await check(h1)).toEqual({ status: 200, body: { service: { namespace: 'default', name: 'lb' }, localEndpoints: 1 } });
    expect(await check(h2)).toEqual({ status: 503, body: { service: { namespace: 'default', name: 'lb' }, localEndpoints: 0 } });
    // The endpoint moves off h1 (as after a reschedule): h1 turns 503 and drops external traffic too.
    const cur = await api().get<Endpoints>('endpoints', 'lb', { namespace: 'default' });
    await api().update<Endpoints>('endpoints', { ...cur, subsets: [{ ...cur.subsets![0]!, addresses: [{ ip: backend.ip, nodeName: h2.name }] }] }, { namespace: 'default' });
    await waitFor(async () => (await check(h1)).status === 503, { timeoutMs: 30_000, what: 'h1 health check to turn 503' });
    await waitForRules(h1, 'filter', new RegExp(`-A KUBE-EXTERNAL-SERVICES -d ${LB_IP}/32 .*has no local endpoints`));
    expect(await connect(c!.master, LB_IP, 80, 1, 1500)).toEqual({ counts: {}, errors: { TIMEOUT: 1 } });
    const moved = await api().get<Endpoints>('endpoints', 'lb', { namespace: 'default' });
    await api().update<Endpoints>('endpoints', { ...moved, subsets: cur.subsets }, { namespace: 'default' });
    await waitFor(async () => (await check(h1)).status === 200, { timeoutMs: 30_000, what: 'h1 health check to turn 200 again' });
  });

  t('removes KUBE-SVL, KUBE-FW and their filter rules when the policies go, and everything on --cleanup', async () => {
    const lb = await api().get<Service>('services', 'lb', { namespace: 'default' });
    const { loadBalancerSourceRanges: _r, healthCheckNodePort: _h, ...spec } = lb.spec!;
    await api().update<Service>('services', { ...lb, spec: { ...spec, externalTrafficPolicy: 'Cluster' } }, { namespace: 'default' });
    const fw = firewallChainName('default/lb:http', 'TCP');
    const svl = localChainName('default/lb:http', 'TCP');
    await waitForRules(h1, 'nat', new RegExp(`^:(${fw}|${svl}) `, 'm'), true);
    const filter = await saved(h1, 'filter');
    expect(filter).not.toMatch(/-A KUBE-PROXY-FIREWALL /);
    expect(filter).not.toMatch(new RegExp(`--dport ${healthCheckNodePort} -j ACCEPT`));
    // Cluster policy now: the master's traffic is masqueraded, h3 is let in.
    expect((await connect(h3, LB_IP, 80, 1)).errors).toEqual({});
    const listening = () => fetch(`http://${h1.ip}:${healthCheckNodePort}/`, { signal: AbortSignal.timeout(2_000) }).then(() => true, () => false);
    await waitFor(async () => !(await listening()), {
      timeoutMs: 30_000,
      what: 'the health-check listener to close',
    });

    await svcproxy.get(h1)!.stop();
    const r = await h1.exec([NODE, SVCPROXY, '--cleanup']);
    expect(r.exitCode).toBe(0);
    const all = (await h1.execOk([backends.get(h1)!.save])).stdout;
    expect(all).not.toContain('KUBE-');
  });
});
