import { fileURLToPath } from 'node:url';
import type { ApiClient, Endpoints, Lease, Node, Pod } from '@pilot/api';
import { detectBackend, waitFor } from '@pilot/common';
import { Cluster, EtcdCluster, SEED_DNS_IP, startSeedCluster, withLogsOnFailure, type Daemon, type Host, type SeedCluster } from '@pilot/netns';
import { parseDig } from '../dnsd/dig.js';
import { isRunningReady, rcPods, SEED_NS } from './rc-pods.js';
import { Kubectl } from '../kubectl/helpers.js';

/**
 * The failure story on the demo's topology: a master with a 3-member etcd
 * and the control plane, three workers (overlayd → dockerd → kubelet,
 * svcproxy), dnsd on h1. The seed's RC (scaled to 3, one pod a worker) sits
 * behind the seed's Service `frontend`, and a client on h1 calls
 * `frontend.default.svc.cluster.local:8888` by name ten times a second the
 * whole time (tools/name-loop.mjs). Then, one at a time: an etcd member
 * stops and comes back; the apiserver, controller-manager, scheduler, and
 * h1's overlayd, svcproxy, dnsd, kubelet and dockerd are killed with
 * SIGKILL and restarted; h2 is cut off from the switch and comes back; h3
 * dies. After each event the client's requests succeed again within that
 * event's detection time plus 10 s and none fails after it until the next
 * event; no object is lost or duplicated. Timers are shortened by flag: a
 * 4 s node Lease, a 6 s grace period, 4 s default tolerations.
 */

const RC_FILE = fileURLToPath(new URL('../../../deploy/examples/mynode.yaml', import.meta.url));
const SVC_FILE = fileURLToPath(new URL('../../../deploy/examples/mynode-svc.yaml', import.meta.url));
const LOOP = fileURLToPath(new URL('../tools/name-loop.mjs', import.meta.url));
const NS = SEED_NS;
const NAME = 'frontend.default.svc.cluster.local';
const GRACE_S = 6;
const TOLERATION_S = 4;
/** A host event is seen after the grace period and acted on after the toleration. */
const HOST_DETECTION_MS = (GRACE_S + TOLERATION_S) * 1000;
const DAEMON_DETECTION_MS = 10_000;
const SLACK_MS = 10_000;

let c: Cluster | undefined;
let seed: SeedCluster;
let api: ApiClient;
let k: Kubectl;
let loop: Daemon;

interface Sample {
  t: number;
  ok: boolean;
  ms: number;
  ip?: string;
  err?: string;
}

interface StoryEvent {
  name: string;
  at: number;
  /** Requests may fail until at + windowMs; none may after it. */
  windowMs: number;
}

const events: StoryEvent[] = [];

const t = (name: string, fn: () => Promise<void>, timeoutMs = 180_000) => it(name, withLogsOnFailure(() => c, fn), timeoutMs);
const worker = (name: string): Host => c!.hosts.find((h) => h.name === name)!;

function samples(): Sample[] {
  return loop
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Sample);
}

/** Marks an event, just before it is done: from now on, failures are this event's until its window ends. */
function happened(name: string, windowMs: number): StoryEvent {
  const e = { name, at: Date.now(), windowMs };
  events.push(e);
  return e;
}

/**
 * Waits until the client has answered `n` requests in a row after `since`,
 * then checks the event's rule: no failure later than its window.
 */
async function recovered(e: StoryEvent, n = 20): Promise<void> {
  await waitFor(
    () => {
      const after = samples().filter((s) => s.t >= Math.max(e.at, Date.now() - 60_000));
      const tail = after.slice(-n);
      return tail.length === n && tail.every((s) => s.ok) && tail[0]!.t > e.at;
    },
    { timeoutMs: e.windowMs + SLACK_MS + 30_000, intervalMs: 250, what: `the client to answer ${n} requests in a row after "${e.name}"` },
  );
  const late = samples().filter((s) => !s.ok && s.t > e.at + e.windowMs + SLACK_MS);
  expect(late.map((s) => `${new Date(s.t).toISOString()} ${s.err}`)).toEqual([]);
}

