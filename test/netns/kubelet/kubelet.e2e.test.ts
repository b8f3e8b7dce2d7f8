import { existsSync, readFileSync } from 'node:fs';
import type { ApiClient, Lease, Node, Pod } from '@pilot/api';
import { Cidr, waitFor } from '@pilot/common';
import { Cluster, kubeletServingCert, PILOT_BIN, startControlPlane, withLogsOnFailure, type ControlPlane, type Daemon, type Dockerd, type Host, type Registry } from '@pilot/netns';
import { Kubectl, tableRows } from '../kubectl/helpers.js';
import { startOverlaydEverywhere, type Started } from '../overlayd/helpers.js';

/**
 * `pilot kubelet` for real: etcd and `pilot apiserver` (TLS) in the master
 * namespace; two hosts, each with overlayd (host-gw), dockerd from the
 * options overlayd wrote, and the kubelet. The test binds pods itself
 * (spec.nodeName; the scheduler is not running) and checks what an operator
 * sees: the Node (with its OS, kernel and runtime in `get nodes -o wide`)
 * and its Lease, pods Running and Ready with IPs from each host's subnet,
 * `kubectl logs`, restarts, a kubelet restart adopting its containers,
 * deletion, image pull failures, the pod's resolv.conf.
 * Timers are shortened by flags (status every 2 s, back-off from 1 s).
 */

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

  t('deleting a pod stops and removes its containers, then the pod object goes', async () => {
    await api.delete('pods', 'web-0', { namespace: NS });
    await waitFor(async () => (await getPod('web-0').then(() => false, () => true)), { timeoutMs: 60_000, intervalMs: 250, what: 'web-0 to be gone from the API' });
    await waitFor(async () => (await dockerContainers(0, 'web-0')).length === 0, { timeoutMs: 30_000, intervalMs: 250, what: 'the containers of web-0 to be removed' });
    await api.delete('pods', 'noimage', { namespace: NS });
    await waitFor(async () => (await getPod('noimage').then(() => false, () => true)), { timeoutMs: 60_000, intervalMs: 250, what: 'noimage to be gone from the API' });
  });
});
