import ipaddr from 'ipaddr.js';
import { AnswerCache, Type, addressRun, slimObjects } from '../src/index.js';
import { decode, rig } from './fixtures.js';

const Z = 'cluster.local';

function headless(ips: string[], name = 'web') {
  return [
    { kind: 'Namespace', metadata: { name: 'default' } },
    { kind: 'Service', metadata: { name, namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] } },
    { kind: 'Endpoints', metadata: { name, namespace: 'default' }, subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port: 80 }] }] },
  ];
}

const addresses = (d: ReturnType<typeof decode>) => d.answers.map((a) => a.address as string);

describe('loadbalance: several A/AAAA records rotate on every cached answer', () => {
  it('answers a headless Service’s A records in rotating order, each answer whole and valid to an independent decoder', () => {
    const r = rig({ objects: headless(['10.1.1.5', '10.1.2.6', '10.1.3.7']), rotate: true });
    const orders = Array.from({ length: 4 }, () => addresses(r.ask(`web.default.svc.${Z}`, Type.A)));
    expect(orders).toEqual([
      ['10.1.1.5', '10.1.2.6', '10.1.3.7'],
      ['10.1.2.6', '10.1.3.7', '10.1.1.5'],
      ['10.1.3.7', '10.1.1.5', '10.1.2.6'],
      ['10.1.1.5', '10.1.2.6', '10.1.3.7'],
    ]);
    // Every answer keeps its name, TTL and class; only the order moves.
    const d = r.ask(`web.default.svc.${Z}`, Type.A);
    expect(d.answers.every((a) => a.name === `web.default.svc.${Z}` && a.ttl === 5 && a.type === Type.A)).toBe(true);
  });

  it('rotates independently per question and transport, and starts over when the index changes', () => {
    const r = rig({ objects: headless(['10.1.1.5', '10.1.2.6']), rotate: true });
    const name = `web.default.svc.${Z}`;
    expect(addresses(r.ask(name, Type.A))).toEqual(['10.1.1.5', '10.1.2.6']);
    expect(addresses(r.ask(name, Type.A, { tcp: true }))).toEqual(['10.1.1.5', '10.1.2.6']);
    expect(addresses(r.ask(name, Type.A))).toEqual(['10.1.2.6', '10.1.1.5']);
    r.index.replaceAll(slimObjects(headless(['10.1.1.5', '10.1.2.6', '10.1.3.7'])));
    expect(addresses(r.ask(name, Type.A))).toEqual(['10.1.1.5', '10.1.2.6', '10.1.3.7']);
    expect(addresses(r.ask(name, Type.A))).toEqual(['10.1.2.6', '10.1.3.7', '10.1.1.5']);
  });

  it('leaves an answer with one address, and a fixed order without rotate, byte for byte as encoded', () => {
    const one = rig({ rotate: true });
    const a = one.raw(`frontend.default.svc.${Z}`, Type.A, { id: 7 });
    expect(one.raw(`frontend.default.svc.${Z}`, Type.A, { id: 7 }).equals(a)).toBe(true);
    const off = rig({ objects: headless(['10.1.1.5', '10.1.2.6', '10.1.3.7']) });
    const first = addresses(off.ask(`web.default.svc.${Z}`, Type.A));
    expect(addresses(off.ask(`web.default.svc.${Z}`, Type.A))).toEqual(first);
  });

  it('rotates a truncated UDP answer within the records that fit, keeping TC', () => {
    const ips = Array.from({ length: 60 }, (_, i) => `10.1.0.${i + 1}`);
    const r = rig({ objects: headless(ips), rotate: true });
    const first = r.ask(`web.default.svc.${Z}`, Type.A);
    const second = r.ask(`web.default.svc.${Z}`, Type.A);
    expect(first.tc && second.tc).toBe(true);
    expect(addresses(second)).toEqual([...addresses(first).slice(1), addresses(first)[0]]);
  });

  it('encodes IPv6 addresses from the API in every spelling, IPv4-mapped ones included, and rotates AAAA records', () => {
    const ips = ['fd00::1', '::ffff:10.1.2.3', 'fd00:0:0:0:0:0:0:00ab'];
    const r = rig({ objects: headless(ips), rotate: true });
    const bytes = (s: string) => ipaddr.parse(s).toByteArray().join('.');
    const first = addresses(r.ask(`web.default.svc.${Z}`, Type.AAAA)).map(bytes);
    expect(first).toEqual(ips.map(bytes));
    const second = addresses(r.ask(`web.default.svc.${Z}`, Type.AAAA)).map(bytes);
    expect(second).toEqual([ips[1]!, ips[2]!, ips[0]!].map(bytes));
  });

  it('finds the run of address records after a CNAME and only among records of one owner and size', () => {
    const r = rig({ rotate: true });
    // alias is an ExternalName to frontend: a CNAME, then one A — nothing to rotate.
    expect(addressRun(r.raw(`alias.default.svc.${Z}`, Type.A))).toBeUndefined();
    const h = rig({ objects: headless(['10.1.1.5', '10.1.2.6', '10.1.3.7']) });
    const run = addressRun(h.raw(`web.default.svc.${Z}`, Type.A))!;
    expect(run).toMatchObject({ count: 3, size: 16 });
    // A response too short to walk has no run (the cache then serves it as is).
    expect(addressRun(Buffer.alloc(5))).toBeUndefined();
    expect(new AnswerCache({ rotate: true }).size).toBe(0);
  });
});