/** `n` live RC pods, Running and Ready, on nodes `where` accepts, and the frontend Endpoints exactly their IPs. */
async function serving(n: number, where: (node: string) => boolean, what: string, timeoutMs = 90_000): Promise<Pod[]> {
  return waitFor(
    async () => {
      const pods = await rcPods(api);
      if (pods.length !== n || !pods.every((p) => isRunningReady(p) && p.status?.podIP && where(p.spec!.nodeName!))) return undefined;
      const ep = await api.get<Endpoints>('endpoints', 'frontend', { namespace: NS });
      const ready = (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
      return ready.join() === pods.map((p) => p.status!.podIP!).sort().join() ? pods : undefined;
    },
    { timeoutMs, intervalMs: 250, what },
  );
}

async function nodeReady(name: string): Promise<string | undefined> {
  const n = await api.get<Node>('nodes', name);
  return n.status?.conditions?.find((x) => x.type === 'Ready')?.status;
}

/** Every remaining host's NAT rules DNAT frontend to exactly these pod IPs; the headless name answers them. */
async function dataPlaneFollows(ips: string[], hosts: Host[]): Promise<void> {
  const want = [...ips].sort();
  for (const h of hosts) {
    const backend = await detectBackend(h.runner);
    await waitFor(
      async () => {
        const nat = (await h.execOk([backend.save, '-t', 'nat'])).stdout;
        const seps = [...nat.matchAll(/-A KUBE-SEP-\S+ .*default\/frontend.* -j DNAT --to-destination ([\d.]+):8888/g)].map((m) => m[1]!).sort();
        return seps.join() === want.join();
      },
      { timeoutMs: 30_000, intervalMs: 250, what: `the frontend DNAT rules on ${h.name} to be ${want.join(', ')}` },
    );
  }
  await waitFor(
    async () => {
      const dig = parseDig((await worker('h1').execOk(['dig', `@${SEED_DNS_IP}`, '+tries=2', '+time=2', 'frontend-pods.default.svc.cluster.local', 'A'])).stdout);
      return dig.answer.map((r) => r.data).sort().join() === want.join();
    },
    { timeoutMs: 30_000, intervalMs: 250, what: `dnsd to answer the headless frontend-pods with ${want.join(', ')}` },
  );
}

/** Everything `kubectl get all -A -o json` and the RC's config hold, pods and status aside: kind/namespace/name/uid. */
async function objects(): Promise<string[]> {
  const all = JSON.parse(await k.ok(['get', 'all,configmaps,serviceaccounts', '-A', '-o', 'json'])) as { items: { kind: string; metadata: { namespace?: string; name: string; uid: string } }[] };
  return all.items
    .filter((o) => o.kind !== 'Pod')
    .map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name} ${o.metadata.uid}`)
    .sort();
}

/** A restarted daemon answers on its health port again (the flags it was started with say where). */
async function healthy(h: Host, d: Daemon): Promise<void> {
  const argv = d.spec.argv;
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const port = flag('--healthz-port') ?? '9199';
  const bind = flag('--healthz-bind-address');
  const urls = (bind ? [bind] : ['127.0.0.1', h.ip]).map((a) => `http://${a}:${port}/healthz`);
  const answers = async (url: string) => (await h.exec(['curl', '-sf', '--max-time', '2', url])).exitCode === 0;
  await waitFor(async () => (await Promise.all(urls.map(answers))).some(Boolean), { timeoutMs: 30_000, intervalMs: 250, what: `${d.name} to answer ${urls.join(' or ')}` });
}

beforeAll(async () => {
  c = await Cluster.create({ hosts: 3, etcd: true, etcdMembers: 3 });
  seed = await startSeedCluster(c, {
    dnsHost: 0,
    apiserverFlags: ['--default-unreachable-toleration-seconds', String(TOLERATION_S), '--default-not-ready-toleration-seconds', String(TOLERATION_S)],
    kubeletFlags: ['--node-lease-duration-seconds', '4', '--node-status-update-frequency', '1s', '--sync-frequency', '10s'],
    controllerManagerFlags: ['--node-monitor-period', '1s', '--node-monitor-grace-period', `${GRACE_S}s`, '--node-startup-grace-period', `${GRACE_S}s`],
  });
  api = seed.cp.client;
  k = Kubectl.forRun(c, seed.cp, NS);
  await k.ok(['create', '-f', RC_FILE]);
  await k.ok(['create', '-f', SVC_FILE]);
  // The same pods behind a headless name, so DNS has pod IPs to follow.
  await k.ok(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'frontend-pods' }, spec: { clusterIP: 'None', selector: { app: 'sample' }, ports: [{ port: 8888 }] } }),
  });
  await k.ok(['scale', 'rc', 'my-node', '--replicas=3']);
  const pods = await serving(3, () => true, '3 my-node pods serving', 180_000);
  expect(new Set(pods.map((p) => p.spec!.nodeName)).size).toBe(3);
  loop = worker('h1').spawn('name-loop', [process.execPath, LOOP, SEED_DNS_IP, NAME, '8888', '100', '900', 'Hello World\n']);
  await recovered(happened('start', 0));
}, 420_000);

