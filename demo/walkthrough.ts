/**
 * `make demo`: the seed walkthrough on a cluster built from network
 * namespaces, without a kubelet yet. etcd and `pilot apiserver` (TLS + token)
 * run in the master; `pilot overlayd`, `pilot svcproxy` and (on h1)
 * `pilot dnsd` on three hosts; pods are namespaces on each host's bridge,
 * configured from overlayd's subnet.env as Docker would be, running a small
 * web server. A Service and its Endpoints are created with the real kubectl,
 * then shown the way an operator checks them: kubectl, dig, curl by name from
 * a pod, iptables-save, etcdctl and ip route. Everything it creates is
 * removed at the end, also on failure or Ctrl-C.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Endpoints } from '@pilot/api';
import { run, waitFor } from '@pilot/common';
import { Cluster, PILOT_BIN, startControlPlane, waitForPort, type Daemon, type Host, type NetnsPod } from '@pilot/netns';

const NODE = process.execPath;
const HTTP_SERVER = fileURLToPath(new URL('../test/netns/cluster/fixtures/http-server.mjs', import.meta.url));
const SERVICE_MANIFEST = fileURLToPath(new URL('../deploy/examples/web-service.yaml', import.meta.url));
const CONFIG = { Network: '10.1.0.0/16', Backend: { Type: 'vxlan' } };
const DNS_IP = '10.0.0.10';
const ZONE = 'cluster.local';

function show(title: string, text: string): void {
  process.stdout.write(`\n### ${title}\n${text.trimEnd()}\n`);
}

/** Fails with the daemon's last log line when it has exited. */
function alive(d: Daemon, what: string): void {
  if (!d.running) throw new Error(`${what} exited ${JSON.stringify(d.exit)}: ${d.log().trimEnd().split('\n').pop()}`);
}

