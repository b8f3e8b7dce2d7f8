import { connect, createServer, type Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { Cidr, waitFor } from '@pilot/common';
import { runtime } from '@pilot/orchestrator-core';
import { Cluster, withLogsOnFailure, type Dockerd, type Registry } from '@pilot/netns';
import { startOverlaydEverywhere, type Started } from '../overlayd/helpers.js';

/**
 * The kubelet's Docker runtime for real: two hosts, each with overlayd
 * (host-gw, --ip-masq) and then dockerd from the options overlayd wrote; on
 * each, through the runtime, a pause sandbox and a guest/mynode container.
 * What is checked is what an operator sees: pod IPs from each host's
 * subnet, pod-to-pod HTTP across hosts, `docker ps`, exec, logs, the status
 * of a container that cannot run, port-forward, a dockerd restart.
 */

type Runtime = runtime.DockerRuntime;

interface PodOnHost {
  sandboxId: string;
  config: runtime.PodSandboxConfig;
  appId: string;
  ip: string;
}

const DNS: runtime.DnsConfig = { servers: ['10.0.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] };

function sandboxConfig(name: string, extra: Partial<runtime.PodSandboxConfig> = {}): runtime.PodSandboxConfig {
  const uid = `${name}-0000-4000-8000-000000000000`;
  return {
    metadata: { name, namespace: 'default', uid, attempt: 0 },
    hostname: name,
    dnsConfig: DNS,
    labels: { 'io.kubernetes.pod.name': name, 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': uid, app: 'sample' },
    annotations: { 'kubernetes.io/config.source': 'api' },
    ...extra,
  };
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return { stream: new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }), text: () => Buffer.concat(chunks).toString() };
}

describe('kubelet Docker runtime on two overlayd hosts', () => {
  let c: Cluster;
  let od: Started[];
  let envs: Record<string, string>[];
  let registry: Registry;
  const dockerds: Dockerd[] = [];
  const rts: Runtime[] = [];
  const pods: PodOnHost[] = [];
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 2, etcd: true });
    ({ od, envs } = await startOverlaydEverywhere(c, { Network: '10.1.0.0/16', Backend: { Type: 'host-gw' } }, ['--ip-masq']));
    registry = await c.startRegistry();
    for (const [i, h] of c.hosts.entries()) {
      const t0 = Date.now();
      dockerds.push(await h.startDockerd({ dockerOptsFile: od[i]!.dockerOptsFile, registry }));
      timings[`dockerd ready on ${h.name} (ms)`] = Date.now() - t0;
      rts.push(await runtime.connectDocker({ endpoint: dockerds[i]!.endpoint }));
    }
  });
  afterAll(async () => {
    process.stdout.write(`runtime e2e timings: ${JSON.stringify(timings)}\n`);
    await c?.teardown();
  });

  it(
    'runs a sandbox and a guest/mynode container on each host, with pod IPs from that host’s subnet',
    withLogsOnFailure(() => c, async () => {
      for (const [i, rt] of rts.entries()) {
        await rt.pullImage('guest/mynode');
        await rt.pullImage('busybox');
        const config = sandboxConfig(`my-node-${i}`);
        const t0 = Date.now();
        const sandboxId = await rt.runPodSandbox(config);
        const appId = await rt.createContainer(sandboxId, { metadata: { name: 'mynode', attempt: 0 }, image: 'guest/mynode', labels: { 'io.kubernetes.container.name': 'mynode' } }, config);
        await rt.startContainer(appId);
        timings[`pod start (sandbox + app, image present) on h${i + 1} (ms)`] = Date.now() - t0;
        const status = await rt.podSandboxStatus(sandboxId);
        expect(status.state).toBe('SANDBOX_READY');
        expect(status.metadata).toEqual(config.metadata);
        expect(status.annotations).toEqual({ 'kubernetes.io/config.source': 'api' });
        const subnet = Cidr.parseInterface(envs[i]!.FLANNEL_SUBNET!).cidr;
        expect(subnet.contains(status.network.ip!)).toBe(true);
        expect(await rt.containerStatus(appId)).toMatchObject({ state: 'CONTAINER_RUNNING', podSandboxId: sandboxId, metadata: { name: 'mynode', attempt: 0 } });
        pods.push({ sandboxId, config, appId, ip: status.network.ip! });
      }
      expect(pods[0]!.ip).not.toBe(pods[1]!.ip);
    }),
  );

  it(
    'lets a busybox container in the pod on host 1 reach the pod on host 2 by pod IP, with the pod’s resolv.conf',
    withLogsOnFailure(() => c, async () => {
      const [rt1] = rts;
      const p1 = pods[0]!;
      const client = await rt1!.createContainer(p1.sandboxId, { metadata: { name: 'client', attempt: 0 }, image: 'busybox', command: ['sleep', '3600'] }, p1.config);
      await rt1!.startContainer(client);
      const body = await waitFor(
        async () => {
          // busybox wget without -T (Debian's static busybox crashes on it); execSync bounds the time.
          const r = await rt1!.execSync(client, ['wget', '-qO-', `http://${pods[1]!.ip}:8888/`], 10_000);
          return r.exitCode === 0 ? r.stdout.toString() : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: `the pod on h1 to reach ${pods[1]!.ip}:8888` },
      );
      expect(body).toBe('Hello World\n');
      // One network namespace per pod: the client reaches its own pod's server on localhost.
      expect((await rt1!.execSync(client, ['wget', '-qO-', 'http://127.0.0.1:8888/'], 10_000)).stdout.toString()).toBe('Hello World\n');
      const resolv = await rt1!.execSync(client, ['cat', '/etc/resolv.conf'], 10_000);
      expect(resolv.stdout.toString()).toBe(runtime.renderResolvConf(DNS));
      expect((await rt1!.execSync(client, ['hostname'], 10_000)).stdout.toString().trim()).toBe('my-node-0');
    }),
  );

  it(
    'shows the dockershim names and labels in docker ps, and never lists or touches other containers',
    withLogsOnFailure(() => c, async () => {
      const d1 = dockerds[0]!;
      await d1.dockerOk(['run', '-d', '--name', 'foreign', 'busybox', 'sleep', '600']);
      const ps = await d1.dockerOk(['ps', '--format', '{{.Names}} {{.Label "io.kubernetes.pod.name"}} {{.Label "io.kubernetes.docker.type"}} {{.Label "io.kubernetes.container.name"}}']);
      const uid = pods[0]!.config.metadata.uid;
      const lines = ps.stdout.trim().split('\n').map((l) => l.trimEnd()).sort();
      expect(lines).toEqual([
        `k8s_POD_my-node-0_default_${uid}_0 my-node-0 podsandbox`,
        `k8s_client_my-node-0_default_${uid}_0 my-node-0 container client`,
        `k8s_mynode_my-node-0_default_${uid}_0 my-node-0 container mynode`,
        'foreign',
      ].sort());
      const filtered = await d1.dockerOk(['ps', '-q', '--filter', `label=io.kubernetes.sandbox.id=${pods[0]!.sandboxId}`]);
      expect(filtered.stdout.trim().split('\n').length).toBe(2);
      const ids = (await rts[0]!.listContainers()).map((x) => x.id);
      const foreign = (await d1.dockerOk(['inspect', '--format', '{{.Id}}', 'foreign'])).stdout.trim();
      expect(ids).not.toContain(foreign);
      expect((await rts[0]!.listPodSandbox()).map((s) => s.id)).toEqual([pods[0]!.sandboxId]);
      await rts[0]!.stopContainer(foreign, 0);
      await rts[0]!.removeContainer(foreign);
      expect((await d1.dockerOk(['inspect', '--format', '{{.State.Running}}', 'foreign'])).stdout.trim()).toBe('true');
    }),
  );

  it(
    'execs with separate stdout and stderr, stdin, a TTY and the exit code',
    withLogsOnFailure(() => c, async () => {
      const rt = rts[0]!;
      const app = pods[0]!.appId;
      const out = sink();
      const err = sink();
      const s = await rt.exec(app, ['sh', '-c', 'echo out; echo err >&2; exit 3'], { stdout: out.stream, stderr: err.stream });
      expect(await s.done).toBe(3);
      expect(out.text()).toBe('out\n');
      expect(err.text()).toBe('err\n');

      const stdin = new PassThrough();
      const cat = sink();
      const s2 = await rt.exec(app, ['cat'], { stdin, stdout: cat.stream, stderr: sink().stream });
      stdin.end('through stdin\n');
      expect(await s2.done).toBe(0);
      expect(cat.text()).toBe('through stdin\n');

      const tty = sink();
      const s3 = await rt.exec(app, ['sh', '-c', 'tty; stty size'], { stdout: tty.stream, tty: true });
      await s3.resize({ width: 100, height: 40 }).catch(() => undefined);
      expect(await s3.done).toBe(0);
      expect(tty.text()).toMatch(/^\/dev\/pts\/\d+\r\n/);

      const r = await rt.execSync(app, ['hostname'], 10_000);
      expect(r).toMatchObject({ exitCode: 0 });
      expect(r.stdout.toString()).toBe('my-node-0\n');
    }),
  );

  it(
    'serves logs demultiplexed, with tail, timestamps, since and follow',
    withLogsOnFailure(() => c, async () => {
      const rt = rts[1]!;
      const p2 = pods[1]!;
      const whole = sink();
      await rt.logs(p2.appId, { stdout: whole.stream });
      expect(whole.text()).toBe('Server running at http://0.0.0.0:8888/\n');

      const talker = await rt.createContainer(
        p2.sandboxId,
        { metadata: { name: 'talker', attempt: 0 }, image: 'busybox', command: ['sh', '-c', 'echo one; echo two >&2; sleep 1; echo three'] },
        p2.config,
      );
      const before = Date.now();
      await rt.startContainer(talker);
      const followed = sink();
      // Follow ends when the container exits.
      await rt.logs(talker, { stdout: followed.stream, follow: true });
      expect(followed.text().split('\n').sort()).toEqual(['', 'one', 'three', 'two']);
      const out = sink();
      const err = sink();
      await rt.logs(talker, { stdout: out.stream, stderr: err.stream });
      expect(out.text()).toBe('one\nthree\n');
      expect(err.text()).toBe('two\n');
      const tail = sink();
      await rt.logs(talker, { stdout: tail.stream, tailLines: 1, timestamps: true });
      expect(tail.text()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z three\n$/);
      const since = sink();
      await rt.logs(talker, { stdout: since.stream, sinceTime: Date.now() + 60_000 });
      expect(since.text()).toBe('');
      expect((await rt.containerStatus(talker)).finishedAt).toBeGreaterThanOrEqual(before - 1_000);
      expect(await rt.containerStatus(talker)).toMatchObject({ state: 'CONTAINER_EXITED', exitCode: 0, reason: 'Completed' });
    }),
  );

  it(
    'reports a container whose command does not exist as the kubelet needs it (ContainerCannotRun, Docker’s message)',
    withLogsOnFailure(() => c, async () => {
      const rt = rts[1]!;
      const p2 = pods[1]!;
      const id = await rt.createContainer(p2.sandboxId, { metadata: { name: 'broken', attempt: 0 }, image: 'busybox', command: ['/no/such/command'] }, p2.config);
      await expect(rt.startContainer(id)).rejects.toThrow(/no such file or directory|executable file not found/);
      const s = await rt.containerStatus(id);
      expect(s.state).toBe('CONTAINER_EXITED');
      expect(s.reason).toBe('ContainerCannotRun');
      expect(s.exitCode).not.toBe(0);
      expect(s.message).toMatch(/no such file or directory|executable file not found/);
      // And a pull that must fail, fails at once with the reason the kubelet reports.
      await expect(rt.pullImage(registry.missing())).rejects.toMatchObject({ reason: 'ErrImagePull' });
      await expect(rt.pullImage('Not A Name')).rejects.toMatchObject({ reason: 'InvalidImageName' });
    }),
  );

  it(
    'port-forwards into the sandbox’s network namespace, and refuses a port nothing listens on',
    withLogsOnFailure(() => c, async () => {
      const rt = rts[0]!;
      const p1 = pods[0]!;
      // A local TCP pair: the server side is the stream the kubelet would hand over.
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const port = (server.address() as { port: number }).port;
        const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
        const client = connect(port, '127.0.0.1');
        const serverSide = await accepted;
        const forwarded = rt.portForward(p1.sandboxId, 8888, serverSide);
        const chunks: Buffer[] = [];
        client.on('data', (d: Buffer) => chunks.push(d));
        // As a browser would: the request, then the reply up to the server's close (HTTP/1.0), then our close.
        client.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n');
        await new Promise<void>((resolve) => client.once('end', resolve));
        client.end();
        await forwarded;
        const reply = Buffer.concat(chunks).toString();
        expect(reply).toMatch(/^HTTP\/1\.1 200 OK/);
        expect(reply.endsWith('Hello World\n')).toBe(true);

        const accepted2 = new Promise<Socket>((resolve) => server.once('connection', resolve));
        const client2 = connect(port, '127.0.0.1');
        client2.on('error', () => undefined);
        const side2 = await accepted2;
        side2.on('error', () => undefined);
        await expect(rt.portForward(p1.sandboxId, 9, side2)).rejects.toThrow('nothing listens on localhost:9');
        client2.destroy();
      } finally {
        server.close();
      }
    }),
  );

  it(
    'publishes a hostPort and runs hostNetwork sandboxes',
    withLogsOnFailure(() => c, async () => {
      const [h1, h2] = c.hosts;
      const rt = rts[1]!;
      const cfg = sandboxConfig('hostport', { portMappings: [{ protocol: 'TCP', containerPort: 8888, hostPort: 30888 }] });
      const sid = await rt.runPodSandbox(cfg);
      const app = await rt.createContainer(sid, { metadata: { name: 'mynode', attempt: 0 }, image: 'guest/mynode' }, cfg);
      await rt.startContainer(app);
      const body = await waitFor(
        async () => {
          const r = await h1!.exec(['curl', '-s', '--max-time', '2', `http://${h2!.ip}:30888/`]);
          return r.exitCode === 0 ? r.stdout : undefined;
        },
        { timeoutMs: 20_000, what: `h2's hostPort 30888 from h1` },
      );
      expect(body).toBe('Hello World\n');

      const hcfg = sandboxConfig('hostnet', { hostNetwork: true });
      const hid = await rt.runPodSandbox(hcfg);
      const st = await rt.podSandboxStatus(hid);
      expect(st).toMatchObject({ hostNetwork: true, state: 'SANDBOX_READY' });
      expect(st.network.ip).toBeUndefined();
      const sh = await rt.createContainer(hid, { metadata: { name: 'sh', attempt: 0 }, image: 'busybox', command: ['sleep', '600'] }, hcfg);
      await rt.startContainer(sh);
      // The host's own interfaces: its underlay address is there.
      expect((await rt.execSync(sh, ['ip', '-4', 'addr', 'show', 'eth0'], 10_000)).stdout.toString()).toContain(`inet ${h2!.ip}/`);
      await rt.stopPodSandbox(hid);
      expect((await rt.podSandboxStatus(hid)).state).toBe('SANDBOX_NOTREADY');
      expect((await rt.containerStatus(sh)).state).toBe('CONTAINER_EXITED');
      await rt.removePodSandbox(hid);
      await expect(rt.podSandboxStatus(hid)).rejects.toBeInstanceOf(runtime.NotFoundError);
      await rt.removePodSandbox(sid);
    }),
  );

  it(
    'keeps the containers and their IPs across a dockerd restart (live-restore)',
    withLogsOnFailure(() => c, async () => {
      const d2 = dockerds[1]!;
      const rt = rts[1]!;
      const p2 = pods[1]!;
      const before = await rt.containerStatus(p2.appId);
      await d2.restart();
      expect(await rt.containerStatus(p2.appId)).toMatchObject({ state: 'CONTAINER_RUNNING', startedAt: before.startedAt });
      expect((await rt.podSandboxStatus(p2.sandboxId)).network.ip).toBe(p2.ip);
      const r = await waitFor(
        async () => {
          const x = await c.hosts[0]!.exec(['curl', '-s', '--max-time', '2', `http://${p2.ip}:8888/`]);
          return x.exitCode === 0 ? x.stdout : undefined;
        },
        { timeoutMs: 20_000, what: `${p2.ip}:8888 after the restart` },
      );
      expect(r).toBe('Hello World\n');
    }),
  );

  it(
    'stops an app with SIGTERM (exit 0, Completed) and removes the pod’s containers with its sandbox',
    withLogsOnFailure(() => c, async () => {
      const rt = rts[0]!;
      const p1 = pods[0]!;
      await rt.stopContainer(p1.appId, 10);
      expect(await rt.containerStatus(p1.appId)).toMatchObject({ state: 'CONTAINER_EXITED', exitCode: 0, reason: 'Completed' });
      await rt.stopPodSandbox(p1.sandboxId);
      await rt.removePodSandbox(p1.sandboxId);
      expect(await rt.listContainers({ podSandboxId: p1.sandboxId })).toEqual([]);
      const left = await dockerds[0]!.dockerOk(['ps', '-a', '--format', '{{.Names}}']);
      expect(left.stdout.trim().split('\n')).toEqual(['foreign']);
    }),
  );
});