afterAll(async () => {
  await loop?.stop().catch(() => undefined);
  if (events.length) {
    const all = loop ? samples() : [];
    const rows = events.map((e, i) => {
      const end = events[i + 1]?.at ?? Infinity;
      const mine = all.filter((s) => s.t >= e.at && s.t < end);
      const failed = mine.filter((s) => !s.ok);
      const kinds = new Map<string, number>();
      for (const s of failed) kinds.set(s.err ?? '?', (kinds.get(s.err ?? '?') ?? 0) + 1);
      const why = [...kinds].map(([k, n]) => `${k}×${n}`).join(' ');
      return `${e.name.padEnd(28)} ${String(failed.length).padStart(4)} failed of ${String(mine.length).padStart(4)}  ${why}`;
    });
    process.stdout.write(`\nthe failure story: requests per event (client on h1, ${NAME}, 10/s)\n${rows.join('\n')}\n`);
  }
  await seed?.stop();
  await c?.teardown();
});

describe('the failure story', () => {
  let before: string[] = [];

  t('an etcd member stops: no request fails, writes go on; it comes back and catches up', async () => {
    before = await objects();
    const etcd = c!.etcd as EtcdCluster;
    const m2 = etcd.members[1]!;
    const e = happened('etcd member m2 stopped', 0);
    await m2.stop();
    await k.ok(['create', 'configmap', 'while-m2-down', '--from-literal=k=v']);
    await recovered(e);
    expect(samples().filter((s) => !s.ok && s.t >= e.at)).toEqual([]);
    const back = happened('etcd member m2 restarted', 0);
    await m2.start();
    // A serializable read is answered by m2 alone, from its own copy.
    await waitFor(
      async () => (await c!.master.exec(['etcdctl', `--endpoints=${m2.endpoint}`, '--consistency=s', 'get', '--keys-only', '/registry/configmaps/default/while-m2-down'], { env: { ETCDCTL_API: '3' } })).stdout.includes('while-m2-down'),
      { timeoutMs: 30_000, intervalMs: 250, what: 'etcd member m2 to hold the key written while it was down' },
    );
    await recovered(back);
    expect(samples().filter((s) => !s.ok && s.t >= e.at)).toEqual([]);
    before.push(...(await objects()).filter((o) => o.includes('while-m2-down')));
    before.sort();
  });

  t('kill -9 and restart, one at a time, of the apiserver, controller-manager, scheduler, and h1\'s overlayd, svcproxy, dnsd, kubelet and dockerd', async () => {
    const h1 = worker('h1');
    const master = c!.master;
    const restarts: [string, Host, Daemon][] = [
      ['apiserver', master, seed.cp.daemon],
      ['controller-manager', master, seed.daemons.get('controller-manager')!],
      ['scheduler', master, seed.daemons.get('scheduler')!],
      ['overlayd', h1, seed.daemons.get('overlayd-h1')!],
      ['svcproxy', h1, seed.daemons.get('svcproxy-h1')!],
      ['dnsd', h1, seed.daemons.get('dnsd')!],
    ];
    for (const [name, host, d] of restarts) {
      const e = happened(`kill -9 ${name}${host === h1 ? ' on h1' : ''}`, DAEMON_DETECTION_MS);
      await d.kill('SIGKILL');
      d.start();
      if (name === 'apiserver') await seed.cp.waitReady();
      else await healthy(host, d);
      await recovered(e);
    }

    // The kubelet: its containers keep running, and it renews its Lease again.
    const kubelet = seed.daemons.get('kubelet-h1')!;
    const containersBefore = (await seed.dockerds[0]!.dockerOk(['ps', '-q', '--filter', 'label=io.kubernetes.pod.namespace=default'])).stdout.trim().split('\n').sort();
    const ke = happened('kill -9 kubelet on h1', DAEMON_DETECTION_MS);
    await kubelet.kill('SIGKILL');
    kubelet.start();
    await waitFor(
      async () => {
        const lease = await api.get<Lease>('leases', 'h1', { namespace: 'kube-node-lease' });
        return Date.parse(lease.spec?.renewTime ?? '') > ke.at;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the restarted kubelet on h1 to renew its Lease' },
    );
    await recovered(ke);
    const containersAfter = (await seed.dockerds[0]!.dockerOk(['ps', '-q', '--filter', 'label=io.kubernetes.pod.namespace=default'])).stdout.trim().split('\n').sort();
    expect(containersAfter).toEqual(containersBefore);

    // dockerd with live-restore: the containers keep running through it.
    const dockerd = seed.dockerds[0]!;
    const de = happened('kill -9 dockerd on h1', DAEMON_DETECTION_MS);
    await dockerd.kill();
    // Its containerd died with it (Pdeathsig); the new dockerd starts another
    // and gives up after 15 s when the machine is slow. docker.service's
    // Restart=always starts it again then (StartLimitBurst=3): so does this.
    for (let attempt = 1; ; attempt++) {
      try {
        await dockerd.start();
        break;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
    await recovered(de);
    const afterDockerd = (await dockerd.dockerOk(['ps', '-q', '--filter', 'label=io.kubernetes.pod.namespace=default'])).stdout.trim().split('\n').sort();
    expect(afterDockerd).toEqual(containersBefore);
    await serving(3, () => true, '3 my-node pods serving after the restarts');
  }, 300_000);

  t('h2 is cut off: Unknown, its pod replaced elsewhere; back on the switch, its kubelet kills the replaced pod and the node is Ready', async () => {
    const h2 = worker('h2');
    const old = (await rcPods(api)).find((p) => p.spec!.nodeName === 'h2')!;
    const e = happened('h2 cut off', HOST_DETECTION_MS);
    await h2.disconnect();
    await waitFor(async () => (await nodeReady('h2')) === 'Unknown', { timeoutMs: 30_000, intervalMs: 250, what: 'node h2 to turn Unknown' });
    const pods = await serving(3, (n) => n !== 'h2', '3 pods serving on h1 and h3');
    await dataPlaneFollows(pods.map((p) => p.status!.podIP!), [worker('h1'), worker('h3')]);
    await recovered(e);

    const back = happened('h2 reconnected', DAEMON_DETECTION_MS);
    await h2.reconnect();
    await waitFor(async () => (await nodeReady('h2')) === 'True', { timeoutMs: 60_000, intervalMs: 250, what: 'node h2 to be Ready again' });
    await waitFor(async () => (await api.get<Pod>('pods', old.metadata!.name!, { namespace: NS }).catch(() => undefined)) === undefined, {
      timeoutMs: 60_000, intervalMs: 250, what: `the replaced pod ${old.metadata!.name} to be gone`,
    });
    const h2Ctr = async () => (await seed.dockerds[1]!.dockerOk(['ps', '-q', '--filter', `label=io.kubernetes.pod.uid=${old.metadata!.uid}`])).stdout.trim();
    await waitFor(async () => (await h2Ctr()) === '', { timeoutMs: 60_000, intervalMs: 250, what: `h2's kubelet to remove the containers of ${old.metadata!.name}` });
    await recovered(back);
  });

  t('h3 dies: Unknown, its pod recreated on the others; Endpoints, DNS and every remaining host\'s rules follow; nothing lost or duplicated', async () => {
    const h3 = worker('h3');
    const e = happened('h3 dies', HOST_DETECTION_MS);
    await h3.crash();
    await waitFor(async () => (await nodeReady('h3')) === 'Unknown', { timeoutMs: 30_000, intervalMs: 250, what: 'node h3 to turn Unknown' });
    const pods = await serving(3, (n) => n !== 'h3', '3 pods serving on h1 and h2');
    await dataPlaneFollows(pods.map((p) => p.status!.podIP!), [worker('h1'), worker('h2')]);
    await recovered(e);

    expect(await objects()).toEqual(before);
  });
});
