/**
 * `make demo`: the seed walkthrough on real containers. A cluster of network
 * namespaces (test/netns/src/seed-cluster.ts, the one the seed e2e checks):
 * a 3-member etcd, `pilot apiserver` (TLS + token), scheduler and controller-manager in
 * the master; on three hosts overlayd (vxlan) first, then dockerd from the
 * options it wrote, svcproxy and `pilot kubelet`; dnsd on h3 behind
 * 10.0.0.10. Then the seed's own steps with the real tools: `kubectl create
 * -f mynode.yaml -f mynode-svc.yaml` (an RC of 2 guest/mynode pods, Service
 * frontend), kubectl get/describe, wget by name from a busybox pod, dig,
 * iptables-save, etcdctl, ip route, kubectl scale, docker ps, a pod deleted
 * and replaced, exec and logs. It runs inside the demo's owner process
 * (demo/owner.ts), which keeps the cluster up afterwards.
 */
import { fileURLToPath } from 'node:url';
import type { Pod, Service } from '@pilot/api';
import { detectBackend, run, waitFor } from '@pilot/common';
import { SEED_DNS_IP, type SeedCluster } from '@pilot/netns';

const RC_FILE = fileURLToPath(new URL('../deploy/examples/mynode.yaml', import.meta.url));
const SVC_FILE = fileURLToPath(new URL('../deploy/examples/mynode-svc.yaml', import.meta.url));

export function show(title: string, text: string): void {
  process.stdout.write(`\n### ${title}\n${text.trimEnd()}\n`);
}

