import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { componentPlan, networkConfig, type ClusterConfig } from '../../src/up/components.js';
import { etcdArgv } from '../../src/up/etcd.js';
import { resolveUpConfig } from '../../src/up/flags.js';
import { overlappingRoute } from '../../src/up/preflight.js';
import { stateLayout } from '../../src/up/state.js';

const flagValue = (argv: readonly string[], flag: string) => argv[argv.indexOf(flag) + 1];

describe('the single-machine cluster as data', () => {
  let dir: string;
  let c: ClusterConfig;
  beforeEach(() => {
    dir = mkdtempSync(`${tmpdir()}/pilot-up-`);
    mkdirSync(`${dir}/run`);
    c = { ...resolveUpConfig({ stateDir: dir, nodeName: 'n1' }, () => undefined), nodeIp: '192.168.5.10', iface: 'eth0' };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts the components in the order an operator installs them: overlayd before dockerd, dockerd before the kubelet', () => {
    expect(componentPlan(c, stateLayout(dir)).map((x) => x.name)).toEqual(['etcd', 'apiserver', 'scheduler', 'controller-manager', 'overlayd', 'dockerd', 'kubelet', 'svcproxy', 'dnsd']);
    expect(componentPlan({ ...c, imageStore: '/srv/images' }, stateLayout(dir)).map((x) => x.name)).toContain('registry');
  });

  it('starts each component after what it needs, everything else side by side', () => {
    for (const imageStore of [undefined, '/srv/images']) {
      const plan = componentPlan({ ...c, ...(imageStore ? { imageStore } : {}) }, stateLayout(dir));
      const names = plan.map((x) => x.name);
      // Each names only components listed before it, so the plan is also an order to start them in.
      for (const [i, comp] of plan.entries()) for (const dep of comp.after) expect([comp.name, dep, names.indexOf(dep) >= 0 && names.indexOf(dep) < i]).toEqual([comp.name, dep, true]);
      const after = Object.fromEntries(plan.map((x) => [x.name, [...x.after].sort()]));
      expect(after).toMatchObject({
        etcd: [],
        apiserver: ['etcd'],
        overlayd: ['etcd'],
        scheduler: ['apiserver'],
        'controller-manager': ['apiserver'],
        svcproxy: ['apiserver'],
        dnsd: ['apiserver'],
        dockerd: imageStore ? ['overlayd', 'registry'] : ['overlayd'],
        kubelet: ['apiserver', 'dockerd'],
      });
    }
  });

  it('keeps every file under the state dir', () => {
    const l = stateLayout(dir);
    for (const comp of componentPlan({ ...c, imageStore: '/srv/images' }, l)) {
      if (comp.name === 'dockerd') writeFileSync(l.dockerOpts, 'DOCKER_OPTS=" --bip=10.1.3.1/24 --mtu=1500 --ip-masq=false"\n');
      for (const f of comp.files) expect(f.path.startsWith(`${dir}/`)).toBe(true);
      for (const [i, w] of comp.argv().entries()) {
        if (w.startsWith('/') && !w.startsWith('/srv/images') && i > 2 && w !== c.cgroupParent) expect([comp.name, w.startsWith(`${dir}/`)]).toEqual([comp.name, true]);
      }
    }
  });

  it('runs dockerd with the options overlayd wrote, its own roots and socket, the cluster cgroup', () => {
    const l = stateLayout(dir);
    writeFileSync(l.dockerOpts, 'DOCKER_OPTS=" --bip=10.1.3.1/24 --mtu=1450 --ip-masq=false"\n');
    const dockerd = componentPlan(c, l).find((x) => x.name === 'dockerd')!;
    const argv = dockerd.argv();
    expect(argv.slice(-3)).toEqual(['--bip=10.1.3.1/24', '--mtu=1450', '--ip-masq=false']);
    expect(flagValue(argv, '-H')).toBe(`unix://${dir}/docker/docker.sock`);
    expect(flagValue(argv, '--cgroup-parent')).toBe('/pilot');
    expect(JSON.parse(dockerd.files[0]!.content)).toMatchObject({ 'live-restore': true, 'userland-proxy': false, 'registry-mirrors': [] });
  });

  it('with an image store, dockerd mirrors Docker Hub through the local registry and loads the pause image', () => {
    const dockerd = componentPlan({ ...c, imageStore: '/srv/images' }, stateLayout(dir)).find((x) => x.name === 'dockerd')!;
    expect(JSON.parse(dockerd.files[0]!.content)).toMatchObject({ 'registry-mirrors': ['http://127.0.0.1:5000'], 'insecure-registries': ['127.0.0.1:5000'] });
    expect(dockerd.afterReady).toBe('load-pause-image');
  });

  it('puts dnsd on the node address behind the cluster DNS IP, and the kubelet pointing pods at it', () => {
    const plan = componentPlan(c, stateLayout(dir));
    const dnsd = plan.find((x) => x.name === 'dnsd')!.argv();
    expect([flagValue(dnsd, '--listen'), flagValue(dnsd, '--cluster-ip'), flagValue(dnsd, '--advertise-address')]).toEqual(['192.168.5.10:53', '10.0.0.10', '192.168.5.10']);
    const kubelet = plan.find((x) => x.name === 'kubelet')!.argv();
    expect([flagValue(kubelet, '--cluster-dns'), flagValue(kubelet, '--cluster-domain'), flagValue(kubelet, '--node-ip')]).toEqual(['10.0.0.10', 'cluster.local', '192.168.5.10']);
  });

  it("gives overlayd flannel's network config for host-gw", () => {
    expect(JSON.parse(networkConfig(c))).toEqual({ Network: '10.1.0.0/16', SubnetLen: 24, Backend: { Type: 'host-gw' } });
  });
});

