import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run, waitFor } from '@pilot/common';
import { Cluster, cgroupsOf, isAlive, mountsUnder, namespacesOf, removeLeftovers, withLogsOnFailure, type Dockerd, type Registry } from '@pilot/netns';

/**
 * The harness's dockerd per host namespace and the run's registry: what a
 * kubelet suite stands on. Each check is what an operator would look at
 * (docker ps/inspect, ip addr, iptables-save, curl, mounts, cgroups).
 */

const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/containers-then-fail.ts', import.meta.url));

interface ChildRun {
  prefix: string;
  stateDir: string;
  pids: number[];
  cgroupParent: string;
}

function leftoversOf(info: ChildRun): string[] {
  return [
    ...namespacesOf(info.prefix),
    ...info.pids.filter(isAlive).map((p) => `pid ${p}`),
    ...mountsUnder(info.stateDir).map((m) => `mount ${m}`),
    ...cgroupsOf(info.prefix).map((g) => `cgroup ${g}`),
    ...(existsSync(info.stateDir) ? [info.stateDir] : []),
  ];
}

async function runFixture(mode: 'throw' | 'crash'): Promise<ChildRun> {
  const r = await run([tsx, fixture, mode], { check: false, timeoutMs: 150_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`fixture printed nothing: ${r.stderr}`);
  return JSON.parse(line) as ChildRun;
}

describe('dockerd in a host namespace', () => {
  let c: Cluster;
  let registry: Registry;
  let d: Dockerd;
  let subnetEnv: string;

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 1 });
    const h1 = c.hosts[0]!;
    subnetEnv = `${h1.stateDir}/subnet.env`;
    // What overlayd writes for a host that masquerades itself.
    writeFileSync(subnetEnv, 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    registry = await c.startRegistry();
    d = await c.hosts[0]!.startDockerd({ subnetEnvFile: subnetEnv, registry });
  });
  afterAll(async () => {
    await c?.teardown();
  });

  it(
    'takes its bridge address from subnet.env, leaves masquerading to overlayd and runs its own containerd',
    withLogsOnFailure(() => c, async () => {
      const h1 = c.hosts[0]!;
      const addr = await h1.execOk(['ip', '-o', '-4', 'addr', 'show', 'docker0']);
      expect(addr.stdout).toContain('inet 10.1.7.1/24');
      const nat = (await h1.execOk(['iptables-save', '-t', 'nat'])).stdout;
      expect(nat).not.toMatch(/10\.1\.7\.0\/24.*MASQUERADE/);
      // Its own containerd, not a system one.
      const info = JSON.parse((await d.dockerOk(['info', '--format', '{{json .}}'])).stdout) as { DockerRootDir: string; LiveRestoreEnabled: boolean; RegistryConfig: { Mirrors: string[] } };
      expect(info.DockerRootDir).toBe(d.dataRoot);
      expect(info.LiveRestoreEnabled).toBe(true);
      expect(info.RegistryConfig.Mirrors).toEqual([`${registry.url}/`]);
      expect(d.containerdPid()).toBeDefined();
      expect(isAlive(d.containerdPid()!)).toBe(true);
    }),
  );

  it(
    'pulls busybox and guest/mynode by their Docker Hub names through the run registry, MTU from subnet.env',
    withLogsOnFailure(() => c, async () => {
      const h1 = c.hosts[0]!;
      const id = (await d.dockerOk(['run', '-d', '--name', 'web', 'guest/mynode'], { timeoutMs: 120_000 })).stdout.trim();
      const ip = (await d.dockerOk(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', id])).stdout.trim();
      expect(ip).toMatch(/^10\.1\.7\.\d+$/);
      expect((await d.dockerOk(['exec', id, 'cat', '/sys/class/net/eth0/mtu'])).stdout.trim()).toBe('1450');
      const body = await waitFor(async () => {
        const r = await h1.exec(['curl', '-s', '--max-time', '2', `http://${ip}:8888/`]);
        return r.exitCode === 0 ? r.stdout : undefined;
      }, { timeoutMs: 20_000, what: `guest/mynode at ${ip}:8888` });
      expect(body).toBe('Hello World\n');
      // busybox from the same mirror, as a client of the server (wget without -T).
      const got = await d.dockerOk(['run', '--rm', 'busybox', 'wget', '-qO-', `http://${ip}:8888/`], { timeoutMs: 60_000 });
      expect(got.stdout).toBe('Hello World\n');
      // SIGTERM ends the server itself (exit 0), not docker's SIGKILL after the grace period (137).
      await d.dockerOk(['stop', '-t', '20', 'web']);
      expect((await d.dockerOk(['inspect', '--format', '{{.State.ExitCode}}', 'web'])).stdout.trim()).toBe('0');
    }),
  );

  it(
    'has the pause image under its upstream name, a reaper that exits on SIGTERM',
    withLogsOnFailure(() => c, async () => {
      const id = (await d.dockerOk(['run', '-d', registry.images.pause])).stdout.trim();
      await d.dockerOk(['stop', '-t', '20', id]);
      const state = JSON.parse((await d.dockerOk(['inspect', '--format', '{{json .State}}', id])).stdout) as { ExitCode: number; OOMKilled: boolean };
      expect(state.ExitCode).not.toBe(137);
    }),
  );

  it(
    'fails a pull of a registry-qualified image that does not exist',
    withLogsOnFailure(() => c, async () => {
      const r = await d.docker(['pull', registry.missing()], { timeoutMs: 30_000 });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/not found|manifest unknown/);
    }),
  );

  it(
    'keeps containers and their addresses across a dockerd restart (live-restore)',
    withLogsOnFailure(() => c, async () => {
      const id = (await d.dockerOk(['run', '-d', 'busybox', 'sleep', '600'])).stdout.trim();
      const before = (await d.dockerOk(['inspect', '--format', '{{.State.Pid}} {{.NetworkSettings.IPAddress}}', id])).stdout.trim();
      const dockerdPid = d.pid;
      await d.restart();
      expect(d.pid).not.toBe(dockerdPid);
      const after = (await d.dockerOk(['inspect', '--format', '{{.State.Pid}} {{.NetworkSettings.IPAddress}}', id])).stdout.trim();
      expect(after).toBe(before);
      expect(isAlive(Number(before.split(' ')[0]))).toBe(true);
    }),
  );

  it('leaves no container, process, mount, cgroup or namespace when a run fails', async () => {
    const info = await runFixture('throw');
    expect(info.pids.length).toBe(3);
    expect(leftoversOf(info)).toEqual([]);
  });

  it('removes a crashed run’s containers, daemons, mounts and cgroups on the next run', async () => {
    const info = await runFixture('crash');
    expect(leftoversOf(info).some((l) => l.startsWith('cgroup'))).toBe(true);
    expect(leftoversOf(info).some((l) => l.startsWith('mount'))).toBe(true);
    expect(removeLeftovers()).toContain(info.prefix);
    expect(leftoversOf(info)).toEqual([]);
    expect(d.running).toBe(true);
  });
});
