import { makeLease, makeNode, nodeStatusChanged, podCidrFromSubnetEnv } from '../../src/kubelet/node-status.js';

const facts = { name: 'h1', nodeIp: '10.0.0.1', hostname: 'h1', cpus: 2, memoryBytes: 4096 * 1024, maxPods: 110, kubeletPort: 10250, podCidr: '10.1.15.0/24' };

describe('node status', () => {
  it('takes spec.podCIDR from subnet.env', () => {
    expect(podCidrFromSubnetEnv('FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.15.1/24\nFLANNEL_MTU=1450\n')).toBe('10.1.15.0/24');
    expect(podCidrFromSubnetEnv('nothing')).toBeUndefined();
    expect(podCidrFromSubnetEnv('FLANNEL_SUBNET=10.1.300.1/24\n')).toBeUndefined();
  });
  it('registers capacity, addresses, daemonEndpoints and Ready', () => {
    const n = makeNode(facts, { ready: true, message: 'kubelet is posting ready status' }, '2026-12-02T12:00:00Z');
    expect(n.spec?.podCIDR).toBe('10.1.15.0/24');
    expect(n.status?.capacity).toEqual({ cpu: '2', memory: '4096Ki', pods: '110' });
    expect(n.status?.allocatable).toEqual(n.status?.capacity);
    expect(n.status?.addresses).toEqual([{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'h1' }]);
    expect(n.status?.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10250 } });
    expect(n.status?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True', reason: 'KubeletReady' });
  });
  it('reports status.nodeInfo (the OS-IMAGE, KERNEL-VERSION and CONTAINER-RUNTIME of get nodes -o wide) and the arch label', () => {
    const nodeInfo = {
      machineID: 'm',
      systemUUID: 's',
      bootID: 'b',
      kernelVersion: '6.1.0-28-amd64',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      containerRuntimeVersion: 'docker://20.10.24',
      kubeletVersion: 'v1.32.0-pilot',
      kubeProxyVersion: 'v1.32.0-pilot',
      operatingSystem: 'linux',
      architecture: 'amd64',
    };
    const n = makeNode({ ...facts, nodeInfo }, { ready: true, message: 'ok' }, '2026-12-02T12:00:00Z');
    expect(n.status?.nodeInfo).toEqual(nodeInfo);
    expect(n.metadata.labels).toMatchObject({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' });
    const again = makeNode({ ...facts, nodeInfo }, { ready: true, message: 'ok' }, '2026-12-02T12:00:10Z', n);
    expect(nodeStatusChanged(n, again)).toBe(false);
  });
  it('posts on change only (heartbeat times do not count) and keeps the transition time', () => {
    const a = makeNode(facts, { ready: true, message: 'ok' }, '2026-12-02T12:00:00Z');
    const b = makeNode(facts, { ready: true, message: 'ok' }, '2026-12-02T12:00:10Z', a);
    expect(nodeStatusChanged(a, b)).toBe(false);
    expect(b.status?.conditions?.[0]?.lastTransitionTime).toBe('2026-12-02T12:00:00Z');
    const c = makeNode(facts, { ready: false, message: 'container runtime is down' }, '2026-12-02T12:00:20Z', b);
    expect(nodeStatusChanged(b, c)).toBe(true);
    expect(c.status?.conditions?.[0]?.lastTransitionTime).toBe('2026-12-02T12:00:20Z');
  });
  it('renews a 40 s Lease in kube-node-lease with a 6-digit MicroTime', () => {
    const l = makeLease('h1', new Date('2026-12-02T12:00:00.123Z'));
    expect(l.metadata?.namespace).toBe('kube-node-lease');
    expect(l.spec?.leaseDurationSeconds).toBe(40);
    expect(l.spec?.renewTime).toMatch(/\.\d{6}Z$/);
  });
});
