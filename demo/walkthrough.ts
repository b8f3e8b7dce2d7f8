/**
 * `make demo`: builds a small cluster out of network namespaces and shows it
 * working with the tools an operator would use. Everything it creates is
 * removed at the end, also on failure or Ctrl-C.
 */
import { Cluster } from '@pilot/netns';

function show(title: string, text: string): void {
  process.stdout.write(`\n### ${title}\n${text.trimEnd()}\n`);
}

const cluster = await Cluster.create({ hosts: 3, etcd: true });
try {
  show('cluster', `run ${cluster.prefix}: underlay ${cluster.underlay.toString()}, master ${cluster.master.ip}, etcd ${cluster.etcd!.endpoint}\n` +
    cluster.hosts.map((h) => `  ${h.name} (${h.ns}) ${h.ip}`).join('\n'));
  for (const h of cluster.hosts) {
    for (const peer of cluster.hosts.filter((p) => p !== h)) {
      const r = await h.execOk(['ping', '-c', '1', '-W', '2', peer.ip]);
      show(`${h.name} → ${peer.name}: ping ${peer.ip}`, r.stdout.split('\n').filter((l) => l.includes('bytes from') || l.includes('packet loss')).join('\n'));
    }
  }
  for (const h of cluster.hosts) {
    const r = await h.execOk(['etcdctl', `--endpoints=${cluster.etcd!.endpoint}`, 'endpoint', 'health'], { env: { ETCDCTL_API: '3' } });
    show(`${h.name}: etcdctl endpoint health`, r.stdout + r.stderr);
  }
  show(`${cluster.hosts[0]!.name}: ip route`, (await cluster.hosts[0]!.execOk(['ip', 'route'])).stdout);
} finally {
  await cluster.teardown();
  show('teardown', `removed every namespace, process and file of ${cluster.prefix}`);
}