const cluster = await Cluster.create({ hosts: 3, etcd: true });
try {
  const etcd = cluster.etcd!;
  const hosts = cluster.hosts;
  const [h1, h2, h3] = hosts as [Host, Host, Host];
  show('cluster', `run ${cluster.prefix}: underlay ${cluster.underlay.toString()}, master ${cluster.master.ip}, etcd ${etcd.endpoint}\n` +
    hosts.map((h) => `  ${h.name} (${h.ns}) ${h.ip}`).join('\n'));

  const put = await etcd.etcdctl(['put', '/coreos.com/network/config', JSON.stringify(CONFIG)]);
  show(`etcdctl put /coreos.com/network/config '${JSON.stringify(CONFIG)}'`, put.stdout + put.stderr);

  // The master: pilot apiserver over etcd, TLS + bearer token on the underlay.
  const cp = await startControlPlane(cluster);
  const kubeconfig = cp.kubeconfigFor();
  const kubectl = async (args: readonly string[], input?: string): Promise<string> => {
    const r = await run(['kubectl', '--kubeconfig', kubeconfig, '--cache-dir', `${cluster.stateDir}/kube-cache`, ...args], { input, check: false, timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  show(`pilot apiserver on the master: ${cp.url}`, await kubectl(['get', 'svc,ep', '-A']));

  // overlayd first on every host, as an operator installs it before Docker.
  const overlayd = hosts.map((h) =>
    h.spawn('overlayd', [
      NODE, PILOT_BIN, 'overlayd',
      '--etcd-endpoints', etcd.endpoint,
      '--iface', 'eth0',
      '--node-name', h.name,
      '--subnet-file', `${h.stateDir}/subnet.env`,
      '--docker-opts-file', `${h.stateDir}/docker-opts.env`,
    ]),
  );
  await Promise.all(
    hosts.map((h, i) =>
      waitFor(() => {
        alive(overlayd[i]!, `overlayd on ${h.name}`);
        return existsSync(`${h.stateDir}/subnet.env`);
      }, { timeoutMs: 30_000, what: `subnet.env on ${h.name}` }),
    ),
  );

  // Then "Docker": the pod bridge takes FLANNEL_SUBNET/FLANNEL_MTU; a web pod per host.
  const dns = { nameserver: DNS_IP, search: [`default.svc.${ZONE}`, `svc.${ZONE}`, ZONE], ndots: 5 };
  const web: NetnsPod[] = [];
  for (const h of hosts) {
    const file = `${h.stateDir}/subnet.env`;
    show(`${h.name}: cat subnet.env`, readFileSync(file, 'utf8'));
    await h.configureBridgeFromSubnetEnv(file);
    const pod = await h.addPod({ dns });
    pod.spawn('web', [NODE, HTTP_SERVER, pod.ip, '80']);
    web.push(pod);
  }
  for (const pod of web) await waitForPort(pod.host, pod.ip, 80);

  // svcproxy on every host and dnsd on h1, all through `pilot`, with a kubeconfig each.
  const svcproxy = hosts.map((h) =>
    h.spawn('svcproxy', [
      NODE, PILOT_BIN, 'svcproxy',
      '--kubeconfig', cp.kubeconfigFor(h),
      '--cluster-cidr', CONFIG.Network,
      '--hostname-override', h.name,
      '--min-sync-period', '200ms',
    ]),
  );
  const dnsd = h1.spawn('dnsd', [
    NODE, PILOT_BIN, 'dnsd',
    '--kubeconfig', cp.kubeconfigFor(h1),
    '--register-service',
    '--advertise-address', h1.ip,
    '--upstream', '127.0.0.1:9',
  ]);

  // The Service from deploy/examples and its Endpoints, both with the real kubectl.
  show(`kubectl create -f ${SERVICE_MANIFEST}`, await kubectl(['create', '-f', SERVICE_MANIFEST]));
  const endpoints = [
    'apiVersion: v1',
    'kind: Endpoints',
    'metadata:',
    '  name: web',
    '  namespace: default',
    'subsets:',
    '  - addresses:',
    ...web.map((p) => `      - ip: ${p.ip}`),
    '    ports:',
    '      - name: http',
    '        port: 80',
    '        protocol: TCP',
    '',
  ].join('\n');
  show('kubectl create -f - <<EOF', `${endpoints}EOF\n${await kubectl(['create', '-f', '-'], endpoints)}`);

  await waitFor(
    async () => {
      alive(dnsd, 'dnsd');
      const ep = await cp.client.get<Endpoints>('endpoints', 'kube-dns', { namespace: 'kube-system' }).catch(() => undefined);
      return ep?.subsets?.some((s) => s.addresses?.some((a) => a.ip === h1.ip));
    },
    { timeoutMs: 30_000, what: 'dnsd to register in kube-system/kube-dns' },
  );
  show('kubectl get svc,ep -o wide -A', await kubectl(['get', 'svc,ep', '-o', 'wide', '-A']));

  // DNS from a host through 10.0.0.10 (svcproxy's DNAT to dnsd on h1); polled until every svcproxy has synced.
  const digged = await waitFor(async () => {
    for (const [i, d] of svcproxy.entries()) alive(d, `svcproxy on ${hosts[i]!.name}`);
    const r = await h2.exec(['dig', `@${DNS_IP}`, '+tries=1', '+time=2', `web.default.svc.${ZONE}`], { timeoutMs: 10_000 });
    return r.exitCode === 0 && /status: NOERROR/.test(r.stdout) && /\sA\s+10\.0\.0\.\d+/.test(r.stdout) ? r.stdout : undefined;
  }, { timeoutMs: 30_000, what: `web.default.svc.${ZONE} to resolve through ${DNS_IP}` });
  show(`${h2.name}: dig @${DNS_IP} web.default.svc.${ZONE}`, digged);

  // curl by service name from a pod on h3: search path → dnsd → ClusterIP → a web pod on any host.
  const client = await h3.addPod({ dns });
  const answers: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await waitFor(async () => {
      const out = await client.exec(['curl', '-s', '--max-time', '5', 'http://web'], { timeoutMs: 10_000 });
      return out.exitCode === 0 ? out.stdout.trim() : undefined;
    }, { timeoutMs: 15_000, what: 'curl http://web from a pod' });
    answers.push(`answered by ${r}`);
  }
  show(`pod on ${h3.name} (${client.ip}): curl http://web  (x6)`, answers.join('\n'));

  const nat = (await h3.execOk(['iptables-save', '-t', 'nat'])).stdout;
  show(`${h3.name}: iptables-save -t nat | grep web`, nat.split('\n').filter((l) => l.includes('web')).join('\n'));
  const leases = await etcd.etcdctl(['get', '--prefix', '/coreos.com/network/subnets/', '--keys-only']);
  show('etcdctl get --prefix /coreos.com/network/subnets/ --keys-only', leases.stdout.split('\n').filter(Boolean).join('\n'));
  show(`${h1.name}: ip route`, (await h1.execOk(['ip', 'route'])).stdout);
  await cp.close();
} finally {
  await cluster.teardown();
  show('teardown', `removed every namespace, process and file of ${cluster.prefix}`);
}
