import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ApiClient, Endpoints, Pod, Service } from '@pilot/api';
import { Cidr, detectBackend, waitFor } from '@pilot/common';
import { parse } from 'yaml';
import { Cluster, SEED_DNS_IP, startSeedCluster, withLogsOnFailure, type Dockerd, type Host, type SeedCluster } from '@pilot/netns';
import { parseDig } from '../dnsd/dig.js';
import { isRunningReady, rcPods, SEED_NS } from './rc-pods.js';
import { Kubectl, tableRows } from '../kubectl/helpers.js';

/**
 * The seed walkthrough on real containers, on the seed cluster of two hosts
 * (test/netns/src/seed-cluster.ts: etcd, `pilot apiserver` over TLS,
 * scheduler and controller-manager in the master; overlayd (vxlan) first,
 * then dockerd, svcproxy and `pilot kubelet` on each host; dnsd on h2 as
 * the cluster DNS). The user's steps are the seed's: `kubectl create -f
 * mynode.yaml` (an RC of 2 guest/mynode pods on 8888, the file unchanged)
 * and `-f mynode-svc.yaml` (Service frontend), then what they check: pods on
 * both hosts with IPs from each host's subnet, pod-to-pod by IP, `wget
 * http://frontend:8888` from a busybox pod by name, nslookup, dig,
 * iptables-save, etcdctl, ip route, kubectl scale, exec, logs and logs -f;
 * deleting the RC removes every container.
 */

const RC_FILE = fileURLToPath(new URL('../../../deploy/examples/mynode.yaml', import.meta.url));
const SVC_FILE = fileURLToPath(new URL('../../../deploy/examples/mynode-svc.yaml', import.meta.url));
const RULES_FILE = fileURLToPath(new URL('../../../deploy/prometheus/rules.yml', import.meta.url));
const NS = SEED_NS;

let c: Cluster | undefined;
let seed: SeedCluster | undefined;
let api: ApiClient;
let k: Kubectl;
let envs: readonly Record<string, string>[];
let dockerds: readonly Dockerd[];

const t = (name: string, fn: () => Promise<void>, timeoutMs = 120_000) => it(name, withLogsOnFailure(() => c, fn), timeoutMs);
const hosts = () => c!.hosts;
const subnetOf = (i: number) => Cidr.parseInterface(envs[i]!.FLANNEL_SUBNET!).cidr;

