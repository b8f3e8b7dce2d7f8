import { FatalError } from '@pilot/common';
import { parseListen, resolveFlags, type RawFlags } from '../src/config.js';
import { RecursionAcl, dashedIp, parseName, podIp, reverseName, slimObjects, zoneLabels } from '../src/index.js';

const base: RawFlags = {
  domain: 'cluster.local',
  listen: '0.0.0.0:53',
  advertiseAddress: '192.0.2.11',
  udpAddress: [],
  upstream: [],
  ttl: '5',
  pods: 'insecure',
  clusterIp: '10.0.0.10',
  clusterCidr: '10.1.0.0/16',
  serviceCidr: '10.0.0.0/24',
  healthzPort: '9153',
  forwardTimeout: '2000',
  leaseSeconds: '15',
};

describe('flags', () => {
  it('UDP binds the advertise address and loopback, never the wildcard', () => {
    const f = resolveFlags(base, () => 'nameserver 192.0.2.53\nnameserver 10.0.0.10\n');
    expect(f.udpAddresses.sort()).toEqual(['127.0.0.1', '192.0.2.11']);
    expect(f.tcpHost).toBe('0.0.0.0');
    expect(f.upstreams).toEqual([{ host: '192.0.2.53', port: 53 }]);
    expect(f.droppedUpstreams[0]!.why).toBe('is the cluster DNS IP');
    expect(f.recursionNetworks).toEqual(expect.arrayContaining(['10.1.0.0/16', '127.0.0.0/8']));
    expect(f.identity).toBe('192-0-2-11');
  });

  it('a concrete --listen address replaces loopback for UDP (instances can share a host)', () => {
    const f = resolveFlags({ ...base, listen: '192.0.2.11:53' }, () => '');
    expect(f.udpAddresses).toEqual(['192.0.2.11']);
  });

  it.each<[Partial<RawFlags>, RegExp]>([
    [{ ttl: '4000' }, /^--ttl=4000: want whole seconds 0\.\.3600$/],
    [{ pods: 'verified' }, /^--pods=verified: want disabled or insecure$/],
    [{ listen: 'nowhere' }, /^--listen=nowhere: want \[address\]:port$/],
    [{ udpAddress: ['0.0.0.0'] }, /never the wildcard/],
    [{ upstream: ['dns.google'] }, /^--upstream=dns\.google: upstream "dns\.google" is not an IP address$/],
    [{ clusterCidr: '10.1.0.0' }, /^--cluster-cidr=10\.1\.0\.0: not a CIDR$/],
    [{ allowRecursion: '10.0.0.0/8,bogus' }, /^--allow-recursion=bogus/],
    [{ domain: 'bad_zone' }, /^--domain=bad_zone: not a DNS name$/],
    [{ leaseSeconds: '1' }, /^--lease-seconds=1: want whole seconds 2\.\.3600$/],
  ])('bad input %j is one line naming the flag', (patch, msg) => {
    let err: unknown;
    try {
      resolveFlags({ ...base, ...patch }, () => '');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FatalError);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain('\n');
  });

  it('parses listen addresses', () => {
    expect(parseListen(':53')).toEqual({ host: '0.0.0.0', port: 53 });
    expect(parseListen('[::1]:5353')).toEqual({ host: '::1', port: 5353 });
    expect(parseListen('127.0.0.53:53')).toEqual({ host: '127.0.0.53', port: 53 });
  });
});

describe('names and records', () => {
  const zone = zoneLabels('cluster.local.');
  it('parses question names relative to the zone', () => {
    expect(parseName('_http._tcp.web.prod.svc.cluster.local', zone)).toEqual({ kind: 'srv', namespace: 'prod', service: 'web', port: 'http', protocol: 'tcp' });
    expect(parseName('web-0.web.prod.svc.cluster.local', zone)).toEqual({ kind: 'endpoint', namespace: 'prod', service: 'web', endpoint: 'web-0' });
    expect(parseName('example.org', zone)).toEqual({ kind: 'outside' });
    expect(parseName('local', zone)).toEqual({ kind: 'outside' });
    expect(parseName('4.3.2.1.in-addr.arpa', zone)).toEqual({ kind: 'reverse', ip: '1.2.3.4' });
    expect(parseName('3.2.1.in-addr.arpa', zone)).toEqual({ kind: 'outside' });
    expect(parseName('a.b.svc.cluster.local', zone, ['a.b', 'svc', 'cluster', 'local'])).toMatchObject({ kind: 'invalid' });
  });

  it('maps pod labels and IPs both ways', () => {
    expect(podIp('10-1-2-3')).toBe('10.1.2.3');
    expect(podIp('10-1-2-300')).toBeUndefined();
    expect(podIp('fd00--1')).toBe('fd00:0:0:0:0:0:0:1');
    expect(dashedIp('10.1.2.3')).toBe('10-1-2-3');
    expect(dashedIp('fd00::')).toBe('fd00--0');
    expect(reverseName('10.0.0.1')).toBe('1.0.0.10.in-addr.arpa');
    expect(reverseName('fd00::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa');
  });

  it('rejects an object of another kind, naming it', () => {
    expect(() => slimObjects([{ kind: 'Pod', metadata: { name: 'p' } }])).toThrow('object 0: kind "Pod" is not Service, Endpoints, EndpointSlice or Namespace');
    expect(() => slimObjects([{ kind: 'Service', metadata: {} }])).toThrow('Service without metadata.name');
  });

  it('the recursion ACL matches networks and mapped IPv4', () => {
    const acl = new RecursionAcl(['10.1.0.0/16', '127.0.0.0/8', '::1/128']);
    expect(acl.allows('10.1.200.3')).toBe(true);
    expect(acl.allows('::ffff:127.0.0.1')).toBe(true);
    expect(acl.allows('::1')).toBe(true);
    expect(acl.allows('10.2.0.1')).toBe(false);
    expect(() => new RecursionAcl(['10.0.0.0/40'])).toThrow(/bad prefix/);
  });
});
