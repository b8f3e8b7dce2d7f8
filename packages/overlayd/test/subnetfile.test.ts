import { Cidr } from '@pilot/common';
import { previousSubnet, renderDockerOpts, renderSubnetEnv } from '../src/subnetfile.js';

const env = { network: Cidr.parse('10.1.0.0/16'), subnet: Cidr.parse('10.1.72.0/24'), mtu: 1450, ipMasq: true };

describe('subnet.env', () => {
  it('holds flannel\'s four variables in flannel\'s order', () => {
    expect(renderSubnetEnv(env)).toBe('FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.72.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
  });

  it('reads back the subnet of a previous run, and nothing from a file without one usable value', () => {
    expect(previousSubnet(renderSubnetEnv(env))?.toString()).toBe('10.1.72.0/24');
    expect(previousSubnet('FLANNEL_SUBNET=10.1.72.1/24,10.1.73.1/24\n')).toBeUndefined();
    expect(previousSubnet('FLANNEL_SUBNET=garbage\n')).toBeUndefined();
    expect(previousSubnet('')).toBeUndefined();
  });
});

describe('docker options', () => {
  it('turns Docker\'s own masquerading off when overlayd masquerades', () => {
    expect(renderDockerOpts(env)).toBe(
      'DOCKER_OPT_BIP="--bip=10.1.72.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=false"\nDOCKER_OPT_MTU="--mtu=1450"\nDOCKER_OPTS=" --bip=10.1.72.1/24 --ip-masq=false --mtu=1450"\n',
    );
  });

  it('leaves Docker\'s masquerading alone otherwise', () => {
    expect(renderDockerOpts({ ...env, ipMasq: false })).toContain('DOCKER_OPTS=" --bip=10.1.72.1/24 --mtu=1450"');
  });
});
