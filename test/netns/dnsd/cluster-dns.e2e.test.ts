import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger, detectBackend, waitFor } from '@pilot/common';
import { Cluster, withLogsOnFailure, type Daemon, type Host, type NetnsPod } from '@pilot/netns';
import { Conntrack, IptablesApplier, IptablesProxier, netnsRunner, type EndpointsLike, type ServiceLike } from '@pilot/svcproxy';
import { parseDig } from './dig.js';

/**
 * The cluster DNS path end to end: pods on dnsd's own host and on another
 * host, with the kubelet's resolv.conf (nameserver 10.0.0.10, the cluster
 * search path, ndots:5), reach dnsd through svcproxy's iptables DNAT of
 * kube-system/kube-dns — over UDP, where the reply must leave from the very
 * address the DNAT'd query reached, and over TCP. Pods reach each other's
 * host over overlayd's vxlan overlay, whose subnets the pod bridges take
 * from subnet.env, as Docker would.
 */

const DNSD = fileURLToPath(new URL('../../../packages/dnsd/dist/bin/dnsd.js', import.meta.url));
const Z = 'cluster.local';
const CLUSTER_CIDR = '10.1.0.0/16';
const DNS_IP = '10.0.0.10';
const OVERLAYD = fileURLToPath(new URL('../../../packages/overlayd/dist/bin/overlayd.js', import.meta.url));

