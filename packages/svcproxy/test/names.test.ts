import { base32, endpointChainName, endpointString, externalChainName, firewallChainName, localChainName, serviceChainName, servicePortName } from '../src/names.js';

describe('chain names', () => {
  it('match kube-proxy published test vectors', () => {
    expect(serviceChainName('ns1/svc1:p80', 'TCP')).toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(endpointChainName('ns1/svc1:p80', 'TCP', '10.180.0.1:80')).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(serviceChainName('ns2/svc2:p80', 'tcp')).toBe('KUBE-SVC-GNZBNJ2PO5MGZ6GT');
    expect(serviceChainName('ns3/svc3:p80', 'tcp')).toBe('KUBE-SVC-X27LE4BHSL4DOUIK');
  });

  it('share one hash between the SVC, SVL, EXT and FW chains of a service port', () => {
    expect(externalChainName('ns1/svc1:p80', 'TCP')).toBe('KUBE-EXT-XPGD46QRK7WJZT7O');
    expect(localChainName('ns1/svc1:p80', 'TCP')).toBe('KUBE-SVL-XPGD46QRK7WJZT7O');
    expect(firewallChainName('ns1/svc1:p80', 'TCP')).toBe('KUBE-FW-XPGD46QRK7WJZT7O');
  });

  it('differ by protocol', () => {
    expect(serviceChainName('ns1/svc1:p80', 'UDP')).not.toBe(serviceChainName('ns1/svc1:p80', 'TCP'));
  });

  it('stay within the 28-character limit of iptables', () => {
    expect(endpointChainName('a-very-long-namespace/a-very-long-service:port-name', 'SCTP', '10.1.2.3:65535').length).toBeLessThanOrEqual(28);
  });

  it('name ports as ns/svc:port, or ns/svc when the port is unnamed', () => {
    expect(servicePortName('ns1', 'svc1', 'p80')).toBe('ns1/svc1:p80');
    expect(servicePortName('ns1', 'svc1', '')).toBe('ns1/svc1');
  });

  it('bracket IPv6 endpoint strings like JoinHostPort', () => {
    expect(endpointString('10.1.1.2', 80)).toBe('10.1.1.2:80');
    expect(endpointString('fd00::1', 80)).toBe('[fd00::1]:80');
  });

  it('encode base32 per RFC 4648', () => {
    expect(base32(Buffer.from('foobar'))).toBe('MZXW6YTBOI======');
    expect(base32(Buffer.from('f'))).toBe('MY======');
  });
});
