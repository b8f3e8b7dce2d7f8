import { FlagError } from '@pilot/common';
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
  forwardTimeout: '2s',
  tcpReadTimeout: '2s',
  tcpIdleTimeout: '10s',
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
    [{ ttl: '4000' }, /^--ttl: "4000" is not an integer in 0\.\.3600$/],
    [{ ttl: '5s' }, /^--ttl: "5s" is not an integer in 0\.\.3600$/],
    [{ pods: 'verified' }, /^--pods: "verified" is not a pod mode \(disabled, insecure\)$/],
    [{ listen: 'nowhere' }, /^--listen: "nowhere" is not \[address\]:port$/],
    [{ udpAddress: ['0.0.0.0'] }, /^--udp-address: "0\.0\.0\.0" is the wildcard/],
    [{ upstream: ['dns.google'] }, /^--upstream: upstream "dns\.google" is not an IP address$/],
    [{ clusterCidr: '10.1.0.0' }, /^--cluster-cidr: "10\.1\.0\.0" is not a CIDR$/],
    [{ allowRecursion: '10.0.0.0/8,bogus' }, /^--allow-recursion: "bogus"/],
    [{ domain: 'bad_zone' }, /^--domain: "bad_zone" is not a DNS name$/],
    [{ forwardTimeout: '1m' }, /^--forward-timeout: 1m is outside 50ms\.\.30s$/],
    [{ tcpReadTimeout: 'soon' }, /^--tcp-read-timeout: /],
    [{ tcpIdleTimeout: '5h' }, /^--tcp-idle-timeout: /],
    [{ leaseDuration: '1s' }, /^--lease-duration: 1s is outside 2s\.\.1h$/],
    [{ leaseDuration: '2500ms' }, /^--lease-duration: 2500ms is not whole seconds/],
    [{ leaseSeconds: '1' }, /^--lease-seconds: 1 is outside 2s\.\.1h$/],
    [{ leaseSeconds: '40', leaseDuration: '40s' }, /^--lease-seconds: is the old name of --lease-duration; give one of them$/],
    [{ records: 'r.json', master: 'http://127.0.0.1:8080' }, /^--records: and --master\/--kubeconfig are two record sources/],
    [{ records: 'r.json', registerService: true }, /^--register-service: needs the API/],
  ])('bad input %j is one line naming the flag', (patch, msg) => {
    let err: unknown;
    try {
      resolveFlags({ ...base, ...patch }, () => '');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FlagError);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain('\n');
  });

  it('reads durations with units; the old bare numbers keep their unit (ms, s) with a deprecation notice', () => {
    const notices: string[] = [];
    const warn = (l: string) => void notices.push(l);
    expect(resolveFlags(base, () => '', warn)).toMatchObject({ forwardTimeoutMs: 2000, leaseSeconds: 15, ttl: 5 });
    expect(notices).toEqual([]);
    expect(resolveFlags({ ...base, forwardTimeout: '500ms', leaseDuration: '1m' }, () => '', warn)).toMatchObject({ forwardTimeoutMs: 500, leaseSeconds: 60, tcpReadMs: 2000, tcpIdleMs: 10000 });
    expect(notices).toEqual([]);
    expect(resolveFlags({ ...base, forwardTimeout: '2000', leaseSeconds: '40' }, () => '', warn)).toMatchObject({ forwardTimeoutMs: 2000, leaseSeconds: 40 });
    expect(resolveFlags({ ...base, leaseDuration: '40' }, () => '', warn)).toMatchObject({ leaseSeconds: 40 });
    expect(notices).toEqual([
      '--forward-timeout: a number without a unit is deprecated: "2000" is read as 2000 milliseconds; write 2s',
      '--lease-seconds: is deprecated; write --lease-duration 40s',
      '--lease-duration: a number without a unit is deprecated: "40" is read as 40 seconds; write 40s',
    ]);
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