describe('cluster DNS through 10.0.0.10', () => {
  let c: Cluster | undefined;
  let h1: Host;
  let h2: Host;
  let dnsd: Daemon;
  let local: NetnsPod;
  let remote: NetnsPod;
  const log = createLogger('dnsd-e2e', { level: 'error', destination: process.stderr });

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 2, etcd: true });
    [h1, h2] = c.hosts as [Host, Host];
    const put = await c.etcd!.etcdctl(['put', '/coreos.com/network/config', JSON.stringify({ Network: CLUSTER_CIDR, SubnetLen: 24, Backend: { Type: 'vxlan' } })]);
    if (put.exitCode !== 0) throw new Error(`etcdctl put: ${put.stderr}`);
    for (const h of [h1, h2]) {
      mkdirSync(h.stateDir, { recursive: true });
      const overlayd = h.spawn('overlayd', [
        process.execPath, OVERLAYD,
        '--etcd-endpoints', c.etcd!.endpoint,
        '--iface', 'eth0',
        '--node-name', h.name,
        '--subnet-file', `${h.stateDir}/subnet.env`,
        '--docker-opts-file', `${h.stateDir}/docker-opts.env`,
      ]);
      await waitFor(
        () => {
          if (!overlayd.running) throw new Error(`overlayd on ${h.name} exited ${JSON.stringify(overlayd.exit)}`);
          return existsSync(`${h.stateDir}/subnet.env`);
        },
        { timeoutMs: 30_000, what: `subnet.env on ${h.name}` },
      );
      await h.configureBridgeFromSubnetEnv(`${h.stateDir}/subnet.env`);
    }

    const records = `${h1.stateDir}/records.json`;
    writeFileSync(
      records,
      JSON.stringify({
        kind: 'List',
        items: [
          { kind: 'Namespace', metadata: { name: 'default' } },
          { kind: 'Service', metadata: { name: 'frontend', namespace: 'default' }, spec: { clusterIP: '10.0.0.50', ports: [{ name: 'http', port: 8888 }] } },
          { kind: 'Service', metadata: { name: 'kube-dns', namespace: 'kube-system' }, spec: { clusterIP: DNS_IP, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } },
        ],
      }),
    );
    dnsd = h1.spawn('dnsd', [process.execPath, DNSD, '--records', records, '--listen', '0.0.0.0:53', '--advertise-address', h1.ip, '--udp-all-local', '--upstream', '127.0.0.1:9', '--healthz-port', '9153']);
    await dnsd.waitForLog('dnsd listening', 20_000);

    // svcproxy on both hosts: kube-dns → dnsd's advertise address.
    const services: ServiceLike[] = [
      {
        metadata: { namespace: 'kube-system', name: 'kube-dns' },
        spec: { clusterIP: DNS_IP, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] },
      },
    ];
    const endpoints: EndpointsLike[] = [
      {
        metadata: { namespace: 'kube-system', name: 'kube-dns' },
        subsets: [{ addresses: [{ ip: h1.ip }], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] }],
      },
    ];
    for (const h of [h1, h2]) {
      const runner = netnsRunner(h.ns);
      const p = new IptablesProxier({
        applier: new IptablesApplier({ backend: await detectBackend(runner), runner }),
        conntrack: new Conntrack(runner, log),
        node: { clusterCIDR: CLUSTER_CIDR, masqueradeAll: false, nodePortAddresses: [] },
        hostname: h.name,
        log: log.child({ host: h.name }),
      });
      for (const s of services) p.tracker.onService(s);
      for (const e of endpoints) p.tracker.onEndpoints(e);
      await p.sync();
    }
    const dns = { nameserver: DNS_IP, search: [`default.svc.${Z}`, `svc.${Z}`, Z], ndots: 5 };
    local = await h1.addPod({ dns });
    remote = await h2.addPod({ dns });
  }, 120_000);

  afterAll(async () => {
    await c?.teardown();
  });

  it(
    'with --udp-all-local, an address added to the host is answered on over UDP, and released when removed',
    withLogsOnFailure(
      () => c,
      async () => {
        const extra = '10.99.0.53';
        await h1.execOk(['ip', 'addr', 'add', `${extra}/32`, 'dev', 'lo']);
        await waitFor(
          async () => {
            const d = parseDig((await local.exec(['dig', `@${extra}`, '+notcp', '+tries=1', '+time=1', `frontend.default.svc.${Z}`], { timeoutMs: 10_000 })).stdout);
            return d.answer[0]?.data === '10.0.0.50';
          },
          { timeoutMs: 15_000, what: `dnsd answering UDP on ${extra}` },
        );
        const udp = (await h1.execOk(['ss', '-Hulnp', 'sport', '=', ':53'])).stdout;
        expect(udp).not.toMatch(/\s(0\.0\.0\.0|\*):53\s/);
        await h1.execOk(['ip', 'addr', 'del', `${extra}/32`, 'dev', 'lo']);
        await waitFor(async () => !(await h1.execOk(['ss', '-Hulnp', 'sport', '=', ':53'])).stdout.includes(`${extra}:53`), {
          timeoutMs: 15_000,
          what: `dnsd releasing ${extra}`,
        });
      },
    ),
  );

  for (const which of ['local', 'remote'] as const) {
    it(
      `a pod on ${which === 'local' ? "dnsd's own host" : 'another host'} resolves frontend, frontend.default and the FQDN over UDP and TCP`,
      withLogsOnFailure(
        () => c,
        async () => {
          const pod = which === 'local' ? local : remote;
          for (const name of ['frontend', 'frontend.default', `frontend.default.svc.${Z}`]) {
            // glibc's resolver: UDP, walking the search list under ndots:5.
            const r = await waitFor(
              async () => {
                const out = await pod.exec(['getent', 'ahostsv4', name], { timeoutMs: 15_000 });
                return out.exitCode === 0 ? out.stdout : undefined;
              },
              { timeoutMs: 15_000, what: `${name} from the ${which} pod` },
            );
            expect(`${name} → ${r.split(/\s+/)[0]}`).toBe(`${name} → 10.0.0.50`);
            for (const transport of ['+notcp', '+tcp']) {
              const d = parseDig((await pod.exec(['dig', '+search', transport, '+tries=1', '+time=4', name, 'A'], { timeoutMs: 15_000 })).stdout);
              expect(`${name} ${transport} ${d.status} ${d.answer.map((a) => a.data).join(',')}`).toBe(`${name} ${transport} NOERROR 10.0.0.50`);
              expect(d.text).toContain(`SERVER: ${DNS_IP}#53(${DNS_IP}) (${transport === '+tcp' ? 'TCP' : 'UDP'})`);
            }
          }
        },
      ),
    );
  }
});
