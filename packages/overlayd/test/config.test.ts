import { ConfigError, defaultSubnetLen, parseNetworkConfig, subnetCount, subnetFits } from '../src/config.js';
import { Cidr } from '@pilot/common';

describe('network config', () => {
  it('applies flannel\'s defaults: /24 subnets, skip the first and keep the last, vxlan VNI 1', () => {
    const c = parseNetworkConfig('{"Network":"10.1.0.0/16"}');
    expect(c.network.toString()).toBe('10.1.0.0/16');
    expect(c.subnetLen).toBe(24);
    expect(c.subnetMin.toString()).toBe('10.1.1.0/24');
    expect(c.subnetMax.toString()).toBe('10.1.255.0/24');
    expect(c.backend).toEqual({});
    expect(subnetCount(c)).toBe(255);
  });

  it('defaults SubnetLen to prefix + 2 for networks between /23 and /28', () => {
    expect(defaultSubnetLen(22)).toBe(24);
    expect(defaultSubnetLen(23)).toBe(25);
    expect(defaultSubnetLen(28)).toBe(30);
    expect(() => defaultSubnetLen(29)).toThrow(/too small/);
  });

  it('keeps the Backend object for the backend to read', () => {
    const c = parseNetworkConfig('{"Network":"10.2.0.0/16","SubnetLen":26,"Backend":{"Type":"vxlan","VNI":7,"Port":4789,"DirectRouting":true}}');
    expect(c.backend).toEqual({ Type: 'vxlan', VNI: 7, Port: 4789, DirectRouting: true });
    expect(c.subnetMin.toString()).toBe('10.2.0.64/26');
  });

  it('honours SubnetMin and SubnetMax given as addresses', () => {
    const c = parseNetworkConfig('{"Network":"10.1.0.0/16","SubnetMin":"10.1.10.0","SubnetMax":"10.1.20.0"}');
    expect(subnetCount(c)).toBe(11);
    expect(subnetFits(c, Cidr.parse('10.1.10.0/24'))).toBe(true);
    expect(subnetFits(c, Cidr.parse('10.1.21.0/24'))).toBe(false);
    expect(subnetFits(c, Cidr.parse('10.1.10.0/25'))).toBe(false);
  });

  it.each([
    ['{"Network":', /malformed JSON/],
    ['[]', /config must be a JSON object/],
    ['{}', /Network is missing/],
    ['{"Network":"10.1.0.1/16"}', /Network: "10.1.0.1\/16" has host bits set/],
    ['{"Network":"10.1.0.0/16","SubnetLen":17}', /cannot hold \/17 subnets \(SubnetLen must be at least \/18\)/],
    ['{"Network":"10.1.0.0/16","SubnetLen":31}', /SubnetLen \/31 is too long/],
    ['{"Network":"10.1.0.0/30"}', /too small/],
    ['{"Network":"10.1.0.0/16","Backend":"vxlan"}', /Backend must be a JSON object/],
    ['{"Network":"10.1.0.0/16","SubnetMin":"10.2.0.0"}', /SubnetMin 10.2.0.0 is outside Network/],
    ['{"Network":"10.1.0.0/16","SubnetMin":"10.1.0.128"}', /not aligned to \/24/],
    ['{"Network":"10.1.0.0/16","SubnetMin":"10.1.9.0","SubnetMax":"10.1.8.0"}', /SubnetMin 10.1.9.0 is above SubnetMax 10.1.8.0/],
  ])('rejects %s with one line naming the problem', (text, message) => {
    let err: unknown;
    try {
      parseNetworkConfig(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });
});