/** kubectl against the seed cluster (its output, or an error naming the command), and a step that prints it under its title. */
function kubectlOf(s: SeedCluster) {
  const kubeconfig = s.cp.kubeconfigFor();
  const kubectl = async (args: readonly string[]): Promise<string> => {
    const r = await run(['kubectl', '--kubeconfig', kubeconfig, '--cache-dir', `${s.cluster.stateDir}/kube-cache`, ...args], { check: false, timeoutMs: 150_000 });
    if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const step = async (args: readonly string[]) => show(`kubectl ${args.join(' ')}`, await kubectl(args));
  return { kubectl, step };
}

/** The seed's steps on a running seed cluster, each printed under its title; then the second story (helloKube). */
export async function walkthrough(s: SeedCluster): Promise<void> {
  await seedStory(s);
  await helloKube(s);
}

async function seedStory(s: SeedCluster): Promise<void> {
  const cluster = s.cluster;
  const [h1] = s.hosts;
  const { kubectl, step } = kubectlOf(s);
  const onHost = async (h: (typeof s.hosts)[number], argv: readonly string[]) => show(`${h.name}: ${argv.join(' ')}`, (await h.execOk(argv)).stdout);
  for (const [i, h] of s.hosts.entries()) show(`${h.name}: cat subnet.env`, Object.entries(s.subnetEnv[i]!).map(([k, v]) => `${k}=${v}`).join('\n'));
  await step(['get', 'nodes', '-o', 'wide']);

  const pods = async (): Promise<Pod[]> => (await s.cp.client.list<Pod>('pods', { namespace: 'default', labelSelector: 'app=sample' })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const readyPods = (n: number) =>
    waitFor(
      async () => {
        const ps = await pods();
        return ps.length === n && ps.every((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ? ps : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: `${n} my-node pods Running and Ready` },
    );
  const endpointsOf = async (n: number) =>
    waitFor(async () => {
      const out = await kubectl(['get', 'ep', 'frontend', '-o', 'jsonpath={.subsets[*].addresses[*].ip}']);
      return out.trim().split(/\s+/).filter(Boolean).length === n ? out : undefined;
    }, { timeoutMs: 60_000, what: `frontend's Endpoints to list ${n} pods` });

  await step(['create', '-f', RC_FILE]);
  await step(['create', '-f', SVC_FILE]);
  await readyPods(2);
  await endpointsOf(2);
  await step(['get', '--all-namespaces', 'po,rc,svc,ep', '-o', 'wide']);
  await step(['describe', 'ep', 'frontend']);

  // A busybox pod asks frontend by name six times: resolv.conf search path → dnsd → cluster IP → svcproxy → a pod.
  await kubectl(['run', 'client', '--image=busybox', '--restart=Never', '--', 'sh', '-c', 'for i in 1 2 3 4 5 6; do wget -qO- http://frontend:8888; done']);
  await waitFor(async () => ['Succeeded', 'Failed'].includes((await s.cp.client.get<Pod>('pods', 'client', { namespace: 'default' })).status?.phase ?? ''), {
    timeoutMs: 90_000, intervalMs: 500, what: 'the busybox client pod to finish',
  });
  show('kubectl run client --image=busybox --restart=Never -- sh -c \'for i in 1 2 3 4 5 6; do wget -qO- http://frontend:8888; done\'; kubectl logs client', await kubectl(['logs', 'client']));
  await kubectl(['delete', 'pod', 'client', '--wait=false']);

  const svc = await s.cp.client.get<Service>('services', 'frontend', { namespace: 'default' });
  const clusterIp = svc.spec!.clusterIP!;
  await onHost(h1!, ['dig', `@${SEED_DNS_IP}`, '+noall', '+answer', '+stats', 'frontend.default.svc.cluster.local']);
  const backend = await detectBackend(h1!.runner);
  const nat = (await h1!.execOk([backend.save, '-t', 'nat'])).stdout.split('\n');
  const svcChain = /-j (KUBE-SVC-\w+)/.exec(nat.find((l) => l.includes(`-d ${clusterIp}/32`)) ?? '')?.[1];
  show(`${h1!.name}: iptables-save -t nat | grep ${clusterIp}`, nat.filter((l) => l.includes(clusterIp)).join('\n'));
  show(`${h1!.name}: iptables-save -t nat | grep -E '${svcChain}|KUBE-SEP' (frontend's chains)`,
    nat.filter((l) => (svcChain && l.includes(svcChain)) || (/^-A KUBE-SEP/.test(l) && l.includes('default/frontend'))).join('\n'));
  show('etcdctl get --prefix /coreos.com/network/subnets', (await cluster.etcd!.etcdctl(['get', '--prefix', '/coreos.com/network/subnets'])).stdout);
  await onHost(h1!, ['ip', 'route']);

  await step(['scale', 'rc', 'my-node', '--replicas=5']);
  await readyPods(5);
  show('kubectl get ep frontend (after the scale)', `${await endpointsOf(5)}\n${await kubectl(['get', 'ep', 'frontend'])}`);
  for (const [i, h] of s.hosts.entries()) {
    const ps = await s.dockerds[i]!.dockerOk(['ps', '--format', '{{.ID}}  {{.Image}}  {{.Status}}  {{.Names}}']);
    show(`${h.name}: docker ps | grep mynode`, ps.stdout.split('\n').filter((l) => l.includes('mynode')).join('\n'));
  }

  const victim = (await pods())[0]!.metadata!.name!;
  await step(['delete', 'pod', victim]);
  await readyPods(5);
  await step(['get', 'pods', '-l', 'app=sample', '-o', 'wide']);

  const one = (await pods())[0]!.metadata!.name!;
  await step(['exec', one, '--', 'hostname']);
  await step(['logs', one]);
}

export const HELLO_PORT = 8300;

/**
 * The second story: a Deployment of two guest/mynode pods exposed as a
 * LoadBalancer Service on a worker's underlay address (spec.externalIPs),
 * asked from outside the cluster: curl from the root namespace, bound to the
 * run's root veth address. The address is a host that runs none of the pods
 * when there is one, so the answer comes from a pod on another host (through
 * KUBE-EXT's masquerade and the overlay); otherwise curl repeats until the
 * KUBE-SEP counters on that host show a pod elsewhere answered.
 */
export async function helloKube(s: SeedCluster): Promise<void> {
  const { kubectl, step } = kubectlOf(s);
  await step(['create', 'deployment', 'hello-kube', '--image=guest/mynode', '--replicas=2', '--port=8888']);
  await step(['rollout', 'status', 'deployment/hello-kube', '--timeout=120s']);
  const pods = (await s.cp.client.list<Pod>('pods', { namespace: 'default', labelSelector: 'app=hello-kube' })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const podHosts = new Set(pods.map((p) => p.spec?.nodeName));
  const entry = s.hosts.find((h) => !podHosts.has(h.name)) ?? s.hosts.at(-1)!;
  await step(['expose', 'deployment', 'hello-kube', '--type=LoadBalancer', `--external-ip=${entry.ip}`, `--port=${HELLO_PORT}`, '--target-port=8888']);
  await step(['get', 'svc', 'hello-kube']);

  const curlArgv = ['curl', '-sS', '--noproxy', '*', '--max-time', '5', '--interface', s.cluster.rootIp, `http://${entry.ip}:${HELLO_PORT}`];
  const curl = async () => {
    const r = await run(curlArgv, { check: false, timeoutMs: 10_000 });
    return r.exitCode === 0 ? r.stdout : undefined;
  };
  // svcproxy writes the rules a moment after the Service and its Endpoints appear.
  const answer = await waitFor(curl, { timeoutMs: 60_000, intervalMs: 500, what: `curl ${entry.ip}:${HELLO_PORT} from the root namespace to answer` });
  show(`curl ${entry.ip}:${HELLO_PORT} (from the root namespace, ${s.cluster.rootIp})`, answer);

  // The SEP rules whose pod lives on another host: their packet counters prove the answer crossed hosts.
  const backend = await detectBackend(entry.runner);
  const elsewhere = new Set(pods.filter((p) => p.spec?.nodeName !== entry.name).map((p) => p.status?.podIP));
  const remoteSeps = async () => {
    const nat = (await entry.execOk([backend.save, '-c', '-t', 'nat'])).stdout.split('\n');
    return nat.filter((l) => l.includes('default/hello-kube') && / -j DNAT /.test(l) && [...elsewhere].some((ip) => ip && l.includes(`--to-destination ${ip}:`)));
  };
  const counted = await waitFor(async () => {
    const seps = await remoteSeps();
    if (seps.some((l) => !/^\[0:/.test(l))) return seps;
    await curl();
    return undefined;
  }, { timeoutMs: 60_000, intervalMs: 200, what: `a pod on a host other than ${entry.name} to answer curl ${entry.ip}:${HELLO_PORT}` });
  show(`${entry.name}: iptables-save -c -t nat | grep hello-kube | grep DNAT (pods on other hosts)`, counted.join('\n'));
}
