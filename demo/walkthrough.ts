/**
 * `make demo`: builds a small cluster out of network namespaces and shows it
 * working with the tools an operator would use: overlayd on three hosts
 * leasing pod subnets from etcd, pods on each host's bridge pinging pods on
 * the other hosts, the leases in etcdctl and the routes in `ip route`.
 * Everything it creates is removed at the end, also on failure or Ctrl-C.
 */
import { existsSync, readFileSync } from 'node:fs';
import { waitFor } from '@pilot/common';
import { Cluster, type Pod } from '@pilot/netns';

const OVERLAYD = new URL('../packages/overlayd/dist/bin/overlayd.js', import.meta.url).pathname;
const CONFIG = { Network: '10.1.0.0/16', Backend: { Type: 'vxlan' } };

function show(title: string, text: string): void {
  process.stdout.write(`\n### ${title}\n${text.trimEnd()}\n`);
}

const cluster = await Cluster.create({ hosts: 3, etcd: true });
try {
  const etcd = cluster.etcd!;
  show('cluster', `run ${cluster.prefix}: underlay ${cluster.underlay.toString()}, master ${cluster.master.ip}, etcd ${etcd.endpoint}\n` +
    cluster.hosts.map((h) => `  ${h.name} (${h.ns}) ${h.ip}`).join('\n'));

  const put = await etcd.etcdctl(['put', '/coreos.com/network/config', JSON.stringify(CONFIG)]);
  show(`etcdctl put /coreos.com/network/config '${JSON.stringify(CONFIG)}'`, put.stdout + put.stderr);

  // overlayd first on every host, as an operator installs it before Docker.
  const daemons = cluster.hosts.map((h) =>
    h.spawn('overlayd', [
      process.execPath, OVERLAYD,
      '--etcd-endpoints', etcd.endpoint,
      '--iface', 'eth0',
      '--node-name', h.name,
      '--subnet-file', `${h.stateDir}/subnet.env`,
      '--docker-opts-file', `${h.stateDir}/docker-opts.env`,
    ]),
  );
  await Promise.all(
    cluster.hosts.map((h, i) =>
      waitFor(() => {
        if (!daemons[i]!.running) throw new Error(`overlayd on ${h.name} exited: ${daemons[i]!.log().trimEnd().split('\n').pop()}`);
        return existsSync(`${h.stateDir}/subnet.env`);
      }, { timeoutMs: 30_000, what: `subnet.env on ${h.name}` }),
    ),
  );

  // Then "Docker": the pod bridge takes FLANNEL_SUBNET/FLANNEL_MTU, as dockerd --bip/--mtu would.
  const pods: Pod[] = [];
  for (const h of cluster.hosts) {
    const file = `${h.stateDir}/subnet.env`;
    show(`${h.name}: cat subnet.env`, readFileSync(file, 'utf8'));
    await h.configureBridgeFromSubnetEnv(file);
    pods.push(await h.addPod());
  }

  const leases = await etcd.etcdctl(['get', '--prefix', '/coreos.com/network/subnets/']);
  show('etcdctl get --prefix /coreos.com/network/subnets/', leases.stdout);
  const h1 = cluster.hosts[0]!;
  show(`${h1.name}: ip route`, (await h1.execOk(['ip', 'route'])).stdout);
  show(`${h1.name}: ip neigh show dev flannel.1`, (await h1.execOk(['ip', 'neigh', 'show', 'dev', 'flannel.1'])).stdout);
  show(`${h1.name}: bridge fdb show dev flannel.1`, (await h1.execOk(['bridge', 'fdb', 'show', 'dev', 'flannel.1'])).stdout);

  for (const a of pods) {
    for (const b of pods.filter((p) => p !== a)) {
      // The first packet can race the peers' route setup; ping until one answer arrives.
      const r = await waitFor(async () => {
        const out = await a.exec(['ping', '-c', '1', '-W', '2', b.ip]);
        return out.exitCode === 0 ? out : undefined;
      }, { timeoutMs: 15_000, what: `${a.ip} → ${b.ip}` });
      show(`pod on ${a.host.name} (${a.ip}) → pod on ${b.host.name}: ping ${b.ip}`, r.stdout.split('\n').filter((l) => l.includes('bytes from')).join('\n'));
    }
  }
} finally {
  await cluster.teardown();
  show('teardown', `removed every namespace, process and file of ${cluster.prefix}`);
}
