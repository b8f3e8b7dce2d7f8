import { Cidr, CidrError, intToIp, ipToInt, isIP, isIPv4, isLoopback, nthSubnet, subnetIndex } from '../src/cidr.js';

describe('addresses', () => {
  it('converts between dotted quads and 32-bit numbers', () => {
    expect(ipToInt('10.1.2.3')).toBe(0x0a010203);
    expect(ipToInt('255.255.255.255')).toBe(0xffffffff);
    expect(intToIp(0x0a010203)).toBe('10.1.2.3');
  });

  it('rejects what is not an IPv4 address', () => {
    expect(isIPv4('10.1.2')).toBe(false);
    expect(isIPv4('10.1.2.256')).toBe(false);
    expect(isIP('fd00::1')).toBe(true);
    expect(() => ipToInt('fd00::1')).toThrow(CidrError);
  });

  it('knows loopback addresses (127/8 and ::1), and nothing else', () => {
    for (const ip of ['127.0.0.1', '127.1.2.3', '::1']) expect(isLoopback(ip)).toBe(true);
    for (const ip of ['10.0.0.1', '128.0.0.1', '127.example', 'fd00::1', '0.0.0.0']) expect(isLoopback(ip)).toBe(false);
  });
});

describe('Cidr', () => {
  it('parses, prints and measures a network', () => {
    const c = Cidr.parse('10.1.0.0/16');
    expect(c.toString()).toBe('10.1.0.0/16');
    expect(c.size).toBe(65536);
    expect(c.nth(1)).toBe('10.1.0.1');
    expect(intToIp(c.last)).toBe('10.1.255.255');
  });

  it('refuses host bits unless asked to keep the interface address', () => {
    expect(() => Cidr.parse('10.1.5.1/24')).toThrow(/host bits set \(network is 10.1.5.0\/24\)/);
    expect(Cidr.parseInterface('10.1.5.1/24')).toEqual({ ip: '10.1.5.1', cidr: Cidr.parse('10.1.5.0/24') });
    expect(() => Cidr.parse('10.1.5.0/33')).toThrow(CidrError);
    expect(() => Cidr.parse('nonsense')).toThrow(/not an IPv4 CIDR: "nonsense"/);
  });

  it('answers containment and overlap', () => {
    const net = Cidr.parse('10.1.0.0/16');
    expect(net.contains('10.1.200.3')).toBe(true);
    expect(net.contains('10.2.0.1')).toBe(false);
    expect(net.containsCidr(Cidr.parse('10.1.7.0/24'))).toBe(true);
    expect(Cidr.parse('10.1.7.0/24').containsCidr(net)).toBe(false);
    expect(Cidr.parse('10.1.7.0/24').overlaps(net)).toBe(true);
    expect(Cidr.parse('10.0.0.0/24').overlaps(net)).toBe(false);
    expect(Cidr.parse('0.0.0.0/0').contains('192.0.2.1')).toBe(true);
  });

  it('walks subnets of a network', () => {
    const net = Cidr.parse('10.1.0.0/16');
    expect(nthSubnet(net, 24, 5).toString()).toBe('10.1.5.0/24');
    expect(subnetIndex(net, Cidr.parse('10.1.5.0/24'))).toBe(5);
    expect(Cidr.parse('10.1.5.0/24').next().toString()).toBe('10.1.6.0/24');
    expect(() => nthSubnet(net, 24, 256)).toThrow(/outside 10.1.0.0\/16/);
    expect(() => nthSubnet(net, 8, 0)).toThrow(/do not fit/);
    expect(() => Cidr.parse('255.255.255.0/24').next()).toThrow(CidrError);
  });
});