/** Polls until the RC's pods are `n`, all Running and Ready with a pod IP. */
async function waitRcReady(n: number, timeoutMs = 120_000): Promise<Pod[]> {
  let last: Pod[] = [];
  try {
    return await waitFor(
      async () => {
        last = await rcPods(api);
        return last.length === n && last.every((p) => isRunningReady(p) && p.status?.podIP) ? last : undefined;
      },
      { timeoutMs, intervalMs: 500, what: `${n} my-node pods Running and Ready` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last.map((p) => [p.metadata?.name, p.spec?.nodeName, p.status?.phase, p.status?.containerStatuses?.[0]?.state]))}`);
  }
}

async function endpointIps(name: string): Promise<string[]> {
  const ep = await api.get<Endpoints>('endpoints', name, { namespace: NS }).catch(() => undefined);
  return (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
}

/** A busybox pod that runs `command` once (restartPolicy Never); its output, read with `kubectl logs` once it has Succeeded. */
async function runOnce(name: string, command: string[], node?: string): Promise<string> {
  await k.ok(['run', name, '--image=busybox', '--restart=Never', ...(node ? [`--overrides={"spec":{"nodeName":"${node}"}}`] : []), '--', ...command]);
  const phase = await waitFor(
    async () => {
      const p = await api.get<Pod>('pods', name, { namespace: NS }).catch(() => undefined);
      const ph = p?.status?.phase;
      return ph === 'Succeeded' || ph === 'Failed' ? ph : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 500, what: `pod ${name} to finish` },
  );
  const out = await k.ok(['logs', name]);
  await k.ok(['delete', 'pod', name, '--wait=false']);
  if (phase !== 'Succeeded') throw new Error(`pod ${name} (${command.join(' ')}) failed: ${out}`);
  return out;
}

beforeAll(async () => {
  c = await Cluster.create({ hosts: 2, etcd: true });
  seed = await startSeedCluster(c, { kubeletFlags: ['--node-status-update-frequency', '2s', '--sync-frequency', '10s'] });
  ({ subnetEnv: envs, dockerds } = seed);
  api = seed.cp.client;
  k = Kubectl.forRun(c, seed.cp, NS);
  const rows = tableRows(await k.ok(['get', 'nodes']));
  expect(rows.slice(1).map((r) => `${r[0]} ${r[1]}`).sort()).toEqual(c.hosts.map((h) => `${h.name} Ready`).sort());
}, 300_000);

afterAll(async () => {
  await seed?.stop();
  await c?.teardown();
});

describe('the seed walkthrough on real containers', () => {
  let pods: Pod[] = [];

  t('kubectl create -f mynode.yaml -f mynode-svc.yaml: two guest/mynode pods, one on each host, IPs from that host’s subnet', async () => {
    expect(await k.ok(['create', '-f', RC_FILE])).toBe('replicationcontroller/my-node created\n');
    expect(await k.ok(['create', '-f', SVC_FILE])).toBe('service/frontend created\n');
    pods = await waitRcReady(2);
    const byNode = new Map(pods.map((p) => [p.spec!.nodeName!, p]));
    expect([...byNode.keys()].sort()).toEqual(hosts().map((h) => h.name).sort());
    for (const [i, h] of hosts().entries()) {
      const p = byNode.get(h.name)!;
      expect(subnetOf(i).contains(p.status!.podIP!)).toBe(true);
      expect(p.status!.hostIP).toBe(h.ip);
      // docker ps on the host shows the pod as dockershim names it.
      const ps = await dockerds[i]!.dockerOk(['ps', '--format', '{{.Names}}', '--filter', `label=io.kubernetes.pod.name=${p.metadata!.name}`]);
      expect(ps.stdout.trim().split('\n').sort()).toEqual([`k8s_POD_${p.metadata!.name}_${NS}_${p.metadata!.uid}_0`, `k8s_mynode_${p.metadata!.name}_${NS}_${p.metadata!.uid}_0`].sort());
    }
    const rows = tableRows(await k.ok(['get', 'rc', 'my-node']));
    expect(rows[1]!.slice(0, 4)).toEqual(['my-node', '2', '2', '2']);
    await waitFor(async () => (await endpointIps('frontend')).join() === pods.map((p) => p.status!.podIP!).sort().join(), {
      timeoutMs: 30_000, what: 'the frontend Endpoints to hold both pod IPs',
    });
  });

  t('a pod on host 1 reaches the pod on host 2 by pod IP, across the overlay', async () => {
    const [h1, h2] = hosts() as [Host, Host];
    const target = pods.find((p) => p.spec!.nodeName === h2.name)!;
    const out = await runOnce('cross-host', ['wget', '-qO-', `http://${target.status!.podIP}:8888/`], h1.name);
    expect(out).toBe('Hello World\n');
  });

  t('wget -qO- http://frontend:8888 from a busybox pod: the name through the search path, the service through svcproxy', async () => {
    for (const h of hosts()) expect(await runOnce(`client-${h.name}`, ['wget', '-qO-', 'http://frontend:8888'], h.name)).toBe('Hello World\n');
    const ns = await runOnce('lookup', ['nslookup', 'kubernetes.default.svc.cluster.local']);
    const svc = await api.get<Service>('services', 'kubernetes', { namespace: NS });
    expect(ns).toContain(svc.spec!.clusterIP!);
  });

  t('kubectl run -i --rm --restart=Never --image=busybox t -- nslookup kubernetes.default.svc.cluster.local answers and cleans up', async () => {
    const svc = await api.get<Service>('services', 'kubernetes', { namespace: NS });
    const r = await k.run(['run', '-i', '--rm', '--restart=Never', '--image=busybox', 't', '--', 'nslookup', 'kubernetes.default.svc.cluster.local'], { timeoutMs: 120_000 });
    // kubectl's own lines, as upstream's run.go prints them: the attach hint, or,
    // when nslookup ends between kubectl's look at the pod and its attach, the
    // fallback to the logs (the kubelet refuses to attach to an exited container).
    const ours = [/^If you don't see a command prompt, try pressing enter\.$/, /^warning: couldn't attach to pod\/t, falling back to streaming logs: .*is not running/];
    const stderr = r.stderr.split('\n').filter((l) => l.trim() && !ours.some((re) => re.test(l.trim())));
    expect(`${r.exitCode} ${stderr.join('\n')}`).toBe('0 ');
    expect(r.stdout).toMatch(new RegExp(`Address: ${svc.spec!.clusterIP!.replaceAll('.', '\\.')}\\b`));
    // --rm: kubectl deleted the pod once it ended.
    await waitFor(async () => (await api.get<Pod>('pods', 't', { namespace: NS }).catch(() => undefined)) === undefined, { timeoutMs: 60_000, what: 'pod t to be deleted' });
  }, 200_000); // beyond kubectl's own 120 s, so a hung kubectl shows its output

  t('kubectl port-forward reaches a pod from the master', async () => {
    const name = pods[0]!.metadata!.name!;
    const port = await c!.master.freePort();
    const pf = c!.master.spawn('kubectl-port-forward', k.argv(['port-forward', `pod/${name}`, `${port}:8888`]));
    try {
      await pf.waitForLog(`Forwarding from 127.0.0.1:${port} -> 8888`, 30_000);
      const body = await c!.master.execOk(['curl', '-s', '--max-time', '10', `http://127.0.0.1:${port}/`]);
      expect(body.stdout).toBe('Hello World\n');
    } finally {
      await pf.stop();
    }
  });

  t('dig, iptables-save, etcdctl and ip route show what an operator expects', async () => {
    const h1 = hosts()[0]!;
    const svc = await api.get<Service>('services', 'frontend', { namespace: NS });
    const dig = parseDig((await h1.execOk(['dig', `@${SEED_DNS_IP}`, '+tries=2', '+time=3', 'frontend.default.svc.cluster.local', 'A'])).stdout);
    expect(dig.answer.map((r) => r.data)).toEqual([svc.spec!.clusterIP]);
    const backend = await detectBackend(h1.runner);
    const nat = (await h1.execOk([backend.save, '-t', 'nat'])).stdout;
    expect(nat).toMatch(new RegExp(`-A KUBE-SERVICES -d ${svc.spec!.clusterIP}/32 -p tcp .*default/frontend.* --dport 8888 -j KUBE-SVC-`));
    for (const p of pods) expect(nat).toMatch(new RegExp(`-A KUBE-SEP-\\S+ -p tcp .*-j DNAT --to-destination ${p.status!.podIP!.replaceAll('.', '\\.')}:8888`));
    const leases = (await c!.etcd!.etcdctl(['get', '--prefix', '--keys-only', '/coreos.com/network/subnets/'])).stdout.split('\n').filter(Boolean);
    expect(leases.sort()).toEqual(envs.map((_, i) => `/coreos.com/network/subnets/${subnetOf(i).toString().replace('/', '-')}`).sort());
    const routes = (await h1.execOk(['ip', 'route'])).stdout;
    // flannel's vxlan route to the other host's subnet (overlayd tags its routes with its own proto number).
    const net2 = subnetOf(1).toString();
    expect(routes).toMatch(new RegExp(`^${net2.replaceAll('.', '\\.')} via ${net2.split('/')[0]!.replaceAll('.', '\\.')} dev flannel\\.1 proto \\d+ onlink`, 'm'));
  });

  t('every metric deploy/prometheus/rules.yml names is exported by each daemon of its job', async () => {
    const rules = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const wanted = new Map<string, Set<string>>();
    for (const r of rules.groups.flatMap((g) => g.rules)) {
      // Each selector `name{job="x",...}`; `up` is Prometheus' own.
      for (const [, name, job] of r.expr.matchAll(/\b([a-z_][a-z0-9_]*)\{job="([^"]+)"/g)) {
        if (name === 'up') continue;
        const set = wanted.get(job!) ?? new Set<string>();
        set.add(name!.replace(/_(bucket|sum|count)$/, ''));
        wanted.set(job!, set);
      }
    }
    expect([...wanted.keys()].sort()).toEqual(['apiserver', 'coredns', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'overlayd']);
    const missing: string[] = [];
    for (const [job, names] of wanted) {
      const texts = await seed!.scrape(job);
      for (const [i, text] of texts.entries()) for (const name of names) if (!text.includes(`\n# TYPE ${name} `)) missing.push(`${job}[${i}] ${name}`);
    }
    expect(missing).toEqual([]);
  });

  t('kubectl exec, logs and logs -f on a pod', async () => {
    const p = pods[0]!;
    const name = p.metadata!.name!;
    expect((await k.ok(['exec', name, '--', 'hostname'])).trim()).toBe(name);
    expect(await k.ok(['logs', name])).toContain('Server running at http://0.0.0.0:8888/');
    const follow = c!.master.spawn('kubectl-logs-f', k.argv(['logs', '-f', name]));
    try {
      await follow.waitForLog('Server running at', 30_000);
      expect(follow.running).toBe(true);
    } finally {
      await follow.stop();
    }
  });

  t('kubectl scale rc my-node --replicas=3: a third pod, and the Service’s endpoints and rules follow', async () => {
    expect(await k.ok(['scale', 'rc', 'my-node', '--replicas=3'])).toBe('replicationcontroller/my-node scaled\n');
    pods = await waitRcReady(3);
    const ips = pods.map((p) => p.status!.podIP!).sort();
    await waitFor(async () => (await endpointIps('frontend')).join() === ips.join(), { timeoutMs: 30_000, what: 'frontend Endpoints with 3 pods' });
    const backend = await detectBackend(hosts()[0]!.runner);
    await waitFor(
      async () => {
        const nat = (await hosts()[0]!.execOk([backend.save, '-t', 'nat'])).stdout;
        return ips.every((ip) => nat.includes(`--to-destination ${ip}:8888`));
      },
      { timeoutMs: 30_000, what: 'svcproxy on h1 to DNAT to all 3 pods' },
    );
    // The endpoints controller's trigger time reached svcproxy: its network programming SLI counted the change.
    const metrics = (await hosts()[0]!.execOk(['curl', '-sf', 'http://127.0.0.1:10249/metrics'])).stdout;
    expect(metrics).toMatch(/^kubeproxy_network_programming_duration_seconds_count [1-9]\d*$/m);
    // A deleted pod is replaced; the Service keeps answering.
    await k.ok(['delete', 'pod', pods[0]!.metadata!.name!]);
    pods = await waitRcReady(3);
    expect(await runOnce('after-replace', ['wget', '-qO-', 'http://frontend:8888'])).toBe('Hello World\n');
  }, 180_000);

  t('kubectl delete rc my-node removes every pod and container', async () => {
    await k.ok(['delete', 'rc', 'my-node']);
    await waitFor(async () => (await rcPods(api)).length === 0 && (await api.list<Pod>('pods', { namespace: NS, labelSelector: 'app=sample' })).items.length === 0, {
      timeoutMs: 90_000, intervalMs: 500, what: 'the RC’s pods to be gone',
    });
    for (const d of dockerds) {
      const left = async () => (await d.dockerOk(['ps', '-a', '--format', '{{.Label "io.kubernetes.pod.name"}}'])).stdout.split('\n').filter((n) => n.startsWith('my-node-'));
      await waitFor(async () => (await left()).length === 0, { timeoutMs: 60_000, what: 'every my-node container to be removed' });
    }
  });
});
