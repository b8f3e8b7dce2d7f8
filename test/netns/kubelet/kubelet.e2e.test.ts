import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ApiClient, Endpoints, Lease, Node, Pod } from '@pilot/api';
import { Cidr, detectBackend, waitFor } from '@pilot/common';
import { Cluster, foreignClientCert, kubeletServingCert, PILOT_BIN, startControlPlane, withLogsOnFailure, type ControlPlane, type Daemon, type Dockerd, type Host, type Registry } from '@pilot/netns';
import { Kubectl, tableRows } from '../kubectl/helpers.js';
import { startOverlaydEverywhere, type Started } from '../overlayd/helpers.js';

/**
 * `pilot kubelet` for real: etcd, `pilot apiserver` (TLS) and the
 * endpoints controller in the master namespace; two hosts, each with
 * overlayd (host-gw), dockerd from the options overlayd wrote, and the
 * kubelet; svcproxy (iptables) on h1, whose kubelet also runs static pods
 * from a manifest directory. The test binds pods itself (spec.nodeName; the
 * scheduler is not running) and checks what an operator sees: the Node (with
 * its OS, kernel and runtime in `get nodes -o wide`) and its Lease, pods
 * Running and Ready with IPs from each host's subnet, `kubectl logs`,
 * restarts, CrashLoopBackOff, a kubelet restart adopting its containers,
 * readiness taking a pod out of a Service's Endpoints and svcproxy's rules,
 * the kubelet port closed to anyone but the apiserver, static pods running
 * without the apiserver and mirrored into it, deletion, image pull failures,
 * the pod's resolv.conf. Timers are shortened by flags (status every 2 s,
 * back-off from 1 s to 4 s, manifests re-read every second).
 */

const SVCPROXY = fileURLToPath(new URL('../../../packages/svcproxy/dist/bin/svcproxy.js', import.meta.url));

const NS = 'kl';
let c: Cluster | undefined;
let cp: ControlPlane;
let api: ApiClient;
let k: Kubectl;
let od: Started[];
let envs: Record<string, string>[];
let registry: Registry;
const dockerds: Dockerd[] = [];
const kubelets: Daemon[] = [];
/** h1's static pod manifests (the directory does not exist when its kubelet starts). */
const manifestDir = (h: Host) => `${h.stateDir}/manifests`;

const t = (name: string, fn: () => Promise<void>, timeoutMs?: number) => it(name, withLogsOnFailure(() => c, fn), timeoutMs);

async function kubeletArgs(h: Host, i: number): Promise<string[]> {
  const cert = await kubeletServingCert(cp.pki, h.name, h.ip);
  return [
    process.execPath, PILOT_BIN, 'kubelet',
    '--kubeconfig', cp.kubeconfigFor(h, 'kubelet'),
    '--hostname-override', h.name,
    '--node-ip', h.ip,
    '--docker-endpoint', dockerds[i]!.endpoint,
    '--cluster-dns', '10.0.0.10',
    '--cluster-domain', 'cluster.local',
    '--root-dir', `${h.stateDir}/kubelet`,
    '--subnet-file', od[i]!.subnetFile,
    '--port', String(await h.freePort()),
    '--tls-cert-file', cert.certFile,
    '--tls-private-key-file', cert.keyFile,
    '--client-ca-file', cp.pki.kubeletClientCaFile,
    '--healthz-port', '0',
    '--node-status-update-frequency', '2s',
    '--node-lease-duration-seconds', '8',
    '--sync-frequency', '10s',
    '--container-backoff', '1s',
    '--container-backoff-max', '4s',
    ...(i === 0 ? ['--pod-manifest-path', manifestDir(h), '--file-check-frequency', '1s'] : []),
  ];
}

function pod(name: string, node: string, spec: Partial<NonNullable<Pod['spec']>> & { image?: string; command?: string[] } = {}): Pod {
  const { image, command, ...rest } = spec;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: name } },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'app', image: image ?? 'guest/mynode', ...(command ? { command } : {}) }],
      ...rest,
    },
  };
}

