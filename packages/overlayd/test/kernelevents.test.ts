import { repairReason, type AddressEvent, type EventScope, type KernelEvent, type LinkEvent, type NeighEvent, type RouteEvent } from '../src/kernelevents.js';

const SELF = 4242;
const vxlan: EventScope = { device: { index: 7, name: 'flannel.1' }, localAddress: '10.1.3.0', underlayIndex: 2, selfPort: SELF };
const hostGw: EventScope = { device: undefined, localAddress: undefined, underlayIndex: 2, selfPort: SELF };

const route = (e: Partial<RouteEvent>): KernelEvent => ({ kind: 'route', op: 'del', port: 900, dst: '10.1.5.0/24', protocol: 79, table: 254, ...e });
const neigh = (e: Partial<NeighEvent>): KernelEvent => ({ kind: 'neigh', op: 'del', port: 0, family: 'inet', ifindex: 7, permanent: true, addr: '10.1.5.0', ...e });
const link = (e: Partial<LinkEvent>): KernelEvent => ({ kind: 'link', op: 'new', port: 0, index: 7, name: 'flannel.1', up: true, ...e });
const addr = (e: Partial<AddressEvent>): KernelEvent => ({ kind: 'addr', op: 'del', port: 900, ifindex: 7, ip: '10.1.3.0', prefix: 32, ...e });

describe('which kernel events call for a repair', () => {
  describe('routes', () => {
    it('a route with overlayd\'s protocol deleted is relevant', () => {
      expect(repairReason(route({}), vxlan)).toBe('route 10.1.5.0/24 proto 79 deleted');
      expect(repairReason(route({}), hostGw)).toBe('route 10.1.5.0/24 proto 79 deleted');
    });

    it('a route of another protocol, added or deleted, is not', () => {
      expect(repairReason(route({ protocol: 3 }), vxlan)).toBeUndefined();
      expect(repairReason(route({ protocol: 4, op: 'new' }), vxlan)).toBeUndefined();
      expect(repairReason(route({ protocol: 2 }), vxlan)).toBeUndefined();
    });

    it('a route with overlayd\'s protocol in another table is not', () => {
      expect(repairReason(route({ table: 255 }), vxlan)).toBeUndefined();
    });

    it('a route with overlayd\'s protocol written by someone else is relevant', () => {
      expect(repairReason(route({ op: 'new' }), vxlan)).toBe('route 10.1.5.0/24 proto 79 added or changed by someone else');
    });

    it('overlayd\'s own route changes are not', () => {
      expect(repairReason(route({ op: 'new', port: SELF }), vxlan)).toBeUndefined();
      expect(repairReason(route({ op: 'del', port: SELF }), vxlan)).toBeUndefined();
    });
  });

  describe('neighbour and FDB entries', () => {
    it('a neighbour or FDB entry deleted on overlayd\'s device is relevant, whatever its state by then', () => {
      expect(repairReason(neigh({ permanent: false }), vxlan)).toBe('neighbour 10.1.5.0 on flannel.1 deleted');
      expect(repairReason(neigh({ family: 'bridge', addr: '02:00:00:00:00:05' }), vxlan)).toBe('FDB entry 02:00:00:00:00:05 on flannel.1 deleted');
    });

    it('an entry on another device is not', () => {
      expect(repairReason(neigh({ ifindex: 2 }), vxlan)).toBeUndefined();
      expect(repairReason(neigh({ family: 'bridge', ifindex: 9 }), vxlan)).toBeUndefined();
    });

    it('host-gw has no device, so no neighbour event concerns it', () => {
      expect(repairReason(neigh({ ifindex: 7 }), hostGw)).toBeUndefined();
    });

    it('an entry replaced by another process is relevant; the kernel\'s own state changes and overlayd\'s writes are not', () => {
      expect(repairReason(neigh({ op: 'new', port: 900 }), vxlan)).toBe('neighbour 10.1.5.0 on flannel.1 changed by someone else');
      expect(repairReason(neigh({ op: 'new', port: 0, permanent: false }), vxlan)).toBeUndefined();
      expect(repairReason(neigh({ op: 'new', port: SELF }), vxlan)).toBeUndefined();
    });
  });

  describe('addresses', () => {
    it('overlayd\'s /32 deleted from its device is relevant, whoever deleted it', () => {
      expect(repairReason(addr({}), vxlan)).toBe('address 10.1.3.0/32 on flannel.1 deleted');
      expect(repairReason(addr({ port: 0 }), vxlan)).toBe('address 10.1.3.0/32 on flannel.1 deleted');
    });

    it('overlayd\'s own removal (an old subnet\'s address) is not', () => {
      expect(repairReason(addr({ port: SELF }), vxlan)).toBeUndefined();
    });

    it('other addresses, the same address on another device, and additions are not', () => {
      expect(repairReason(addr({ ip: '192.0.2.7', prefix: 24 }), vxlan)).toBeUndefined();
      expect(repairReason(addr({ prefix: 24 }), vxlan)).toBeUndefined();
      expect(repairReason(addr({ ifindex: 2 }), vxlan)).toBeUndefined();
      expect(repairReason(addr({ op: 'new' }), vxlan)).toBeUndefined();
    });

    it('host-gw keeps no address, so no address event concerns it', () => {
      expect(repairReason(addr({ ifindex: 2 }), hostGw)).toBeUndefined();
    });
  });

  describe('links', () => {
    it('overlayd\'s device deleted, set down or renamed is relevant', () => {
      expect(repairReason(link({ op: 'del', up: false }), vxlan)).toBe('flannel.1 deleted');
      expect(repairReason(link({ up: false }), vxlan)).toBe('flannel.1 set down');
      expect(repairReason(link({ name: 'other' }), vxlan)).toBe('flannel.1 renamed to other');
    });

    it('overlayd\'s device reported up and unchanged is not', () => {
      expect(repairReason(link({}), vxlan)).toBeUndefined();
    });

    it('a new device under overlayd\'s name with another index is relevant', () => {
      expect(repairReason(link({ index: 12 }), vxlan)).toBe('another flannel.1 appeared (index 12)');
    });

    it('the underlay coming up is relevant (routes via it were flushed while down); going down is not yet', () => {
      expect(repairReason(link({ index: 2, name: 'eth0', up: true }), hostGw)).toBe('eth0 is up (routes via it may have been flushed)');
      expect(repairReason(link({ index: 2, name: 'eth0', up: false }), hostGw)).toBeUndefined();
    });

    it('other links are not', () => {
      expect(repairReason(link({ index: 30, name: 'veth1', up: false }), vxlan)).toBeUndefined();
      expect(repairReason(link({ op: 'del', index: 30, name: 'veth1' }), vxlan)).toBeUndefined();
    });
  });
});
