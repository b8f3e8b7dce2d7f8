import { containerCreateOptions, linuxResources, milliCpuToQuota, milliCpuToShares, renderResolvConf, sandboxCreateOptions } from '../../../src/kubelet/runtime/docker-spec.js';
import type { PodSandboxConfig } from '../../../src/kubelet/runtime/runtime.js';

const sandbox: PodSandboxConfig = {
  metadata: { name: 'web', namespace: 'default', uid: 'u1', attempt: 1 },
  hostname: 'web',
  dnsConfig: { servers: ['10.0.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] },
  portMappings: [{ protocol: 'TCP', containerPort: 8888, hostPort: 30888 }, { protocol: 'UDP', containerPort: 53 }],
  labels: { app: 'sample' },
};

describe('sandbox create options', () => {
  it('puts the pause container on Docker’s bridge with shareable IPC, the pod’s hostname, DNS and hostPorts', () => {
    const o = sandboxCreateOptions(sandbox, 'registry.k8s.io/pause:3.10');
    expect(o.name).toBe('k8s_POD_web_default_u1_1');
    expect(o.Image).toBe('registry.k8s.io/pause:3.10');
    expect(o.Hostname).toBe('web');
    expect(o.ExposedPorts).toEqual({ '8888/tcp': {}, '53/udp': {} });
    expect(o.HostConfig).toMatchObject({
      NetworkMode: 'default',
      IpcMode: 'shareable',
      OomScoreAdj: -998,
      PortBindings: { '8888/tcp': [{ HostIp: '', HostPort: '30888' }] },
      Dns: ['10.0.0.10'],
      DnsSearch: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      DnsOptions: ['ndots:5'],
    });
    expect(o.Labels).toMatchObject({ app: 'sample', 'io.kubernetes.docker.type': 'podsandbox', 'io.kubernetes.pod.name': 'web' });
  });

  it('uses the host’s network, name and resolv.conf for a hostNetwork pod', () => {
    const o = sandboxCreateOptions({ ...sandbox, hostNetwork: true }, 'pause', null);
    expect(o.HostConfig).not.toHaveProperty('OomScoreAdj');
    expect(o.HostConfig?.NetworkMode).toBe('host');
    expect(o.Hostname).toBeUndefined();
    expect(o.HostConfig?.Dns).toBeUndefined();
  });
});

describe('container create options', () => {
  it('joins the sandbox’s network and IPC, maps command/args to ENTRYPOINT/CMD, env, mounts and limits', () => {
    const o = containerCreateOptions(
      'sbx1',
      {
        metadata: { name: 'app', attempt: 0 },
        image: 'guest/mynode',
        command: ['node'],
        args: ['/server.js'],
        envs: [{ key: 'A', value: 'b=c' }],
        workingDir: '/srv',
        mounts: [{ hostPath: '/var/lib/kubelet/pods/u1/volumes/x', containerPath: '/data', readonly: true }, { hostPath: '/h', containerPath: '/c' }],
        resources: { cpuShares: 256, cpuQuota: 50_000, cpuPeriod: 100_000, memoryLimitInBytes: 128 * 2 ** 20 },
      },
      { ...sandbox, sharePid: true },
    );
    expect(o.name).toBe('k8s_app_web_default_u1_0');
    expect(o.Entrypoint).toEqual(['node']);
    expect(o.Cmd).toEqual(['/server.js']);
    expect(o.Env).toEqual(['A=b=c']);
    expect(o.WorkingDir).toBe('/srv');
    expect(o.HostConfig).toMatchObject({
      NetworkMode: 'container:sbx1',
      IpcMode: 'container:sbx1',
      PidMode: 'container:sbx1',
      Binds: ['/var/lib/kubelet/pods/u1/volumes/x:/data:ro', '/h:/c'],
      CpuShares: 256,
      CpuQuota: 50_000,
      CpuPeriod: 100_000,
      Memory: 134217728,
    });
    expect(o.Labels).toMatchObject({ 'io.kubernetes.sandbox.id': 'sbx1', 'io.kubernetes.container.name': 'app', 'io.kubernetes.docker.type': 'container' });
  });

  it('keeps the image’s ENTRYPOINT and CMD when the pod names none', () => {
    const o = containerCreateOptions('s', { metadata: { name: 'app', attempt: 0 }, image: 'busybox' }, sandbox);
    expect(o).not.toHaveProperty('Entrypoint');
    expect(o).not.toHaveProperty('Cmd');
    expect(o.HostConfig).not.toHaveProperty('PidMode');
  });
});

describe('resolv.conf', () => {
  it('is written as cri-dockerd rewrites it', () => {
    expect(renderResolvConf(sandbox.dnsConfig!)).toBe('nameserver 10.0.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
  });
});

describe('requests and limits → Docker CPU and memory', () => {
  it.each([
    [{}, { cpuShares: 2 }],
    [{ requests: { cpu: '100m' } }, { cpuShares: 102 }],
    [{ requests: { cpu: '1' } }, { cpuShares: 1024 }],
    [{ limits: { cpu: '500m' } }, { cpuShares: 512, cpuQuota: 50_000, cpuPeriod: 100_000 }],
    [{ requests: { cpu: '250m' }, limits: { cpu: '2', memory: '128Mi' } }, { cpuShares: 256, cpuQuota: 200_000, cpuPeriod: 100_000, memoryLimitInBytes: 134217728 }],
    [{ limits: { memory: '1G' } }, { cpuShares: 2, memoryLimitInBytes: 1e9 }],
  ])('%j → %j', (res, want) => {
    expect(linuxResources(res)).toEqual(want);
  });

  it('keeps upstream’s floors', () => {
    expect(milliCpuToShares(1)).toBe(2);
    expect(milliCpuToQuota(1)).toBe(1000);
    expect(milliCpuToQuota(0)).toBe(0);
  });
});
