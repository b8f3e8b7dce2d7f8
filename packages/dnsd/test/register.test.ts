import { kubeDnsService, kubeDnsSubsets, liveAddresses, microTime } from '../src/index.js';

const lease = (name: string, holder: string, renewMs: number, seconds: number) => ({
  metadata: { name, namespace: 'kube-system' },
  spec: { holderIdentity: holder, renewTime: microTime(renewMs), leaseDurationSeconds: seconds },
});

describe('kube-dns self-registration', () => {
  const now = Date.parse('2026-01-01T00:00:30Z');

  it('publishes exactly the holders of unexpired dnsd leases, never loopback', () => {
    const leases = [
      lease('dnsd-a', '192.0.2.11', now - 2_000, 15),
      lease('dnsd-b', '192.0.2.12', now - 16_000, 15), // expired: SIGKILLed
      lease('dnsd-c', '127.0.0.1', now, 15),
      lease('kubelet-x', '192.0.2.13', now, 15), // not ours
      lease('dnsd-d', '192.0.2.10', now - 1_000, 15),
    ];
    expect(liveAddresses(leases, now)).toEqual(['192.0.2.10', '192.0.2.11']);
  });

  it('writes MicroTime with six fractional digits', () => {
    expect(microTime(Date.parse('2026-01-01T00:00:30.123Z'))).toBe('2026-01-01T00:00:30.123000Z');
  });

  it('shapes the Service and the Endpoints as kube-dns', () => {
    expect(kubeDnsService('10.0.0.10', 53).spec).toEqual({
      clusterIP: '10.0.0.10',
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
    });
    expect(kubeDnsSubsets(['192.0.2.11'], 53)).toEqual([
      { addresses: [{ ip: '192.0.2.11' }], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] },
    ]);
    expect(kubeDnsSubsets([], 53)).toEqual([]);
  });
});