describe('pilot up flags', () => {
  it('needs none: the seed’s networks, /var/lib/pilot', () => {
    expect(resolveUpConfig({}, () => undefined)).toMatchObject({ stateDir: '/var/lib/pilot', clusterCidr: '10.1.0.0/16', serviceCidr: '10.0.0.0/24', clusterDns: '10.0.0.10', output: 'text', waitMs: 180_000 });
  });

  it.each([
    [{ output: 'yaml' }, '--output: "yaml" is not text or json'],
    [{ stateDir: 'pilot' }, '--state-dir: "pilot" is not an absolute path'],
    [{ cgroupParent: 'pilot/x' }, '--cgroup-parent: "pilot/x" is not one top-level cgroup such as /pilot'],
    [{ clusterCidr: '10.1.0.1/16' }, expect.stringMatching(/^--cluster-cidr: /)],
  ])('refuses %j', (flags, message) => {
    let got = 'no error';
    try {
      resolveUpConfig(flags, () => undefined);
    } catch (err) {
      got = (err as Error).message;
    }
    expect(got).toEqual(message);
  });
});

describe('overlappingRoute', () => {
  const ranges = { 'cluster-cidr': '10.1.0.0/16', 'service-cluster-ip-range': '10.0.0.0/24' };

  it('names the flag, its range and the route it overlaps', () => {
    expect(overlappingRoute(['default via 192.168.1.1 dev wlan0', '10.0.0.0/8 via 192.168.1.254 dev wlan0'], ranges, [])).toBe(
      '--cluster-cidr 10.1.0.0/16 overlaps the host\'s route "10.0.0.0/8 via 192.168.1.254 dev wlan0"',
    );
    expect(overlappingRoute(['10.0.0.5 dev tun0 scope link'], ranges, [])).toMatch(/^--service-cluster-ip-range 10\.0\.0\.0\/24 overlaps/);
  });

  it('passes routes elsewhere and routes on the cluster’s own links', () => {
    expect(overlappingRoute(['default via 192.168.1.1 dev wlan0', '192.168.1.0/24 dev wlan0 proto kernel scope link', 'unreachable 10.1.2.3'], ranges, [])).toBeUndefined();
    expect(overlappingRoute(['10.1.4.0/24 dev docker0 proto kernel scope link src 10.1.4.1'], ranges, ['docker0'])).toBeUndefined();
  });
});

describe('etcdArgv', () => {
  const member = { name: 'm1', dataDir: '/d', clientUrls: ['http://10.0.0.2:2379'], advertiseClientUrl: 'http://10.0.0.2:2379', peerUrl: 'http://127.0.0.1:2380' };

  it('starts a cluster of one by default', () => {
    const argv = etcdArgv(member);
    expect(flagValue(argv, '--initial-cluster')).toBe('m1=http://127.0.0.1:2380');
    expect(argv).not.toContain('--initial-cluster-token');
  });

  it('names every member of a new cluster, and its token, when given its peers', () => {
    const argv = etcdArgv({ ...member, initialCluster: { m1: 'http://127.0.0.1:2380', m2: 'http://127.0.0.1:2382', m3: 'http://127.0.0.1:2384' }, initialClusterToken: 'plt3-etcd' });
    expect(flagValue(argv, '--initial-cluster')).toBe('m1=http://127.0.0.1:2380,m2=http://127.0.0.1:2382,m3=http://127.0.0.1:2384');
    expect(flagValue(argv, '--initial-cluster-token')).toBe('plt3-etcd');
    expect(flagValue(argv, '--initial-cluster-state')).toBe('new');
  });
});
