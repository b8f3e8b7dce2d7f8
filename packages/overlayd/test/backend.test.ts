import { Cidr, FatalError } from '@pilot/common';
import type { BackendDeps } from '../src/backend/backend.js';
import { backendTypes, createBackend } from '../src/backend/index.js';
import { parseVxlanConfig } from '../src/backend/vxlan.js';
import { ConfigError } from '../src/config.js';
import type { Kernel } from '../src/netlink.js';

const underlay = { name: 'eth0', index: 2, mtu: 1500, ip: '172.30.0.11', network: Cidr.parse('172.30.0.0/24') };
// Making a backend changes nothing on the host: the kernel edge is never called.
const deps: BackendDeps = { underlay, publicIp: underlay.ip, kernel: {} as Kernel };

function configError(make: () => unknown): string {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error('no ConfigError');
}

describe('the backend table', () => {
  it('has vxlan and host-gw, and a config without Type means vxlan with flannel\'s defaults', () => {
    expect(backendTypes()).toEqual(['vxlan', 'host-gw']);
    const b = createBackend({}, deps);
    expect(b.type).toBe('vxlan');
    expect(b.description).toBe('vxlan VNI 1 port 8472');
    expect(createBackend({ Type: 'host-gw' }, deps).description).toBe('host-gw');
  });

  it('hands the Backend object to the backend, which reads its own keys', () => {
    expect(createBackend({ Type: 'vxlan', VNI: 7, Port: 4789, DirectRouting: true }, deps).description).toBe('vxlan VNI 7 port 4789 DirectRouting');
    expect(parseVxlanConfig({ VNI: 7, Port: 4789, DirectRouting: true })).toEqual({ vni: 7, port: 4789, directRouting: true });
    expect(parseVxlanConfig({})).toEqual({ vni: 1, port: 0, directRouting: false });
  });

  it.each([
    [{ Type: 'udp' }, 'network config: unknown Backend.Type "udp" (supported: vxlan, host-gw)'],
    [{ Type: 5 }, 'network config: unknown Backend.Type 5 (supported: vxlan, host-gw)'],
    [{ Type: 'toString' }, 'network config: unknown Backend.Type "toString" (supported: vxlan, host-gw)'],
    [{ Type: 'vxlan', VNI: -1 }, 'network config: Backend.VNI must be an integer in 0..16777215, got -1'],
    [{ Port: 70000 }, 'network config: Backend.Port must be an integer in 0..65535, got 70000'],
    [{ DirectRouting: 'yes' }, 'network config: Backend.DirectRouting must be true or false, got "yes"'],
  ])('rejects %j with one line naming the problem', (json, message) => {
    expect(configError(() => createBackend(json, deps))).toBe(message);
  });

  it('refuses host-gw behind NAT, before touching the host', () => {
    const make = () => createBackend({ Type: 'host-gw' }, { ...deps, publicIp: '198.51.100.7' });
    expect(make).toThrow(FatalError);
    expect(make).toThrow('host-gw needs the public IP (198.51.100.7) to be the address of eth0 (172.30.0.11); it cannot work through NAT');
    // vxlan works through NAT: peers reach the public IP, and the device sends from the interface's address.
    expect(createBackend({ Type: 'vxlan' }, { ...deps, publicIp: '198.51.100.7' }).type).toBe('vxlan');
  });
});