async function getPod(name: string): Promise<Pod> {
  return api.get<Pod>('pods', name, { namespace: NS });
}

async function waitPod(name: string, what: string, ok: (p: Pod) => boolean, timeoutMs = 60_000): Promise<Pod> {
  let last: Pod | undefined;
  try {
    return await waitFor(
      async () => {
        last = await getPod(name).catch(() => undefined);
        return last && ok(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 250, what: `pod ${NS}/${name} ${what}` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`);
  }
}

const ready = (p: Pod) => p.status?.phase === 'Running' && !!p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');

/** The app containers of a pod on a host's dockerd: name → id, running or not. */
async function dockerContainers(i: number, podName: string): Promise<{ name: string; id: string; state: string }[]> {
  const r = await dockerds[i]!.dockerOk(['ps', '-a', '--filter', `label=io.kubernetes.pod.name=${podName}`, '--format', '{{.Names}} {{.ID}} {{.State}}']);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [name, id, state] = l.split(' ');
      return { name: name!, id: id!, state: state! };
    });
}

beforeAll(async () => {
  c = await Cluster.create({ hosts: 2, etcd: true });
  ({ od, envs } = await startOverlaydEverywhere(c, { Network: '10.1.0.0/16', Backend: { Type: 'host-gw' } }, ['--ip-masq']));
  registry = await c.startRegistry();
  cp = await startControlPlane(c);
  api = cp.client;
  for (const [i, h] of c.hosts.entries()) dockerds.push(await h.startDockerd({ dockerOptsFile: od[i]!.dockerOptsFile, registry }));
  for (const [i, h] of c.hosts.entries()) kubelets.push(h.spawn('kubelet', await kubeletArgs(h, i)));
  c.master.spawn('controller-manager', [
    process.execPath, PILOT_BIN, 'controller-manager', '--kubeconfig', cp.kubeconfigFor(), '--controllers', 'endpoint', '--healthz-port', String(await c.master.freePort()),
  ]);
  const h1 = c.hosts[0]!;
  h1.spawn('svcproxy', [
    process.execPath, SVCPROXY,
    '--kubeconfig', cp.kubeconfigFor(h1),
    '--cluster-cidr', '10.1.0.0/16',
    '--hostname-override', h1.name,
    '--min-sync-period', '200ms',
    '--healthz-bind-address', h1.ip,
    '--healthz-port', String(await h1.freePort()),
  ]);
  k = Kubectl.forRun(c, cp, NS);
  await api.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
}, 180_000);

afterAll(async () => {
  for (const d of kubelets) await d.stop().catch(() => undefined);
  await cp?.close();
  await c?.teardown();
});

describe('pilot kubelet on two overlayd + dockerd hosts', () => {
  t('registers each node with its podCIDR from subnet.env, Ready, and renews its Lease', async () => {
    for (const [i, h] of c!.hosts.entries()) {
      const node = await waitFor(
        async () => {
          const n = await api.get<Node>('nodes', h.name).catch(() => undefined);
          return n?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ? n : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250, what: `node ${h.name} Ready` },
      );
      expect(node.spec?.podCIDR).toBe(Cidr.parseInterface(envs[i]!.FLANNEL_SUBNET!).cidr.toString());
      expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: h.ip });
      expect(node.status?.nodeInfo).toMatchObject({ kubeletVersion: 'v1.32.0-pilot', operatingSystem: 'linux', containerRuntimeVersion: expect.stringMatching(/^docker:\/\/\d+\.\d+/) });
      // Host namespaces share the machine's files: the IDs are the machine's.
      const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim() : '');
      expect(node.status?.nodeInfo).toMatchObject({ machineID: read('/etc/machine-id'), bootID: read('/proc/sys/kernel/random/boot_id') });
      const first = await waitFor(() => api.get<Lease>('leases', h.name, { namespace: 'kube-node-lease' }).catch(() => undefined), { timeoutMs: 15_000, intervalMs: 250, what: `the Lease of ${h.name}` });
      expect(first.spec?.holderIdentity).toBe(h.name);
      await waitFor(async () => (await api.get<Lease>('leases', h.name, { namespace: 'kube-node-lease' })).spec?.renewTime !== first.spec?.renewTime, {
        timeoutMs: 15_000,
        intervalMs: 250,
        what: `the Lease of ${h.name} to be renewed`,
      });
    }
    // What an operator reads: OS-IMAGE, KERNEL-VERSION and CONTAINER-RUNTIME filled in.
    const [header, ...rows] = tableRows(await k.ok(['get', 'nodes', '-o', 'wide']));
    const col = (row: string[], name: string) => row[header!.indexOf(name)];
    expect(header).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME']);
    for (const h of c!.hosts) {
      const row = rows.find((r) => r[0] === h.name)!;
      expect(col(row, 'VERSION')).toBe('v1.32.0-pilot');
      expect(col(row, 'INTERNAL-IP')).toBe(h.ip);
      expect(col(row, 'OS-IMAGE')).not.toBe('<unknown>');
      expect(col(row, 'KERNEL-VERSION')).toMatch(/^\d+\.\d+/);
      expect(col(row, 'CONTAINER-RUNTIME')).toMatch(/^docker:\/\/\d+\.\d+/);
    }
  });

  t('runs a pod bound to each node: Running and Ready, the IP from that host’s subnet, reachable from the other host', async () => {
    for (const [i, h] of c!.hosts.entries()) await api.create('pods', pod(`web-${i}`, h.name), { namespace: NS });
    for (const [i, h] of c!.hosts.entries()) {
      const p = await waitPod(`web-${i}`, 'Running and Ready', ready);
      const subnet = Cidr.parseInterface(envs[i]!.FLANNEL_SUBNET!).cidr;
      expect(subnet.contains(p.status!.podIP!)).toBe(true);
      expect(p.status).toMatchObject({ hostIP: h.ip, podIPs: [{ ip: p.status!.podIP }] });
      expect(p.status!.startTime).toBeDefined();
      const cs = p.status!.containerStatuses![0]!;
      expect(cs).toMatchObject({ name: 'app', ready: true, restartCount: 0, started: true });
      expect(cs.containerID).toMatch(/^docker:\/\/[0-9a-f]{64}$/);
      expect(cs.state?.running?.startedAt).toBeDefined();
      for (const type of ['Initialized', 'ContainersReady', 'Ready', 'PodScheduled']) expect(p.status!.conditions).toContainEqual(expect.objectContaining({ type, status: 'True' }));
      const names = (await dockerContainers(i, `web-${i}`)).map((x) => x.name).sort();
      expect(names).toEqual([`k8s_POD_web-${i}_${NS}_${p.metadata.uid}_0`, `k8s_app_web-${i}_${NS}_${p.metadata.uid}_0`]);
      const other = c!.hosts[1 - i]!;
      const body = await waitFor(
        async () => {
          const r = await other.exec(['curl', '-s', '--max-time', '2', `http://${p.status!.podIP}:8888/`]);
          return r.exitCode === 0 ? r.stdout : undefined;
        },
        { timeoutMs: 20_000, what: `${p.status!.podIP}:8888 from ${other.name}` },
      );
      expect(body).toBe('Hello World\n');
    }
    const rows = tableRows(await k.ok(['get', 'pods', '-o', 'wide']));
    expect(rows.find((r) => r[0] === 'web-0')?.slice(1, 3)).toEqual(['1/1', 'Running']);
  });

  t('serves kubectl logs through the apiserver, and the pod’s resolv.conf is the cluster DNS (ClusterFirst)', async () => {
    expect(await k.ok(['logs', 'web-0'])).toBe('Server running at http://0.0.0.0:8888/\n');
    const resolv = await dockerds[0]!.dockerOk(['exec', (await dockerContainers(0, 'web-0')).find((x) => x.name.startsWith('k8s_app_'))!.id, 'cat', '/etc/resolv.conf']);
    expect(resolv.stdout).toBe(`nameserver 10.0.0.10\nsearch ${NS}.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`);
  });

  t('gives a container env from fieldRefs and a ConfigMap, and the ConfigMap as files', async () => {
    await api.create('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: NS }, data: { mode: 'fast' } }, { namespace: NS });
    const p = pod('env', c!.hosts[1]!.name, { image: 'busybox', command: ['sh', '-c', 'echo "$POD $IP $MODE"; cat /etc/cfg/mode; echo; exec sleep 3600'] });
    const ctr = p.spec!.containers[0]!;
    ctr.env = [
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } },
    ];
    ctr.volumeMounts = [{ name: 'cfg', mountPath: '/etc/cfg' }];
    p.spec!.volumes = [{ name: 'cfg', configMap: { name: 'settings' } }];
    await api.create('pods', p, { namespace: NS });
    const running = await waitPod('env', 'Running', ready);
    const logs = await waitFor(async () => {
      const out = await k.ok(['logs', 'env']);
      return out.split('\n').length >= 3 ? out : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250, what: 'the logs of env' });
    expect(logs).toBe(`env ${running.status!.podIP} fast\nfast\n`);
    await api.delete('pods', 'env', { namespace: NS });
  });

  t('restarts a container whose process was killed: restartCount 1, lastState terminated', async () => {
    const before = await getPod('web-1');
    const id = before.status!.containerStatuses![0]!.containerID!.replace('docker://', '');
    const pid = (await dockerds[1]!.dockerOk(['inspect', '--format', '{{.State.Pid}}', id])).stdout.trim();
    await c!.hosts[1]!.exec(['kill', '-9', pid]);
    const after = await waitPod('web-1', 'restarted once and Ready', (p) => ready(p) && p.status!.containerStatuses![0]!.restartCount === 1);
    const cs = after.status!.containerStatuses![0]!;
    expect(cs.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'Error', containerID: `docker://${id}` });
    expect(cs.containerID).not.toBe(`docker://${id}`);
    expect(after.status!.podIP).toBe(before.status!.podIP);
    expect((await dockerContainers(1, 'web-1')).filter((x) => x.state === 'running').map((x) => x.name).sort()).toEqual([
      `k8s_POD_web-1_${NS}_${after.metadata.uid}_0`,
      `k8s_app_web-1_${NS}_${after.metadata.uid}_1`,
    ]);
  });

  t('a kubelet restart leaves the containers running and the pod Running, with its restart count', async () => {
    const before = await getPod('web-1');
    const running = (await dockerContainers(1, 'web-1')).filter((x) => x.state === 'running');
    await kubelets[1]!.restart();
    // A pod bound after the restart runs once the new kubelet has listed and synced what it found.
    await api.create('pods', pod('canary', c!.hosts[1]!.name), { namespace: NS });
    await waitPod('canary', 'Running and Ready after the kubelet restart', ready);
    const after = await getPod('web-1');
    expect(ready(after)).toBe(true);
    expect(after.status!.containerStatuses![0]).toMatchObject({ restartCount: 1, containerID: before.status!.containerStatuses![0]!.containerID });
    expect((await dockerContainers(1, 'web-1')).filter((x) => x.state === 'running')).toEqual(running);
  });

  t('probes: an HTTP readiness probe gates Ready; a failing exec liveness probe restarts the container', async () => {
    const h1 = c!.hosts[0]!.name;
    const probed = pod('probed', h1, { image: 'busybox', command: ['sh', '-c', 'touch /tmp/healthy; exec sleep 3600'] });
    probed.spec!.containers[0]!.livenessProbe = { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2 };
    const unready = pod('unready', h1);
    unready.spec!.containers[0]!.readinessProbe = { httpGet: { path: '/', port: 9999 }, periodSeconds: 1 };
    const webReady = pod('probed-web', h1);
    webReady.spec!.containers[0]!.readinessProbe = { httpGet: { path: '/', port: 8888 }, periodSeconds: 1 };
    for (const p of [probed, unready, webReady]) await api.create('pods', p, { namespace: NS });
    await waitPod('probed-web', 'Ready through its readiness probe', ready);
    const u = await waitPod('unready', 'Running', (p) => p.status?.phase === 'Running');
    expect(u.status!.containerStatuses![0]!.ready).toBe(false);
    expect(u.status!.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }));
    const before = await waitPod('probed', 'Running and Ready', ready);
    const id = before.status!.containerStatuses![0]!.containerID!.replace('docker://', '');
    await dockerds[0]!.dockerOk(['exec', id, 'rm', '/tmp/healthy']);
    const after = await waitPod('probed', 'restarted by its liveness probe', (p) => p.status!.containerStatuses![0]!.restartCount === 1 && ready(p));
    expect(after.status!.containerStatuses![0]!.lastState?.terminated?.containerID).toBe(`docker://${id}`);
    // Still not ready: the readiness probe keeps failing.
    expect((await getPod('unready')).status!.containerStatuses![0]!.ready).toBe(false);
    for (const n of ['probed', 'unready', 'probed-web']) await api.delete('pods', n, { namespace: NS });
  });

  t('shows a missing image as ErrImagePull, then ImagePullBackOff, in kubectl get pods', async () => {
    await api.create('pods', pod('noimage', c!.hosts[0]!.name, { image: registry.missing() }), { namespace: NS });
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const row = tableRows(await k.ok(['get', 'pods', 'noimage'])).find((r) => r[0] === 'noimage');
        if (row?.[2]) seen.add(row[2]);
        if (seen.has('ErrImagePull') && seen.has('ImagePullBackOff')) return true;
        // Thrown, so a timeout reports what kubectl did show.
        throw new Error(`kubectl showed ${[...seen].join(', ') || 'no row'}`);
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'noimage to show ErrImagePull and ImagePullBackOff' },
    );
    const p = await getPod('noimage');
    expect(p.status!.phase).toBe('Pending');
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(p.status!.containerStatuses![0]!.state?.waiting?.reason);
  });

  t('a crashing command goes into CrashLoopBackOff with a growing back-off, restart after restart', async () => {
    await api.create('pods', pod('crash', c!.hosts[1]!.name, { image: 'busybox', command: ['sh', '-c', 'echo crashing; exit 3'] }), { namespace: NS });
    const delays: number[] = [];
    const finishes: Array<{ restartCount: number; finishedAt: string }> = [];
    let kubectlShowed = false;
    const seconds = (d: string) => [...d.matchAll(/(\d+)([hms])/g)].reduce((n, [, v, u]) => n + Number(v) * (u === 'h' ? 3600 : u === 'm' ? 60 : 1), 0);
    await waitFor(
      async () => {
        const p = await getPod('crash');
        const cs = p.status?.containerStatuses?.[0];
        if (!cs) return false;
        const m = /^back-off (\S+) restarting failed container=app pod=crash_kl\(([^)]+)\)$/.exec(cs.state?.waiting?.message ?? '');
        if (cs.state?.waiting?.reason === 'CrashLoopBackOff') {
          expect(m?.[2]).toBe(p.metadata.uid);
          const d = seconds(m![1]!);
          if (delays.at(-1) !== d) delays.push(d);
          if (!kubectlShowed) kubectlShowed = tableRows(await k.ok(['get', 'pods', 'crash'])).some((r) => r[0] === 'crash' && r[2] === 'CrashLoopBackOff');
        }
        const t = cs.lastState?.terminated;
        if (t?.finishedAt && finishes.at(-1)?.finishedAt !== t.finishedAt) {
          expect(t).toMatchObject({ exitCode: 3, reason: 'Error' });
          finishes.push({ restartCount: cs.restartCount, finishedAt: t.finishedAt });
        }
        return new Set(delays).size >= 2 && cs.restartCount >= 3 && kubectlShowed;
      },
      { timeoutMs: 90_000, intervalMs: 200, what: 'crash to show CrashLoopBackOff with two back-off delays after 3 restarts' },
    );
    // Each delay shown is longer than the one before (1s, 2s, 4s, then it stays at the 4s cap); each run ended after the one before.
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThan(delays[i - 1]!);
    for (let i = 1; i < finishes.length; i++) {
      expect(finishes[i]!.restartCount).toBeGreaterThanOrEqual(finishes[i - 1]!.restartCount);
      expect(Date.parse(finishes[i]!.finishedAt)).toBeGreaterThan(Date.parse(finishes[i - 1]!.finishedAt));
    }
    // Between two runs the logs are the last run's.
    await waitFor(async () => (await k.ok(['logs', 'crash'])) === 'crashing\n', { timeoutMs: 20_000, intervalMs: 250, what: 'kubectl logs crash to say crashing' });
    await api.delete('pods', 'crash', { namespace: NS });
  }, 120_000);

  t('a failing readiness probe takes the pod out of the Service’s Endpoints and svcproxy’s rules; passing again brings it back', async () => {
    const gated = (name: string, node: string) => {
      const p = pod(name, node, { image: 'busybox', command: ['sh', '-c', 'touch /tmp/ready; exec sleep 3600'] });
      p.metadata.labels = { app: 'gated' };
      p.spec!.containers[0]!.readinessProbe = { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 };
      return p;
    };
    await api.create('pods', gated('gated-1', c!.hosts[0]!.name), { namespace: NS });
    await api.create('pods', gated('gated-2', c!.hosts[1]!.name), { namespace: NS });
    await api.create('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'gated', namespace: NS }, spec: { selector: { app: 'gated' }, ports: [{ port: 80, targetPort: 8080 }] } }, { namespace: NS });
    const [a, b] = [await waitPod('gated-1', 'Ready', ready), await waitPod('gated-2', 'Ready', ready)];
    const ipA = a.status!.podIP!;
    const ipB = b.status!.podIP!;
    const endpoints = async () => {
      const ep = await api.get<Endpoints>('endpoints', 'gated', { namespace: NS }).catch(() => undefined);
      const of = (k: 'addresses' | 'notReadyAddresses') => (ep?.subsets ?? []).flatMap((x) => (x[k] ?? []).map((y) => y.ip)).sort();
      return { ready: of('addresses'), notReady: of('notReadyAddresses') };
    };
    const h1 = c!.hosts[0]!;
    const backend = await detectBackend(h1.runner);
    const dnat = async () => {
      const nat = (await h1.execOk([backend.save, '-t', 'nat'])).stdout;
      return [ipA, ipB].filter((ip) => new RegExp(`-A KUBE-SEP-\\S+ -p tcp .*kl/gated.* -j DNAT --to-destination ${ip.replaceAll('.', '\\.')}:8080`).test(nat));
    };
    const both = [ipA, ipB].sort();
    await waitFor(async () => (await endpoints()).ready.join() === both.join(), { timeoutMs: 30_000, intervalMs: 250, what: 'Endpoints gated with both pods' });
    await waitFor(async () => (await dnat()).length === 2, { timeoutMs: 30_000, intervalMs: 250, what: 'svcproxy on h1 to DNAT to both pods' });

    const id = a.status!.containerStatuses![0]!.containerID!.replace('docker://', '');
    await dockerds[0]!.dockerOk(['exec', id, 'rm', '/tmp/ready']);
    const notReady = await waitPod('gated-1', 'not Ready after its probe failed', (p) => p.status?.phase === 'Running' && !ready(p));
    expect(notReady.status!.containerStatuses![0]).toMatchObject({ ready: false, restartCount: 0 });
    await waitFor(async () => {
      const ep = await endpoints();
      return ep.ready.join() === ipB && ep.notReady.join() === ipA;
    }, { timeoutMs: 30_000, intervalMs: 250, what: 'gated-1 to move to notReadyAddresses' });
    await waitFor(async () => (await dnat()).join() === ipB, { timeoutMs: 30_000, intervalMs: 250, what: 'svcproxy on h1 to drop the DNAT to gated-1' });

    await dockerds[0]!.dockerOk(['exec', id, 'touch', '/tmp/ready']);
    await waitPod('gated-1', 'Ready again', ready);
    await waitFor(async () => (await endpoints()).ready.join() === both.join(), { timeoutMs: 30_000, intervalMs: 250, what: 'gated-1 back in the Endpoints' });
    await waitFor(async () => (await dnat()).length === 2, { timeoutMs: 30_000, intervalMs: 250, what: 'svcproxy on h1 to DNAT to gated-1 again' });
    await api.delete('services', 'gated', { namespace: NS });
    for (const n of ['gated-1', 'gated-2']) await api.delete('pods', n, { namespace: NS });
  }, 120_000);

  t('the kubelet port answers 401 to anyone without the apiserver’s client certificate, and runs nothing for them', async () => {
    const h1 = c!.hosts[0]!;
    const outsider = c!.hosts[1]!;
    await api.create('pods', pod('target', h1.name, { image: 'busybox', command: ['sh', '-c', 'exec sleep 3600'] }), { namespace: NS });
    const target = await waitPod('target', 'Running and Ready', ready);
    const node = await api.get<Node>('nodes', h1.name);
    const base = `https://${h1.ip}:${node.status!.daemonEndpoints!.kubeletEndpoint!.Port}`;
    const foreign = await foreignClientCert(`${c!.stateDir}/foreign`);
    const curl = async (path: string, extra: string[] = []) => {
      const r = await outsider.exec(['curl', '-s', '--max-time', '10', '--cacert', cp.pki.caFile, '-o', '/dev/null', '-w', '%{http_code}', ...extra, `${base}${path}`]);
      return r.stdout;
    };
    const run = '/run/kl/target/app?cmd=touch%20/tmp/pwned';
    const exec = '/exec/kl/target/app?command=touch&command=/tmp/pwned&stdout=1';
    const wsHeaders = ['-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket', '-H', 'Sec-WebSocket-Version: 13', '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', '-H', 'Sec-WebSocket-Protocol: v5.channel.k8s.io'];
    const spdyHeaders = ['-X', 'POST', '-H', 'Connection: Upgrade', '-H', 'Upgrade: SPDY/3.1', '-H', 'X-Stream-Protocol-Version: v4.channel.k8s.io'];
    const who: Array<[string, string[]]> = [
      ['no certificate', []],
      ['a certificate from another CA', ['--cert', foreign.certFile, '--key', foreign.keyFile]],
      ['the admin’s bearer token', ['-H', `Authorization: Bearer ${cp.pki.token}`]],
    ];
    for (const [what, creds] of who) {
      expect([what, await curl('/pods', creds)]).toEqual([what, '401']);
      expect([what, await curl(run, ['-X', 'POST', ...creds])]).toEqual([what, '401']);
      expect([what, await curl(exec, [...wsHeaders, ...creds])]).toEqual([what, '401']);
      expect([what, await curl(exec, [...spdyHeaders, ...creds])]).toEqual([what, '401']);
    }
    const id = target.status!.containerStatuses![0]!.containerID!.replace('docker://', '');
    expect((await dockerds[0]!.docker(['exec', id, 'test', '-e', '/tmp/pwned'])).exitCode).toBe(1);
    // The apiserver's credential is the way in: through it, kubectl exec runs.
    expect(await curl('/pods', ['--cert', cp.pki.kubeletClientCertFile, '--key', cp.pki.kubeletClientKeyFile])).toBe('200');
    expect(await k.ok(['exec', 'target', '--', 'sh', '-c', 'touch /tmp/via-apiserver && echo done'])).toBe('done\n');
    await api.delete('pods', 'target', { namespace: NS });
  });

  t('a static pod dropped in the manifest directory runs on a kubelet that has no apiserver, shows as a mirror pod once it is back, and comes back when the mirror is deleted', async () => {
    const h1 = c!.hosts[0]!;
    const name = `static-web-${h1.name}`;
    const file = `${manifestDir(h1)}/static-web.yaml`;
    // No apiserver, and a kubelet that has not seen one since it started.
    await cp.stop();
    await kubelets[0]!.restart();
    mkdirSync(manifestDir(h1), { recursive: true });
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\n  labels: { app: static-web }\nspec:\n  terminationGracePeriodSeconds: 2\n  containers:\n  - name: app\n    image: guest/mynode\n');
    const running = await waitFor(
      async () => {
        const cs = await dockerContainers(0, name);
        return cs.length === 2 && cs.every((x) => x.state === 'running') ? cs : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: `the containers of ${name} on h1 while the apiserver is down` },
    );
    expect(cp.daemon.running).toBe(false);
    const sandbox = running.find((x) => x.name.startsWith('k8s_POD_'))!;
    const app = running.find((x) => x.name.startsWith('k8s_app_'))!;
    const uid = sandbox.name.split('_')[4]!;
    expect(uid).toMatch(/^[0-9a-f]{32}$/);
    const ip = (await dockerds[0]!.dockerOk(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', sandbox.id])).stdout.trim();
    expect(Cidr.parseInterface(envs[0]!.FLANNEL_SUBNET!).cidr.contains(ip)).toBe(true);
    const body = await waitFor(async () => {
      const r = await h1.exec(['curl', '-s', '--max-time', '2', `http://${ip}:8888/`]);
      return r.exitCode === 0 ? r.stdout : undefined;
    }, { timeoutMs: 20_000, what: `${name} at ${ip}:8888` });
    expect(body).toBe('Hello World\n');

    await cp.restart();
    const node = await api.get<Node>('nodes', h1.name);
    const getMirror = () => api.get<Pod>('pods', name, { namespace: 'default' }).catch(() => undefined);
    const mirror = await waitFor(async () => {
      const m = await getMirror();
      return m && ready(m) ? m : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250, what: `mirror pod default/${name} Running and Ready` });
    expect(mirror.metadata.annotations).toMatchObject({ 'kubernetes.io/config.mirror': uid, 'kubernetes.io/config.hash': uid, 'kubernetes.io/config.source': 'file' });
    expect(mirror.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Node', name: h1.name, uid: node.metadata.uid, controller: true }]);
    expect(mirror.metadata.uid).not.toBe(uid);
    expect(mirror.status).toMatchObject({ podIP: ip, hostIP: h1.ip });
    expect(mirror.status!.containerStatuses![0]!.containerID).toBe(`docker://${(await dockerds[0]!.dockerOk(['inspect', '--format', '{{.Id}}', app.id])).stdout.trim()}`);
    const row = tableRows(await k.ok(['get', 'pods', '-n', 'default'])).find((r) => r[0] === name);
    expect(row?.slice(1, 3)).toEqual(['1/1', 'Running']);

    // Deleting the mirror pod only makes the kubelet make it again; the containers keep running.
    await k.ok(['delete', 'pod', name, '-n', 'default', '--wait=false']);
    const again = await waitFor(async () => {
      const m = await getMirror();
      return m && m.metadata.uid !== mirror.metadata.uid && !m.metadata.deletionTimestamp && ready(m) ? m : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250, what: `a new mirror pod default/${name}, Ready` });
    expect(again.metadata.annotations?.['kubernetes.io/config.mirror']).toBe(uid);
    expect((await dockerContainers(0, name)).filter((x) => x.state === 'running')).toEqual(running);

    // Removing the manifest stops the pod and deletes its mirror.
    rmSync(file);
    await waitFor(async () => (await getMirror()) === undefined, { timeoutMs: 60_000, intervalMs: 250, what: `mirror pod default/${name} to be deleted` });
    await waitFor(async () => (await dockerContainers(0, name)).length === 0, { timeoutMs: 60_000, intervalMs: 250, what: `the containers of ${name} to be removed` });
  }, 180_000);

  t('deleting a pod stops and removes its containers, then the pod object goes', async () => {
    await api.delete('pods', 'web-0', { namespace: NS });
    await waitFor(async () => (await getPod('web-0').then(() => false, () => true)), { timeoutMs: 60_000, intervalMs: 250, what: 'web-0 to be gone from the API' });
    await waitFor(async () => (await dockerContainers(0, 'web-0')).length === 0, { timeoutMs: 30_000, intervalMs: 250, what: 'the containers of web-0 to be removed' });
    await api.delete('pods', 'noimage', { namespace: NS });
    await waitFor(async () => (await getPod('noimage').then(() => false, () => true)), { timeoutMs: 60_000, intervalMs: 250, what: 'noimage to be gone from the API' });
  });
});
